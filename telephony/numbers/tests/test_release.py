"""Releasing: DELETE answers 202 releasing, a worker gives the number back to Twilio, and it stays as released:
no route, no sender, back on sale."""

import pytest
from django_tenants.utils import tenant_context

from telephony.models import SenderNumber
from telephony.numbers import purchasing, services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy, sandbox_holders
from telephony.registry.models import PhoneNumberRoute
from telephony.registry.provisioning import TwilioUnavailable
from telephony.registry.routing import tenant_for_number
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog

pytestmark = pytest.mark.django_db


def test_delete_releases_the_number_and_keeps_it_in_history(
    alpha_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    number = buy(alpha_connected, area_code="808")
    api = alpha_connected.client(alpha_connected.admin_key)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        answer = api.delete(f"/api/v1/numbers/{number.pk}/")

    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "releasing"
    assert [(t.name, t.kwargs, t.schema) for t in queued_tasks] == [
        ("telephony.numbers.tasks.release_number", {"number_id": number.pk}, alpha_connected.tenant.schema_name)
    ]
    assert sandbox_holders(number.phone_number), "not released before the worker runs"

    with tenant_context(alpha_connected.tenant):
        released = purchasing.number_release(number_id=number.pk)
        sender = SenderNumber.objects.get(phone_number=number.phone_number)
    assert released.status == PhoneNumber.Status.RELEASED and released.released_at is not None
    assert sandbox_holders(number.phone_number) == []
    assert not PhoneNumberRoute.objects.filter(phone_number=number.phone_number).exists()
    assert tenant_for_number(number.phone_number) is None
    assert (sender.status, sender.is_default) == (SenderNumber.Status.REJECTED, False)

    history = api.get("/api/v1/numbers/", {"status": "released"}).json()["results"]
    assert [(n["phone_number"], n["status"]) for n in history] == [(number.phone_number, "released")]
    assert history[0]["released_at"] is not None and history[0]["provisioned_at"] is not None
    again = api.delete(f"/api/v1/numbers/{number.pk}/")
    assert again.status_code == 409 and again.json()["type"] == "urn:switchboard:problem:number-not-active"


def test_a_number_is_bought_again_after_its_release(alpha_connected: TenantSetup) -> None:
    first = buy(alpha_connected, area_code="503")
    with tenant_context(alpha_connected.tenant):
        services.number_release_request(number=first)
        purchasing.number_release(number_id=first.pk)

    again = buy(alpha_connected, phone_number=first.phone_number)

    assert again.status == PhoneNumber.Status.ACTIVE and again.pk != first.pk
    with tenant_context(alpha_connected.tenant):
        assert SenderNumber.objects.get(phone_number=first.phone_number).status == SenderNumber.Status.VERIFIED
        assert PhoneNumber.objects.filter(phone_number=first.phone_number).count() == 2
    assert tenant_for_number(first.phone_number) == alpha_connected.tenant


def test_a_release_twilio_cannot_answer_is_tried_again(alpha_connected: TenantSetup, sandbox_log: SandboxLog) -> None:
    number = buy(alpha_connected, area_code="312")
    with tenant_context(alpha_connected.tenant):
        services.number_release_request(number=number)
        sandbox_log.faults(error_500_rate=1.0, methods=["DELETE"])
        with pytest.raises(TwilioUnavailable):
            purchasing.number_release(number_id=number.pk)
        assert PhoneNumber.objects.get(pk=number.pk).status == PhoneNumber.Status.RELEASING
        assert tenant_for_number(number.phone_number) == alpha_connected.tenant

        sandbox_log.faults()
        assert purchasing.number_release(number_id=number.pk).status == PhoneNumber.Status.RELEASED
    assert sandbox_holders(number.phone_number) == []


def test_only_an_active_number_is_released(alpha_connected: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    api = alpha_connected.client(alpha_connected.admin_key)
    pending = api.post("/api/v1/numbers/", {"area_code": "404"}, format="json").json()
    failed = buy(alpha_connected, area_code="533")

    for number_id in (pending["id"], failed.pk):
        refused = api.delete(f"/api/v1/numbers/{number_id}/")
        assert refused.status_code == 409
        assert "Only an active number can be released" in refused.json()["detail"]
