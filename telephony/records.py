"""Writes that queue nothing: Twilio's status callbacks, the opt-out list, the platform's error log.

The worker's delivery writes through these, so nothing here may import the task module.
"""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from telephony import policies
from telephony.models import Communication, OptOut, PlatformError
from telephony.statuses import Status, advances


def _decimal_or_none(value: str | None) -> Decimal | None:
    try:
        return Decimal(value) if value not in (None, "") else None
    except InvalidOperation:
        return None


def status_callback_apply(*, communication: Communication, params: Mapping[str, str]) -> bool:
    """Applies Twilio's status callback if it moves the status forward. Returns whether anything changed.

    Duplicates and late arrivals (a `ringing` after `completed`) change nothing.
    """
    new_status = params.get("MessageStatus") or params.get("CallStatus") or ""
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        if locked.twilio_sid and params.get("MessageSid", params.get("CallSid")) not in (None, locked.twilio_sid):
            return False
        if not advances(locked.status, new_status):
            return False
        locked.status = new_status
        # A TwiML reply (<Message>) gets its SID from Twilio only here.
        locked.twilio_sid = locked.twilio_sid or params.get("MessageSid") or params.get("CallSid") or None
        locked.error_code = params.get("ErrorCode", "") or locked.error_code
        if params.get("CallDuration"):
            locked.duration_seconds = int(params["CallDuration"])
        price = _decimal_or_none(params.get("Price"))
        if price is not None:
            locked.cost_amount = abs(price)
            locked.cost_currency = (params.get("PriceUnit") or locked.cost_currency)[:3]
        locked.save()
    if new_status == Status.UNDELIVERED or new_status == Status.FAILED:
        platform_error_record(
            source="twilio status callback",
            message=f"Twilio reported {new_status} for {locked.to_number}.",
            twilio_code=params.get("ErrorCode", ""),
            communication=locked,
        )
    return True


def opt_out_add(*, phone_number: str, source: str) -> OptOut:
    try:
        with transaction.atomic():
            return OptOut.objects.create(phone_number=phone_number, source=source)
    except IntegrityError:
        return OptOut.objects.get(phone_number=phone_number)


def opt_out_lift(*, phone_number: str) -> None:
    """The number texted START (or YES, UNSTOP): it gets messages again, whatever put it on the list."""
    OptOut.objects.filter(phone_number=phone_number).delete()


def opt_out_remove(*, opt_out: OptOut) -> None:
    """Only an opt-out added by hand is taken back by hand. Someone who replied STOP opts back in by texting
    START, and Twilio itself keeps refusing a number it answered 21610 for until then."""
    if opt_out.source != OptOut.Source.MANUAL:
        raise policies.PolicyError(
            f"{opt_out.phone_number} opted out themselves ({opt_out.get_source_display()}); "
            "they opt back in by texting START to your number.",
            code="opt-out-not-manual",
            status=409,
        )
    opt_out.delete()


def platform_error_record(
    *,
    source: str,
    message: str,
    twilio_code: str | int | None = "",
    communication: Communication | None = None,
    **context: Any,
) -> PlatformError:
    return PlatformError.objects.create(
        source=source,
        message=message,
        twilio_code=str(twilio_code or ""),
        communication=communication,
        context=context,
    )
