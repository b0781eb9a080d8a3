"""What the worker does with a sender the tenant registered: ask Twilio whether the tenant's account has it."""

from django.utils import timezone

from telephony.gateway import Outcome, TwilioGateway
from telephony.models import SenderNumber
from telephony.registry import routing
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import TwilioUnavailable
from tenants.db import current_tenant


def sender_number_verify(*, sender_id: int) -> SenderNumber:
    """Asks Twilio whether the tenant's Twilio account has the number: among its IncomingPhoneNumbers, or for a
    verified caller ID among its OutgoingCallerIds. Found: verified; not found: rejected, with the reason.

    Only a pending sender is checked. Raises TwilioUnavailable when Twilio cannot answer yet (or the tenant's
    Twilio account is not ready); the sender stays pending and the task tries again.
    """
    sender = SenderNumber.objects.get(pk=sender_id)
    if sender.status != SenderNumber.Status.PENDING:
        return sender
    # Written only if nobody registered the number again (maybe as another kind) while Twilio was asked.
    still_pending = SenderNumber.objects.filter(pk=sender.pk, status=SenderNumber.Status.PENDING, kind=sender.kind)
    account = TwilioAccount.objects.filter(tenant=current_tenant()).first()
    if account is None or not account.is_usable:
        state = account.get_status_display().lower() if account else "not set up"
        detail = f"Waiting for this account's Twilio connection, which is {state}."
        still_pending.update(status_detail=detail)
        raise TwilioUnavailable(detail)
    gateway = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)
    if sender.kind == SenderNumber.Kind.VERIFIED_CALLER_ID:
        result = gateway.verified_caller_id(phone_number=sender.phone_number)
        missing = f"{sender.phone_number} is not a verified caller ID of Twilio account {account.account_sid}."
    else:
        result = gateway.owned_number(phone_number=sender.phone_number)
        missing = f"{sender.phone_number} is not a phone number of Twilio account {account.account_sid}."
    if result.outcome is Outcome.RETRYABLE:
        still_pending.update(status_detail=f"Twilio could not be asked yet ({result.message}); trying again.")
        raise TwilioUnavailable(result.message)
    if result.ok and result.payload:
        still_pending.update(
            status=SenderNumber.Status.VERIFIED, twilio_sid=result.payload, verified_at=timezone.now(), status_detail=""
        )
        if sender.kind != SenderNumber.Kind.VERIFIED_CALLER_ID:  # a caller ID is only sent from, never called
            routing.number_route_claim(tenant=current_tenant(), phone_number=sender.phone_number)
    else:
        detail = missing if result.ok else f"Twilio {result.twilio_code}: {result.message}"
        still_pending.update(status=SenderNumber.Status.REJECTED, status_detail=detail)
    sender.refresh_from_db()
    return sender
