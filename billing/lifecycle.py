"""A tenant's subscription as Stripe has it, and what its status does to the tenant.

Stripe's events may come twice, late or out of order, so none is applied as it stands: each names the
subscription, which is read again from Stripe and applied whole, with the tenant's billing profile locked, so
the last write is always the newest state Stripe had (the read stays under the lock for that; the gateway's
short timeout bounds how long the lock is held). The tenant row is locked and read again under it too, so a
staff suspension made meanwhile is seen, and stays staff's. Runs in a worker (it calls Stripe).

Status -> tenant: active and trialing are good standing (a billing suspension is lifted, the plan's limits
apply); past_due starts the grace period (BILLING_GRACE_PERIOD_DAYS) after which beat suspends; unpaid, paused,
canceled and incomplete_expired suspend at once; canceled and expired start the retention period
(BILLING_NUMBER_RETENTION_DAYS) after which beat releases the tenant's numbers (telephony.numbers'
tenant_numbers_close, keeping the subaccount), beat after beat until none is live, unless it subscribes again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.gateway import StripeGateway, StripeNotFound, SubscriptionState
from billing.models import BillingProfile, Plan, Subscription
from telephony.numbers.services import numbers_live_count, tenant_numbers_close
from tenants.models import Tenant
from tenants.services import tenant_reactivate, tenant_suspend

logger = structlog.get_logger(__name__)

SUSPENDED_REASON = "Billing: the subscription is {status}."


@dataclass(frozen=True)
class SyncResult:
    subscription: Subscription | None
    detail: str


def tenant_of_customer(*, customer: str, metadata: dict[str, str] | None = None) -> Tenant | None:
    """The tenant a Stripe customer is (its billing profile), or the one the object's metadata names."""
    profile = (
        BillingProfile.objects.select_related("tenant").filter(stripe_customer_id=customer).first()
        if customer
        else None
    )
    if profile is not None:
        return profile.tenant
    tenant_id = (metadata or {}).get("tenant_id", "")
    return Tenant.objects.filter(pk=int(tenant_id)).first() if tenant_id.isdigit() else None


def subscription_sync(*, tenant: Tenant, subscription_id: str, gateway: StripeGateway | None = None) -> SyncResult:
    """Reads the subscription from Stripe and applies it to the tenant. Raises StripeUnavailable (try again)."""
    gateway = gateway or StripeGateway()
    with transaction.atomic():
        profile, _ = BillingProfile.objects.get_or_create(tenant=tenant)
        BillingProfile.objects.select_for_update().get(pk=profile.pk)  # one sync per tenant at a time
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        try:
            state = gateway.subscription_retrieve(subscription_id=subscription_id)
        except StripeNotFound:
            return SyncResult(None, f"Stripe has no subscription {subscription_id}.")
        if state.customer and profile.stripe_customer_id != state.customer:
            if profile.stripe_customer_id:
                return SyncResult(None, f"{subscription_id} belongs to customer {state.customer}, not this tenant's.")
            profile.stripe_customer_id = state.customer
            profile.save(update_fields=["stripe_customer_id"])
        current = Subscription.objects.filter(tenant=tenant).first()
        if current is not None and current.stripe_subscription_id != subscription_id:
            if current.status not in Subscription.ENDED and state.status in Subscription.ENDED:
                return SyncResult(None, f"{subscription_id} has ended; {current.stripe_subscription_id} is current.")
            if current.status not in Subscription.ENDED and state.status not in Subscription.ENDED:
                logger.warning(
                    "billing.second_live_subscription",
                    current=current.stripe_subscription_id,
                    other=subscription_id,
                )
        subscription = _apply(tenant=tenant, current=current, state=state)
    return SyncResult(subscription, f"{subscription.stripe_subscription_id} is {subscription.status}.")


