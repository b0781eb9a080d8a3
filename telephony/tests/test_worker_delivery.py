"""From the API through a real Celery worker to the Twilio sandbox, and back through signed callbacks
to a real web server, on committed data."""

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from config.testing import PlatformProcesses
from conftest import TenantSetup
from telephony import delivery, ratelimit
from telephony.models import Campaign, Communication, SenderNumber
from telephony.registry.models import TwilioAccount
from telephony.tasks import requeue_stalled_communications, verify_pending_senders
from telephony.tests.platform_fixtures import SENDER, SandboxLog, connect_to_sandbox, sender_on_sandbox

pytestmark = pytest.mark.worker
T = TypeVar("T")
DEADLINE = 45


def eventually(probe: Callable[[], T], what: str, platform: PlatformProcesses) -> T:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"Timed out waiting for {what}.\n{platform.logs()}")


@pytest.fixture
def live_alpha(
    tenant_pair: tuple[TenantSetup, TenantSetup], twilio_sandbox: Any, platform_processes: PlatformProcesses, django_db_blocker: DjangoDbBlocker
) -> Iterator[TenantSetup]:
    """alpha with committed sandbox wiring, cleaned up afterwards."""
    alpha = tenant_pair[0]
    with django_db_blocker.unblock():
        connect_to_sandbox(alpha)
        connection.set_schema_to_public()
        try:
            yield alpha
        finally:
            with tenant_context(alpha.tenant):
                Communication.objects.all().delete()
                Campaign.objects.all().delete()
                SenderNumber.objects.all().delete()
            connection.set_schema_to_public()


def status_of(setup: TenantSetup, communication_id: int) -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.get(pk=communication_id)


def test_sms_goes_through_a_worker_and_its_callbacks_update_it(
    live_alpha: TenantSetup, platform_processes: PlatformProcesses, sandbox_log: SandboxLog, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        response = live_alpha.client(live_alpha.admin_key).post(
            "/api/v1/messages/", {"to": "+14155559001", "body": "Worker path"}, format="json"
        )
        assert response.status_code == 202
        message_id = response.json()["id"]

        delivered = eventually(
            lambda: (m := status_of(live_alpha, message_id)).status == "delivered" and m, "the delivered callback", platform_processes
        )
        connection.set_schema_to_public()

    received = [item for item in sandbox_log.items("messages") if item["to"] == "+14155559001"]
    assert [item["sid"] for item in received] == [delivered.twilio_sid]
    callbacks = [item for item in sandbox_log.items("callbacks") if delivered.public_token in item["url"]]
    assert callbacks and all(item["status"] == 200 for item in callbacks)


def test_call_fetches_its_signed_twiml_from_the_web_and_completes(
    live_alpha: TenantSetup, platform_processes: PlatformProcesses, sandbox_log: SandboxLog, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        response = live_alpha.client(live_alpha.admin_key).post(
            "/api/v1/calls/", {"to": "+14155559002", "text": "Hello {name}", "variables": {"name": "Ann"}}, format="json"
        )
        call_id = response.json()["id"]

        completed = eventually(
            lambda: (c := status_of(live_alpha, call_id)).status == "completed" and c, "the completed callback", platform_processes
        )
        connection.set_schema_to_public()

    placed = [item for item in sandbox_log.items("calls") if item["sid"] == completed.twilio_sid]
    assert len(placed) == 1
    assert "Hello Ann" in placed[0]["twiml"] and not placed[0].get("twiml_error")
    assert completed.duration_seconds is not None


def test_per_sender_rate_cap_holds_across_four_worker_processes(
    live_alpha: TenantSetup, platform_processes: PlatformProcesses, sandbox_log: SandboxLog, django_db_blocker: DjangoDbBlocker
) -> None:
    senders = {"+14155550201": ("long_code", 1.0, 5), "+18005550202": ("toll_free", 3.0, 10)}
    client = live_alpha.client(live_alpha.admin_key)
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=live_alpha.tenant)
        with tenant_context(live_alpha.tenant):
            for number, (kind, _, _) in senders.items():
                sender_on_sandbox(account, number, kind=kind)
        connection.set_schema_to_public()
        for index, (number, (_, _, count)) in enumerate(senders.items()):
            for n in range(count):
                to = f"+1415555{index}{n:03d}"
                assert client.post("/api/v1/messages/", {"to": to, "from": number, "body": "capped"}, format="json").status_code == 202

        def arrivals() -> dict[str, list[float]]:
            times: dict[str, list[float]] = {number: [] for number in senders}
            for item in sandbox_log.items("messages"):
                if item["from"] in times and item["body"] == "capped":
                    times[item["from"]].append(item["received_monotonic"])
            return times

        everything = eventually(
            lambda: (t := arrivals()) and all(len(t[n]) == c for n, (_, _, c) in senders.items()) and t,
            "all capped messages at the sandbox",
            platform_processes,
        )

    for number, (_, per_second, count) in senders.items():
        times = sorted(everything[number])
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        # Tokens are taken 1/rate apart; arrival at the sandbox adds a little jitter on top.
        assert min(gaps) >= 0.7 / per_second, (number, gaps)
        assert (count - 1) / (times[-1] - times[0]) <= per_second * 1.05, (number, gaps)


def test_a_senders_backlog_waits_in_its_line_not_as_tasks(
    live_alpha: TenantSetup, platform_processes: PlatformProcesses, sandbox_log: SandboxLog, django_db_blocker: DjangoDbBlocker
) -> None:
    number, per_second, count = "+14155550301", 5.0, 30
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client = live_alpha.client(live_alpha.admin_key)
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=live_alpha.tenant)
        with tenant_context(live_alpha.tenant):
            sender_on_sandbox(account, number, kind="long_code", messages_per_second=per_second)
        account_sid = account.account_sid
        connection.set_schema_to_public()
        for n in range(count):
            response = client.post("/api/v1/messages/", {"to": f"+1415556{n:04d}", "from": number, "body": "lined"}, format="json")
            assert response.status_code == 202

        line = ratelimit.line_key(f"sms:{account_sid}:{number}")
        most_tasks = most_in_line = 0

        def all_arrived() -> list[float] | None:
            nonlocal most_tasks, most_in_line
            # Tasks: queued in the broker, or held by the worker (running, or waiting for their slot).
            most_tasks = max(most_tasks, broker.llen("celery") + broker.hlen("unacked"))
            most_in_line = max(most_in_line, broker.zcard(line))
            times = [item["received_monotonic"] for item in sandbox_log.items("messages") if item["body"] == "lined"]
            return sorted(times) if len(times) >= count else None

        times = eventually(all_arrived, "all lined messages at the sandbox", platform_processes)
        time.sleep(1.0)

    assert len([item for item in sandbox_log.items("messages") if item["body"] == "lined"]) == count
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.7 / per_second, gaps
    # At most a window of slots is out as tasks at any time (plus those the worker was running); the rest
    # waited in the sender's line. Polling for a token would have kept a task per message.
    assert most_tasks <= ratelimit.WINDOW_SECONDS * per_second + 6, most_tasks
    assert most_in_line >= count // 2, most_in_line


