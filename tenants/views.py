"""Tenant portal: landing page, API keys and users. Server-rendered; reachable by login or API key."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from rest_framework.exceptions import AuthenticationFailed

from tenants import selectors, services
from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.authentication import ApiKeyUser, api_key_user_from
from tenants.context_processors import portal_key_query
from tenants.db import current_tenant
from tenants.forms import ApiKeyForm, InviteForm

View = Callable[..., HttpResponseBase]


def portal_redirect(request: HttpRequest, view_name: str, **kwargs: Any) -> HttpResponseRedirect:
    """Redirects within the portal, keeping ?apiKey= for pages embedded by the legacy client."""
    return redirect(reverse(view_name, kwargs=kwargs) + portal_key_query(request)["key_query"])


def portal_user(request: HttpRequest) -> User | ApiKeyUser:
    """Who portal_access let in: a signed-in user, or the bearer of an API key in the link."""
    user = request.user
    if isinstance(user, User | ApiKeyUser):
        return user
    raise PermissionDenied("the portal needs a signed-in user")


def form_errors_text(form: Form) -> str:
    """A form's errors as one line, for a flash message."""
    return "; ".join(str(error) for errors in form.errors.values() for error in errors)


def portal_access(role: Role = Role.VIEWER) -> Callable[[View], View]:
    """Signed-in users, or an API key (the legacy client iframes pages with `?apiKey=`), with at least `role`."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                try:
                    key_user = api_key_user_from(request)
                except AuthenticationFailed:
                    key_user = None
                if key_user is None:
                    return redirect_to_login(request.get_full_path())
                request.user = key_user  # type: ignore[assignment]  # the portal also lets an API key's bearer in
            if not portal_user(request).has_role(role):
                return render(request, "tenants/forbidden.html", {"role": role}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@portal_access()
def home(request: HttpRequest) -> HttpResponse:
    tenant = current_tenant()
    is_admin = portal_user(request).has_role(Role.ADMIN)
    context = {
        "tenant": tenant,
        "is_admin": is_admin,
        "api_keys": selectors.api_key_list(tenant=tenant) if is_admin else [],
        "users": selectors.user_list() if is_admin else [],
        "api_key_form": ApiKeyForm(),
        "invite_form": InviteForm(),
        "new_key": request.session.pop("new_api_key", None),
    }
    return render(request, "tenants/home.html", context)


@require_POST
@portal_access(Role.ADMIN)
def api_key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            _, raw_key = services.api_key_create(
                tenant=current_tenant(), created_by=str(request.user), **form.cleaned_data
            )
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            # Shown once, on the next page, then gone from the session.
            request.session["new_api_key"] = raw_key
    else:
        messages.error(request, "The API key was not created: " + form_errors_text(form))
    return portal_redirect(request, "portal-home")


@require_POST
@portal_access(Role.ADMIN)
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = get_object_or_404(selectors.api_key_list(tenant=current_tenant()), pk=key_id)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"API key {api_key.prefix}… revoked.")
    return portal_redirect(request, "portal-home")


@require_POST
@portal_access(Role.ADMIN)
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            user = services.user_invite(tenant=current_tenant(), **form.cleaned_data)
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
        else:
            messages.success(request, f"Invitation sent to {user.email}.")
    else:
        messages.error(request, "The invitation was not sent: " + form_errors_text(form))
    return portal_redirect(request, "portal-home")
