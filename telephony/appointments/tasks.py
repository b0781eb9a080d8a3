"""The appointments' tasks, and the functions that queue them. SMS go through telephony's delivery (queued by
telephony.tasks); these are the reminder release beat runs and the sending of e-mails."""

from collections.abc import Sequence
from typing import Any

import structlog
from celery import Task, shared_task
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from telephony.appointments import emails, reminders
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

EMAIL_RETRIES = 5


@shared_task
def release_due_reminders() -> int:
    """Beat, every 30 seconds: each tenant's due reminders, in its schema. Two beats at once, or one whose
    worker was killed halfway, still send each reminder once (see reminders)."""
    now = timezone.now()
    released = 0
    for tenant in Tenant.objects.exclude(schema_name=get_public_schema_name()):
        with tenant_context(tenant):
            try:
                released += reminders.reminders_release(tenant=tenant, now=now)
            except Exception:
                # One tenant's failure must not hold back every other tenant's reminders; its own are taken
                # again by the next beat (nothing of a failed release is kept).
                logger.exception("appointment_reminders_release_failed", tenant=tenant.slug)
    if released:
        logger.info("appointment_reminders_released", count=released)
    return released


@shared_task(bind=True, acks_late=True, max_retries=EMAIL_RETRIES)
def send_notification_email(self: Task[Any, Any], *, notification_id: int) -> None:
    """Runs in the tenant's schema."""
    try:
        emails.notification_email_send(notification_id=notification_id)
    except OSError as error:
        if self.request.retries >= EMAIL_RETRIES:
            emails.notification_email_give_up(notification_id=notification_id)
            return
        raise self.retry(exc=error, countdown=min(60, 2 ** (self.request.retries + 1))) from error


def queue_emails(*, notification_ids: Sequence[int]) -> None:
    for notification_id in notification_ids:
        send_notification_email.delay(notification_id=notification_id)
