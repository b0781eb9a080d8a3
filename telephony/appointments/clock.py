"""Appointment times: IANA time zones, wall-clock times read in them, and how a time is written in a message.

An appointment's start is one aware instant (stored in UTC). Its time zone says how people read and write
that instant: a start given without an offset is the wall-clock time there, and {date} and {time} in a
message are written in it. Reminder offsets are real elapsed minutes before the instant (see reminders).
"""

import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA time zone of that name (America/New_York, Europe/Berlin, UTC); ValidationError otherwise."""
    # ZoneInfo alone would also take file paths and odd POSIX names; only the database's own keys are accepted.
    if name not in _known_zones():
        raise ValidationError(
            f"'{name}' is not an IANA time zone (like America/New_York or Europe/Berlin).", code="invalid_time_zone"
        )
    return ZoneInfo(name)


def validate_time_zone(name: str) -> None:
    zone(name)


def wall_clock_in(moment: datetime, time_zone: str) -> datetime:
    """The instant meant by `moment` (in UTC): as given when it carries an offset, else that wall-clock time in
    the zone. In UTC because Python adds a timedelta to a zoned datetime on its wall clock, across a change of
    the clocks too; on UTC instants it is elapsed time.

    A wall-clock time that happens twice (the hour repeated when clocks go back) is its first occurrence; one
    that never happens (the hour skipped when clocks go forward) is refused."""
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return moment.astimezone(UTC)
    tz = zone(time_zone)
    aware = moment.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise ValidationError(
            f"{moment:%Y-%m-%d %H:%M} does not exist in {time_zone}: the clocks skip that hour.", code="nonexistent"
        )
    return aware.astimezone(UTC)


def date_text(moment: datetime, time_zone: str) -> str:
    """Like 'Sun Mar 8, 2026', in the appointment's time zone."""
    local = moment.astimezone(zone(time_zone))
    return f"{local:%a %b} {local.day}, {local.year}"


def time_text(moment: datetime, time_zone: str) -> str:
    """Like '9:30 AM', in the appointment's time zone."""
    local = moment.astimezone(zone(time_zone))
    return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
