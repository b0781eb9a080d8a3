"""Stripe's events, each type, duplicated and out of order: the tenant ends as the newest subscription has it."""

import random
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.events import event_process
from billing.gateway import StripeUnavailable
from billing.lifecycle import subscription_sync
from billing.models import Invoice, Plan, StripeEvent, Subscription
from billing.tests.conftest import StripeSide, deliver, make_plan, signed_post
from tenants.models import Tenant
from tenants.services import tenant_suspend
from testsupport.processes import free_port
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def subscribed(alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, client: Any, **kwargs: Any) -> str:
    subscription_id = stripe_side.subscribe(alpha.tenant, plan, **kwargs)
    for event in stripe_side.events(since=stripe_side.event_count() - 3):
        deliver(client, event)
    return subscription_id


def test_checkout_makes_the_tenant_a_subscriber_on_the_plans_limits(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    before = stripe_side.event_count()
    subscription_id = stripe_side.subscribe(alpha.tenant, plan)
    events = stripe_side.events(since=before)
    assert [event["type"] for event in events] == [
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]

    results = [deliver(public_client, event) for event in events]

    assert [result.result for result in results] == ["applied"] * 3
    subscription = Subscription.objects.get(tenant=alpha.tenant)
    assert (subscription.stripe_subscription_id, subscription.status, subscription.plan) == (
        subscription_id,
        "active",
        plan,
    )
    assert subscription.current_period_end is not None and subscription.current_period_start is not None
    tenant = alpha.tenant
    assert (tenant.max_calls_per_day, tenant.max_messages_per_day, tenant.api_rate_limit_per_minute) == (321, 654, 77)
    assert (tenant.max_users, tenant.max_api_keys, tenant.allowed_countries) == (5, 4, ["US", "GB"])
    invoice = Invoice.objects.get(tenant=tenant)
    assert (invoice.status, invoice.amount_paid, invoice.currency) == ("paid", 29, "USD")
    # Each applied event found the plan's number missing and asked for provisioning.
    assert {task.name for task in queued_tasks} == {"billing.tasks.provision_numbers"}


@pytest.mark.parametrize(
    ("moves", "events", "status", "suspended"),
    [
        (["past_due"], ["invoice.payment_failed", "customer.subscription.updated"], "past_due", False),
        (["past_due", "active"], ["invoice.paid", "customer.subscription.updated"], "active", False),
        (["unpaid"], ["customer.subscription.updated"], "unpaid", True),
        (["paused"], ["customer.subscription.paused", "customer.subscription.updated"], "paused", True),
        (
            ["paused", "active"],
            ["customer.subscription.resumed", "customer.subscription.updated"],
            "active",
            False,
        ),
        (["canceled"], ["customer.subscription.deleted"], "canceled", True),
    ],
)
def test_each_event_type_moves_the_tenant(
    alpha: TenantSetup,
    plan: Plan,
    stripe_side: StripeSide,
    public_client: Any,
    queued_tasks: list[QueuedTask],
    moves: list[str],
    events: list[str],
    status: str,
    suspended: bool,
) -> None:
    subscription_id = subscribed(alpha, plan, stripe_side, public_client)
    for move in moves:
        before = stripe_side.event_count()
        stripe_side.move(subscription_id, move)
    last_events = stripe_side.events(since=before)
    assert [event["type"] for event in last_events] == events

    for event in last_events:
        assert deliver(public_client, event).result == "applied"

    subscription = Subscription.objects.get(tenant=alpha.tenant)
    assert subscription.status == status
    assert alpha.tenant.is_suspended is suspended
    assert subscription.suspended_by_billing is suspended
    if status == "past_due":
        assert subscription.past_due_since is not None  # the grace period runs from here
    if status == "canceled":
        assert subscription.ended_at is not None  # the retention period runs from here


def test_a_duplicate_event_changes_nothing(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    subscription_id = subscribed(alpha, plan, stripe_side, public_client)
    before = stripe_side.event_count()
    stripe_side.move(subscription_id, "canceled")
    (deleted,) = stripe_side.events(since=before)
    first = deliver(public_client, deleted)
    ended_at = Subscription.objects.get(tenant=alpha.tenant).ended_at

    again = deliver(public_client, deleted)

    assert StripeEvent.objects.filter(event_id=deleted["id"]).count() == 1
    assert (first.pk, again.pk, again.attempts) == (first.pk, first.pk, 1)
    assert Subscription.objects.get(tenant=alpha.tenant).ended_at == ended_at


def test_a_late_event_does_not_undo_a_newer_state(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    subscription_id = subscribed(alpha, plan, stripe_side, public_client)
    before = stripe_side.event_count()
    stripe_side.move(subscription_id, "past_due")
    stripe_side.move(subscription_id, "canceled")
    failed, updated, deleted = stripe_side.events(since=before)

    for event in (deleted, updated, failed):  # newest first
        deliver(public_client, event)

    assert Subscription.objects.get(tenant=alpha.tenant).status == "canceled"
    assert alpha.tenant.is_suspended


def test_a_staff_suspension_is_not_lifted_by_a_payment(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    tenant = alpha.tenant
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.SUSPENDED, suspended_reason="Abuse")

    subscribed(alpha, plan, stripe_side, public_client)

    assert alpha.tenant.is_suspended and alpha.tenant.suspended_reason == "Abuse"


def test_an_event_for_a_customer_nobody_is_is_kept_and_ignored(
    stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    event = {
        "id": "evt_stranger",
        "object": "event",
        "created": 1,
        "type": "customer.subscription.updated",
        "data": {"object": {"id": "sub_x", "customer": "cus_stranger", "status": "active", "metadata": {}}},
    }

    kept = deliver(public_client, event)

    assert (kept.result, kept.tenant) == ("ignored", None)
    assert "cus_stranger" in kept.detail
    assert not Subscription.objects.exists()


def test_one_tenants_events_never_touch_another(
    alpha: TenantSetup,
    beta: TenantSetup,
    plan: Plan,
    stripe_side: StripeSide,
    public_client: Any,
    queued_tasks: list[QueuedTask],
) -> None:
    subscription_id = subscribed(alpha, plan, stripe_side, public_client)
    beta_limits = beta.tenant.max_calls_per_day
    stripe_side.move(subscription_id, "canceled")
    deliver(public_client, stripe_side.events()[-1])

    # The same subscription named with beta's id in its metadata still belongs to alpha's customer.
    forged = {**stripe_side.events()[-1], "id": "evt_claims_beta"}
    forged["data"] = {"object": {**forged["data"]["object"], "metadata": {"tenant_id": str(beta.tenant.pk)}}}
    deliver(public_client, forged)

    assert not Subscription.objects.filter(tenant=beta.tenant).exists()
    assert not beta.tenant.is_suspended and beta.tenant.max_calls_per_day == beta_limits
    assert alpha.tenant.is_suspended


MOVES = st.sampled_from(["active", "past_due", "unpaid", "paused", "canceled", "trialing"])
# A subscription starts incomplete when its first payment needs more (3-D Secure, say): it becomes active, or expires.
BEGINNINGS = st.sampled_from([[], ["incomplete", "active"], ["incomplete", "incomplete_expired"], ["incomplete"]])
SUSPENDED_IN = ("unpaid", "paused", "canceled", "incomplete_expired")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    beginning=BEGINNINGS,
    later=st.lists(MOVES, max_size=6),
    seed=st.integers(0, 2**32),
    plan_change=st.booleans(),
)
def test_any_order_with_duplicates_ends_in_the_newest_subscription_state(
    alpha: TenantSetup,
    stripe_side: StripeSide,
    public_client: Any,
    queued_tasks: list[QueuedTask],
    beginning: list[str],
    later: list[str],
    seed: int,
    plan_change: bool,
) -> None:
    moves = beginning + (later if beginning[-1:] != ["incomplete"] else [])
    if not moves:
        moves = ["active"]
    shuffled = random.Random(seed)
    with transaction.atomic():
        first_plan, second_plan = make_plan("One"), make_plan("Two", max_calls_per_day=999)
        before = stripe_side.event_count()
        subscription_id = stripe_side.subscribe(alpha.tenant, first_plan, trial=moves[0] == "trialing")
        for move in moves:
            if stripe_side.double.store.subscription(subscription_id)["status"] in ("canceled", "incomplete_expired"):
                break
            if plan_change and move == "active":
                with stripe_side.double.store.lock:
                    stripe_side.double.store.subscription_update(
                        subscription_id, {"items": [{"price": second_plan.stripe_price_id}]}
                    )
            stripe_side.move(subscription_id, move)
            # Some events arrive while the subscription is still moving, in any order.
            so_far = stripe_side.events(since=before)
            for event in shuffled.sample(so_far, k=shuffled.randint(0, len(so_far))):
                deliver(public_client, event)
        events = stripe_side.events(since=before)
        delivered = events + shuffled.sample(events, k=len(events) // 2)  # every event, some twice
        shuffled.shuffle(delivered)

        for event in delivered:
            deliver(public_client, event)

        newest = stripe_side.double.store.subscription(subscription_id)
        subscription = Subscription.objects.get(tenant=alpha.tenant)
        tenant = alpha.tenant
        assert subscription.status == newest["status"]
        assert subscription.plan is not None
        assert subscription.plan.stripe_price_id == newest["items"]["data"][0]["price"]["id"]
        assert tenant.max_calls_per_day == subscription.plan.max_calls_per_day
        assert tenant.is_suspended is (newest["status"] in SUSPENDED_IN)
        assert StripeEvent.objects.filter(event_id__in=[e["id"] for e in events]).count() == len(events)
        transaction.set_rollback(True)


def test_while_stripe_cannot_be_read_the_event_waits_for_its_retry(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    subscription_id = subscribed(alpha, plan, stripe_side, public_client)
    stripe_side.move(subscription_id, "canceled")
    deleted = stripe_side.events()[-1]
    assert signed_post(public_client, deleted).status_code == 200
    kept = StripeEvent.objects.get(event_id=deleted["id"])

    with override_settings(STRIPE_SANDBOX_URL=f"http://127.0.0.1:{free_port()}"):  # nothing listens there
        with pytest.raises(StripeUnavailable):
            event_process(event_id=kept.pk)

    kept.refresh_from_db()
    assert (kept.result, kept.attempts) == ("pending", 1)
    assert Subscription.objects.get(tenant=alpha.tenant).status == "active"  # nothing applied from the event itself
    assert event_process(event_id=kept.pk).event.result == "applied"  # Stripe is back: the retry applies it
    assert Subscription.objects.get(tenant=alpha.tenant).status == "canceled"


def test_a_staff_suspension_made_while_the_event_waited_stays_staffs(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    """The worker loaded the tenant before it took the lock; staff suspended it in between."""
    subscription_id = subscribed(alpha, plan, stripe_side, public_client)
    loaded_before = Tenant.objects.get(pk=alpha.tenant.pk)
    tenant_suspend(tenant=Tenant.objects.get(pk=alpha.tenant.pk), reason="Staff: abuse.")
    stripe_side.move(subscription_id, "unpaid")

    subscription_sync(tenant=loaded_before, subscription_id=subscription_id)
    stripe_side.move(subscription_id, "active")
    subscription_sync(tenant=loaded_before, subscription_id=subscription_id)

    tenant = Tenant.objects.get(pk=alpha.tenant.pk)
    assert (tenant.is_suspended, tenant.suspended_reason) == (True, "Staff: abuse.")  # billing did not take it over
    assert Subscription.objects.get(tenant=tenant).suspended_by_billing is False
