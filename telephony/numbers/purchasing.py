"""What the workers do with a tenant's numbers: buy them at Twilio, configured for the platform, and release them.

Runs in the tenant's schema. Buying is safe to retry: before anything is bought the account's own
IncomingPhoneNumbers are asked whether an earlier attempt already bought the number (by the number, or by the
purchase's marker that every purchase names as the FriendlyName at Twilio), and a number found there is
adopted, never bought twice. One attempt at a purchase runs at a time (an advisory lock on its marker): a
second delivery of its task while the first still runs leaves it to the first. Recording a number is one
transaction: the PhoneNumber row, the public route (number -> tenant), the verified sender and the number's
settings (public and tenant schemas share the database, so one transaction covers both). A number routed to
another tenant is never bought, adopted or re-pointed: the purchase fails and says so.
"""

from decimal import Decimal
from typing import NoReturn

import structlog
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from telephony.gateway import GatewayResult, OfferedNumber, Outcome, OwnedNumber, TwilioGateway
from telephony.inbound.models import NumberSettings
from telephony.models import SenderNumber
from telephony.numbers.models import PhoneNumber
from telephony.registry import routing
from telephony.registry.locks import advisory_lock
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import TwilioUnavailable, twilio_subaccount_awake
from telephony.signatures import public_base_url
from tenants.db import current_tenant
from tenants.hosts import tenant_base_url

logger = structlog.get_logger(__name__)

# A number found by a search may be bought by someone else before we buy it: this many tries with the next.
SEARCH_TRIES = 3
NOT_AVAILABLE = 21422
NONE_IN_AREA_CODE = 21452
ACCOUNT_NOT_ACTIVE = 20005
ADDRESS_REQUIRED = 21631
RESOURCE_GONE = 20404


def monthly_cost_of(*, country: str, number_type: str) -> Decimal:
    """The rental of a number of this country and type (settings.NUMBERS_MONTHLY_COSTS)."""
    table: dict[str, str] = settings.NUMBERS_MONTHLY_COSTS
    return Decimal(table.get(f"{country}:{number_type}", settings.NUMBERS_DEFAULT_MONTHLY_COST))


def webhook_urls() -> dict[str, str]:
    """Where a number of the current tenant sends its calls, SMS and call statuses (settings.NUMBERS_WEBHOOK_HOST)."""
    base = public_base_url() if settings.NUMBERS_WEBHOOK_HOST == "public" else tenant_base_url(current_tenant())
    return {
        name: base + reverse(route, urlconf="config.urls_tenants")
        for name, route in (
            ("voice_url", "inbound-voice"),
            ("sms_url", "inbound-sms"),
            ("status_callback", "inbound-call-status"),
        )
    }


def _gateway() -> tuple[TwilioAccount | None, TwilioGateway | None]:
    account = TwilioAccount.objects.filter(tenant=current_tenant()).first()
    if account is None or not account.is_usable:
        return account, None
    return account, TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)


def _fail(number: PhoneNumber, detail: str) -> PhoneNumber:
    PhoneNumber.objects.filter(pk=number.pk, status=PhoneNumber.Status.PENDING).update(
        status=PhoneNumber.Status.FAILED, status_detail=detail[:500], updated_at=timezone.now()
    )
    logger.info("number_purchase_failed", number_id=number.pk, detail=detail)
    number.refresh_from_db()
    return number


def _wait(number: PhoneNumber, detail: str) -> NoReturn:
    """Leaves the purchase pending with what it waits for; the task tries again later."""
    PhoneNumber.objects.filter(pk=number.pk, status=PhoneNumber.Status.PENDING).update(
        status_detail=detail[:500], updated_at=timezone.now()
    )
    raise TwilioUnavailable(detail)