def _apply(*, tenant: Tenant, current: Subscription | None, state: SubscriptionState) -> Subscription:
    now = timezone.now()
    subscription = current or Subscription(tenant=tenant)
    if subscription.stripe_subscription_id != state.id:
        subscription.numbers_released_at = None
    subscription.stripe_subscription_id = state.id
    subscription.status = state.status
    plan = Plan.objects.filter(stripe_price_id=state.price_id).first()
    if plan is None and state.price_id:
        logger.warning("billing.unknown_price", price_id=state.price_id, subscription=state.id)
    subscription.plan = plan or subscription.plan
    subscription.current_period_start = state.current_period_start
    subscription.current_period_end = state.current_period_end
    subscription.cancel_at_period_end = state.cancel_at_period_end
    subscription.synced_at = now
    if state.status in Subscription.IN_GOOD_STANDING:
        subscription.past_due_since = None
        subscription.ended_at = None
    elif state.status == Subscription.Status.PAST_DUE:
        subscription.past_due_since = subscription.past_due_since or now
    if state.status in Subscription.ENDED:
        subscription.ended_at = subscription.ended_at or now
    _standing_apply(subscription=subscription, tenant=tenant)
    subscription.save()
    return subscription


def _standing_apply(*, subscription: Subscription, tenant: Tenant) -> None:
    if subscription.plan is not None:
        plan_limits_apply(tenant=tenant, plan=subscription.plan)
    if subscription.status in Subscription.IN_GOOD_STANDING:
        if subscription.suspended_by_billing and tenant.is_suspended:
            tenant_reactivate(tenant=tenant)
        subscription.suspended_by_billing = False
    elif subscription.status in Subscription.SUSPENDING or _grace_over(subscription, timezone.now()):
        _suspend(subscription=subscription, tenant=tenant)


def _grace_over(subscription: Subscription, now: datetime) -> bool:
    grace = timedelta(days=settings.BILLING_GRACE_PERIOD_DAYS)
    return subscription.status == Subscription.Status.PAST_DUE and bool(
        subscription.past_due_since and subscription.past_due_since + grace <= now
    )


def _suspend(*, subscription: Subscription, tenant: Tenant) -> None:
    if not tenant.is_suspended:
        tenant_suspend(tenant=tenant, reason=SUSPENDED_REASON.format(status=subscription.get_status_display().lower()))
        subscription.suspended_by_billing = True


def plan_limits_apply(*, tenant: Tenant, plan: Plan) -> None:
    changed = [name for name in Plan.LIMIT_FIELDS if getattr(tenant, name) != getattr(plan, name)]
    for name in changed:
        setattr(tenant, name, getattr(plan, name))
    if changed:
        tenant.save(update_fields=changed)


@dataclass(frozen=True)
class Enforced:
    suspended: int
    numbers_released: int


def subscriptions_enforce(*, now: datetime) -> Enforced:
    """Beat: past_due beyond the grace period -> suspended; ended beyond the retention period -> numbers released."""
    grace = timedelta(days=settings.BILLING_GRACE_PERIOD_DAYS)
    retention = timedelta(days=settings.BILLING_NUMBER_RETENTION_DAYS)
    suspended = released = 0
    overdue = Subscription.objects.filter(
        status=Subscription.Status.PAST_DUE, past_due_since__lte=now - grace, tenant__status=Tenant.Status.ACTIVE
    )
    for subscription in overdue.select_related("tenant"):
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().select_related("tenant").get(pk=subscription.pk)
            if _grace_over(locked, now) and not locked.tenant.is_suspended:
                _suspend(subscription=locked, tenant=locked.tenant)
                locked.save(update_fields=["suspended_by_billing"])
                suspended += 1
    expired = Subscription.objects.filter(
        Q(status__in=Subscription.ENDED), ended_at__lte=now - retention, numbers_released_at__isnull=True
    )
    for subscription in expired.select_related("tenant"):
        # Done once none is left live: a release Twilio refused, or a purchase that ended after, is tried again.
        if numbers_live_count(tenant=subscription.tenant) == 0:
            Subscription.objects.filter(pk=subscription.pk, status__in=Subscription.ENDED).update(
                numbers_released_at=now
            )
            continue
        count = tenant_numbers_close(tenant=subscription.tenant, close_subaccount=False)
        logger.info("billing.numbers_released", tenant=subscription.tenant.slug, count=count)
        released += count
    return Enforced(suspended=suspended, numbers_released=released)
