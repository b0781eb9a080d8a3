from celery import Task, shared_task
from django.utils import timezone

from telephony import delivery, scheduling
from telephony.registry import services as registry_services


@shared_task(bind=True, acks_late=True, max_retries=None)
def deliver_communication(self: Task, *, communication_id: int) -> None:
    """Runs in the tenant's schema. Retries are scheduled by the delivery rules, not by Celery's."""
    verdict = delivery.deliver(communication_id=communication_id)
    if not verdict.done:
        raise self.retry(countdown=verdict.retry_in)


@shared_task(acks_late=True)
def hang_up_call(*, communication_id: int) -> None:
    delivery.hang_up(communication_id=communication_id)


@shared_task
def release_scheduled_communications() -> int:
    """Beat, every few seconds: queues scheduled calls and messages whose time has come."""
    return scheduling.release_due(now=timezone.now())


@shared_task(bind=True, autoretry_for=(registry_services.TwilioUnavailable,), retry_backoff=True, max_retries=8)
def provision_twilio_account(self: Task, *, tenant_id: int) -> None:
    registry_services.twilio_subaccount_provision(tenant_id=tenant_id)


@shared_task(bind=True, autoretry_for=(registry_services.TwilioUnavailable,), retry_backoff=True, max_retries=8)
def verify_twilio_credentials(self: Task, *, tenant_id: int) -> None:
    registry_services.twilio_credentials_verify(tenant_id=tenant_id)
