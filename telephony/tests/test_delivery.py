"""Handing messages and calls to Twilio (the sandbox), in process: outcomes, retries, reconciliation."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony import delivery
from telephony.gateway import SentResource
from telephony.models import Communication, OptOut, PlatformError
from telephony.services import call_place, sms_send
from telephony.statuses import Status
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog

pytestmark = pytest.mark.django_db


def sandbox_messages_to(log: SandboxLog, number: str) -> list[dict]:
    return [item for item in log.items("messages") if item["to"] == number]


def unique_number(seed: int) -> str:
    return f"+1415555{seed:04d}"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test uses fresh destination numbers; the per-sender bucket is what would slow them down.
    monkeypatch.setattr(delivery, "take_slot", lambda **_: 0.0)


def test_message_is_handed_over_once_and_keeps_twilios_sid(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog
) -> None:
    to = unique_number(1001)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Your code is 1234")

        verdict = delivery.deliver(communication_id=message.pk)
        again = delivery.deliver(communication_id=message.pk)  # a duplicate task does nothing

        message.refresh_from_db()
    received = sandbox_messages_to(sandbox_log, to)
    assert verdict.done and again.done
    assert message.status == "queued"  # Twilio's answer; no callback reaches this in-process test
    assert message.twilio_sid is not None and message.twilio_sid.startswith("SM")
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


def test_retryable_failures_back_off_then_give_up(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog, monkeypatch
) -> None:
    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 3)
    sandbox_log.faults(error_500_rate=1.0)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=unique_number(1002), body="Hi")

        verdicts = [delivery.deliver(communication_id=message.pk) for _ in range(3)]

        message.refresh_from_db()
    assert [v.done for v in verdicts] == [False, False, True]
    first_wait, second_wait = verdicts[0].retry_in, verdicts[1].retry_in
    assert first_wait is not None and second_wait is not None
    assert 0.9 <= first_wait <= 2.0 and 1.9 <= second_wait <= 4.0  # exponential, with jitter
    assert message.status == "failed" and message.error_message.startswith("Gave up after 3 attempts")


def test_rate_limited_by_twilio_is_retried_later(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    sandbox_log.faults(error_429_rate=1.0)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=unique_number(1003), body="Hi")
        verdict = delivery.deliver(communication_id=message.pk)
        message.refresh_from_db()
    assert not verdict.done and message.status == "pending" and message.error_code == "20429"


def test_worker_death_after_twilio_accepted_is_reconciled_not_resent(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog
) -> None:
    to = unique_number(1004)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Exactly once")
        delivery.deliver(communication_id=message.pk)
        sid = Communication.objects.get(pk=message.pk).twilio_sid
        # As if the worker had died after Twilio accepted, before it could record the answer:
        Communication.objects.filter(pk=message.pk).update(
            status=Status.DISPATCHING,
            twilio_sid=None,
            attempt_started_at=timezone.now() - delivery.ATTEMPT_LEASE - timedelta(seconds=1),
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
            status=Status.DISPATCHING,
            attempts=1,
            attempt_started_at=timezone.now() - delivery.ATTEMPT_LEASE - timedelta(seconds=1),
        )

        verdict = delivery.deliver(communication_id=message.pk)

        message.refresh_from_db()
    assert verdict.done and message.attempts == 2
    assert [item["sid"] for item in sandbox_messages_to(sandbox_log, to)] == [message.twilio_sid]


def test_attempt_in_flight_elsewhere_is_left_alone(alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog) -> None:
    to = unique_number(1006)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="In flight")
        Communication.objects.filter(pk=message.pk).update(
            status=Status.DISPATCHING, attempts=1, attempt_started_at=timezone.now()
        )

        verdict = delivery.deliver(communication_id=message.pk)

    assert not verdict.done and verdict.retry_in is not None and verdict.retry_in > 0
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
        call = call_place(
            tenant=alpha_on_twilio.tenant, to=to, text="Hello {name}", variables={"name": "Ann"}, record=True
        )

        delivery.deliver(communication_id=call.pk)

        call.refresh_from_db()
        document = call.twiml_document
        assert call.twilio_sid is not None and call.twilio_sid.startswith("CA")
        assert document is not None and "Hello Ann" in document.xml
        placed = [item for item in sandbox_log.items("calls") if item["to"] == to]
        assert [item["sid"] for item in placed] == [call.twilio_sid]
        assert placed[0]["url"].endswith(f"/twiml/{document.public_token}/")


def test_a_group_sends_each_item_once_and_skips_what_is_no_longer_pending(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog
) -> None:
    tos = [unique_number(1100 + n) for n in range(3)]
    with tenant_context(alpha_on_twilio.tenant):
        first, canceled, last = (sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Grouped") for to in tos)
        Communication.objects.filter(pk=canceled.pk).update(status=Status.CANCELED)
        ids = [first.pk, canceled.pk, 987654321, last.pk]  # 987654321: deleted meanwhile

        verdicts: dict[int, delivery.Verdict] = {}
        not_reached = delivery.deliver_group(communication_ids=ids, follow_up=verdicts.__setitem__)
        first_verdicts = dict(verdicts)
        delivery.deliver_group(communication_ids=ids, follow_up=verdicts.__setitem__)  # a duplicate task does nothing

        first.refresh_from_db()
        last.refresh_from_db()
    assert set(first_verdicts) == {first.pk, canceled.pk, last.pk} and not_reached == []
    assert all(verdict.done for verdict in [*first_verdicts.values(), *verdicts.values()])
    assert [item["sid"] for item in sandbox_messages_to(sandbox_log, tos[0])] == [first.twilio_sid]
    assert [item["sid"] for item in sandbox_messages_to(sandbox_log, tos[2])] == [last.twilio_sid]
    assert sandbox_messages_to(sandbox_log, tos[1]) == []
    assert (first.attempts, last.attempts) == (1, 1)


def test_a_group_out_of_time_hands_back_what_it_has_not_reached(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "GROUP_TIME_BUDGET_SECONDS", -1)
    tos = [unique_number(1110 + n) for n in range(3)]
    with tenant_context(alpha_on_twilio.tenant):
        messages = [sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Budget") for to in tos]

        verdicts: dict[int, delivery.Verdict] = {}
        not_reached = delivery.deliver_group(communication_ids=[m.pk for m in messages], follow_up=verdicts.__setitem__)

        statuses = [Communication.objects.get(pk=m.pk).status for m in messages]
    # Even out of time, the first item gets its attempt, so a group always makes progress.
    assert list(verdicts) == [messages[0].pk] and not_reached == [m.pk for m in messages[1:]]
    assert statuses[1:] == ["pending", "pending"] and statuses[0] != "pending"
    assert [len(sandbox_messages_to(sandbox_log, to)) for to in tos] == [1, 0, 0]


def test_of_two_workers_that_read_the_same_item_only_one_hands_it_over(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog
) -> None:
    to = unique_number(1120)
    with tenant_context(alpha_on_twilio.tenant):
        message = sms_send(tenant=alpha_on_twilio.tenant, to=to, body="Raced")
        # Both read it pending; the first claims and sends it before the second gets to claim.
        read_by_first, read_by_second = (Communication.objects.get(pk=message.pk) for _ in range(2))
        gateway = delivery._gateway()

        first = delivery._attempt(read_by_first, gateway, per_second=None)
        second = delivery._attempt(read_by_second, gateway, per_second=None)

        message.refresh_from_db()
    assert first.done and second.retry_in == 1.0  # the loser looks again later and will find it sent
    assert [item["sid"] for item in sandbox_messages_to(sandbox_log, to)] == [message.twilio_sid]
    assert message.attempts == 1


def test_twilios_answer_never_takes_back_a_status_its_callback_already_moved_forward(
    alpha_on_twilio: TenantSetup,
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        raced, plain = (
            sms_send(tenant=alpha_on_twilio.tenant, to=unique_number(1130 + n), body="Hi") for n in range(2)
        )
        Communication.objects.filter(pk__in=[raced.pk, plain.pk]).update(status=Status.DISPATCHING)
        # The delivered callback overtook the answer to the create request.
        Communication.objects.filter(pk=raced.pk).update(status=Status.DELIVERED)

        delivery._record_success(raced.pk, SentResource(sid="SM" + "a" * 32, status=Status.QUEUED))
        delivery._record_success(plain.pk, SentResource(sid="SM" + "b" * 32, status=Status.QUEUED))

        raced.refresh_from_db()
        plain.refresh_from_db()
    assert (raced.status, raced.twilio_sid) == ("delivered", "SM" + "a" * 32)
    assert (plain.status, plain.twilio_sid) == ("queued", "SM" + "b" * 32)
