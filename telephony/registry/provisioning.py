"""What the registry's workers do: create a tenant's subaccount with Twilio, check credentials a tenant brought."""

from collections.abc import Iterator
from contextlib import contextmanager

from telephony.gateway import Outcome, TwilioGateway
from telephony.registry.locks import advisory_lock
from telephony.registry.models import TwilioAccount, TwilioStatus


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


def _set_subaccount_status(account: TwilioAccount, status: TwilioStatus) -> TwilioAccount:
    result = TwilioGateway.platform().set_subaccount_status(account_sid=account.account_sid, status=status.value)
    if result.outcome is Outcome.RETRYABLE:
        raise TwilioUnavailable(result.message)
    if result.ok:
        account.twilio_status, account.status_detail = status, ""
    else:
        account.status_detail = f"Twilio would not set the subaccount {status.label.lower()}: " + (
            f"Twilio {result.twilio_code}: {result.message}"
        )
    account.save(update_fields=["twilio_status", "status_detail", "updated_at"])
    return account


def _platform_subaccount(tenant_id: int) -> TwilioAccount | None:
    """The tenant's subaccount under the platform, if it has one; a tenant's own account is never touched."""
    account = TwilioAccount.objects.select_related("tenant").filter(tenant_id=tenant_id).first()
    if account is None or account.kind != TwilioAccount.Kind.SUBACCOUNT or not account.account_sid:
        return None
    return account


def _status_lock_name(tenant_id: int) -> str:
    return f"twilio-subaccount-status:{tenant_id}"


def twilio_subaccount_follow_tenant(*, tenant_id: int) -> TwilioAccount | None:
    """Suspends the subaccount of a suspended tenant, reactivates that of an active one. Reads the tenant's
    status when it runs, so tasks of quick successive changes end in the latest, whatever their order. Waits
    for a subaccount woken for a while (twilio_subaccount_awake) to be done with."""
    with advisory_lock(_status_lock_name(tenant_id), wait=True):
        account = _platform_subaccount(tenant_id)
        if account is None or account.twilio_status == TwilioStatus.CLOSED:
            return account
        wanted = TwilioStatus.SUSPENDED if account.tenant.is_suspended else TwilioStatus.ACTIVE
        if account.twilio_status == wanted:
            return account
        return _set_subaccount_status(account, wanted)


@contextmanager
def twilio_subaccount_awake(*, tenant_id: int) -> Iterator[None]:
    """For what a suspended subaccount cannot do (Twilio refuses all its API activity: 20005), such as releasing
    the numbers of a suspended tenant: active for the while, then back to what the tenant's status says. One
    waking at a time per tenant (a session lock, which the same session may take again): a worker done with
    its own cannot suspend the subaccount under another's feet."""
    with advisory_lock(_status_lock_name(tenant_id), wait=True):
        account = _platform_subaccount(tenant_id)
        if account is None or account.twilio_status == TwilioStatus.CLOSED:
            yield
            return
        woken = _set_subaccount_status(account, TwilioStatus.ACTIVE)
        if woken.twilio_status != TwilioStatus.ACTIVE:
            raise TwilioUnavailable(woken.status_detail)
        try:
            yield
        finally:
            twilio_subaccount_follow_tenant(tenant_id=tenant_id)


def twilio_subaccount_close(*, tenant_id: int) -> TwilioAccount | None:
    """Closes the tenant's subaccount for good (Twilio releases whatever numbers it still holds)."""
    account = _platform_subaccount(tenant_id)
    if account is None or account.twilio_status == TwilioStatus.CLOSED:
        return account
    return _set_subaccount_status(account, TwilioStatus.CLOSED)
