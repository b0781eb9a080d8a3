"""What the registry's workers do: create a tenant's subaccount with Twilio, check credentials a tenant brought."""

from telephony.gateway import Outcome, TwilioGateway
from telephony.registry.models import TwilioAccount


class TwilioUnavailable(Exception):
    """Twilio could not be asked right now; the task retries later."""


def twilio_subaccount_provision(*, tenant_id: int) -> TwilioAccount:
    account = TwilioAccount.objects.select_related("tenant").get(tenant_id=tenant_id)
    if account.kind != TwilioAccount.Kind.SUBACCOUNT or account.status != TwilioAccount.Status.PROVISIONING:
        return account
    result = TwilioGateway.platform().create_subaccount(friendly_name=f"Switchboard {account.tenant.slug}")
    if result.outcome is Outcome.RETRYABLE:
        raise TwilioUnavailable(result.message)
    if result.ok:
        account.account_sid, account.auth_token = result.payload
        account.status, account.status_detail = TwilioAccount.Status.ACTIVE, ""
    else:
        account.status, account.status_detail = (
            TwilioAccount.Status.INVALID,
            f"Twilio {result.twilio_code}: {result.message}",
        )
    account.save()
    return account


def twilio_credentials_verify(*, tenant_id: int) -> TwilioAccount:
    account = TwilioAccount.objects.get(tenant_id=tenant_id)
    if account.status != TwilioAccount.Status.VERIFYING:
        return account
    result = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token).verify_credentials()
    if result.outcome is Outcome.RETRYABLE:
        raise TwilioUnavailable(result.message)
    if result.ok and result.payload == "active":
        account.status, account.status_detail = TwilioAccount.Status.ACTIVE, ""
    else:
        detail = f"Twilio {result.twilio_code}: {result.message}" if not result.ok else f"Account is {result.payload}."
        account.status, account.status_detail = TwilioAccount.Status.INVALID, detail
    account.save()
    return account
