"""What each call and SMS cost, as Twilio prices it.

Twilio prices a message or a call some time after its final status, and its status callbacks do not
always carry the price (a message's never do). So beat looks, tenant by tenant, for what ended without a
price and a worker asks Twilio; what Twilio has not priced yet is asked about again the next minute,
for a day at most.
"""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from telephony.gateway import Outcome, TwilioGateway
from telephony.models import Communication
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import TwilioUnavailable
from telephony.statuses import TERMINAL
from tenants.db import current_tenant

# Twilio prices within moments of the final status, almost always: asked about from then, for this long.
PRICED_AFTER = timedelta(seconds=30)
GIVE_UP_AFTER = timedelta(days=1)
BATCH = 200


def unpriced(*, now: datetime) -> list[int]:
    """The current tenant's calls and messages that ended without a price, oldest first."""
    ended = Communication.objects.filter(
        status__in=TERMINAL,
        cost_amount__isnull=True,
        twilio_sid__isnull=False,
        updated_at__lt=now - PRICED_AFTER,
        updated_at__gte=now - GIVE_UP_AFTER,
    )
    return list(ended.order_by("updated_at").values_list("pk", flat=True)[:BATCH])


def prices_fetch(*, now: datetime) -> int:
    """Asks Twilio the price of each of them; returns how many it had priced. Raises TwilioUnavailable when
    Twilio cannot answer (the task tries again)."""
    ids = unpriced(now=now)
    if not ids:
        return 0
    account = TwilioAccount.objects.filter(tenant=current_tenant()).first()
    if account is None or not account.is_usable:
        return 0
    gateway = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)
    priced = 0
    for pk, sid in Communication.objects.filter(pk__in=ids).values_list("pk", "twilio_sid"):
        result = gateway.price_of(sid=str(sid))
        if result.outcome is Outcome.RETRYABLE:
            raise TwilioUnavailable(result.message)
        amount, unit = _price(result.payload) if result.ok else (None, "")
        if amount is not None:
            priced += Communication.objects.filter(pk=pk).update(cost_amount=amount, cost_currency=unit)
    return priced


def _price(payload: tuple[object, object]) -> tuple[Decimal | None, str]:
    price, unit = payload
    try:
        amount = abs(Decimal(str(price))) if price not in (None, "") else None
    except InvalidOperation:
        amount = None
    return amount, str(unit or "USD")[:3]
