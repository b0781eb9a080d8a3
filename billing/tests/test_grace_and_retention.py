"""past_due -> grace period -> suspension; canceled -> suspension -> numbers released after the retention period,
unless the tenant subscribes again first."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.lifecycle import subscriptions_enforce
from billing.models import Plan, Subscription
from billing.tests.conftest import StripeSide, deliver
from telephony.numbers.models import PhoneNumber
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def moved(alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, client: Any, *statuses: str) -> Subscription:
    before = stripe_side.event_count()
    subscription_id = stripe_side.subscribe(alpha.tenant, plan)
    for status in statuses:
        stripe_side.move(subscription_id, status)
    for event in stripe_side.events(since=before):
        deliver(client, event)
    return Subscription.objects.get(tenant=alpha.tenant)


def held_number(setup: TenantSetup, phone_number: str) -> PhoneNumber:
    with tenant_context(setup.tenant):
        return PhoneNumber.objects.create(
            phone_number=phone_number,
            twilio_sid="PN" + phone_number[-10:].rjust(32, "0"),
            status=PhoneNumber.Status.ACTIVE,
            monthly_cost=Decimal("1.15"),
            provisioned_at=timezone.now() - timedelta(days=40),
            reason=PhoneNumber.Reason.PLAN,
        )


def test_past_due_suspends_once_the_grace_period_is_over_and_payment_lifts_it(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    subscription = moved(alpha, plan, stripe_side, public_client, "past_due")
    assert subscription.past_due_since is not None
    grace = timedelta(days=settings.BILLING_GRACE_PERIOD_DAYS)

    within = subscriptions_enforce(now=subscription.past_due_since + grace - timedelta(minutes=1))
    assert (within.suspended, alpha.tenant.is_suspended) == (0, False)

    over = subscriptions_enforce(now=subscription.past_due_since + grace)
    assert (over.suspended, alpha.tenant.is_suspended) == (1, True)
    assert "past due" in alpha.tenant.suspended_reason
    assert subscriptions_enforce(now=subscription.past_due_since + grace).suspended == 0  # once

    before = stripe_side.event_count()
    stripe_side.move(subscription.stripe_subscription_id, "active")
    for event in stripe_side.events(since=before):
        deliver(public_client, event)

    subscription.refresh_from_db()
    assert (subscription.status, subscription.past_due_since, alpha.tenant.is_suspended) == ("active", None, False)


def test_a_canceled_tenants_numbers_are_released_after_the_retention_period(
    alpha: TenantSetup,
    beta: TenantSetup,
    plan: Plan,
    stripe_side: StripeSide,
    public_client: Any,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: Any,
) -> None:
    number = held_number(alpha, "+12125550101")
    betas = held_number(beta, "+12125550102")
    with tenant_context(alpha.tenant):
        plan_purchase = PhoneNumber.objects.create(area_code="212", reason=PhoneNumber.Reason.PLAN)
    subscription = moved(alpha, plan, stripe_side, public_client, "canceled")
    assert subscription.ended_at is not None and alpha.tenant.is_suspended
    retention = timedelta(days=settings.BILLING_NUMBER_RETENTION_DAYS)

    assert subscriptions_enforce(now=subscription.ended_at + retention - timedelta(hours=1)).numbers_released == 0
    with django_capture_on_commit_callbacks(execute=True):
        released = subscriptions_enforce(now=subscription.ended_at + retention)

    assert released.numbers_released == 1
    with tenant_context(alpha.tenant):
        number.refresh_from_db()
        plan_purchase.refresh_from_db()
    with tenant_context(beta.tenant):
        betas.refresh_from_db()
    assert (number.status, betas.status) == ("releasing", "active")
    # A purchase of the plan still pending ends too, rather than complete after the cancellation.
    assert plan_purchase.status == "failed" and "closed" in plan_purchase.status_detail
    # (Which schema the task runs in is not asserted here: this test's own transaction holds the commit, and so the
    # queuing, until after billing has left alpha's schema; the provisioning test sees a real worker run them.)
    assert [(task.name, task.kwargs) for task in queued_tasks if "numbers" in task.name] == [
        ("telephony.numbers.tasks.close_numbers", {"then_close_subaccount": False})
    ]
    # Not done while a number is still live (its release may not have gone through): the next beat looks again.
    later = subscription.ended_at + retention * 2
    assert subscriptions_enforce(now=later).numbers_released == 0
    subscription.refresh_from_db()
    assert subscription.numbers_released_at is None
    assert [task.name for task in queued_tasks if "numbers" in task.name][-1] == "telephony.numbers.tasks.close_numbers"
    with tenant_context(alpha.tenant):
        PhoneNumber.objects.filter(pk=number.pk).update(status=PhoneNumber.Status.RELEASED)
    subscriptions_enforce(now=later)
    subscription.refresh_from_db()
    assert subscription.numbers_released_at == later  # none live: done, once


def test_subscribing_again_before_the_retention_period_keeps_the_numbers(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    number = held_number(alpha, "+12125550103")
    ended = moved(alpha, plan, stripe_side, public_client, "canceled")
    assert ended.ended_at is not None
    ended_at = ended.ended_at

    again = moved(alpha, plan, stripe_side, public_client)
    assert again.stripe_subscription_id != ended.stripe_subscription_id
    assert (again.status, again.ended_at, alpha.tenant.is_suspended) == ("active", None, False)

    enforced = subscriptions_enforce(now=ended_at + timedelta(days=settings.BILLING_NUMBER_RETENTION_DAYS + 1))
    assert enforced.numbers_released == 0
    with tenant_context(alpha.tenant):
        number.refresh_from_db()
    assert number.status == "active"


def test_a_late_event_of_the_ended_subscription_does_not_replace_the_new_one(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    first = stripe_side.subscribe(alpha.tenant, plan)
    stripe_side.move(first, "canceled")
    deleted = stripe_side.events()[-1]
    again = moved(alpha, plan, stripe_side, public_client)

    kept = deliver(public_client, deleted)

    assert (kept.result, kept.detail) == ("ignored", f"{first} has ended; {again.stripe_subscription_id} is current.")
    assert Subscription.objects.get(tenant=alpha.tenant).stripe_subscription_id == again.stripe_subscription_id
    assert not alpha.tenant.is_suspended
