from typing import Any

from celery import shared_task

from telephony.registry import provisioning
from telephony.scheduling import MAX_WORKER_WAIT_SECONDS

# Twilio may be unreachable for a while: each of these tries again, backing off, before it gives up.
TWILIO_RETRIES: dict[str, Any] = {
    "autoretry_for": (provisioning.TwilioUnavailable,),
    "retry_backoff": True,
    "retry_backoff_max": MAX_WORKER_WAIT_SECONDS,
    "max_retries": 8,
}


@shared_task(**TWILIO_RETRIES)
def provision_twilio_account(*, tenant_id: int) -> None:
    provisioning.twilio_subaccount_provision(tenant_id=tenant_id)


@shared_task(**TWILIO_RETRIES)
def verify_twilio_credentials(*, tenant_id: int) -> None:
    provisioning.twilio_credentials_verify(tenant_id=tenant_id)


@shared_task(**TWILIO_RETRIES)
def sync_twilio_subaccount_status(*, tenant_id: int) -> None:
    provisioning.twilio_subaccount_follow_tenant(tenant_id=tenant_id)


@shared_task(**TWILIO_RETRIES)
def close_twilio_subaccount(*, tenant_id: int) -> None:
    provisioning.twilio_subaccount_close(tenant_id=tenant_id)
