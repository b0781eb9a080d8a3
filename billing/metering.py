"""Metered reporting (BILLING_METERED_REPORTING): each finished day's call minutes and SMS segments go to Stripe as
meter events (Stripe Billing meters, which replaced usage records), once: a MeterReport row is kept per tenant,
day and meter, and the event's identifier makes Stripe drop a repeat sent before the row was written. Any other
refusal (a bad key, an unknown meter) records nothing: the day is sent again by the next run."""

from datetime import date, datetime, time, timedelta

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.gateway import StripeGateway, StripeRefused
from billing.models import BillingProfile, MeterReport, Subscription
from billing.selectors import daily_usage

logger = structlog.get_logger(__name__)

# How far back a day not reported yet (Stripe down for a while) is still reported.
REPORT_DAYS_BACK = 7
# The refusal of a meter event whose identifier Stripe already has: the sandbox double's code. Stripe does not
# document the code of this error; a refusal with another code is treated as a failure (sent again next run).
DUPLICATE_IDENTIFIER_CODES = frozenset({"duplicate"})


def usage_report(*, today: date, gateway: StripeGateway | None = None) -> int:
    """Reports the finished days of every subscribed tenant; answers how many meter events were sent."""
    gateway = gateway or StripeGateway()
    sent = 0
    subscribed = Subscription.objects.filter(status__in=Subscription.IN_GOOD_STANDING).select_related("tenant")
    for subscription in subscribed:
        profile = BillingProfile.objects.filter(tenant=subscription.tenant).first()
        if profile is None or not profile.stripe_customer_id:
            continue
        first = today - timedelta(days=REPORT_DAYS_BACK)
        if subscription.current_period_start is not None:
            first = max(first, timezone.localtime(subscription.current_period_start).date())
        reported = set(
            MeterReport.objects.filter(tenant=subscription.tenant, day__gte=first).values_list("day", "event_name")
        )
        for usage in daily_usage(tenant=subscription.tenant, first=first, last=today - timedelta(days=1)):
            for event_name, quantity in (
                (settings.BILLING_METER_EVENT_MINUTES, usage.minutes),
                (settings.BILLING_METER_EVENT_SEGMENTS, usage.segments),
            ):
                if (usage.day, event_name) in reported:
                    continue
                identifier = f"switchboard-{subscription.tenant.pk}-{usage.day.isoformat()}-{event_name}"
                at = timezone.make_aware(datetime.combine(usage.day, time.min))
                try:
                    if quantity:
                        gateway.meter_event_create(
                            event_name=event_name,
                            customer=profile.stripe_customer_id,
                            value=quantity,
                            identifier=identifier,
                            at=at,
                        )
                        sent += 1
                except StripeRefused as refusal:
                    if refusal.code not in DUPLICATE_IDENTIFIER_CODES:
                        logger.warning(
                            "billing.meter_event_refused",
                            tenant=subscription.tenant.slug,
                            day=usage.day.isoformat(),
                            event_name=event_name,
                            code=refusal.code,
                            error=str(refusal),
                        )
                        continue
                    # else a repeat of an event Stripe already has (its identifier): recorded below all the same
                try:
                    with transaction.atomic():
                        MeterReport.objects.create(
                            tenant=subscription.tenant, day=usage.day, event_name=event_name, quantity=quantity
                        )
                except IntegrityError:
                    pass  # another worker reported it at the same time
    return sent
