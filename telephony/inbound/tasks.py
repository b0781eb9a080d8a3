from typing import Any

from celery import shared_task

from telephony.inbound import fallback, forwarding, recordings
from telephony.registry.tasks import TWILIO_RETRIES
from telephony.tasks import in_each_tenant

FORWARD_RETRIES: dict[str, Any] = {
    "autoretry_for": (forwarding.ForwardFailed,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": 10,
}


@shared_task(**TWILIO_RETRIES)
def fetch_recording(*, recording_id: int) -> None:
    """Runs in the tenant's schema."""
    recordings.recording_fetch(recording_id=recording_id)


@shared_task(**TWILIO_RETRIES)
def delete_recording(*, recording_id: int) -> None:
    """Runs in the tenant's schema."""
    recordings.recording_delete(recording_id=recording_id)


@shared_task
def delete_expired_recordings() -> int:
    """Beat, daily: queues the deletion of every tenant's recordings older than its retention period."""
    queued = 0
    for _ in in_each_tenant():
        for recording_id in recordings.recordings_expired():
            delete_recording.delay(recording_id=recording_id)
            queued += 1
    return queued


@shared_task(**FORWARD_RETRIES)
def forward_sms_to_url(*, communication_id: int, url: str) -> None:
    """Runs in the tenant's schema."""
    forwarding.sms_forward_to_url(communication_id=communication_id, url=url)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def forward_sms_by_email(*, communication_id: int, address: str) -> None:
    """Runs in the tenant's schema."""
    forwarding.sms_forward_by_email(communication_id=communication_id, address=address)


@shared_task
def replay_spooled_webhooks() -> int:
    """Beat, every 30 seconds: the webhooks kept while the platform could not answer them (see fallback)."""
    return fallback.replay_spooled()
