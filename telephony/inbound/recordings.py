"""Recordings' media: fetched from Twilio into the tenant's own storage, deleted here and at Twilio."""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from telephony.gateway import Outcome, TwilioGateway
from telephony.inbound.models import Recording
from telephony.inbound.selectors import inbound_settings
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import TwilioUnavailable
from tenants.db import current_tenant


def _gateway() -> TwilioGateway:
    account = TwilioAccount.objects.filter(tenant=current_tenant()).first()
    if account is None or not account.is_usable:
        raise TwilioUnavailable("this account's Twilio connection is not ready")
    return TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)


def recording_fetch(*, recording_id: int) -> Recording:
    """Stores the media under the tenant's folder. Raises TwilioUnavailable for the task to try again."""
    recording = Recording.objects.get(pk=recording_id)
    if recording.status != Recording.Status.RECORDED:
        return recording
    result = _gateway().recording_media(media_url=recording.media_url)
    if result.outcome is Outcome.RETRYABLE:
        raise TwilioUnavailable(result.message)
    if not result.ok:
        recording.status, recording.status_detail = Recording.Status.FAILED, result.message[:500]
        recording.save(update_fields=["status", "status_detail"])
        return recording
    recording.file.save(f"{recording.recording_sid}.wav", ContentFile(result.payload), save=False)
    recording.status, recording.stored_at = Recording.Status.STORED, timezone.now()
    recording.save(update_fields=["file", "status", "stored_at"])
    return recording


def recording_delete(*, recording_id: int) -> Recording:
    """Deletes the media here and the recording at Twilio; the row stays, marked deleted, for the log."""
    recording = Recording.objects.get(pk=recording_id)
    if recording.status == Recording.Status.DELETED:
        return recording
    result = _gateway().delete_recording(recording_sid=recording.recording_sid)
    if result.outcome is Outcome.RETRYABLE:
        raise TwilioUnavailable(result.message)
    if recording.file:
        recording.file.delete(save=False)
    recording.status, recording.deleted_at = Recording.Status.DELETED, timezone.now()
    recording.status_detail = "" if result.ok or result.http_status == 404 else result.message[:500]
    recording.save(update_fields=["file", "status", "deleted_at", "status_detail"])
    return recording


def recordings_expired() -> list[int]:
    """The recordings older than the tenant's retention period."""
    days = inbound_settings().recording_retention_days
    if days == 0:
        return []
    cutoff = timezone.now() - timedelta(days=days)
    alive = Recording.objects.exclude(status=Recording.Status.DELETED)
    return list(alive.filter(created_at__lt=cutoff).values_list("pk", flat=True))
