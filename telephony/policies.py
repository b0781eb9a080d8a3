"""Checks a call or SMS must pass before anything is queued. Each failure is a clear, specific error."""

from collections.abc import Sequence
from datetime import timedelta

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone

from config.errors import DomainError
from telephony.models import Communication, OptOut, SenderNumber
from telephony.phone_numbers import normalize_e164, parse_e164
from tenants.models import Tenant

# The most numbers one campaign spreads its recipients over.
MAX_SENDER_POOL = 100
# Numbers per query when checking a whole list against the opt-outs.
OPT_OUT_CHUNK = 5000


class PolicyError(DomainError):
    """Refused by a tenant policy; `code` names which one, `field` the request field it concerns, if one."""

    def __init__(self, message: str, *, code: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message, code=code, status=status, errors={field: [message]} if field else None)
        self.field = field


def destination_checked(*, tenant: Tenant, to: str, channel: str) -> str:
    """The destination in E.164 form, if the tenant may reach it on this channel."""
    number = destination_allowed(tenant=tenant, to=to)
    if channel == Communication.Channel.SMS and OptOut.objects.filter(phone_number=number).exists():
        raise opted_out_error(number)
    return number


def destination_allowed(*, tenant: Tenant, to: str) -> str:
    """The destination in E.164 form, if it is a valid number in a country the tenant may reach."""
    try:
        parsed = parse_e164(to)
    except ValidationError as exc:
        raise PolicyError(exc.messages[0], code="invalid-number", status=400, field="to") from exc
    country = phonenumbers.region_code_for_number(parsed)
    if tenant.allowed_countries and country not in tenant.allowed_countries:
        allowed = ", ".join(tenant.allowed_countries)
        raise PolicyError(
            f"Destination country {country} is not allowed for this account (allowed: {allowed}).",
            code="country-not-allowed",
            status=403,
            field="to",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def opted_out_among(*, numbers: Sequence[str]) -> set[str]:
    """Those of the (E.164) numbers that opted out of messages, read a chunk at a time."""
    found: set[str] = set()
    for start in range(0, len(numbers), OPT_OUT_CHUNK):
        chunk = numbers[start : start + OPT_OUT_CHUNK]
        found.update(OptOut.objects.filter(phone_number__in=chunk).values_list("phone_number", flat=True))
    return found


def opted_out_error(number: str) -> PolicyError:
    return PolicyError(f"{number} has opted out of messages (replied STOP).", code="opted-out", status=422, field="to")


def sender_checked(*, from_: str | None, field: str = "from") -> SenderNumber:
    """The sender given, or the default one, once Twilio has confirmed the tenant's account has it."""
    if from_:
        try:
            number = normalize_e164(from_)
        except ValidationError as exc:
            raise PolicyError(exc.messages[0], code="invalid-number", status=400, field=field) from exc
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
        raise PolicyError(
            "No 'from' number given and the account has no default sender.", code="no-sender", field=field
        )
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
