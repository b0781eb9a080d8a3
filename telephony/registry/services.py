from django.db import transaction

from telephony.registry.models import TwilioAccount
from telephony.registry.tasks import provision_twilio_account, verify_twilio_credentials
from tenants.models import Tenant


def twilio_account_request_subaccount(*, tenant: Tenant) -> TwilioAccount:
    """Records that the tenant gets a platform subaccount; a worker creates it with Twilio."""
    account, _ = TwilioAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "kind": TwilioAccount.Kind.SUBACCOUNT,
            "status": TwilioAccount.Status.PROVISIONING,
            "account_sid": "",
            "auth_token": "",
        },
    )
    transaction.on_commit(lambda: provision_twilio_account.delay(tenant_id=tenant.pk))
    return account


def twilio_account_set_own_credentials(*, tenant: Tenant, account_sid: str, auth_token: str) -> TwilioAccount:
    """Stores the tenant's own credentials (token encrypted); a worker checks them with Twilio."""
    account, _ = TwilioAccount.objects.update_or_create(
        tenant=tenant,
        defaults={
            "kind": TwilioAccount.Kind.OWN,
            "status": TwilioAccount.Status.VERIFYING,
            "account_sid": account_sid,
            "auth_token": auth_token,
            "status_detail": "",
        },
    )
    transaction.on_commit(lambda: verify_twilio_credentials.delay(tenant_id=tenant.pk))
    return account
