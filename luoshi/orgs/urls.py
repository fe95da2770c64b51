from django.urls import path

from luoshi.orgs import views

app_name = "orgs"

urlpatterns = [
    path("", views.AdminHomeView.as_view(), name="home"),
    path("units/", views.OrganisationListView.as_view(), name="organisation_list"),
    path("units/new/", views.OrganisationEditView.as_view(), name="organisation_create"),
    path("units/<int:pk>/edit/", views.OrganisationEditView.as_view(), name="organisation_edit"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/new/", views.UserEditView.as_view(), name="user_create"),
    path("users/<int:pk>/edit/", views.UserEditView.as_view(), name="user_edit"),
    path("users/<int:pk>/roles/", views.UserRolesView.as_view(), name="user_roles"),
    path("users/<int:pk>/phone/", views.user_phone, name="user_phone"),
    path("memberships/<int:pk>/revoke/", views.RevokeRoleView.as_view(), name="membership_revoke"),
    path("autocomplete/orgs/", views.org_autocomplete, name="org_autocomplete"),
    path("autocomplete/users/", views.user_autocomplete, name="user_autocomplete"),
    path("autocomplete/leaders/", views.leader_autocomplete, name="leader_autocomplete"),
]
