"""Staff see a tenant's appointments in the Django admin on the public host, chosen tenant by tenant, read-only."""

import pytest
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from telephony.appointments.models import Notification
from telephony.appointments.tests.support import book
from tenants.accounts.models import User
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

ADMIN = "/admin/appointments/appointment/"


def test_staff_choose_a_tenant_and_see_only_its_appointments(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    appointment_id = book(alpha_on_twilio, customer_name="Alpha Customer").json()["id"]
    browser = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    with schema_context("public"):  # staff and their sessions live there
        User.objects.create_superuser("root@platform.test", "staff-password-1")
        assert browser.login(username="root@platform.test", password="staff-password-1")

    chooser = browser.get(ADMIN).content.decode()
    alphas = browser.get(ADMIN, {"tenant": "alpha"}).content.decode()
    detail = browser.get(f"{ADMIN}{appointment_id}/change/")  # the tenant chosen stays chosen
    betas = browser.get(ADMIN, {"tenant": "beta"}).content.decode()
    searched = browser.get(ADMIN, {"tenant": "alpha", "q": "Alpha"}).content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        notification_id = Notification.objects.get().pk
    notification = browser.get(f"/admin/appointments/notification/{notification_id}/change/")

    assert "choose a tenant" in chooser and "?tenant=alpha" in chooser and "?tenant=beta" in chooser
    assert "Alpha Customer" in alphas and "Tenant: Alpha (alpha)" in alphas
    assert detail.status_code == 200 and "Alpha Customer" in detail.content.decode()
    assert "Confirmation" in detail.content.decode()  # its notifications, inline
    assert "Alpha Customer" not in betas and "Tenant: Beta (beta)" in betas
    assert "Alpha Customer" in searched
    assert notification.status_code == 200
    assert browser.get(f"{ADMIN}add/").status_code == 403
    # Read-only: the page offers no save, and a POST changes nothing.
    browser.get(ADMIN, {"tenant": "alpha"})
    assert 'name="_save"' not in detail.content.decode()
    assert browser.post(f"{ADMIN}{appointment_id}/change/", {"customer_name": "Mallory"}).status_code == 403
