"""From the API through a real Celery worker to the Twilio sandbox, and back through signed callbacks
to a real web server, on committed data."""

import time
from typing import Any

import pytest
import redis
from celery.signals import before_task_publish
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from telephony import delivery, ratelimit
from telephony.models import Communication, SenderNumber
from telephony.registry.models import TwilioAccount
from telephony.tasks import deliver_communications, requeue_stalled_communications, verify_pending_senders
from tenants.db import connection
from testsupport.processes import PlatformProcesses, eventually
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER, SandboxLog, buy_on_sandbox, sender_on_sandbox

pytestmark = pytest.mark.worker
# How late a message may reach the sandbox after its slot: the worker and the sandbox share a busy machine.
ARRIVAL_JITTER = 0.3


def campaign_launched(setup: TenantSetup, *, body: str, to_prefix: str, count: int, sending: dict[str, Any]) -> int:
    """An SMS campaign to `count` numbers starting with `to_prefix`, sent as `sending` says (from, senders)."""
    recipients = [{"to": f"{to_prefix}{n:04d}"} for n in range(count)]
    payload = {"name": body, "channel": "sms", "body": body, "recipients": recipients, **sending}
    response = setup.client(setup.admin_key).post("/api/v1/campaigns/", payload, format="json")
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def all_arrived(sandbox_log: SandboxLog, body: str, count: int, platform: PlatformProcesses) -> list[dict[str, Any]]:
    """The messages with this body, once `count` of them have reached the sandbox."""

    def arrived() -> list[dict[str, Any]] | None:
        received = [item for item in sandbox_log.items("messages") if item["body"] == body]
        return received if len(received) >= count else None

    return eventually(arrived, f"{count} messages '{body}' at the sandbox", platform)


def assert_paced(times: list[float], per_second: float) -> None:
    """Slots are handed out 1/rate apart; the trip to the sandbox adds up to ARRIVAL_JITTER to each arrival."""
    for first, earlier in enumerate(times):
        for later_index in range(first + 1, len(times)):
            slots = later_index - first
            assert times[later_index] - earlier >= slots / per_second - ARRIVAL_JITTER, (slots, per_second, times)
    assert (len(times) - 1) / (times[-1] - times[0]) <= per_second * 1.05, times


def status_of(setup: TenantSetup, communication_id: int) -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.get(pk=communication_id)


