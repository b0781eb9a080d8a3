"""Handing messages and calls to Twilio (the sandbox), in process: outcomes, retries, reconciliation."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from conftest import TenantSetup
from telephony import delivery
from telephony.models import Communication, OptOut, PlatformError
from telephony.services import call_place, sms_send
from telephony.statuses import Status
from telephony.tests.platform_fixtures import SandboxLog

pytestmark = pytest.mark.django_db


def sandbox_messages_to(log: SandboxLog, number: str) -> list[dict]:
    return [item for item in log.items("messages") if item["to"] == number]


def unique_number(seed: int) -> str:
    return f"+1415555{seed:04d}"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test uses fresh destination numbers; the per-sender bucket is what would slow them down.
    monkeypatch.setattr(delivery, "take_slot", lambda **_: 0.0)


def test_message_is_handed_over_once_and_keeps_twilios_sid(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    to = unique_number(1001)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Your code is 1234")

        verdict = delivery.deliver(communication_id=message.pk)
        again = delivery.deliver(communication_id=message.pk)  # a duplicate task does nothing

        message.refresh_from_db()
    received = sandbox_messages_to(sandbox_log, to)
    assert verdict.done and again.done
    assert message.status in ("queued", "sending", "sent", "delivered") and message.twilio_sid.startswith("SM")
    assert [item["sid"] for item in received] == [message.twilio_sid]
    assert received[0]["body"] == "Your code is 1234"
    assert message.attempts == 1


def test_permanent_failure_fails_at_once_and_21610_opts_the_number_out(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to="+15005550004", body="Hi")

        verdict = delivery.deliver(communication_id=message.pk)

        message.refresh_from_db()
        assert verdict.done
        assert (message.status, message.error_code, message.attempts) == ("failed", "21610", 1)
        assert OptOut.objects.filter(phone_number="+15005550004", source="twilio_21610").exists()
        assert PlatformError.objects.filter(communication=message, twilio_code="21610").exists()


def test_retryable_failures_back_off_then_give_up(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog, monkeypatch) -> None:
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 3)
    sandbox_log.faults(error_500_rate=1.0)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=unique_number(1002), body="Hi")

        verdicts = [delivery.deliver(communication_id=message.pk) for _ in range(3)]

        message.refresh_from_db()
    assert [v.done for v in verdicts] == [False, False, True]
    assert 0.9 <= verdicts[0].retry_in <= 2.0 and 1.9 <= verdicts[1].retry_in <= 4.0  # exponential, with jitter
    assert message.status == "failed" and message.error_message.startswith("Gave up after 3 attempts")


def test_rate_limited_by_twilio_is_retried_later(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    sandbox_log.faults(error_429_rate=1.0)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=unique_number(1003), body="Hi")
        verdict = delivery.deliver(communication_id=message.pk)
        message.refresh_from_db()
    assert not verdict.done and message.status == "pending" and message.error_code == "20429"


def test_worker_death_after_twilio_accepted_is_reconciled_not_resent(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    to = unique_number(1004)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Exactly once")
        delivery.deliver(communication_id=message.pk)
        sid = Communication.objects.get(pk=message.pk).twilio_sid
        # As if the worker had died after Twilio accepted, before it could record the answer:
        Communication.objects.filter(pk=message.pk).update(
            status=Status.DISPATCHING, twilio_sid=None, attempt_started_at=timezone.now() - delivery.ATTEMPT_LEASE - timedelta(seconds=1)
        )

        verdict = delivery.deliver(communication_id=message.pk)

        message.refresh_from_db()
    assert verdict.done
    assert message.twilio_sid == sid
    assert len(sandbox_messages_to(sandbox_log, to)) == 1


def test_worker_death_before_twilio_got_it_sends_once(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    to = unique_number(1005)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Lost in flight")
        Communication.objects.filter(pk=message.pk).update(
            status=Status.DISPATCHING, attempts=1, attempt_started_at=timezone.now() - delivery.ATTEMPT_LEASE - timedelta(seconds=1)
        )

        verdict = delivery.deliver(communication_id=message.pk)

        message.refresh_from_db()
    assert verdict.done and message.attempts == 2
    assert [item["sid"] for item in sandbox_messages_to(sandbox_log, to)] == [message.twilio_sid]


def test_attempt_in_flight_elsewhere_is_left_alone(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    to = unique_number(1006)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="In flight")
        Communication.objects.filter(pk=message.pk).update(status=Status.DISPATCHING, attempts=1, attempt_started_at=timezone.now())

        verdict = delivery.deliver(communication_id=message.pk)

    assert not verdict.done and verdict.retry_in > 0
    assert sandbox_messages_to(sandbox_log, to) == []


def test_canceled_message_is_never_sent(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    to = unique_number(1007)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Never")
        Communication.objects.filter(pk=message.pk).update(status=Status.CANCELED)
        assert delivery.deliver(communication_id=message.pk).done
    assert sandbox_messages_to(sandbox_log, to) == []


def test_call_renders_its_twiml_document_and_is_placed(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    to = unique_number(1008)
    with tenant_context(alpha_on_twilio.tenant):
        call = call_place(tenant=alpha_on_twilio.tenant, to=to, text="Hello {name}", variables={"name": "Ann"}, record=True)

        delivery.deliver(communication_id=call.pk)

        call.refresh_from_db()
        assert call.twilio_sid.startswith("CA")
        assert "Hello Ann" in call.twiml_document.xml
        placed = [item for item in sandbox_log.items("calls") if item["to"] == to]
        assert [item["sid"] for item in placed] == [call.twilio_sid]
        assert placed[0]["url"].endswith(f"/twiml/{call.twiml_document.public_token}/")
