"""Checks a call or SMS must pass before anything is queued. Each failure is a clear, specific error."""

from datetime import timedelta

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone

from telephony.models import Communication, OptOut, SenderNumber
from telephony.phone_numbers import normalize_e164
from tenants.models import Tenant

# The most numbers one campaign spreads its recipients over.
MAX_SENDER_POOL = 100


class PolicyError(Exception):
    """Refused by a tenant policy; `code` names which one, `status` is the HTTP status to answer with."""

    def __init__(self, message: str, *, code: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.status, self.field = message, code, status, field


def destination_checked(*, tenant: Tenant, to: str, channel: str) -> str:
    """The destination in E.164 form, if the tenant may reach it on this channel."""
    try:
        number = normalize_e164(to)
    except ValidationError as exc:
        raise PolicyError(exc.messages[0], code="invalid-number", status=400, field="to") from exc
    country = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    if tenant.allowed_countries and country not in tenant.allowed_countries:
        allowed = ", ".join(tenant.allowed_countries)
        raise PolicyError(
            f"Destination country {country} is not allowed for this account (allowed: {allowed}).",
            code="country-not-allowed",
            status=403,
            field="to",
        )
    if channel == Communication.Channel.SMS and OptOut.objects.filter(phone_number=number).exists():
        raise PolicyError(f"{number} has opted out of messages (replied STOP).", code="opted-out", status=422, field="to")
    return number


def sender_checked(*, from_: str | None, field: str = "from") -> SenderNumber:
    """The sender given, or the default one, once Twilio has confirmed the tenant's account has it."""
    if from_:
        try:
            number = normalize_e164(from_)
        except ValidationError as exc:
            raise PolicyError(f"{from_}: {exc.messages[0]}", code="invalid-number", status=400, field=field) from exc
        sender = SenderNumber.objects.filter(phone_number=number).first()
        if sender is None:
            raise PolicyError(
                f"{number} is not one of this account's numbers or verified caller IDs.",
                code="sender-not-owned",
                status=422,
                field=field,
            )
        return _verified(sender, named=number, field=field)
    sender = SenderNumber.objects.filter(is_default=True).first()
    if sender is None:
        raise PolicyError("No 'from' number given and the account has no default sender.", code="no-sender", field=field)
    return _verified(sender, named=f"The default sender {sender.phone_number}", field=field)


def senders_checked(*, numbers: list[str]) -> list[str]:
    """A pool of senders, each verified, in E.164 form, without repeats, in a stable order."""
    if len(numbers) > MAX_SENDER_POOL:
        raise PolicyError(f"At most {MAX_SENDER_POOL} senders in a pool.", code="too-many", status=400, field="senders")
    return sorted({sender_checked(from_=number, field="senders").phone_number for number in numbers})


def _verified(sender: SenderNumber, *, named: str, field: str) -> SenderNumber:
    if sender.status == SenderNumber.Status.VERIFIED:
        return sender
    if sender.status == SenderNumber.Status.PENDING:
        last = f" ({sender.status_detail})" if sender.status_detail else ""
        message = f"{named} is still being checked with Twilio{last}; try again shortly."
    else:
        message = f"{named} cannot be used as a sender: {sender.status_detail}"
    raise PolicyError(message, code="sender-not-verified", status=422, field=field)


def daily_limit_checked(*, tenant: Tenant, channel: str, adding: int = 1) -> None:
    limit = tenant.max_messages_per_day if channel == Communication.Channel.SMS else tenant.max_calls_per_day
    since = timezone.now() - timedelta(days=1)
    used = Communication.objects.filter(
        channel=channel, direction=Communication.Direction.OUTBOUND, created_at__gte=since
    ).count()
    if used + adding > limit:
        noun = "messages" if channel == Communication.Channel.SMS else "calls"
        raise PolicyError(
            f"The limit of {limit} {noun} per 24 hours is reached ({used} used).", code="daily-limit", status=429
        )
