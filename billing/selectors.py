"""Billing's reads: usage and cost per day and per billing period, and what the Billing page shows.

Usage is counted in the tenant's schema from its own rows: calls and SMS from the communication log
(telephony.Communication: those Twilio took, with their duration, segments and Twilio's price), numbers from
telephony.numbers (held on a day if bought before its end and not released before its start; each costs its
monthly rental spread over the days of that month). Days are the current time zone's, as in the log's chart.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Ceil, Coalesce, TruncDate
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import BillingProfile, Invoice, NumberProvisioning, Plan, Subscription
from telephony.models import Communication
from telephony.numbers.models import PhoneNumber
from tenants.models import Tenant

CENT = Decimal("0.01")
# The newest invoices the Billing page and API list.
INVOICES_LISTED = 24


@dataclass
class DayUsage:
    day: date
    calls: int = 0
    minutes: int = 0  # Twilio bills each call by the started minute
    sms: int = 0
    segments: int = 0
    numbers: int = 0
    twilio_costs: dict[str, Decimal] = field(default_factory=dict)  # per currency
    rental_costs: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total_costs(self) -> dict[str, Decimal]:
        totals = dict(self.twilio_costs)
        for currency, amount in self.rental_costs.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
        return totals


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        timezone.make_aware(datetime.combine(first, time.min)),
        timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min)),
    )


def daily_usage(*, tenant: Tenant, first: date, last: date) -> list[DayUsage]:
    """The tenant's usage and cost on each day from `first` to `last`, both included."""
    days = {first + timedelta(days=n): DayUsage(first + timedelta(days=n)) for n in range((last - first).days + 1)}
    start, end = _bounds(first, last)
    with tenant_context(tenant):
        taken = Communication.objects.filter(twilio_sid__isnull=False, occurred_at__gte=start, occurred_at__lt=end)
        per_day = (
            taken.annotate(day=TruncDate("occurred_at"))
            .values("day")
            .annotate(
                calls=Count("id", filter=Q(channel=Communication.Channel.CALL)),
                minutes=Coalesce(
                    Sum(
                        Ceil(F("duration_seconds") / 60.0),
                        filter=Q(channel=Communication.Channel.CALL),
                        output_field=IntegerField(),
                    ),
                    Value(0),
                ),
                sms=Count("id", filter=Q(channel=Communication.Channel.SMS)),
                segments=Coalesce(
                    Sum(Coalesce("segments", Value(1)), filter=Q(channel=Communication.Channel.SMS)), Value(0)
                ),
            )
            .order_by()
        )
        for row in per_day:
            usage = days[row["day"]]
            usage.calls, usage.minutes, usage.sms, usage.segments = (
                row["calls"],
                int(row["minutes"]),
                row["sms"],
                row["segments"],
            )
        charged = (
            taken.filter(cost_amount__isnull=False)
            .annotate(day=TruncDate("occurred_at"))
            .values("day", "cost_currency")
            .annotate(total=Sum("cost_amount", output_field=DecimalField()))
            .order_by()
        )
        for charge in charged:
            days[charge["day"]].twilio_costs[charge["cost_currency"]] = charge["total"]
        held = PhoneNumber.objects.filter(provisioned_at__isnull=False, provisioned_at__lt=end).filter(
            Q(released_at__isnull=True) | Q(released_at__gte=start)
        )
        for number in held.only("provisioned_at", "released_at", "monthly_cost", "currency"):
            for usage in days.values():
                day_start, day_end = _bounds(usage.day, usage.day)
                assert number.provisioned_at is not None  # filtered on above
                if number.provisioned_at < day_end and (number.released_at is None or number.released_at >= day_start):
                    usage.numbers += 1
                    rental = number.monthly_cost / calendar.monthrange(usage.day.year, usage.day.month)[1]
                    usage.rental_costs[number.currency] = usage.rental_costs.get(number.currency, Decimal(0)) + rental
    for usage in days.values():
        usage.rental_costs = {
            currency: amount.quantize(Decimal("0.00001")) for currency, amount in usage.rental_costs.items()
        }
    return list(days.values())


