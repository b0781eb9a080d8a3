"""The worker's tasks, and the only place that queues them: callers queue through the functions below.

Tasks are queued as objects, never by name; tenant-schemas-celery sends the current schema along, so a
task runs in the schema that queued it. Items of other tenants (beat's work) are queued in their schema.
"""

from collections.abc import Iterator, Sequence

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from telephony import delivery, pricing, ratelimit, scheduling, verification
from telephony.models import SenderNumber
from telephony.registry.tasks import TWILIO_RETRIES
from tenants.db import current_schema
from tenants.models import Tenant

# Items queued together (a campaign, a sweep, scheduled items coming due) go this many to a task: Celery's
# cost per task and the read of the items and the account are paid once per group.
GROUP_SIZE = 50


@shared_task(acks_late=True)
def deliver_communication(*, communication_id: int, slot_bucket: str | None = None) -> None:
    """Runs in the tenant's schema. Retries are scheduled by the delivery rules, not by Celery's.
    `slot_bucket`: the task runs at a slot of that sender's, given to it."""
    if slot_bucket is not None:
        # Whatever becomes of this item, its sender's next slots are handed to the next in line.
        release_line(bucket=slot_bucket)
    _follow_up(communication_id, delivery.deliver(communication_id=communication_id, slot_bucket=slot_bucket))


@shared_task(acks_late=True)
def deliver_communications(*, communication_ids: list[int]) -> None:
    """Runs in the tenant's schema: items queued together (see queue_group)."""
    not_reached = delivery.deliver_group(communication_ids=communication_ids, follow_up=_follow_up)
    if not_reached:
        queue_group(communication_ids=not_reached)


@shared_task(acks_late=True)
def hang_up_call(*, communication_id: int) -> None:
    delivery.hang_up(communication_id=communication_id)


def queue_now(*, communication_id: int) -> None:
    deliver_communication.delay(communication_id=communication_id)


def queue_group(*, communication_ids: Sequence[int]) -> None:
    """Queues many items of the current tenant, GROUP_SIZE to a task."""
    for start in range(0, len(communication_ids), GROUP_SIZE):
        deliver_communications.delay(communication_ids=list(communication_ids[start : start + GROUP_SIZE]))


def queue_later(*, communication_id: int, in_seconds: float, slot_bucket: str | None = None) -> None:
    """Queues the item's next attempt; a slot's attempt (slot_bucket) is always within the rate window.
    Longer waits are held in Redis (see telephony.scheduling)."""
    if slot_bucket is None and in_seconds > scheduling.MAX_WORKER_WAIT_SECONDS:
        scheduling.hold_for_retry(schema=current_schema(), communication_id=communication_id, in_seconds=in_seconds)
        return
    deliver_communication.apply_async(
        kwargs={"communication_id": communication_id, "slot_bucket": slot_bucket}, countdown=in_seconds
    )


def hang_up_now(*, communication_id: int) -> None:
    hang_up_call.delay(communication_id=communication_id)


def _follow_up(communication_id: int, verdict: delivery.Verdict) -> None:
    if verdict.retry_in is not None:
        queue_later(communication_id=communication_id, in_seconds=verdict.retry_in, slot_bucket=verdict.slot_bucket)


def release_line(*, bucket: str) -> int:
    """Queues the head of a sender's line, each item in its tenant's schema, to run at the slot it was given."""
    slots = ratelimit.pump(bucket=bucket)
    for slot in slots:
        schema, communication_id = scheduling.parse_member(slot.member)
        with schema_context(schema):
            queue_later(communication_id=communication_id, in_seconds=slot.in_seconds, slot_bucket=bucket)
    return len(slots)


@shared_task
def release_scheduled_communications() -> int:
    """Beat, every few seconds: queues scheduled calls and messages whose time has come, and far-off retries."""
    due = scheduling.take_due(now=timezone.now())
    for schema, communication_ids in due.items():
        with schema_context(schema):
            queue_group(communication_ids=communication_ids)
    return sum(map(len, due.values()))


@shared_task
def release_sender_lines() -> int:
    """Beat, every second, as a safety net (see telephony.ratelimit): each task that runs at its slot pumps its
    own sender's line, so this only matters when such a task was lost with its worker."""
    return sum(release_line(bucket=bucket) for bucket in ratelimit.buckets_with_lines())


def in_each_tenant() -> Iterator[Tenant]:
    """Sets the connection to each tenant in turn (beat tasks that look at every tenant)."""
    for tenant in Tenant.objects.exclude(schema_name=get_public_schema_name()):
        with tenant_context(tenant):
            yield tenant


@shared_task
def requeue_stalled_communications() -> int:
    """Beat, every minute: queues again, tenant by tenant, what lost its task (see delivery.claim_stalled)."""
    queued = 0
    for _ in in_each_tenant():
        stalled = delivery.claim_stalled(now=timezone.now())
        queue_group(communication_ids=stalled)
        queued += len(stalled)
    return queued


@shared_task(**TWILIO_RETRIES)
def verify_sender_number(*, sender_id: int) -> None:
    """Runs in the tenant's schema."""
    verification.sender_number_verify(sender_id=sender_id)


@shared_task
def verify_pending_senders() -> int:
    """Beat, every few minutes: checks again the senders still pending, whose check ran out of retries while
    Twilio could not answer, or which were recorded before senders were checked."""
    queued = 0
    for _ in in_each_tenant():
        for sender_id in SenderNumber.objects.filter(status=SenderNumber.Status.PENDING).values_list("pk", flat=True):
            verify_sender_number.delay(sender_id=sender_id)
            queued += 1
    return queued


@shared_task
def fetch_prices() -> int:
    """Beat, every minute: queues, tenant by tenant, the asking of Twilio for what it has priced since."""
    queued = 0
    for _ in in_each_tenant():
        if pricing.unpriced(now=timezone.now()):
            fetch_tenant_prices.delay()
            queued += 1
    return queued


@shared_task(**TWILIO_RETRIES)
def fetch_tenant_prices() -> int:
    """Runs in the tenant's schema (see telephony.pricing)."""
    return pricing.prices_fetch(now=timezone.now())