def _refusal(number: PhoneNumber, result: GatewayResult, phone_number: str) -> str:
    """A clear sentence for what Twilio refused."""
    if result.twilio_code == NOT_AVAILABLE:
        return f"{phone_number} is no longer available at Twilio (21422); choose another number."
    if result.twilio_code == NONE_IN_AREA_CODE:
        return f"Twilio has no numbers in area code {number.area_code} (21452); try another area code."
    if result.twilio_code == ACCOUNT_NOT_ACTIVE:
        return "This account's Twilio account is suspended or closed (20005); numbers cannot be bought."
    if result.twilio_code == ADDRESS_REQUIRED:
        return f"{phone_number} can only be bought with an address on file at Twilio (21631)."
    return f"Twilio refused to sell {phone_number}: {result.twilio_code}: {result.message}"


class _Refused(Exception):
    """The purchase cannot succeed; the message says why, for the tenant."""


def number_purchase(*, number_id: int) -> PhoneNumber:
    """Buys the pending number (or the first number that fits its request), configured for the platform, and
    records it. Raises TwilioUnavailable while Twilio cannot answer or the tenant's Twilio account is not ready;
    the purchase stays pending and the task tries again. Twilio's refusals end it as failed, with the reason.
    While another attempt at the same purchase runs, returns the row as it is and leaves the work to that one."""
    number = PhoneNumber.objects.get(pk=number_id)
    with advisory_lock(f"number-purchase:{number.purchase_token}", wait=False) as held:
        if not held:
            logger.info("number_purchase_already_running", number_id=number.pk)
            return number
        number.refresh_from_db()
        if number.status != PhoneNumber.Status.PENDING:
            return number
        PhoneNumber.objects.filter(pk=number.pk).update(attempts=number.attempts + 1, updated_at=timezone.now())
        try:
            return _purchase(number)
        except _Refused as refusal:
            return _fail(number, str(refusal))


def _refuse_if_routed_elsewhere(phone_number: str) -> None:
    holder = routing.number_route_holder(phone_number=phone_number)
    if holder is not None and holder != current_tenant().pk:
        raise _Refused(f"{phone_number} is another Switchboard account's number; choose another number.")


def _purchase(number: PhoneNumber) -> PhoneNumber:
    account, gateway = _gateway()
    if gateway is None:
        if account is not None and account.status == TwilioAccount.Status.INVALID:
            raise _Refused(f"This account's Twilio account cannot be used: {account.status_detail}")
        state = account.get_status_display().lower() if account else "not set up"
        _wait(number, f"Waiting for this account's Twilio connection, which is {state}.")
    if number.phone_number:
        _refuse_if_routed_elsewhere(number.phone_number)
    # An earlier attempt may have bought it and died before recording it: adopt what the account has.
    earlier = (
        gateway.incoming_number(phone_number=number.phone_number)
        if number.phone_number
        else gateway.incoming_number(friendly_name=number.twilio_marker)
    )
    if earlier.outcome is Outcome.RETRYABLE:
        _wait(number, f"Twilio could not be asked yet ({earlier.message}); trying again.")
    if not earlier.ok:
        raise _Refused(_refusal(number, earlier, number.phone_number or "a number"))
    if earlier.payload is not None:
        logger.info("number_purchase_adopted", number_id=number.pk, sid=earlier.payload.sid)
        return _adopt(number, gateway, earlier.payload)
    return _buy(number, gateway)


def _buy(number: PhoneNumber, gateway: TwilioGateway) -> PhoneNumber:
    urls = webhook_urls()
    marker = number.twilio_marker
    if not number.phone_number and number.area_code and _twilio_picks_in_area_code(number):
        # Twilio picks the number in one request: nothing to lose to another buyer between a search and a buy.
        bought = gateway.buy_configured_number(area_code=number.area_code, friendly_name=marker, **urls)
        return _bought(number, gateway, bought, f"a number in area code {number.area_code}")
    for _ in range(SEARCH_TRIES):
        candidate = number.phone_number or _first_for_sale(number, gateway)
        bought = gateway.buy_configured_number(phone_number=candidate, friendly_name=marker, **urls)
        if bought.twilio_code == NOT_AVAILABLE and not number.phone_number:
            continue  # taken since our search: the next one
        return _bought(number, gateway, bought, candidate)
    raise _Refused("The numbers Twilio offered were bought by others before us; try again.")


