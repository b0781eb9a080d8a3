"""Each reminder goes out once even with two beats releasing at the same time, and a release that dies after
taking its reminders, before it commits, leaves nothing taken. On committed data, with each release on its
own thread and database connection, as two beat-run workers would be."""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import OperationalError, connections
from django.db.utils import InterfaceError
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from telephony.appointments import reminders
from telephony.appointments.models import Appointment, Notification
from telephony.models import Communication
from tenants.db import connection
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
COUNT = 120
WAIT = 20.0


@pytest.fixture
def due(committed_alpha: TenantSetup, django_db_blocker: DjangoDbBlocker) -> TenantSetup:
    """alpha with COUNT appointments whose two-hour reminder is due at NOW, committed (emptied by committed_alpha)."""
    with django_db_blocker.unblock(), tenant_context(committed_alpha.tenant):
        Appointment.objects.bulk_create(
            Appointment(
                customer_name=f"Customer {n}",
                phone_number=f"+1415555{4000 + n}",
                starts_at=NOW + timedelta(minutes=30 + n % 60),
                time_zone="America/New_York",
                service="Haircut",
            )
            for n in range(COUNT)
        )
        Appointment.objects.update(created_at=NOW - timedelta(days=7))
    connection.set_schema_to_public()
    return committed_alpha


def in_thread(setup: TenantSetup, work: Callable[[], Any], results: dict[str, Any], name: str) -> threading.Thread:
    """Runs `work` in the tenant's schema on a thread of its own, with its own database connection."""

    def run() -> None:
        try:
            with tenant_context(setup.tenant):
                results[name] = work()
        except Exception as error:  # noqa: BLE001 - the test reads what became of it
            results[name] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def release(setup: TenantSetup, batch_size: int = reminders.RELEASE_BATCH) -> Callable[[], int]:
    return lambda: reminders.reminders_release(tenant=setup.tenant, now=NOW, batch_size=batch_size)


def reminders_per_appointment(setup: TenantSetup) -> Counter[int]:
    with tenant_context(setup.tenant):
        counts = Counter(Notification.objects.filter(kind="reminder").values_list("appointment_id", flat=True))
    connection.set_schema_to_public()
    return counts


def queued_ids(queued_tasks: list[QueuedTask]) -> list[int]:
    return [i for task in queued_tasks for i in task.kwargs["communication_ids"]]


def test_two_releases_at_once_send_each_reminder_once(
    due: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_db_blocker: DjangoDbBlocker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each release holds its first batch until the other holds one too: they really run side by side.
    both_hold_a_batch = threading.Barrier(2, timeout=WAIT)
    first_batch_done: set[str] = set()
    record = reminders.notifications_record

    def side_by_side(**kwargs: Any) -> list[Notification]:
        if threading.current_thread().name not in first_batch_done:
            first_batch_done.add(threading.current_thread().name)
            both_hold_a_batch.wait()
        return record(**kwargs)

    monkeypatch.setattr(reminders, "notifications_record", side_by_side)
    results: dict[str, Any] = {}
    with django_db_blocker.unblock():
        threads = [in_thread(due, release(due, batch_size=25), results, n) for n in "AB"]
        for thread in threads:
            thread.join(WAIT)
        per_appointment = reminders_per_appointment(due)
        with tenant_context(due.tenant):
            communications = list(Communication.objects.values_list("pk", flat=True))
        connection.set_schema_to_public()

    assert all(isinstance(results[n], int) for n in "AB"), results
    assert results["A"] > 0 and results["B"] > 0 and results["A"] + results["B"] == COUNT
    assert len(per_appointment) == COUNT and set(per_appointment.values()) == {1}
    assert sorted(queued_ids(queued_tasks)) == sorted(communications) and len(communications) == COUNT


def test_a_release_that_fails_before_it_commits_leaves_nothing_taken(
    due: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_db_blocker: DjangoDbBlocker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = reminders.notifications_record

    def fail_after_recording(**kwargs: Any) -> list[Notification]:
        record(**kwargs)
        raise RuntimeError("the worker's process ends here")

    with django_db_blocker.unblock():
        monkeypatch.setattr(reminders, "notifications_record", fail_after_recording)
        with tenant_context(due.tenant), pytest.raises(RuntimeError):
            reminders.reminders_release(tenant=due.tenant, now=NOW)
        after_failure = (reminders_per_appointment(due), list(queued_tasks))
        monkeypatch.setattr(reminders, "notifications_record", record)

        with tenant_context(due.tenant):
            released = reminders.reminders_release(tenant=due.tenant, now=NOW)
        per_appointment = reminders_per_appointment(due)

    assert after_failure == (Counter(), [])
    assert released == COUNT and set(per_appointment.values()) == {1} and len(per_appointment) == COUNT
    assert len(set(queued_ids(queued_tasks))) == COUNT


def test_a_release_whose_connection_dies_after_taking_its_reminders_leaves_them_to_the_next(
    due: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_db_blocker: DjangoDbBlocker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a beat worker killed mid-release: PostgreSQL sees its connection end inside the transaction."""
    taken, go_on = threading.Event(), threading.Event()
    backend: dict[str, int] = {}
    record = reminders.notifications_record

    def hold_after_taking(**kwargs: Any) -> list[Notification]:
        if threading.current_thread().name == "doomed":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend["pid"] = cursor.fetchone()[0]
            taken.set()
            go_on.wait(WAIT)
        return record(**kwargs)

    monkeypatch.setattr(reminders, "notifications_record", hold_after_taking)
    results: dict[str, Any] = {}
    with django_db_blocker.unblock():
        doomed = in_thread(due, release(due), results, "doomed")
        assert taken.wait(WAIT)
        # A second beat meanwhile: every due appointment is taken, so it releases nothing and waits for nothing.
        with tenant_context(due.tenant):
            meanwhile = reminders.reminders_release(tenant=due.tenant, now=NOW)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend["pid"]])
        go_on.set()
        doomed.join(WAIT)
        after_kill = (reminders_per_appointment(due), list(queued_tasks))

        with tenant_context(due.tenant):
            next_beat = reminders.reminders_release(tenant=due.tenant, now=NOW)
            again = reminders.reminders_release(tenant=due.tenant, now=NOW + timedelta(seconds=30))
        per_appointment = reminders_per_appointment(due)

    assert meanwhile == 0
    assert isinstance(results["doomed"], OperationalError | InterfaceError), results
    assert after_kill == (Counter(), [])
    assert (next_beat, again) == (COUNT, 0)
    assert len(per_appointment) == COUNT and set(per_appointment.values()) == {1}
    assert len(queued_ids(queued_tasks)) == COUNT
