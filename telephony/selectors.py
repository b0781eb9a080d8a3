from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from telephony.models import Campaign, Communication, OptOut, PlatformError, SenderNumber
from telephony.statuses import STAGE_OF, STAGES

# campaign_list's annotations: progress_queued, progress_sent, ..., progress_total
PROGRESS_PREFIX = "progress_"


def communication_list(*, channel: str | None = None) -> QuerySet[Communication]:
    """Newest first; narrowed further by telephony.filters.CommunicationFilter."""
    communications = Communication.objects.filter(channel=channel) if channel else Communication.objects.all()
    return communications.order_by("-occurred_at", "-id")


def communication_detail_list() -> QuerySet[Communication]:
    """One communication's page: with its campaign and voice message in the same query."""
    return Communication.objects.select_related("campaign", "voice_message")


def campaign_list() -> QuerySet[Campaign]:
    """Newest first, each with its communications counted by stage in the same query: a page of campaigns
    with their progress is one query (read by telephony.campaigns.campaign_progress)."""
    per_stage = {
        f"{PROGRESS_PREFIX}{stage}": Count("communications", filter=Q(communications__status__in=statuses))
        for stage, statuses in STAGES.items()
    }
    return Campaign.objects.annotate(**per_stage, **{f"{PROGRESS_PREFIX}total": Count("communications")}).order_by(
        "-created_at", "-id"
    )


def platform_error_list() -> QuerySet[PlatformError]:
    return PlatformError.objects.select_related("communication").order_by("-occurred_at", "-id")


def opt_out_list() -> QuerySet[OptOut]:
    return OptOut.objects.order_by("-created_at", "-id")


def sender_number_list() -> QuerySet[SenderNumber]:
    return SenderNumber.objects.order_by("phone_number")


@dataclass(frozen=True)
class DayActivity:
    day: date
    stages: dict[str, int]  # count per stage (statuses.STAGES), both directions
    costs: dict[str, Decimal]  # what Twilio charged, per currency

    @property
    def total(self) -> int:
        return sum(self.stages.values())


def daily_activity(*, days: int, until: date) -> list[DayActivity]:
    """Calls and SMS per day for the `days` days up to `until` (the current time zone's days), by stage."""
    first_day = until - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    in_days = Communication.objects.filter(occurred_at__gte=start, occurred_at__lt=end).annotate(
        day=TruncDate("occurred_at")
    )
    counts = in_days.values("day", "status").annotate(count=Count("id")).order_by()
    charged = (
        in_days.filter(cost_amount__isnull=False)
        .values("day", "cost_currency")
        .annotate(total=Sum("cost_amount"))
        .order_by()
    )
    per_day = {
        first_day + timedelta(days=n): DayActivity(first_day + timedelta(days=n), dict.fromkeys(STAGES, 0), {})
        for n in range(days)
    }
    for row in counts:
        per_day[row["day"]].stages[STAGE_OF.get(row["status"], "queued")] += row["count"]
    for charge in charged:
        per_day[charge["day"]].costs[charge["cost_currency"]] = charge["total"]
    return list(per_day.values())
