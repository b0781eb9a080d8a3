"""Tenant-host routes of the tenants app: the portal pages and the /api/v1/ endpoints."""

from django.contrib.auth import views as auth_views
from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants import api, views

router = SimpleRouter(trailing_slash=True)
router.register("api-keys", api.ApiKeyViewSet, basename="api-key")
router.register("users", api.UserViewSet, basename="user")

api_urlpatterns = [
    path("tenant/", api.CurrentTenantView.as_view(), name="current-tenant"),
    *router.urls,
]

portal_urlpatterns = [
    path("", views.home, name="portal-home"),
    path("api-keys/", views.api_key_create, name="portal-api-key-create"),
    path("api-keys/<int:key_id>/revoke/", views.api_key_revoke, name="portal-api-key-revoke"),
    path("users/invite/", views.user_invite, name="portal-user-invite"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/set_password.html", success_url="/accounts/login/", post_reset_login=False
        ),
        name="set-password",
    ),
]
