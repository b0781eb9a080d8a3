"""Billing's worker tasks, and the only place that queues them. They run in the public schema (billing's tables
are there) and enter a tenant's schema where they touch its numbers."""

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing import checkout, events, lifecycle, metering, provisioning
from billing.gateway import StripeUnavailable
from billing.models import StripeEvent

STRIPE_RETRIES: dict[str, Any] = {
    "autoretry_for": (StripeUnavailable,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 8,
    "acks_late": True,
}
# While the numbers it asked for are being bought, a provisioning run looks again after this, doubling each
# look up to LOOK_AGAIN_MAX_SECONDS (a purchase waiting for Twilio may take a while).
LOOK_AGAIN_SECONDS = 3
LOOK_AGAIN_MAX_SECONDS = 120
# An event still pending this long after it arrived lost its task (its retries ran out): beat queues it again,
# up to EVENT_MAX_ATTEMPTS attempts in all; then it is kept as failed, for staff.
EVENT_STALLED_AFTER = timedelta(minutes=5)
EVENT_MAX_ATTEMPTS = 20


def queue_event(*, stripe_event_id: int) -> None:
    process_stripe_event.delay(stripe_event_id=stripe_event_id)


@shared_task(**STRIPE_RETRIES)
def process_stripe_event(*, stripe_event_id: int) -> None:
    processed = events.event_process(event_id=stripe_event_id)
    if processed.tenant is not None and provisioning.provisioning_start(tenant=processed.tenant):
        provision_numbers.delay(tenant_id=processed.tenant.pk)


@shared_task(acks_late=True)
def provision_numbers(*, tenant_id: int, looks: int = 0) -> None:
    if provisioning.provisioning_run(tenant_id=tenant_id) is provisioning.Step.LOOK_AGAIN:
        countdown = min(LOOK_AGAIN_SECONDS * 2**looks, LOOK_AGAIN_MAX_SECONDS)
        provision_numbers.apply_async(kwargs={"tenant_id": tenant_id, "looks": looks + 1}, countdown=countdown)


@shared_task
def provision_due() -> int:
    """Beat, every minute: provisioning runs whose backoff is over, or that lost their task."""
    due = provisioning.provisioning_due(now=timezone.now())
    for tenant_id in due:
        provision_numbers.delay(tenant_id=tenant_id)
    return len(due)


@shared_task
def enforce_subscriptions() -> dict[str, int]:
    """Beat: grace periods over -> suspension; retention periods over -> numbers released; lost events queued."""
    now = timezone.now()
    enforced = lifecycle.subscriptions_enforce(now=now)
    stalled = StripeEvent.objects.filter(result=StripeEvent.Result.PENDING, received_at__lt=now - EVENT_STALLED_AFTER)
    stalled.filter(attempts__gte=EVENT_MAX_ATTEMPTS).update(
        result=StripeEvent.Result.FAILED,
        detail=f"Given up after {EVENT_MAX_ATTEMPTS} attempts: Stripe could not be read.",
        processed_at=now,
    )
    requeued = 0
    for event_id in stalled.filter(attempts__lt=EVENT_MAX_ATTEMPTS).values_list("pk", flat=True):
        queue_event(stripe_event_id=event_id)
        requeued += 1
    return {"suspended": enforced.suspended, "numbers_released": enforced.numbers_released, "requeued": requeued}


@shared_task(**STRIPE_RETRIES)
def prepare_redirect(*, redirect_id: int) -> None:
    checkout.redirect_prepare(redirect_id=redirect_id)


@shared_task(**STRIPE_RETRIES)
def report_usage() -> int:
    """Beat, hourly: each subscribed tenant's finished days, as Stripe meter events (BILLING_METERED_REPORTING)."""
    if not settings.BILLING_METERED_REPORTING:
        return 0
    return metering.usage_report(today=timezone.localdate())
