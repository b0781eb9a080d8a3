"""Delivery statuses of calls and messages, and the order they happen in.

Twilio's callbacks can arrive twice or out of order; a status only replaces one that comes earlier
in this order, so a late `ringing` never overwrites `completed`, and a terminal status is final.
"""

from django.db import models


class Status(models.TextChoices):
    # Ours, before Twilio has the request.
    SCHEDULED = "scheduled", "Scheduled"
    PENDING = "pending", "Pending"
    DISPATCHING = "dispatching", "Dispatching"  # a worker is handing it to Twilio right now
    # Twilio's (messages and calls).
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    INITIATED = "initiated", "Initiated"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "In progress"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no-answer", "No answer"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"
    RECEIVED = "received", "Received"  # an inbound SMS


_RANK: dict[str, int] = {
    Status.SCHEDULED: 0,
    Status.PENDING: 0,
    Status.DISPATCHING: 1,
    Status.QUEUED: 2,
    Status.SENDING: 3,
    Status.INITIATED: 3,
    Status.SENT: 4,
    Status.RINGING: 4,
    Status.IN_PROGRESS: 5,
}
TERMINAL = frozenset(
    {
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.FAILED,
        Status.CANCELED,
        Status.COMPLETED,
        Status.BUSY,
        Status.NO_ANSWER,
        Status.RECEIVED,
    }
)
_TERMINAL_RANK = 10
# Before Twilio has it, these can still be called off by us alone.
NOT_YET_SENT = frozenset({Status.SCHEDULED, Status.PENDING})
ACTIVE_CALL = frozenset({Status.QUEUED, Status.INITIATED, Status.RINGING, Status.IN_PROGRESS})


# The stages people follow progress by (campaign progress, the log's chart), each a set of statuses.
STAGES = {
    "queued": frozenset({Status.SCHEDULED, Status.PENDING, Status.DISPATCHING, Status.QUEUED}),
    "sent": frozenset({Status.SENDING, Status.SENT, Status.INITIATED, Status.RINGING, Status.IN_PROGRESS}),
    "delivered": frozenset({Status.DELIVERED, Status.COMPLETED, Status.RECEIVED}),
    "failed": frozenset({Status.FAILED, Status.UNDELIVERED, Status.BUSY, Status.NO_ANSWER}),
    "canceled": frozenset({Status.CANCELED}),
}
STAGE_OF: dict[str, str] = {status: stage for stage, statuses in STAGES.items() for status in statuses}


def rank(status: str) -> int:
    return _TERMINAL_RANK if status in TERMINAL else _RANK.get(status, 0)


def advances(current: str, new: str) -> bool:
    """True when `new` may replace `current`: it comes later, and `current` is not final."""
    return current not in TERMINAL and rank(new) > rank(current)


def replaceable_by(new: str) -> list[str]:
    """The statuses `new` may replace (see advances)."""
    return [status for status in Status.values if advances(status, new)]
