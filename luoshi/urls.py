from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from luoshi.core.forms import LoginForm
from luoshi.core.views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="ledgers:my_work"), name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("account/", include("luoshi.twofactor.urls")),
    path("orgs/", include("luoshi.orgs.urls")),
    path("audit/", include("luoshi.audit.urls")),
    path("security/", include("luoshi.security.urls")),
    path("dashboards/", include("luoshi.dashboards.urls")),
    path("exchange/", include("luoshi.exchange.urls")),
    path("notifications/", include("luoshi.notifications.urls")),
    path("supervision/", include("luoshi.supervision.urls")),
    path("assessment/", include("luoshi.assessment.urls")),
    path("", include("luoshi.ledgers.urls")),
]