def _twilio_picks_in_area_code(number: PhoneNumber) -> bool:
    return number.country in ("US", "CA") and number.number_type == PhoneNumber.NumberType.LOCAL


def _bought(number: PhoneNumber, gateway: TwilioGateway, bought: GatewayResult, what: str) -> PhoneNumber:
    if bought.ok:
        return _record(number, gateway, bought.payload)
    if bought.outcome is Outcome.RETRYABLE:
        # Maybe bought, the answer lost: the next attempt finds it by its marker or number before buying.
        _wait(number, f"Twilio did not answer the purchase ({bought.message}); checking again.")
    raise _Refused(_refusal(number, bought, what))


def _first_for_sale(number: PhoneNumber, gateway: TwilioGateway) -> str:
    offered = gateway.available_numbers(
        country=number.country, number_type=number.number_type, area_code=number.area_code or None, limit=1
    )
    if offered.outcome is Outcome.RETRYABLE:
        _wait(number, f"Twilio could not be searched yet ({offered.message}); trying again.")
    if not offered.ok:
        raise _Refused(_refusal(number, offered, "a number"))
    found: list[OfferedNumber] = offered.payload
    if not found:
        where = f"area code {number.area_code}" if number.area_code else number.country
        raise _Refused(f"Twilio has no {number.get_number_type_display().lower()} numbers available in {where}.")
    return found[0].phone_number


def _adopt(number: PhoneNumber, gateway: TwilioGateway, owned: OwnedNumber) -> PhoneNumber:
    _refuse_if_routed_elsewhere(owned.phone_number)  # before its webhooks are pointed at this tenant
    configured = gateway.configure_number(sid=owned.sid, **webhook_urls())
    if configured.outcome is Outcome.RETRYABLE:
        _wait(number, f"Twilio could not configure {owned.phone_number} yet ({configured.message}); trying again.")
    if not configured.ok:
        raise _Refused(f"Twilio would not configure {owned.phone_number}: {configured.message}")
    return _record(number, gateway, owned)


def _record(number: PhoneNumber, gateway: TwilioGateway, owned: OwnedNumber) -> PhoneNumber:
    """The number is the tenant's: its row, its route, its sender and its settings, all or nothing. A purchase
    ended meanwhile (the tenant was closed) gives the number it bought back to Twilio rather than keep paying."""
    try:
        locked = _record_purchase(number, owned)
    except routing.NumberRouteTaken as taken:
        raise _Refused(
            f"{owned.phone_number} is another Switchboard account's number; it was not taken from it."
        ) from taken
    if locked.status != PhoneNumber.Status.ACTIVE or locked.twilio_sid != owned.sid:
        released = gateway.release_number(sid=owned.sid)
        logger.warning("number_purchase_ended_meanwhile", number_id=number.pk, sid=owned.sid, released=released.ok)
    return locked


