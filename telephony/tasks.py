from collections.abc import Iterator

from celery import Task, shared_task
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from telephony import delivery, scheduling, services
from telephony.models import SenderNumber
from telephony.registry import services as registry_services
from telephony.scheduling import MAX_WORKER_WAIT_SECONDS
from tenants.models import Tenant


@shared_task(acks_late=True)
def deliver_communication(*, communication_id: int, slot_bucket: str | None = None) -> None:
    """Runs in the tenant's schema. Retries are scheduled by the delivery rules, not by Celery's."""
    _follow_up(communication_id, delivery.deliver(communication_id=communication_id, slot_bucket=slot_bucket))


@shared_task(acks_late=True)
def deliver_communications(*, communication_ids: list[int]) -> None:
    """Runs in the tenant's schema: items queued together (see scheduling.queue_group)."""
    not_reached = delivery.deliver_group(communication_ids=communication_ids, follow_up=_follow_up)
    if not_reached:
        scheduling.queue_group(communication_ids=not_reached)


def _follow_up(communication_id: int, verdict: delivery.Verdict) -> None:
    if not verdict.done:
        scheduling.queue_later(
            communication_id=communication_id, in_seconds=verdict.retry_in, slot_bucket=verdict.slot_bucket
        )


@shared_task(acks_late=True)
def hang_up_call(*, communication_id: int) -> None:
    delivery.hang_up(communication_id=communication_id)


@shared_task
def release_scheduled_communications() -> int:
    """Beat, every few seconds: queues scheduled calls and messages whose time has come."""
    return scheduling.release_due(now=timezone.now())


@shared_task
def release_sender_lines() -> int:
    """Beat, every second: hands waiting items their senders' slots (see telephony.ratelimit)."""
    return scheduling.release_lines()


def _in_each_tenant() -> Iterator[Tenant]:
    for tenant in Tenant.objects.exclude(schema_name=get_public_schema_name()):
        with tenant_context(tenant):
            yield tenant


@shared_task
def requeue_stalled_communications() -> int:
    """Beat, every minute: queues again, tenant by tenant, what lost its task (see delivery.requeue_stalled)."""
    return sum(delivery.requeue_stalled(now=timezone.now()) for _ in _in_each_tenant())


@shared_task
def verify_pending_senders() -> int:
    """Beat, every few minutes: checks again the senders still pending, whose check ran out of retries while
    Twilio could not answer, or which were recorded before senders were checked."""
    queued = 0
    for _ in _in_each_tenant():
        for sender_id in SenderNumber.objects.filter(status=SenderNumber.Status.PENDING).values_list("pk", flat=True):
            verify_sender_number.delay(sender_id=sender_id)
            queued += 1
    return queued


@shared_task(
    bind=True,
    autoretry_for=(registry_services.TwilioUnavailable,),
    retry_backoff=True,
    retry_backoff_max=MAX_WORKER_WAIT_SECONDS,
    max_retries=8,
)
def provision_twilio_account(self: Task, *, tenant_id: int) -> None:
    registry_services.twilio_subaccount_provision(tenant_id=tenant_id)


@shared_task(
    bind=True,
    autoretry_for=(registry_services.TwilioUnavailable,),
    retry_backoff=True,
    retry_backoff_max=MAX_WORKER_WAIT_SECONDS,
    max_retries=8,
)
def verify_twilio_credentials(self: Task, *, tenant_id: int) -> None:
    registry_services.twilio_credentials_verify(tenant_id=tenant_id)


@shared_task(
    bind=True,
    autoretry_for=(registry_services.TwilioUnavailable,),
    retry_backoff=True,
    retry_backoff_max=MAX_WORKER_WAIT_SECONDS,
    max_retries=8,
)
def verify_sender_number(self: Task, *, sender_id: int) -> None:
    """Runs in the tenant's schema."""
    services.sender_number_verify(sender_id=sender_id)
