"""Two workers processing two events of one subscription at the same moment (threads with their own database
connections, on committed data): the per-tenant lock lets one apply at a time, so neither fails and the tenant
ends as the newest subscription state has it."""

import json
import threading
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connections
from pytest_django import DjangoDbBlocker

from billing.events import event_process, event_receive
from billing.models import BillingProfile, Invoice, NumberProvisioning, Plan, StripeEvent, Subscription
from billing.tests.conftest import StripeSide, make_plan
from sandbox.stripe import StripeSandbox, signature_header
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

ROUNDS = 3


@pytest.fixture
def committed_billing(
    stripe_double: StripeSandbox, committed_alpha: TenantSetup, django_db_blocker: DjangoDbBlocker
) -> Iterator[tuple[TenantSetup, Plan]]:
    with django_db_blocker.unblock():
        plan = make_plan("Concurrent")
        try:
            yield committed_alpha, plan
        finally:
            for model in (StripeEvent, Invoice, Subscription, NumberProvisioning, BillingProfile):
                model.objects.filter(**({} if model is StripeEvent else {"tenant": committed_alpha.tenant})).delete()
            plan.delete()


def process(event_id: int, start: threading.Barrier, outcomes: list[object]) -> None:
    try:
        start.wait(timeout=10)
        outcomes.append(event_process(event_id=event_id).event.result)
    except BaseException as error:  # noqa: BLE001  (handed to the test thread)
        outcomes.append(error)
    finally:
        connections.close_all()


def test_two_events_of_one_subscription_processed_at_once(
    committed_billing: tuple[TenantSetup, Plan],
    stripe_double: StripeSandbox,
    django_db_blocker: DjangoDbBlocker,
    queued_tasks: list[QueuedTask],
) -> None:
    alpha, plan = committed_billing
    stripe_side = StripeSide(stripe_double)
    with django_db_blocker.unblock():
        before = stripe_side.event_count()
        subscription_id = stripe_side.subscribe(alpha.tenant, plan)
        stripe_side.move(subscription_id, "past_due")
        kept = []
        created_and_updated = [e for e in stripe_side.events(since=before) if e["type"].startswith("customer.sub")]
        assert len(created_and_updated) == 2
        for event in created_and_updated:
            payload = json.dumps(event)
            stored, _ = event_receive(
                payload=payload.encode(), signature=signature_header(payload, settings.STRIPE_WEBHOOK_SECRET)
            )
            kept.append(stored)
        stripe_double.api_delay_seconds = 0.2  # both have read Stripe before either applies what it read
        for _ in range(ROUNDS):
            # Each round is the tenant's first sync: without the lock both would create its Subscription row.
            Subscription.objects.filter(tenant=alpha.tenant).delete()
            StripeEvent.objects.filter(pk__in=[e.pk for e in kept]).update(result=StripeEvent.Result.PENDING)
            start = threading.Barrier(2)
            outcomes: list[object] = []

            threads = [threading.Thread(target=process, args=(event.pk, start, outcomes)) for event in kept]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert outcomes == [StripeEvent.Result.APPLIED] * 2, outcomes
            [subscription] = Subscription.objects.filter(tenant=alpha.tenant)
            newest = stripe_double.store.subscription(subscription_id)
            assert (subscription.stripe_subscription_id, subscription.status) == (subscription_id, newest["status"])
        stripe_double.api_delay_seconds = 0.0
