from django.urls import path

from luoshi.security import views

app_name = "security"

urlpatterns = [
    path("policy/", views.PolicyView.as_view(), name="policy"),
    path("sessions/", views.SessionListView.as_view(), name="session_list"),
    path("sessions/<int:pk>/end/", views.SessionEndView.as_view(), name="session_end"),
    path("users/<int:pk>/sessions/end/", views.UserSessionsEndView.as_view(), name="user_sessions_end"),
    path("lockouts/", views.LockoutListView.as_view(), name="lockout_list"),
    path("lockouts/<int:pk>/unlock/", views.UnlockView.as_view(), name="unlock"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
]
