"""Sending a notification's e-mail, in a worker: the outcome is recorded on the notification.

Apart from the services so that the worker's task can send one without importing the services that queue it.
"""

import structlog
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from telephony.appointments.models import Notification

logger = structlog.get_logger(__name__)


def notification_email_send(*, notification_id: int) -> Notification | None:
    """Sends it unless it has gone already (a task delivered twice sends once). An SMTP failure raises
    OSError for the task to retry; the last failure is recorded on the notification."""
    failure: OSError | None = None
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, channel=Notification.Channel.EMAIL, status=Notification.Status.QUEUED)
            .first()
        )
        if notification is None:
            return None
        try:
            send_mail(
                subject=notification.subject,
                message=notification.body,
                from_email=None,
                recipient_list=[notification.recipient],
            )
        except OSError as error:
            logger.warning("appointment_email_failed", notification_id=notification_id, error=str(error))
            failure = error
            notification.reason = f"The mail server did not take it: {error}"
        else:
            notification.status, notification.reason = Notification.Status.SENT, ""
        notification.save(update_fields=["status", "reason", "updated_at"])
    if failure is not None:
        raise failure
    return notification


def notification_email_give_up(*, notification_id: int) -> None:
    """After the last retry: failed, with the last reason recorded."""
    Notification.objects.filter(pk=notification_id, status=Notification.Status.QUEUED).update(
        status=Notification.Status.FAILED, updated_at=timezone.now()
    )
