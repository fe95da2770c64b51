from django.urls import path

from luoshi.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.BattleMapView.as_view(), name="battle_map"),
]