def test_a_message_whose_task_was_lost_is_sent_once_after_the_sweep(
    live_alpha: TenantSetup, platform_processes: PlatformProcesses, sandbox_log: SandboxLog, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        with tenant_context(live_alpha.tenant):
            # Pending with no task anywhere: its worker died holding it, or Redis lost its data.
            lost = Communication.objects.create(
                channel=Communication.Channel.SMS, to_number="+14155550777", from_number=SENDER, content="orphan", encoding="GSM-7", segments=1
            )
            Communication.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - delivery.STALLED_AFTER * 2)
        connection.set_schema_to_public()

        first_sweep = requeue_stalled_communications()
        sent = eventually(lambda: (m := status_of(live_alpha, lost.pk)).twilio_sid and m, "the orphan sent", platform_processes)
        second_sweep = requeue_stalled_communications()
        connection.set_schema_to_public()
        time.sleep(1.0)

    assert first_sweep == 1 and second_sweep == 0
    assert [item["sid"] for item in sandbox_log.items("messages") if item["body"] == "orphan"] == [sent.twilio_sid]


def test_a_sender_left_pending_is_checked_again_from_beat(
    live_alpha: TenantSetup, platform_processes: PlatformProcesses, django_db_blocker: DjangoDbBlocker
) -> None:
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=live_alpha.tenant)
        with tenant_context(live_alpha.tenant):
            sender = sender_on_sandbox(account, "+14155550401")
            # As if its check had run out of retries while Twilio was down: pending, with no task left.
            SenderNumber.objects.filter(pk=sender.pk).update(status=SenderNumber.Status.PENDING, twilio_sid="", verified_at=None)
        connection.set_schema_to_public()

        queued = verify_pending_senders()

        def verified() -> SenderNumber | None:
            with tenant_context(live_alpha.tenant):
                found = SenderNumber.objects.get(pk=sender.pk)
            return found if found.status == SenderNumber.Status.VERIFIED else None

        checked = eventually(verified, "the sender verified again", platform_processes)
        connection.set_schema_to_public()

    assert queued >= 1
    assert checked.twilio_sid.startswith("PN") and checked.verified_at is not None
