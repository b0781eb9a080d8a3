"""The public registry of phone numbers: which tenant a number Twilio called belongs to.

A number is routed to a tenant once Twilio has confirmed that the tenant's account owns it. A sender
verification (telephony.verification) claims it: Twilio is the judge of who owns a number, and when it confirms
another tenant's account the number has left the first one's, so the route moves. A purchase registers it:
a number another tenant holds is never taken by buying it (two tenants may reach one Twilio account). The unique
constraint keeps a number to one tenant even when two record it at once.
"""

import structlog
from django.core.cache import caches
from django.db import IntegrityError, transaction

from telephony.registry.models import PhoneNumberRoute, TwilioAccount
from tenants.freshness import KEEP_SECONDS, generation, still_current
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

# Webhooks look the number up on every request: a process keeps the answer this long. A released or
# moved number is forgotten at once in the process that changed it, within this time everywhere else.
ROUTE_CACHE_SECONDS = 30
_NOT_ROUTED = 0


def _cache_key(phone_number: str) -> str:
    return f"number-route:{phone_number}"


def number_route_claim(*, tenant: Tenant, phone_number: str) -> PhoneNumberRoute:
    """Routes the number to the tenant, whose Twilio account Twilio has just confirmed owns it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                route, _ = PhoneNumberRoute.objects.get_or_create(
                    phone_number=phone_number, defaults={"tenant": tenant}
                )
        except IntegrityError:  # claimed at the same moment by another confirmation
            route = PhoneNumberRoute.objects.get(phone_number=phone_number)
        route = PhoneNumberRoute.objects.select_for_update().get(pk=route.pk)
        if route.tenant_id != tenant.pk:
            logger.warning("number_route_moved", phone_number=phone_number, from_tenant_id=route.tenant_id)
            route.tenant = tenant
            route.save(update_fields=["tenant"])
    caches["process"].delete(_cache_key(phone_number))
    return route


class NumberRouteTaken(Exception):
    """The number is routed to another tenant."""


def number_route_register(*, tenant: Tenant, phone_number: str) -> PhoneNumberRoute:
    """Routes the number to the tenant that has just bought it; raises NumberRouteTaken, changing nothing, when it
    is another tenant's. Called inside the purchase's transaction: a second buyer recording the same number at
    the same moment waits on the unique constraint, then sees the first one's route."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                route, _ = PhoneNumberRoute.objects.get_or_create(
                    phone_number=phone_number, defaults={"tenant": tenant}
                )
        except IntegrityError:  # recorded at the same moment by another purchase
            route = PhoneNumberRoute.objects.get(phone_number=phone_number)
    if route.tenant_id != tenant.pk:
        logger.warning("number_route_taken", phone_number=phone_number, holder_tenant_id=route.tenant_id)
        raise NumberRouteTaken(phone_number)
    caches["process"].delete(_cache_key(phone_number))
    return route


def number_route_holder(*, phone_number: str) -> int | None:
    """The id of the tenant the number is routed to, read now (not cached): for a purchase's checks."""
    return PhoneNumberRoute.objects.filter(phone_number=phone_number).values_list("tenant_id", flat=True).first()


def number_route_release(*, tenant: Tenant, phone_number: str) -> None:
    PhoneNumberRoute.objects.filter(tenant=tenant, phone_number=phone_number).delete()
    caches["process"].delete(_cache_key(phone_number))


def tenant_for_number(phone_number: str) -> Tenant | None:
    """The tenant the number is routed to, or None."""
    key = _cache_key(phone_number)
    tenant_id = caches["process"].get(key)
    if tenant_id is None:
        route = PhoneNumberRoute.objects.filter(phone_number=phone_number).only("tenant_id").first()
        tenant_id = route.tenant_id if route else _NOT_ROUTED
        caches["process"].set(key, tenant_id, ROUTE_CACHE_SECONDS)
    return _routed_tenant(tenant_id) if tenant_id != _NOT_ROUTED else None


def _tenant_key(tenant_id: int) -> str:
    return f"routed-tenant:{tenant_id}"


def _routed_tenant(tenant_id: int) -> Tenant | None:
    """The tenant row, kept by the process until the tenant changes (tenants.freshness); each caller gets its own
    copy."""
    kept = caches["process"].get(_tenant_key(tenant_id))
    if kept is not None and still_current(kept[0].schema_name, kept[1]):
        return kept[0]
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        caches["process"].set(_tenant_key(tenant_id), (tenant, generation(tenant.schema_name)), KEEP_SECONDS)
    return tenant


def tenant_for_account_sid(account_sid: str) -> Tenant | None:
    """The tenant whose Twilio account this is: for callbacks that carry no number (recordings)."""
    if not account_sid:
        return None
    account = TwilioAccount.objects.filter(account_sid=account_sid).select_related("tenant").first()
    return account.tenant if account else None