def test_sms_goes_through_a_worker_and_its_callbacks_update_it(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    with django_db_blocker.unblock():
        response = committed_alpha.client(committed_alpha.admin_key).post(
            "/api/v1/messages/", {"to": "+14155559001", "body": "Worker path"}, format="json"
        )
        assert response.status_code == 202
        message_id = response.json()["id"]

        delivered = eventually(
            lambda: m if (m := status_of(committed_alpha, message_id)).status == "delivered" else None,
            "the delivered callback",
            platform_processes,
        )
        connection.set_schema_to_public()

    received = [item for item in sandbox_log.items("messages") if item["to"] == "+14155559001"]
    assert [item["sid"] for item in received] == [delivered.twilio_sid]
    callbacks = [item for item in sandbox_log.items("callbacks") if delivered.public_token in item["url"]]
    assert callbacks and all(item["status"] == 200 for item in callbacks)


def test_the_workers_log_says_what_it_sent_and_keeps_per_task_chatter_below_info(
    committed_alpha: TenantSetup, platform_processes: PlatformProcesses, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        response = committed_alpha.client(committed_alpha.admin_key).post(
            "/api/v1/messages/", {"to": "+14155559002", "body": "Logged"}, format="json"
        )
        message_id = response.json()["id"]
        handed = eventually(
            lambda: [
                event
                for event in platform_processes.log_events("worker")
                if event["event"] == "handed_to_twilio" and event["communication_id"] == message_id
            ],
            "the worker's handed_to_twilio event",
            platform_processes,
        )
        connection.set_schema_to_public()

    [event] = handed
    assert event["tenant"] == "alpha" and event["task_id"] and str(event["twilio_sid"]).startswith("SM")
    events = {event["event"] for event in platform_processes.log_events("worker")}
    # Beat's housekeeping runs every second; no task's start or success may reach the log at INFO.
    assert not events & {"task_started", "task_succeeded", "task_enqueued"}, events
    assert not any("succeeded in" in event["event"] for event in platform_processes.log_events("worker"))


def test_call_fetches_its_signed_twiml_from_the_web_and_completes(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    with django_db_blocker.unblock():
        response = committed_alpha.client(committed_alpha.admin_key).post(
            "/api/v1/calls/",
            {"to": "+14155559002", "text": "Hello {name}", "variables": {"name": "Ann"}},
            format="json",
        )
        call_id = response.json()["id"]

        completed = eventually(
            lambda: c if (c := status_of(committed_alpha, call_id)).status == "completed" else None,
            "the completed callback",
            platform_processes,
        )
        connection.set_schema_to_public()

    placed = [item for item in sandbox_log.items("calls") if item["sid"] == completed.twilio_sid]
    assert len(placed) == 1
    assert "Hello Ann" in placed[0]["twiml"] and not placed[0].get("twiml_error")
    assert completed.duration_seconds is not None


def test_per_sender_rate_cap_holds_across_four_worker_processes(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    senders = {"+14155550201": ("long_code", 1.0, 5), "+18005550202": ("toll_free", 3.0, 10)}
    client = committed_alpha.client(committed_alpha.admin_key)
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=committed_alpha.tenant)
        with tenant_context(committed_alpha.tenant):
            for number, (kind, _, _) in senders.items():
                sender_on_sandbox(account, number, kind=kind)
        connection.set_schema_to_public()
        for index, (number, (_, _, count)) in enumerate(senders.items()):
            for n in range(count):
                to = f"+1415555{index}{n:03d}"
                assert (
                    client.post(
                        "/api/v1/messages/", {"to": to, "from": number, "body": "capped"}, format="json"
                    ).status_code
                    == 202
                )

        def arrivals() -> dict[str, list[float]]:
            times: dict[str, list[float]] = {number: [] for number in senders}
            for item in sandbox_log.items("messages"):
                if item["from"] in times and item["body"] == "capped":
                    times[item["from"]].append(item["received_monotonic"])
            return times

        def all_capped_arrived() -> dict[str, list[float]] | None:
            times = arrivals()
            return times if all(len(times[n]) == c for n, (_, _, c) in senders.items()) else None

        everything = eventually(all_capped_arrived, "all capped messages at the sandbox", platform_processes)

    for number, (_, per_second, _) in senders.items():
        assert_paced(sorted(everything[number]), per_second)


def test_a_senders_backlog_waits_in_its_line_not_as_tasks(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    number, per_second, count = "+14155550301", 5.0, 40
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client = committed_alpha.client(committed_alpha.admin_key)
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=committed_alpha.tenant)
        with tenant_context(committed_alpha.tenant):
            sender_on_sandbox(account, number, kind="long_code", messages_per_second=per_second)
        account_sid = account.account_sid
        connection.set_schema_to_public()
        line = ratelimit.line_key(f"sms:{account_sid}:{number}")
        # (messages accepted but not yet at the sandbox, tasks queued or held by the worker, members in the line)
        samples: list[tuple[int, int, int]] = []
        accepted = 0

        def lined_arrivals() -> list[float]:
            return sorted(
                item["received_monotonic"] for item in sandbox_log.items("messages") if item["body"] == "lined"
            )

        def sample() -> list[float]:
            times = lined_arrivals()
            samples.append((accepted - len(times), broker.llen("celery") + broker.hlen("unacked"), broker.zcard(line)))
            return times

        for n in range(count):
            response = client.post(
                "/api/v1/messages/", {"to": f"+1415556{n:04d}", "from": number, "body": "lined"}, format="json"
            )
            assert response.status_code == 202
            accepted += 1
            sample()

        def all_lined_arrived() -> list[float] | None:
            times = sample()
            return times if len(times) >= count else None

        times = eventually(all_lined_arrived, "all lined messages at the sandbox", platform_processes)
        time.sleep(1.0)

    assert len(lined_arrivals()) == count
    assert_paced(times, per_second)
    # At most a window of slots is out as tasks at any time (plus those the worker was running); the rest of
    # what was still to send waited in the sender's line. Polling for a token would have kept a task per message.
    out_as_tasks = ratelimit.WINDOW_SECONDS * per_second + 6
    assert max(tasks for _, tasks, _ in samples) <= out_as_tasks, samples
    pending, _, in_line = max(samples)
    assert pending > out_as_tasks, samples
    assert in_line >= pending - out_as_tasks, samples


def test_a_campaign_is_queued_in_groups_and_each_message_sent_once(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    number, count = "+14155550501", 120
    published: list[tuple[str, dict[str, Any]]] = []

    def record(sender: str, body: tuple[Any, dict[str, Any], Any], **_: Any) -> None:
        published.append((sender, body[1]))

    before_task_publish.connect(record)
    try:
        with django_db_blocker.unblock():
            account = TwilioAccount.objects.get(tenant=committed_alpha.tenant)
            with tenant_context(committed_alpha.tenant):
                sender_on_sandbox(account, number, kind="short_code", messages_per_second=100)
            connection.set_schema_to_public()
            campaign_id = campaign_launched(
                committed_alpha, body="grouped", to_prefix="+1415557", count=count, sending={"from": number}
            )
            received = all_arrived(sandbox_log, "grouped", count, platform_processes)
            time.sleep(1.0)
            with tenant_context(committed_alpha.tenant):
                sids = set(Communication.objects.filter(campaign_id=campaign_id).values_list("twilio_sid", flat=True))
            connection.set_schema_to_public()
    finally:
        before_task_publish.disconnect(record)

    groups = [kwargs["communication_ids"] for task, kwargs in published if task == deliver_communications.name]
    assert [len(group) for group in groups] == [50, 50, 20]
    assert (
        len({item["to"] for item in received})
        == count
        == len([i for i in sandbox_log.items("messages") if i["body"] == "grouped"])
    )
    assert sids == {item["sid"] for item in received}


def test_a_campaign_over_a_pool_sends_from_each_number_at_its_own_pace(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    pool, count = ["+14155550621", "+14155550622", "+14155550623", "+14155550624"], 16
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=committed_alpha.tenant)
        with tenant_context(committed_alpha.tenant):
            for number in pool:
                sender_on_sandbox(account, number)  # long codes: 1 message/s each
        connection.set_schema_to_public()
        campaign_id = campaign_launched(
            committed_alpha, body="pooled", to_prefix="+1415558", count=count, sending={"senders": pool}
        )
        received = all_arrived(sandbox_log, "pooled", count, platform_processes)
        with tenant_context(committed_alpha.tenant):
            assigned = dict(
                Communication.objects.filter(campaign_id=campaign_id).values_list("to_number", "from_number")
            )
        connection.set_schema_to_public()

    assert {item["to"]: item["from"] for item in received} == assigned
    by_sender = {number: sorted(i["received_monotonic"] for i in received if i["from"] == number) for number in pool}
    assert all(by_sender.values()), by_sender
    for times in by_sender.values():
        if len(times) > 1:
            assert_paced(times, 1.0)
    # The campaign takes about as long as its busiest number (a second of slack for the numbers' first slots,
    # arrival jitter at both ends), not the (count - 1) s one number would need.
    arrivals = sorted(i["received_monotonic"] for i in received)
    busiest = max(len(times) for times in by_sender.values())
    assert arrivals[-1] - arrivals[0] <= busiest + 2 * ARRIVAL_JITTER < count - 1, by_sender


def test_a_message_whose_task_was_lost_is_sent_once_after_the_sweep(
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    with django_db_blocker.unblock():
        with tenant_context(committed_alpha.tenant):
            # Pending with no task anywhere: its worker died holding it, or Redis lost its data.
            lost = Communication.objects.create(
                channel=Communication.Channel.SMS,
                to_number="+14155550777",
                from_number=SENDER,
                content="orphan",
                encoding="GSM-7",
                segments=1,
            )
            Communication.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - delivery.STALLED_AFTER * 2)
        connection.set_schema_to_public()

        first_sweep = requeue_stalled_communications()
        sent = eventually(
            lambda: m if (m := status_of(committed_alpha, lost.pk)).twilio_sid else None,
            "the orphan sent",
            platform_processes,
        )
        second_sweep = requeue_stalled_communications()
        connection.set_schema_to_public()
        time.sleep(1.0)

    assert first_sweep == 1 and second_sweep == 0
    assert [item["sid"] for item in sandbox_log.items("messages") if item["body"] == "orphan"] == [sent.twilio_sid]


def test_a_sender_left_pending_is_checked_again_from_beat(
    committed_alpha: TenantSetup, platform_processes: PlatformProcesses, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=committed_alpha.tenant)
        with tenant_context(committed_alpha.tenant):
            number = "+14155550401"
            buy_on_sandbox(account, number)
            # As if its check had run out of retries while Twilio was down: pending, with no task left. (Registering
            # it would queue a check of its own, racing the one under test.)
            sender = SenderNumber.objects.create(phone_number=number, status=SenderNumber.Status.PENDING)
        connection.set_schema_to_public()

        queued = verify_pending_senders()

        def verified() -> SenderNumber | None:
            with tenant_context(committed_alpha.tenant):
                found = SenderNumber.objects.get(pk=sender.pk)
            return found if found.status == SenderNumber.Status.VERIFIED else None

        checked = eventually(verified, "the sender verified again", platform_processes)
        connection.set_schema_to_public()

    assert queued >= 1
    assert checked.twilio_sid.startswith("PN") and checked.verified_at is not None
