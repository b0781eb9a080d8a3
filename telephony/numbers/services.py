"""The tenant's phone numbers: asked for here, bought and released by a worker (telephony.numbers.purchasing).

Called in the tenant's schema (the API, the portal, billing's auto-provisioning).
"""

from typing import Any, TypedDict, Unpack

import phonenumbers
from celery import Task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from config.errors import DomainError
from telephony.inbound.models import CallFlow
from telephony.inbound.services import number_settings_save
from telephony.numbers import tasks
from telephony.numbers.models import PhoneNumber
from telephony.numbers.purchasing import monthly_cost_of
from telephony.numbers.validators import validate_area_code
from telephony.phone_numbers import normalize_e164, parse_e164
from tenants.db import current_tenant
from tenants.models import Tenant
from tenants.services import tenant_suspend
from voice.agents.models import Agent

# What a number's settings (telephony.inbound.NumberSettings) may be changed to through the numbers endpoints.
SETTINGS_FIELDS = ("call_flow", "agent", "auto_reply", "auto_reply_window_minutes", "forward_url", "forward_email")


class NumberRefused(DomainError):
    status = 409
    code = "number-refused"


def _queue_on_commit(task: Task, **kwargs: Any) -> None:
    """Queues the task once the transaction commits, to run in the current tenant's schema, whichever schema the
    connection is set to when the commit comes (a caller may have entered the tenant's just for this)."""
    tenant = current_tenant()

    def queue() -> None:
        with tenant_context(tenant):
            task.delay(**kwargs)

    transaction.on_commit(queue)


def _refuse(message: str, *, code: str, field: str | None = None, status: int = 409) -> NumberRefused:
    return NumberRefused(message, code=code, status=status, errors={field: [message]} if field else None)


def number_purchase_request(
    *,
    tenant: Tenant,
    phone_number: str | None = None,
    country: str = "US",
    area_code: str | None = None,
    number_type: str = "local",
    reason: str = "api",
    friendly_name: str = "",
) -> PhoneNumber:
    """A pending purchase of the given number, or of the first Twilio offers for the country, type and area code;
    a worker buys it. The answer is the pending row."""
    if number_type not in PhoneNumber.NumberType.values:
        raise _refuse(f"'{number_type}' is not a number type.", code="invalid-type", field="number_type", status=400)
    if reason not in PhoneNumber.Reason.values:
        raise _refuse(f"'{reason}' is not a reason.", code="invalid-reason", field="reason", status=400)
    country = country.upper()
    if area_code:
        try:
            validate_area_code(area_code)
        except ValidationError as error:
            raise _refuse(error.messages[0], code="invalid-area-code", field="area_code", status=400) from error
    if phone_number:
        try:
            parsed = parse_e164(phone_number)
            phone_number = normalize_e164(phone_number)
        except ValidationError as error:
            raise _refuse(error.messages[0], code="invalid-number", field="phone_number", status=400) from error
        country = phonenumbers.region_code_for_number(parsed) or country
    with tenant_context(tenant), transaction.atomic():
        if phone_number and PhoneNumber.objects.filter(phone_number=phone_number, status__in=PhoneNumber.LIVE).exists():
            raise _refuse(
                f"{phone_number} is already one of this account's numbers.", code="number-held", field="phone_number"
            )
        try:
            with transaction.atomic():
                number = PhoneNumber.objects.create(
                    phone_number=phone_number or "",
                    country=country,
                    number_type=number_type,
                    area_code=area_code or "",
                    reason=reason,
                    friendly_name=friendly_name,
                    monthly_cost=monthly_cost_of(country=country, number_type=number_type),
                    currency=settings.NUMBERS_CURRENCY,
                )
        except IntegrityError as error:  # the same number asked for twice at once
            raise _refuse(
                f"{phone_number} is already one of this account's numbers.", code="number-held", field="phone_number"
            ) from error
        _queue_on_commit(tasks.purchase_number, number_id=number.pk)
    return number


def number_release_request(*, number: PhoneNumber) -> PhoneNumber:
    """Marks the active number releasing; a worker gives it back to Twilio and keeps it as released."""
    if number.status == PhoneNumber.Status.RELEASING:
        return number
    if number.status != PhoneNumber.Status.ACTIVE:
        raise _refuse(
            f"Only an active number can be released; this one is {number.get_status_display().lower()}.",
            code="number-not-active",
        )
    with transaction.atomic():
        changed = PhoneNumber.objects.filter(pk=number.pk, status=PhoneNumber.Status.ACTIVE).update(
            status=PhoneNumber.Status.RELEASING, status_detail=""
        )
        if changed:
            _queue_on_commit(tasks.release_number, number_id=number.pk)
    number.refresh_from_db()
    return number


def numbers_held_count(*, tenant: Tenant) -> int:
    """The tenant's numbers that count against its plan: active, and being bought."""
    with tenant_context(tenant):
        return PhoneNumber.objects.filter(status__in=PhoneNumber.HELD).count()


def numbers_live_count(*, tenant: Tenant) -> int:
    """The tenant's numbers not yet given back: being bought, active, being released."""
    with tenant_context(tenant):
        return PhoneNumber.objects.filter(status__in=PhoneNumber.LIVE).count()


class NumberChanges(TypedDict, total=False):
    """What a PATCH of a number may change; a key left out stays as it is (None clears a flow or an agent)."""

    friendly_name: str
    call_flow: CallFlow | None
    agent: Agent | None
    auto_reply: str
    auto_reply_window_minutes: int
    forward_url: str
    forward_email: str


def number_update(*, tenant: Tenant, number: PhoneNumber, **changes: Unpack[NumberChanges]) -> PhoneNumber:
    """Changes the number's name, and what it does with calls and SMS (its NumberSettings): all of it, or, when
    refused, none of it."""
    settings_changes = {name: value for name, value in changes.items() if name in SETTINGS_FIELDS}
    if settings_changes and number.status != PhoneNumber.Status.ACTIVE:
        raise _refuse("Calls and SMS can be set up once the number is active.", code="number-not-active", status=409)
    with transaction.atomic():
        if "friendly_name" in changes:
            number.friendly_name = changes["friendly_name"]
            number.save(update_fields=["friendly_name", "updated_at"])
        if settings_changes:
            number_settings_save(tenant=tenant, phone_number=number.phone_number, **settings_changes)
    return number


def tenant_numbers_close(*, tenant: Tenant, close_subaccount: bool = True) -> int:
    """Closing a tenant: every active number is released and purchases still pending end; then the tenant's
    subaccount is closed at Twilio. Answers how many numbers are being released."""
    with tenant_context(tenant), transaction.atomic():
        PhoneNumber.objects.filter(status=PhoneNumber.Status.PENDING).update(
            status=PhoneNumber.Status.FAILED, status_detail="The account was closed before the number was bought."
        )
        releasing = PhoneNumber.objects.filter(status=PhoneNumber.Status.ACTIVE).update(
            status=PhoneNumber.Status.RELEASING, status_detail="The account is being closed."
        )
        _queue_on_commit(tasks.close_numbers, then_close_subaccount=close_subaccount)
    return releasing


def tenant_close(*, tenant: Tenant, reason: str = "The account was closed.") -> int:
    """Closes the tenant for good (staff): suspended, every number released, its Twilio subaccount closed after
    them. Answers how many numbers are being released."""
    with transaction.atomic():
        tenant_suspend(tenant=tenant, reason=reason)
        return tenant_numbers_close(tenant=tenant)
