"""Tenant isolation: tenant B cannot see, change or release A's number, through the API or the portal, nor buy
it from under A; a number A bought routes to A only, calls and SMS included."""

import pytest
from django_tenants.utils import tenant_context

from telephony.inbound.models import NumberSettings
from telephony.inbound.tests.support import call_params, sms_params, token_of, twilio_post
from telephony.models import Communication
from telephony.numbers import purchasing, services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy, sandbox_holders
from telephony.registry.models import PhoneNumberRoute, TwilioAccount
from telephony.registry.routing import tenant_for_number
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db


def test_b_cannot_see_patch_or_release_as_number(
    alpha_connected: TenantSetup, beta_connected: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    number = buy(alpha_connected, area_code="617", friendly_name="Alpha line")
    beta_api = beta_connected.client(beta_connected.admin_key)

    assert beta_api.get("/api/v1/numbers/").json()["results"] == []
    assert beta_api.get(f"/api/v1/numbers/{number.pk}/").status_code == 404
    assert beta_api.patch(f"/api/v1/numbers/{number.pk}/", {"friendly_name": "Mine"}, format="json").status_code == 404
    assert beta_api.delete(f"/api/v1/numbers/{number.pk}/").status_code == 404
    # Nor with its own key on alpha's host.
    assert beta_connected.client(beta_connected.admin_key).get(
        f"/api/v1/numbers/{number.pk}/", HTTP_HOST=alpha_connected.host
    ).status_code in (401, 403, 404)
    browser = signed_in(beta_connected)
    assert number.phone_number not in browser.get("/numbers/").content.decode()
    assert browser.get(f"/numbers/{number.pk}/").status_code == 404
    assert browser.post(f"/numbers/{number.pk}/release/").status_code == 404

    with tenant_context(alpha_connected.tenant):
        unchanged = PhoneNumber.objects.get(pk=number.pk)
    assert (unchanged.status, unchanged.friendly_name) == (PhoneNumber.Status.ACTIVE, "Alpha line")
    assert sandbox_holders(number.phone_number)[0]["account_sid"] == (
        TwilioAccount.objects.get(tenant=alpha_connected.tenant).account_sid
    )


def test_b_cannot_buy_as_number(alpha_connected: TenantSetup, beta_connected: TenantSetup) -> None:
    number = buy(alpha_connected, area_code="512")

    attempt = buy(beta_connected, phone_number=number.phone_number)

    # Refused before Twilio is asked: the number is routed to alpha.
    assert attempt.status == PhoneNumber.Status.FAILED
    assert "another Switchboard account's number" in attempt.status_detail
    assert PhoneNumberRoute.objects.get(phone_number=number.phone_number).tenant == alpha_connected.tenant
    with tenant_context(beta_connected.tenant):
        assert (
            not beta_connected.client(beta_connected.admin_key)
            .get("/api/v1/numbers/", {"status": "active"})
            .json()["results"]
        )


def test_a_number_a_bought_routes_calls_and_sms_to_a_only(
    alpha_connected: TenantSetup, beta_connected: TenantSetup
) -> None:
    number = buy(alpha_connected, area_code="305")
    with tenant_context(alpha_connected.tenant):
        NumberSettings.objects.filter(phone_number=number.phone_number).update(auto_reply="Alpha here.")

    # Twilio posts to the public host, which finds the tenant by the number called, and signs with A's token.
    texted = twilio_post(
        None,
        "/webhooks/twilio/sms/",
        sms_params(alpha_connected, to=number.phone_number, sid="SM" + "a" * 32, body="hello"),
        token=token_of(alpha_connected),
    )
    called = twilio_post(
        None,
        "/webhooks/twilio/voice/",
        call_params(alpha_connected, to=number.phone_number, sid="CA" + "b" * 32),
        token=token_of(alpha_connected),
    )
    # Signed with B's token, as if B's account claimed the number: refused, nothing recorded anywhere.
    forged = twilio_post(
        None,
        "/webhooks/twilio/sms/",
        sms_params(beta_connected, to=number.phone_number, sid="SM" + "c" * 32, body="mine?"),
        token=token_of(beta_connected),
    )

    assert texted.status_code == 200 and "Alpha here." in texted.content.decode()
    assert called.status_code == 200
    assert forged.status_code == 403
    assert tenant_for_number(number.phone_number) == alpha_connected.tenant
    with tenant_context(alpha_connected.tenant):
        assert set(
            Communication.objects.filter(to_number=number.phone_number).values_list("twilio_sid", flat=True)
        ) == {
            "SM" + "a" * 32,
            "CA" + "b" * 32,
        }
    with tenant_context(beta_connected.tenant):
        assert not Communication.objects.filter(to_number=number.phone_number).exists()


def test_a_task_runs_only_on_the_numbers_of_the_schema_it_was_queued_in(
    alpha_connected: TenantSetup, beta_connected: TenantSetup
) -> None:
    active = buy(alpha_connected, area_code="206")
    with tenant_context(alpha_connected.tenant):
        pending = services.number_purchase_request(tenant=alpha_connected.tenant, area_code="212")
        services.number_release_request(number=active)

    with tenant_context(beta_connected.tenant):
        with pytest.raises(PhoneNumber.DoesNotExist):
            purchasing.number_purchase(number_id=pending.pk)
        with pytest.raises(PhoneNumber.DoesNotExist):
            purchasing.number_release(number_id=active.pk)

    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.get(pk=pending.pk).status == PhoneNumber.Status.PENDING
        assert PhoneNumber.objects.get(pk=active.pk).status == PhoneNumber.Status.RELEASING
    assert sandbox_holders(active.phone_number)[0]["account_sid"] == (
        TwilioAccount.objects.get(tenant=alpha_connected.tenant).account_sid
    )
