"""Sender numbers in the portal: admins register, check again and remove them; others only look."""

import pytest
from django_tenants.utils import tenant_context

from telephony.models import SenderNumber
from telephony.registry.models import TwilioAccount
from telephony.verification import sender_number_verify
from tenants.accounts.roles import Role
from tenants.db import connection
from tenants.services import user_create
from testsupport.tenants import PASSWORD, TenantSetup
from testsupport.twilio import SENDER, buy_on_sandbox
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

NUMBER = "+14155550711"


def sender(setup: TenantSetup, number: str) -> SenderNumber | None:
    with tenant_context(setup.tenant):
        return SenderNumber.objects.filter(phone_number=number).first()


def registered_sender(setup: TenantSetup, number: str) -> SenderNumber:
    found = sender(setup, number)
    assert found is not None, f"{number} is not registered"
    return found


def test_an_admin_registers_a_number_and_sees_twilios_answer(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        buy_on_sandbox(TwilioAccount.objects.get(tenant=alpha_on_twilio.tenant), NUMBER)
    connection.set_schema_to_public()
    browser = signed_in(alpha_on_twilio)

    form_page = browser.get("/senders/register/")
    registered = browser.post(
        "/senders/register/", {"phone_number": "+1 (415) 555-0711", "kind": "long_code", "messages_per_second": "2"}
    )
    pending_page = browser.get("/senders/").content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        sender_number_verify(sender_id=registered_sender(alpha_on_twilio, NUMBER).pk)  # what the worker does next
    verified_page = browser.get("/senders/").content.decode()

    assert form_page.status_code == 200 and 'name="phone_number"' in form_page.content.decode()
    assert registered.status_code == 302 and registered["Location"] == "/senders/"
    assert registered_sender(alpha_on_twilio, NUMBER).messages_per_second == 2.0
    assert "Being checked with Twilio" in pending_page and 'http-equiv="refresh"' in pending_page
    assert registered_sender(alpha_on_twilio, NUMBER).status == SenderNumber.Status.VERIFIED
    assert 'http-equiv="refresh"' not in verified_page and "Verified with Twilio" in verified_page


def test_bad_input_is_shown_on_the_form_and_registers_nothing(alpha_on_twilio: TenantSetup) -> None:
    browser = signed_in(alpha_on_twilio)

    response = browser.post(
        "/senders/register/", {"phone_number": "555", "kind": "long_code", "messages_per_second": "5000"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "not a phone number" in page and "less than or equal to 1000" in page
    assert 'value="555"' in page  # what was typed stays in the form
    with tenant_context(alpha_on_twilio.tenant):
        assert list(SenderNumber.objects.values_list("phone_number", flat=True)) == [SENDER]


def test_a_rejected_number_is_checked_again_and_a_number_removed(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        rejected = SenderNumber.objects.create(
            phone_number=NUMBER, status=SenderNumber.Status.REJECTED, status_detail="Not found."
        )
    browser = signed_in(alpha_on_twilio)

    assert ">Check again</button>" in browser.get("/senders/").content.decode()
    assert browser.post(f"/senders/{rejected.pk}/check/").status_code == 302
    assert registered_sender(alpha_on_twilio, NUMBER).status == SenderNumber.Status.PENDING
    assert browser.post(f"/senders/{rejected.pk}/remove/").status_code == 302
    assert sender(alpha_on_twilio, NUMBER) is None


def test_a_verified_number_is_not_checked_again(alpha_on_twilio: TenantSetup) -> None:
    """Checking it again would make it pending, and refuse its sends, until Twilio answered."""
    default = registered_sender(alpha_on_twilio, SENDER)
    browser = signed_in(alpha_on_twilio)

    page = browser.get("/senders/").content.decode()
    refused = browser.post(f"/senders/{default.pk}/check/", follow=True).content.decode()

    assert ">Check again</button>" not in page
    assert "only a rejected number is checked again" in refused
    assert registered_sender(alpha_on_twilio, SENDER).status == SenderNumber.Status.VERIFIED


def test_only_admins_manage_senders(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        user_create(tenant=alpha_on_twilio.tenant, email="ops@alpha.test", role=Role.OPERATOR, password=PASSWORD)
        default = SenderNumber.objects.get(phone_number=SENDER)
    operator = signed_in(alpha_on_twilio, "ops@alpha.test")

    page = operator.get("/senders/").content.decode()

    assert SENDER in page and "Register a number" not in page and ">Remove</button>" not in page
    assert operator.get("/senders/register/").status_code == 403
    assert operator.post("/senders/register/", {"phone_number": NUMBER, "kind": "long_code"}).status_code == 403
    assert operator.post(f"/senders/{default.pk}/remove/").status_code == 403
    assert sender(alpha_on_twilio, SENDER) is not None and sender(alpha_on_twilio, NUMBER) is None


def test_another_tenants_sender_is_not_found(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    default = registered_sender(alpha_on_twilio, SENDER)
    beta_browser = signed_in(beta)

    assert beta_browser.post(f"/senders/{default.pk}/remove/").status_code == 404
    assert beta_browser.post(f"/senders/{default.pk}/check/").status_code == 404
    assert SENDER not in beta_browser.get("/senders/").content.decode()
    assert registered_sender(alpha_on_twilio, SENDER).status == SenderNumber.Status.VERIFIED
