"""The portal's Numbers page: search with filters, buy, set up what answers, release after a confirmation; and the
staff admin, which shows every tenant's numbers."""

import re
from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from telephony.inbound.models import CallFlow, NumberSettings
from telephony.numbers import purchasing
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy
from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.db import connection
from tenants.services import user_create
from testsupport.queue import QueuedTask
from testsupport.tenants import PASSWORD, TenantSetup
from voice.agents.models import Agent
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db


def test_search_buy_set_up_and_release_in_the_portal(
    alpha_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    browser = signed_in(alpha_connected)

    empty = browser.get("/numbers/").content.decode()
    found = browser.get("/numbers/", {"country": "US", "type": "local", "area_code": "312", "contains": "77"})
    page = found.content.decode()
    assert "No numbers yet." in empty and 'href="/numbers/"' in empty  # the nav link
    assert found.status_code == 200
    offers = re.findall(r'name="phone_number" value="([^"]+)"', page)
    assert offers and all(o.startswith("+1312") and "77" in o[5:] for o in offers)
    assert "1.15 USD" in page

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        bought = browser.post("/numbers/buy/", {"phone_number": offers[0], "type": "local"})
    assert bought.status_code == 302
    assert [t.name for t in queued_tasks] == ["telephony.numbers.tasks.purchase_number"]
    with tenant_context(alpha_connected.tenant):
        pending = PhoneNumber.objects.get(phone_number=offers[0])
        assert (pending.status, pending.reason) == (PhoneNumber.Status.PENDING, PhoneNumber.Reason.PORTAL)
        assert "Being bought" in browser.get("/numbers/").content.decode()
        number = purchasing.number_purchase(number_id=pending.pk)
        flow = CallFlow.objects.create(name="Chicago desk", kind="message", text="Hello")
        agent = Agent.objects.create(name="Chi", system_prompt="Answer calls.")
    connection.set_schema_to_public()

    form = browser.get(f"/numbers/{number.pk}/")
    saved = browser.post(
        f"/numbers/{number.pk}/",
        {"friendly_name": "Chicago", "call_flow": flow.pk, "agent": agent.pk, "auto_reply": "We got it."},
    )
    listed = browser.get("/numbers/").content.decode()
    assert form.status_code == 200 and "Chicago desk" in form.content.decode()
    assert saved.status_code == 302
    assert "Chicago" in listed and "Agent: Chi" in listed and "Release" in listed
    with tenant_context(alpha_connected.tenant):
        settings_row = NumberSettings.objects.get(phone_number=number.phone_number)
        assert (settings_row.call_flow_id, settings_row.agent_id, settings_row.auto_reply) == (
            flow.pk,
            agent.pk,
            "We got it.",
        )
    connection.set_schema_to_public()

    confirmation = browser.get(f"/numbers/{number.pk}/release/").content.decode()
    assert f"Release {number.phone_number}?" in confirmation
    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.get(pk=number.pk).status == PhoneNumber.Status.ACTIVE  # asking changes nothing
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        released = browser.post(f"/numbers/{number.pk}/release/")
    assert released.status_code == 302
    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.get(pk=number.pk).status == PhoneNumber.Status.RELEASING
    assert queued_tasks[-1].name == "telephony.numbers.tasks.release_number"


def test_bad_filters_and_refusals_are_shown(alpha_connected: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    browser = signed_in(alpha_connected)

    bad = browser.get("/numbers/", {"country": "Narnia", "type": "local", "area_code": "x"})
    refused = browser.post("/numbers/buy/", {"phone_number": "nonsense", "type": "local"}, follow=True)

    assert bad.status_code == 400
    assert (
        "A two-letter country code." in bad.content.decode() and "Digits only, 2 to 5 of them" in bad.content.decode()
    )
    assert "is not a phone number" in refused.content.decode()
    with tenant_context(alpha_connected.tenant):
        assert not PhoneNumber.objects.exists()


def test_viewers_see_numbers_but_cannot_buy_set_up_or_release(alpha_connected: TenantSetup) -> None:
    number = buy(alpha_connected, area_code="415")
    email = "viewer@alpha.test"
    with tenant_context(alpha_connected.tenant):
        user_create(tenant=alpha_connected.tenant, email=email, role=Role.VIEWER, password=PASSWORD)
    connection.set_schema_to_public()
    browser = signed_in(alpha_connected, email)

    page = browser.get("/numbers/").content.decode()
    assert number.phone_number in page and "Release" not in page
    assert browser.post("/numbers/buy/", {"phone_number": "+14155550199", "type": "local"}).status_code == 403
    assert browser.get(f"/numbers/{number.pk}/").status_code == 403
    assert browser.post(f"/numbers/{number.pk}/release/").status_code == 403
    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.get(pk=number.pk).status == PhoneNumber.Status.ACTIVE


def test_staff_see_each_tenants_numbers_with_their_history(
    alpha_connected: TenantSetup, beta_connected: TenantSetup
) -> None:
    alphas = buy(alpha_connected, area_code="206")
    betas = buy(beta_connected, area_code="533")  # failed: kept, with its reason
    browser = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
        assert browser.login(username="root@platform.test", password="staff-password-1")

    alpha_page = browser.get("/admin/numbers/phonenumber/", {"tenant": "alpha"}).content.decode()
    beta_page = browser.get("/admin/numbers/phonenumber/", {"tenant": "beta"}).content.decode()
    routes = browser.get("/admin/telephony_registry/phonenumberroute/").content.decode()
    every = browser.get("/admin/numbers/phonenumber/every-tenant/")

    assert alphas.phone_number in alpha_page and alphas.phone_number not in beta_page
    assert "21452" in beta_page and "21452" not in alpha_page
    assert alphas.phone_number in routes
    assert every.status_code == 200
    page = every.content.decode()
    assert alphas.phone_number in page and "21452" in page and ">alpha<" in page and ">beta<" in page
    anonymous = APIClient(HTTP_HOST=settings.BASE_DOMAIN).get("/admin/numbers/phonenumber/every-tenant/")
    assert anonymous.status_code == 302 and alphas.phone_number not in anonymous.content.decode()
    browser.get("/admin/numbers/phonenumber/", {"tenant": "alpha"})
    assert browser.post(f"/admin/numbers/phonenumber/{alphas.pk}/change/", {"status": "released"}).status_code == 403
    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.get(pk=alphas.pk).status == PhoneNumber.Status.ACTIVE
    assert betas.status == PhoneNumber.Status.FAILED


def test_staff_close_a_tenant_from_its_numbers_page(
    alpha_connected: TenantSetup,
    beta_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: Any,
) -> None:
    alphas = buy(alpha_connected, area_code="208")
    betas = buy(beta_connected, area_code="209")
    browser = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
        assert browser.login(username="root@platform.test", password="staff-password-1")
    browser.get("/admin/numbers/phonenumber/", {"tenant": "alpha"})

    with django_capture_on_commit_callbacks(execute=True):
        closed = browser.post(
            "/admin/numbers/phonenumber/",
            {"action": "close_tenant", "_selected_action": [alphas.pk], "index": 0},
            follow=True,
        )

    assert closed.status_code == 200 and "Alpha closed: 1 number(s) being released." in closed.content.decode()
    alpha_connected.tenant.refresh_from_db()
    assert alpha_connected.tenant.is_suspended and not beta_connected.tenant.is_suspended
    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.get(pk=alphas.pk).status == PhoneNumber.Status.RELEASING
    with tenant_context(beta_connected.tenant):
        assert PhoneNumber.objects.get(pk=betas.pk).status == PhoneNumber.Status.ACTIVE
    assert ("telephony.numbers.tasks.close_numbers", {"then_close_subaccount": True}) in [
        (t.name, t.kwargs) for t in queued_tasks
    ]
