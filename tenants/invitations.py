"""Invitation e-mails: the set-password link and the message that carries it.

Apart from tenants.services so that the worker's task can send one without importing the services
that queue it.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenants.accounts.models import User
from tenants.hosts import tenant_base_url
from tenants.models import Tenant


def user_set_password_url(*, user: User, tenant: Tenant) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    # The link is for the tenant host, whose URLconf differs from the public host's this may run on.
    path = reverse("set-password", urlconf=settings.ROOT_URLCONF, kwargs={"uidb64": uid, "token": token})
    return tenant_base_url(tenant) + path


def user_send_invitation(*, user: User, tenant: Tenant) -> None:
    url = user_set_password_url(user=user, tenant=tenant)
    send_mail(
        subject=f"You are invited to {tenant.name} on Switchboard",
        message=(
            f"You have been given {user.get_role_display().lower()} access to {tenant.name} on Switchboard.\n\n"
            f"Choose your password here to sign in:\n{url}\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
