"""Staff see each tenant's Twilio connection in the Django admin, never its auth token."""

import pytest
from django.conf import settings
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from tenants.accounts.models import User
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def test_staff_see_twilio_accounts_without_their_tokens(alpha_on_twilio: TenantSetup) -> None:
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
        account = alpha_on_twilio.tenant.twilio_account
    browser = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    browser.login(username="root@platform.test", password="staff-password-1")

    listing = browser.get("/admin/telephony_registry/twilioaccount/", {"q": "alpha"}).content.decode()
    detail = browser.get(f"/admin/telephony_registry/twilioaccount/{account.pk}/change/").content.decode()

    assert account.account_sid in listing and "Active" in listing
    assert account.account_sid in detail
    assert account.auth_token not in listing + detail
    assert browser.get("/admin/telephony_registry/twilioaccount/add/").status_code == 403
