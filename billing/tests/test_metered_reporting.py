"""Metered reporting: each finished day's minutes and segments reach Stripe as meter events, once, when switched on."""

from datetime import datetime, time, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.checkout import customer_ensure
from billing.gateway import StripeGateway
from billing.models import MeterReport, Plan, Subscription
from billing.tasks import report_usage
from sandbox.stripe import StripeSandbox
from telephony.models import Communication
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def test_finished_days_are_reported_once_and_only_when_switched_on(
    alpha: TenantSetup, beta: TenantSetup, plan: Plan, stripe_double: StripeSandbox
) -> None:
    customer = customer_ensure(tenant=alpha.tenant, email=alpha.admin_email, gateway=StripeGateway())
    yesterday = timezone.localdate() - timedelta(days=1)
    Subscription.objects.create(
        tenant=alpha.tenant,
        stripe_subscription_id="sub_metered",
        plan=plan,
        status="active",
        current_period_start=timezone.make_aware(datetime.combine(yesterday, time.min)),
    )
    at = timezone.make_aware(datetime.combine(yesterday, time(9)))
    with tenant_context(alpha.tenant):
        Communication.objects.create(
            channel="call", to_number="+14155550111", twilio_sid="CA" + "7" * 32, duration_seconds=125, occurred_at=at
        )
        Communication.objects.create(
            channel="sms", to_number="+14155550111", twilio_sid="SM" + "7" * 32, segments=2, occurred_at=at
        )
        Communication.objects.create(
            channel="call", to_number="+14155550111", twilio_sid="CA" + "8" * 32, duration_seconds=60
        )
    known = set(stripe_double.store.meter_events)

    assert report_usage.run() == 0  # off by default
    with override_settings(BILLING_METERED_REPORTING=True):
        sent = report_usage.run()
        again = report_usage.run()

    reported = [event for key, event in stripe_double.store.meter_events.items() if key not in known]
    assert (sent, again) == (2, 0)
    assert sorted((event["event_name"], event["payload"]["value"]) for event in reported) == [
        ("switchboard_minutes", "3"),  # today's call is not reported until the day is over
        ("switchboard_sms_segments", "2"),
    ]
    assert {event["payload"]["stripe_customer_id"] for event in reported} == {customer}
    assert MeterReport.objects.filter(tenant=alpha.tenant, day=yesterday).count() == 2
    assert not MeterReport.objects.filter(tenant=beta.tenant).exists()
