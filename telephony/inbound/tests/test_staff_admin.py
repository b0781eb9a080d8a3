"""Staff see tenants' number routes, call flows and number settings in the admin, tenant by tenant, read-only."""

import pytest
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from telephony.inbound.models import CallFlow, InboundSettings, NumberSettings
from tenants.accounts.models import User
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db


def staff_browser() -> APIClient:
    browser = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
        assert browser.login(username="root@platform.test", password="staff-password-1")
    return browser


def test_staff_see_each_tenants_numbers_and_flows_but_not_its_signing_secret(
    alpha_on_twilio: TenantSetup, beta: TenantSetup
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        flow = CallFlow.objects.create(name="Alpha menu", kind="message", text="Hi")
        NumberSettings.objects.create(phone_number=SENDER, call_flow=flow)
        secret = InboundSettings.objects.create(pk=1).forward_signing_secret
    browser = staff_browser()

    routes = browser.get("/admin/telephony_registry/phonenumberroute/").content.decode()
    alphas = browser.get("/admin/inbound/numbersettings/", {"tenant": "alpha"}).content.decode()
    flows = browser.get("/admin/inbound/callflow/").content.decode()  # the tenant chosen stays chosen
    inbound_settings = browser.get("/admin/inbound/inboundsettings/1/change/").content.decode()
    betas = browser.get("/admin/inbound/numbersettings/", {"tenant": "beta"}).content.decode()

    assert SENDER in routes and "alpha" in routes
    assert SENDER in alphas and "Alpha menu" in alphas
    assert "Alpha menu" in flows
    assert "UTC" in inbound_settings and secret not in inbound_settings
    assert SENDER not in betas
    browser.get("/admin/inbound/callflow/", {"tenant": "alpha"})
    assert browser.post(f"/admin/inbound/callflow/{flow.pk}/change/", {"name": "Mallory"}).status_code == 403
    with tenant_context(alpha_on_twilio.tenant):
        assert CallFlow.objects.get(pk=flow.pk).name == "Alpha menu"
