from django.urls import path

from luoshi.orgs import views

app_name = "orgs"

urlpatterns = [
    path("autocomplete/orgs/", views.org_autocomplete, name="org_autocomplete"),
    path("autocomplete/users/", views.user_autocomplete, name="user_autocomplete"),
    path("autocomplete/leaders/", views.leader_autocomplete, name="leader_autocomplete"),
]
