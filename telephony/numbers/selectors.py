from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from config.errors import DomainError
from telephony.gateway import OfferedNumber, Outcome, TwilioGateway
from telephony.inbound.models import NumberSettings
from telephony.numbers.models import PhoneNumber
from telephony.numbers.purchasing import monthly_cost_of
from telephony.registry.models import TwilioAccount
from tenants.models import Tenant


class TwilioSearchUnavailable(DomainError):
    status = 503
    code = "twilio-unavailable"


@dataclass(frozen=True)
class NumberForSale:
    """What /numbers/available/ answers: Twilio's offer with the platform's monthly cost."""

    offer: OfferedNumber
    monthly_cost: Decimal
    currency: str


def number_list(*, status: str | None = None) -> QuerySet[PhoneNumber]:
    numbers = PhoneNumber.objects.all()
    return numbers.filter(status=status) if status else numbers


def number_settings_of(number: PhoneNumber) -> NumberSettings | None:
    if not number.phone_number:
        return None
    return NumberSettings.objects.select_related("call_flow", "agent").filter(phone_number=number.phone_number).first()


def settings_by_number(numbers: list[PhoneNumber]) -> dict[str, NumberSettings]:
    """The settings (flow, agent, auto-reply) of these numbers, in one query."""
    phone_numbers = [n.phone_number for n in numbers if n.phone_number]
    found = NumberSettings.objects.select_related("call_flow", "agent").filter(phone_number__in=phone_numbers)
    return {s.phone_number: s for s in found}


def numbers_for_sale(*, tenant: Tenant, query: dict[str, Any]) -> list[NumberForSale]:
    """Twilio's numbers for sale to the tenant's account with these filters (AvailableNumberSearchSerializer's).

    Asked in the request, not a worker: a read the caller waits for anyway, bounded by the gateway's timeout.
    """
    account = TwilioAccount.objects.filter(tenant=tenant).first()
    if account is None or not account.is_usable:
        state = account.get_status_display().lower() if account else "not set up"
        raise DomainError(f"This account's Twilio connection is {state}.", code="twilio-not-ready", status=409)
    gateway = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)
    result = gateway.available_numbers(
        country=query["country"],
        number_type=query["type"],
        area_code=query.get("area_code"),
        contains=query.get("contains"),
        sms_enabled=query.get("sms"),
        voice_enabled=query.get("voice"),
        mms_enabled=query.get("mms"),
        exclude_address_required=query.get("exclude_address_required", False),
        limit=query.get("limit", 20),
    )
    if result.outcome is Outcome.RETRYABLE:
        raise TwilioSearchUnavailable(f"Twilio could not be searched just now ({result.message}); try again.")
    if not result.ok:
        if result.http_status == 404:
            return []  # Twilio sells no numbers of this type in this country
        raise DomainError(f"Twilio refused the search: {result.message}", code="twilio-refused", status=422)
    offered: list[OfferedNumber] = result.payload
    cost = monthly_cost_of(country=query["country"], number_type=query["type"])
    return [NumberForSale(offer=offer, monthly_cost=cost, currency=settings.NUMBERS_CURRENCY) for offer in offered]


@dataclass(frozen=True)
class TenantNumber:
    """One of some tenant's numbers, for staff."""

    tenant_slug: str
    phone_number: str
    status: str
    country: str
    number_type: str
    monthly_cost: Decimal
    status_detail: str
    provisioned_at: datetime | None
    released_at: datetime | None


def numbers_of_every_tenant(*, limit: int = 500) -> list[TenantNumber]:
    """The newest numbers across every tenant's schema, in one query (a UNION of the schemas' tables)."""
    tenants = list(
        Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("slug").values_list("slug", "schema_name")
    )
    if not tenants:
        return []
    columns = "phone_number, status, country, number_type, monthly_cost, status_detail, provisioned_at, released_at"
    parts = [
        sql.SQL("SELECT {slug} AS tenant_slug, {columns}, created_at FROM {table}").format(
            slug=sql.Literal(slug),
            columns=sql.SQL(columns),
            table=sql.Identifier(schema, PhoneNumber._meta.db_table),
        )
        for slug, schema in tenants
    ]
    query = sql.SQL("{} ORDER BY created_at DESC LIMIT {}").format(sql.SQL(" UNION ALL ").join(parts), limit)
    with connection.cursor() as cursor:
        cursor.execute(query.as_string(cursor.connection))
        return [TenantNumber(*row[:-1]) for row in cursor.fetchall()]