@dataclass(frozen=True)
class Allowance:
    name: str  # minutes, segments, numbers
    included: int
    used: int
    overage_price: Decimal

    @property
    def over(self) -> int:
        return max(self.used - self.included, 0)

    @property
    def overage_cost(self) -> Decimal:
        return (self.over * self.overage_price).quantize(CENT)

    @property
    def percent(self) -> int:
        return min(round(100 * self.used / self.included), 100) if self.included else (100 if self.used else 0)


@dataclass(frozen=True)
class PeriodUsage:
    first: date
    last: date
    days: list[DayUsage]
    allowances: list[Allowance]
    currency: str

    @property
    def overage_cost(self) -> Decimal:
        return sum((allowance.overage_cost for allowance in self.allowances), Decimal(0))

    def totals(self) -> DayUsage:
        total = DayUsage(self.first)
        for day in self.days:
            total.calls += day.calls
            total.minutes += day.minutes
            total.sms += day.sms
            total.segments += day.segments
            total.numbers = max(total.numbers, day.numbers)
            for target, source in ((total.twilio_costs, day.twilio_costs), (total.rental_costs, day.rental_costs)):
                for currency, amount in source.items():
                    target[currency] = target.get(currency, Decimal(0)) + amount
        return total


def period_usage(*, tenant: Tenant, first: date, last: date, plan: Plan | None) -> PeriodUsage:
    """Usage over the days, against the plan's inclusions (numbers: the most held on any one day)."""
    days = daily_usage(tenant=tenant, first=first, last=last)
    usage = PeriodUsage(first, last, days, [], plan.currency if plan else "USD")
    totals = usage.totals()
    if plan is not None:
        usage.allowances.extend(
            [
                Allowance("minutes", plan.included_minutes, totals.minutes, plan.overage_per_minute),
                Allowance("SMS segments", plan.included_segments, totals.segments, plan.overage_per_segment),
                Allowance("numbers", plan.included_numbers, totals.numbers, plan.overage_per_number),
            ]
        )
    return usage


def current_period(*, subscription: Subscription | None, today: date) -> tuple[date, date]:
    """The billing period so far (its first day to today), or the last 30 days without a subscription."""
    if subscription is not None and subscription.current_period_start is not None:
        first = timezone.localtime(subscription.current_period_start).date()
        return min(first, today), today
    return today - timedelta(days=29), today


def usage_for_period(
    *, tenant: Tenant, subscription: Subscription | None, first: date | None = None, last: date | None = None
) -> PeriodUsage:
    """Usage over the days asked for, or over the current billing period so far, against the plan's inclusions."""
    if first is None or last is None:
        first, last = current_period(subscription=subscription, today=timezone.localdate())
    return period_usage(tenant=tenant, first=first, last=last, plan=subscription.plan if subscription else None)


@dataclass(frozen=True)
class BillingSummary:
    """What the Billing page and GET /billing/ show besides usage."""

    subscription: Subscription | None
    profile: BillingProfile  # unsaved, with the defaults, until the tenant has one
    provisioning: NumberProvisioning | None
    invoices: list[Invoice]


def billing_summary(*, tenant: Tenant) -> BillingSummary:
    return BillingSummary(
        subscription=subscription_of(tenant=tenant),
        profile=BillingProfile.objects.filter(tenant=tenant).first() or BillingProfile(tenant=tenant),
        provisioning=provisioning_of(tenant=tenant),
        invoices=list(invoice_list(tenant=tenant)[:INVOICES_LISTED]),
    )


def subscription_of(*, tenant: Tenant) -> Subscription | None:
    return Subscription.objects.select_related("plan").filter(tenant=tenant).first()


def plans_offered() -> QuerySet[Plan]:
    return Plan.objects.filter(is_public=True)


def invoice_list(*, tenant: Tenant) -> QuerySet[Invoice]:
    return Invoice.objects.filter(tenant=tenant)


def provisioning_of(*, tenant: Tenant) -> NumberProvisioning | None:
    return NumberProvisioning.objects.filter(tenant=tenant).first()


def costs_by_currency(days: list[DayUsage]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for day in days:
        for currency, amount in day.total_costs.items():
            totals[currency] += amount
    return dict(totals)
