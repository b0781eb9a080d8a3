from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from telephony.numbers import purchasing
from telephony.numbers.models import PhoneNumber
from telephony.registry.tasks import TWILIO_RETRIES, close_twilio_subaccount
from telephony.tasks import in_each_tenant
from tenants.db import current_tenant

# A purchase or release untouched this long lost its task (its retries ran out, or its worker died and the broker
# has not handed the task on yet): the sweep queues it again. Each attempt touches the row.
STALLED_AFTER = timedelta(minutes=5)

# acks_late: a worker killed in the middle leaves the task to be delivered again (CELERY_BROKER_TRANSPORT_OPTIONS'
# visibility timeout), and purchasing reconciles with Twilio before it buys anything.
NUMBER_TASK = {**TWILIO_RETRIES, "acks_late": True}


@shared_task(**NUMBER_TASK)
def purchase_number(*, number_id: int) -> None:
    """Runs in the tenant's schema."""
    purchasing.number_purchase(number_id=number_id)


@shared_task(**NUMBER_TASK)
def release_number(*, number_id: int) -> None:
    """Runs in the tenant's schema."""
    purchasing.number_release(number_id=number_id)


@shared_task(**NUMBER_TASK)
def close_numbers(*, then_close_subaccount: bool) -> None:
    """Runs in the tenant's schema: releases every releasing number, then closes the tenant's subaccount."""
    for number_id in purchasing.numbers_releasing():
        purchasing.number_release(number_id=number_id)
    if then_close_subaccount:
        close_twilio_subaccount.delay(tenant_id=current_tenant().pk)


@shared_task
def resume_stalled_number_work() -> int:
    """Beat: queues again, tenant by tenant, purchases and releases that lost their task."""
    queued = 0
    for _ in in_each_tenant():
        stalled = PhoneNumber.objects.filter(
            status__in=[PhoneNumber.Status.PENDING, PhoneNumber.Status.RELEASING],
            updated_at__lt=timezone.now() - STALLED_AFTER,
        )
        for number_id, status in stalled.values_list("pk", "status"):
            task = purchase_number if status == PhoneNumber.Status.PENDING else release_number
            task.delay(number_id=number_id)
            queued += 1
    return queued
