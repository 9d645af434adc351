from django.contrib.auth import views as auth_views
from django.urls import path

from kangfu.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    # An account made by an import or by `kangfu setup` sets its own password here, once
    # (kangfu.golive.services.accounts.first_login_link makes the link).
    path(
        "accounts/first-login/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/first_login_done.html"),
        name="first_login_done",
    ),
    path(
        "accounts/first-login/<uidb64>/<token>/",
        views.FirstLoginView.as_view(),
        name="first_login",
    ),
    path("audit/", views.audit_log, name="audit_log"),
    path("regions/import/", views.region_import, name="region_import"),
]