def _record_purchase(number: PhoneNumber, owned: OwnedNumber) -> PhoneNumber:
    tenant = current_tenant()
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        if locked.status != PhoneNumber.Status.PENDING:
            return locked
        routing.number_route_register(tenant=tenant, phone_number=owned.phone_number)
        locked.phone_number = owned.phone_number
        locked.twilio_sid = owned.sid
        locked.capabilities = owned.capabilities
        locked.status, locked.status_detail = PhoneNumber.Status.ACTIVE, ""
        locked.provisioned_at = timezone.now()
        if not locked.friendly_name:
            locked.friendly_name = owned.friendly_name if not owned.friendly_name.startswith("switchboard-") else ""
        locked.save()
        kind = (
            SenderNumber.Kind.TOLL_FREE
            if locked.number_type == PhoneNumber.NumberType.TOLL_FREE
            else SenderNumber.Kind.LONG_CODE
        )
        has_default = SenderNumber.objects.filter(is_default=True).exclude(phone_number=owned.phone_number).exists()
        SenderNumber.objects.update_or_create(
            phone_number=owned.phone_number,
            defaults={
                "kind": kind,
                "status": SenderNumber.Status.VERIFIED,
                "status_detail": "",
                "twilio_sid": owned.sid,
                "verified_at": timezone.now(),
                "is_default": not has_default,
            },
        )
        NumberSettings.objects.get_or_create(phone_number=owned.phone_number)
    logger.info("number_purchased", number_id=number.pk, sid=owned.sid)
    return locked


def number_release(*, number_id: int) -> PhoneNumber:
    """Gives the releasing number back to Twilio, then keeps it as released: no route, no sender. Raises
    TwilioUnavailable while Twilio cannot answer (or the account is not active there: 20005, for a while); the
    number stays releasing and the task tries again. One release of a number at a time, as for purchases."""
    with advisory_lock(f"number-release:{current_tenant().schema_name}:{number_id}", wait=False) as held:
        number = PhoneNumber.objects.get(pk=number_id)
        if not held or number.status != PhoneNumber.Status.RELEASING:
            return number
        return _release(number)


def _release(number: PhoneNumber) -> PhoneNumber:
    account, gateway = _gateway()
    if gateway is None:
        state = account.get_status_display().lower() if account else "not set up"
        raise TwilioUnavailable(f"This account's Twilio connection is {state}.")
    if number.twilio_sid:
        result = gateway.release_number(sid=number.twilio_sid)
        if result.twilio_code == ACCOUNT_NOT_ACTIVE:  # the tenant's suspended subaccount: woken for the release
            with twilio_subaccount_awake(tenant_id=current_tenant().pk):
                result = gateway.release_number(sid=number.twilio_sid)
        if result.twilio_code == ACCOUNT_NOT_ACTIVE:  # not awake (yet): suspended again, or an own account
            result = GatewayResult(
                Outcome.RETRYABLE, message=f"the account is not active at Twilio (20005): {result.message}"
            )
        if result.outcome is Outcome.RETRYABLE:
            PhoneNumber.objects.filter(pk=number.pk).update(
                status_detail=f"Twilio could not be asked yet ({result.message}); trying again.",
                updated_at=timezone.now(),
            )
            raise TwilioUnavailable(result.message)
        if not result.ok and result.twilio_code != RESOURCE_GONE:  # gone already is what we wanted
            PhoneNumber.objects.filter(pk=number.pk, status=PhoneNumber.Status.RELEASING).update(
                status=PhoneNumber.Status.ACTIVE,
                status_detail=f"Twilio would not release it: {result.twilio_code}: {result.message}"[:500],
            )
            number.refresh_from_db()
            return number
    return _record_release(number)


def _record_release(number: PhoneNumber) -> PhoneNumber:
    tenant = current_tenant()
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        if locked.status != PhoneNumber.Status.RELEASING:
            return locked
        locked.status, locked.status_detail = PhoneNumber.Status.RELEASED, ""
        locked.released_at = timezone.now()
        locked.save()
        SenderNumber.objects.filter(phone_number=locked.phone_number).update(
            status=SenderNumber.Status.REJECTED, is_default=False, status_detail="Released at Twilio."
        )
        routing.number_route_release(tenant=tenant, phone_number=locked.phone_number)
    logger.info("number_released", number_id=number.pk)
    return locked


def numbers_releasing() -> list[int]:
    """The current tenant's numbers waiting to be released."""
    return list(PhoneNumber.objects.filter(status=PhoneNumber.Status.RELEASING).values_list("pk", flat=True))
