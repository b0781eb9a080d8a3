"""Buying the numbers a tenant's plan includes, once its subscription is active or trialing.

Each run (a worker, see billing.tasks) is one step: if purchases it asked for are still being bought it says
to look again (ever less often) and records that it looked, so beat does not start a second chain; if one of them failed (Twilio has no numbers, say) the failure is kept on the tenant's
NumberProvisioning and the next attempt waits, doubling (BILLING_PROVISIONING_RETRY_SECONDS up to
BILLING_PROVISIONING_RETRY_MAX_SECONDS), for beat to queue it; otherwise it asks telephony.numbers for what
is missing, in the tenant's preferred country and area code. The subscription is never touched here: a
failure to provision leaves it as Stripe has it.
"""

import enum
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import BillingProfile, NumberProvisioning, Subscription
from config.errors import DomainError
from telephony.numbers.models import PhoneNumber
from telephony.numbers.services import number_purchase_request, numbers_held_count
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

# A run that has not moved for this long lost its task: beat queues it again.
STALLED_AFTER = timedelta(minutes=10)


class Step(enum.StrEnum):
    LOOK_AGAIN = "look-again"  # purchases are being bought: run again in a few seconds
    WAIT = "wait"  # failed: beat runs it again when the backoff is over
    DONE = "done"


def numbers_wanted(*, tenant: Tenant) -> int:
    """How many numbers the tenant's plan includes, if its subscription is in good standing; otherwise 0."""
    subscription = Subscription.objects.select_related("plan").filter(tenant=tenant).first()
    if subscription is None or subscription.plan is None or subscription.status not in Subscription.IN_GOOD_STANDING:
        return 0
    return subscription.plan.included_numbers


def provisioning_start(*, tenant: Tenant) -> bool:
    """After the tenant's subscription changed: whether a run should be queued (numbers are missing)."""
    # Numbers being bought count as held; a run that is buying them settles its own state (a failed one is
    # tried again by beat, and a later run finding enough numbers marks it done).
    if numbers_wanted(tenant=tenant) <= numbers_held_count(tenant=tenant):
        return False
    provisioning, _ = NumberProvisioning.objects.get_or_create(tenant=tenant)
    # A run waiting for its backoff keeps waiting: a burst of events must not turn into a burst of purchases.
    return provisioning.status != NumberProvisioning.Status.FAILED or _due(provisioning, timezone.now())


def _due(provisioning: NumberProvisioning, now: datetime) -> bool:
    return provisioning.next_attempt_at is None or provisioning.next_attempt_at <= now


def backoff(attempts: int) -> timedelta:
    seconds = settings.BILLING_PROVISIONING_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.BILLING_PROVISIONING_RETRY_MAX_SECONDS))


def provisioning_run(*, tenant_id: int) -> Step:
    tenant = Tenant.objects.get(pk=tenant_id)
    now = timezone.now()
    # The transaction commits inside the tenant's schema (the public tables are on its search path too): the
    # purchases it asks for are queued on commit, to run in that schema.
    with tenant_context(tenant), transaction.atomic():
        provisioning, _ = NumberProvisioning.objects.get_or_create(tenant=tenant)
        provisioning = NumberProvisioning.objects.select_for_update().get(pk=provisioning.pk)
        wanted = numbers_wanted(tenant=tenant)
        asked = PhoneNumber.objects.filter(reason=PhoneNumber.Reason.PLAN)
        if provisioning.last_attempt_at is not None:
            asked = asked.filter(created_at__gte=provisioning.last_attempt_at)
        if provisioning.status == NumberProvisioning.Status.RUNNING:
            if asked.filter(status=PhoneNumber.Status.PENDING).exists():
                # Touched on every look: a run whose chain is alive is never taken for one that lost its task.
                provisioning.save(update_fields=["updated_at"])
                return Step.LOOK_AGAIN
            failed = asked.filter(status=PhoneNumber.Status.FAILED).first()
            if failed is not None:
                return _failed(provisioning, now, failed.status_detail or "Twilio could not sell a number.")
        held = numbers_held_count(tenant=tenant)
        provisioning.wanted = wanted
        if held >= wanted:
            provisioning.status, provisioning.attempts, provisioning.last_error = NumberProvisioning.Status.DONE, 0, ""
            provisioning.next_attempt_at = None
            provisioning.save()
            return Step.DONE
        if provisioning.status == NumberProvisioning.Status.FAILED and not _due(provisioning, now):
            return Step.WAIT
        profile, _ = BillingProfile.objects.get_or_create(tenant=tenant)
        provisioning.status, provisioning.last_attempt_at = NumberProvisioning.Status.RUNNING, now
        provisioning.save()
        try:
            for _ in range(wanted - held):
                number_purchase_request(
                    tenant=tenant,
                    country=profile.number_country,
                    area_code=profile.number_area_code or None,
                    reason=PhoneNumber.Reason.PLAN,
                )
        except DomainError as error:
            return _failed(provisioning, now, error.message)
    logger.info("billing.numbers_requested", tenant=tenant.slug, count=wanted - held)
    return Step.LOOK_AGAIN


def _failed(provisioning: NumberProvisioning, now: datetime, error: str) -> Step:
    provisioning.status = NumberProvisioning.Status.FAILED
    provisioning.attempts += 1
    provisioning.last_error = error
    provisioning.next_attempt_at = now + backoff(provisioning.attempts)
    provisioning.save()
    logger.warning(
        "billing.provisioning_failed",
        tenant=provisioning.tenant.slug,
        attempts=provisioning.attempts,
        error=error,
        next_attempt_at=provisioning.next_attempt_at.isoformat(),
    )
    return Step.WAIT


def provisioning_due(*, now: datetime) -> list[int]:
    """Tenants whose failed provisioning's backoff is over, or whose run lost its task."""
    failed = NumberProvisioning.objects.filter(status=NumberProvisioning.Status.FAILED, next_attempt_at__lte=now)
    stalled = NumberProvisioning.objects.filter(
        status=NumberProvisioning.Status.RUNNING, updated_at__lt=now - STALLED_AFTER
    )
    return list(failed.union(stalled).values_list("tenant_id", flat=True))
