"""What calls and SMS cost: Twilio's price kept on each, asked for when the callback has none, totalled per day."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony import delivery, pricing
from telephony.models import Communication
from telephony.tasks import fetch_prices
from telephony.tests.test_status_callbacks import post_callback
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db


def message(setup: TenantSetup, **fields: Any) -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.create(
            channel="sms", to_number="+14155552671", from_number=SENDER, **{"status": "sent", **fields}
        )


def test_a_price_in_the_callback_is_kept_with_its_unit(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    call = message(alpha_on_twilio, twilio_sid="CA" + "1" * 32)

    post_callback(
        alpha_on_twilio,
        call,
        {"CallSid": call.twilio_sid, "CallStatus": "completed", "Price": "-0.01700", "PriceUnit": "EUR"},
    )

    with tenant_context(alpha_on_twilio.tenant):
        call.refresh_from_db()
    assert (call.cost_amount, call.cost_currency) == (Decimal("0.01700"), "EUR")
    assert queued_tasks == []  # priced already: nothing to ask


def test_beat_has_a_worker_ask_twilio_for_the_price_of_what_ended_without_one(
    alpha_on_twilio: TenantSetup, beta: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    ended = message(alpha_on_twilio, twilio_sid="SM" + "1" * 32, status="delivered")
    message(alpha_on_twilio, twilio_sid="SM" + "2" * 32, status="delivered", cost_amount=Decimal("0.0079"))
    message(alpha_on_twilio, twilio_sid="SM" + "3" * 32, status="sent")  # not final yet
    with tenant_context(alpha_on_twilio.tenant):
        Communication.objects.update(updated_at=timezone.now() - timedelta(minutes=1))
        waiting = pricing.unpriced(now=timezone.now())

    queued = fetch_prices()

    assert waiting == [ended.pk]
    assert queued == 1  # alpha's only: beta has nothing to price
    assert [(task.name, task.schema) for task in queued_tasks] == [
        ("telephony.tasks.fetch_tenant_prices", alpha_on_twilio.tenant.schema_name)
    ]


def test_the_worker_reads_the_price_twilio_gave(alpha_on_twilio: TenantSetup, twilio_sandbox: Any) -> None:
    sent = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(
        "/api/v1/messages/", {"to": "+14155552671", "body": "Priced"}, format="json"
    )
    with tenant_context(alpha_on_twilio.tenant):
        delivery.deliver(communication_id=sent.json()["id"])
        assert twilio_sandbox.wait_idle(timeout=10)  # delivered, and priced, at the sandbox
        Communication.objects.update(status="delivered", updated_at=timezone.now() - timedelta(minutes=1))
        priced = pricing.prices_fetch(now=timezone.now())
        costs = list(Communication.objects.filter(pk=sent.json()["id"]).values_list("cost_amount", "cost_currency"))

    assert priced == 1
    ((amount, currency),) = costs
    assert amount is not None and amount > 0 and currency == "USD"


def test_costs_per_day_are_readable_through_the_api(alpha: TenantSetup) -> None:
    message(alpha, cost_amount=Decimal("0.0079"))
    message(alpha, cost_amount=Decimal("0.0158"))
    message(alpha)  # not priced (yet)

    days = alpha.client(alpha.admin_key).get("/api/v1/activity/daily/?days=3").json()

    today = timezone.localdate().isoformat()
    assert [day["day"] for day in days][-1] == today and len(days) == 3
    assert days[-1]["costs"] == {"USD": "0.02370"} and days[-1]["total"] == 3
    assert days[0]["costs"] == {} and days[0]["total"] == 0
