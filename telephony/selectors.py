from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from telephony.models import Communication
from telephony.statuses import STAGE_OF, STAGES


def communication_list(*, channel: str | None = None) -> QuerySet[Communication]:
    """Newest first; narrowed further by telephony.filters.CommunicationFilter."""
    communications = Communication.objects.filter(channel=channel) if channel else Communication.objects.all()
    return communications.order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class DayActivity:
    day: date
    stages: dict[str, int]  # count per stage (statuses.STAGES), both directions

    @property
    def total(self) -> int:
        return sum(self.stages.values())


def daily_activity(*, days: int, until: date) -> list[DayActivity]:
    """Calls and SMS per day for the `days` days up to `until` (the current time zone's days), by stage."""
    first_day = until - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    rows = (
        Communication.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
    per_day = {first_day + timedelta(days=n): dict.fromkeys(STAGES, 0) for n in range(days)}
    for row in rows:
        per_day[row["day"]][STAGE_OF.get(row["status"], "queued")] += row["count"]
    return [DayActivity(day=day, stages=stages) for day, stages in per_day.items()]
