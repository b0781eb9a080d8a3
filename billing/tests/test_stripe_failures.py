"""What billing does when Stripe refuses or does not answer: a refused event is kept as failed with Stripe's
reason (not left pending forever), a lost event is queued again only so many times, a meter event Stripe refused
is not taken as reported, and a request that hangs gives up within the gateway's timeout."""

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.checkout import customer_ensure
from billing.events import event_process
from billing.gateway import StripeGateway, StripeUnavailable
from billing.metering import usage_report
from billing.models import MeterReport, Plan, StripeEvent, Subscription
from billing.tasks import EVENT_MAX_ATTEMPTS, EVENT_STALLED_AFTER, enforce_subscriptions
from billing.tests.conftest import StripeSide, deliver, signed_post
from sandbox.stripe import StripeSandbox
from telephony.models import Communication
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def kept_event(alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, client: Any) -> StripeEvent:
    subscription_id = stripe_side.subscribe(alpha.tenant, plan)
    for event in stripe_side.events(since=stripe_side.event_count() - 3):
        deliver(client, event)
    stripe_side.move(subscription_id, "past_due")
    updated = [e for e in stripe_side.events() if e["type"] == "customer.subscription.updated"][-1]
    assert signed_post(client, updated).status_code == 200
    return StripeEvent.objects.get(event_id=updated["id"])


def test_an_event_stripe_refuses_to_explain_ends_failed_with_the_reason(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    kept = kept_event(alpha, plan, stripe_side, public_client)

    with override_settings(STRIPE_SECRET_KEY="sk_test_revoked"):  # Stripe answers 401
        processed = event_process(event_id=kept.pk)

    assert processed.event.result == StripeEvent.Result.FAILED
    assert processed.event.detail.startswith("Stripe refused: ") and "API Key" in processed.event.detail
    assert Subscription.objects.get(tenant=alpha.tenant).status == "active"  # nothing applied


def test_a_lost_event_is_queued_again_only_so_many_times(
    alpha: TenantSetup, plan: Plan, stripe_side: StripeSide, public_client: Any, queued_tasks: list[QueuedTask]
) -> None:
    kept = kept_event(alpha, plan, stripe_side, public_client)
    stalled = timezone.now() - EVENT_STALLED_AFTER - timedelta(minutes=1)
    StripeEvent.objects.filter(pk=kept.pk).update(received_at=stalled, attempts=EVENT_MAX_ATTEMPTS - 1)

    assert enforce_subscriptions.run()["requeued"] == 1
    StripeEvent.objects.filter(pk=kept.pk).update(attempts=EVENT_MAX_ATTEMPTS)
    assert enforce_subscriptions.run()["requeued"] == 0

    kept.refresh_from_db()
    assert kept.result == StripeEvent.Result.FAILED and f"after {EVENT_MAX_ATTEMPTS} attempts" in kept.detail


def test_a_meter_event_stripe_refused_is_sent_again_by_the_next_run(
    alpha: TenantSetup, plan: Plan, stripe_double: StripeSandbox
) -> None:
    customer_ensure(tenant=alpha.tenant, email=alpha.admin_email, gateway=StripeGateway())
    # Not yesterday: the session's double keeps the meter events of test_metered_reporting, which uses it.
    day = timezone.localdate() - timedelta(days=2)
    Subscription.objects.create(tenant=alpha.tenant, stripe_subscription_id="sub_refused", plan=plan, status="active")
    at = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=9)
    with tenant_context(alpha.tenant):
        Communication.objects.create(
            channel="call", to_number="+14155550111", twilio_sid="CA" + "6" * 32, duration_seconds=61, occurred_at=at
        )
    known = set(stripe_double.store.meter_events)

    with override_settings(STRIPE_SECRET_KEY="sk_test_revoked"):
        assert usage_report(today=timezone.localdate()) == 0
    # Not taken as reported (the day's zero SMS segments needed no meter event, and are).
    reported = MeterReport.objects.filter(tenant=alpha.tenant, day=day)
    assert list(reported.values_list("event_name", flat=True)) == ["switchboard_sms_segments"]

    assert usage_report(today=timezone.localdate()) == 1  # the key is right again: sent now
    sent = [event for key, event in stripe_double.store.meter_events.items() if key not in known]
    assert [(event["event_name"], event["payload"]["value"]) for event in sent] == [("switchboard_minutes", "2")]
    assert MeterReport.objects.filter(tenant=alpha.tenant, day=day).count() == 2


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_stripe_request_that_hangs_gives_up_within_the_timeout(
    stripe_double: StripeSandbox, silent_server: str
) -> None:
    with override_settings(STRIPE_SANDBOX_URL=silent_server, STRIPE_REQUEST_TIMEOUT_SECONDS=0.5):
        started = time.monotonic()
        with pytest.raises(StripeUnavailable):
            StripeGateway().subscription_retrieve(subscription_id="sub_hangs")
        took = time.monotonic() - started

    assert took < 8, took  # three tries of 0.5 s and the library's short waits between them, not 3 x 80 s
