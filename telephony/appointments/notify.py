"""Recording notifications and handing them to their channel.

An SMS goes through the platform's outbound path (outbound.sms_batch_create), in the caller's transaction:
accepted, it is a Communication queued on commit; refused (opted out, daily limit, no sender...), the
notification is recorded as failed with the reason. An e-mail is recorded as queued; the caller queues
its task (tasks.queue_emails) so that this module, which the worker's reminder release runs, stays below
the task module.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from telephony.appointments.models import Appointment, Notification
from telephony.appointments.outbound import Sms, sms_batch_create
from telephony.models import Communication
from tenants.models import Tenant


@dataclass(frozen=True)
class Planned:
    appointment: Appointment
    kind: str
    channel: str
    recipient: str
    body: str
    offset_minutes: int | None = None
    reply_text: str = ""
    subject: str = ""  # e-mail only


def notifications_record(*, tenant: Tenant, planned: Sequence[Planned]) -> list[Notification]:
    """The notifications, in the order planned, created in one insert after their SMS are (one insert too)."""
    texts = [plan for plan in planned if plan.channel == Notification.Channel.SMS]
    outcomes = iter(
        sms_batch_create(tenant=tenant, messages=[Sms(to=plan.recipient, body=plan.body) for plan in texts])
    )
    rows = []
    for plan in planned:
        row = Notification(
            appointment=plan.appointment,
            kind=plan.kind,
            channel=plan.channel,
            offset_minutes=plan.offset_minutes,
            recipient=plan.recipient,
            subject=plan.subject,
            body=plan.body,
            reply_text=plan.reply_text,
        )
        if plan.channel == Notification.Channel.SMS:
            outcome = next(outcomes)
            if isinstance(outcome, Communication):
                row.communication = outcome
            else:
                row.status, row.reason = Notification.Status.FAILED, outcome.message
        rows.append(row)
    return Notification.objects.bulk_create(rows)


def email_ids(notifications: Sequence[Notification]) -> list[int]:
    return [n.pk for n in notifications if n.channel == Notification.Channel.EMAIL]
