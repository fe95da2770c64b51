from django.urls import path

from luoshi.twofactor import oidc, views

app_name = "twofactor"

urlpatterns = [
    path("two-factor/", views.AccountSecurityView.as_view(), name="security"),
    path("two-factor/verify/", views.VerifyView.as_view(), name="verify"),
    path("two-factor/enrol/", views.EnrolView.as_view(), name="enrol"),
    path("two-factor/recovery-codes/", views.RecoveryCodesView.as_view(), name="recovery_codes"),
    path("two-factor/remove/", views.RemoveView.as_view(), name="remove"),
    path("two-factor/users/", views.UserListView.as_view(), name="user_list"),
    path("two-factor/users/<int:pk>/reset/", views.ResetView.as_view(), name="reset"),
    path("oidc/sign-in/", oidc.SignInView.as_view(), name="oidc_sign_in"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_callback"),
]
