from datetime import datetime

from django.db.models import Q, QuerySet

from telephony.models import Communication


def communication_list(
    *,
    channel: str | None = None,
    status: str | None = None,
    direction: str | None = None,
    number: str | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> QuerySet[Communication]:
    communications = Communication.objects.all()
    if channel:
        communications = communications.filter(channel=channel)
    if status:
        communications = communications.filter(status=status)
    if direction:
        communications = communications.filter(direction=direction)
    if number:
        communications = communications.filter(Q(to_number=number) | Q(from_number=number))
    if date_from:
        communications = communications.filter(occurred_at__gte=date_from)
    if date_to:
        communications = communications.filter(occurred_at__lt=date_to)
    return communications.order_by("-occurred_at", "-id")
