"""Bulk sends: one template to many recipients, each with their own variables, with live progress."""

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from telephony import policies, scheduling, tasks
from telephony.models import Campaign, Communication
from telephony.selectors import PROGRESS_PREFIX
from telephony.services import sms_text, spoken_variables, twilio_account_usable
from telephony.sms import sms_shape
from telephony.statuses import NOT_YET_SENT, STAGES, Status
from telephony.uploads import csv_text_of
from tenants.db import current_schema
from tenants.models import Tenant
from voice import templating
from voice.models import VoiceMessage

MAX_RECIPIENTS = 50_000
# 50,000 rows with a few variables each fit well within this.


@dataclass(frozen=True)
class Recipient:
    row: int
    to: str
    variables: dict[str, Any]


def recipients_from_upload(upload: UploadedFile) -> list[Recipient]:
    """The recipients of an uploaded CSV (UTF-8, with or without a byte order mark)."""
    return recipients_from_csv(csv_text_of(upload))


def recipients_from_csv(content: str) -> list[Recipient]:
    """Rows of a CSV with a `to` column; every other column is a variable of that row."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    if not reader.fieldnames or "to" not in reader.fieldnames:
        raise policies.PolicyError(
            "The CSV needs a header row with a 'to' column.", code="bad-csv", status=400, field="file"
        )
    return [
        # An empty cell is a missing value, not an empty one.
        Recipient(row=number, to=(row.pop("to") or "").strip(), variables={k: v for k, v in row.items() if k and v})
        for number, row in enumerate(reader, start=2)
    ]


def campaign_create(
    *,
    tenant: Tenant,
    name: str,
    channel: str,
    recipients: Iterable[Recipient],
    body: str = "",
    voice_message: VoiceMessage | None = None,
    from_: str | None = None,
    senders: list[str] | None = None,
    send_at: datetime | None = None,
) -> Campaign:
    """Checks every row; valid rows become calls or messages, invalid ones are kept with their reason.

    It sends from `from_` (or the default sender), or from a pool of `senders`: each recipient is given one of
    them by a hash of their number, so while the pool stays the same a recipient always hears from the same
    number (replies land in one thread), and a pool of n long codes sends about n times as fast as one."""
    recipients = list(recipients)
    if len(recipients) > MAX_RECIPIENTS:
        raise policies.PolicyError(
            f"At most {MAX_RECIPIENTS} recipients per campaign.", code="too-many", status=400, field="recipients"
        )
    pool = policies.senders_checked(numbers=senders) if senders else [policies.sender_checked(from_=from_).phone_number]
    # A call's text is the same template for every row: checked, and its variables read, once.
    call_variables = (
        spoken_variables(voice_message.template_text if voice_message else body, field="body")
        if channel == Communication.Channel.CALL
        else []
    )
    twilio_account_usable(tenant)
    scheduled = send_at is not None and send_at > timezone.now()
    valid: list[Communication] = []
    invalid: list[dict[str, Any]] = []
    reachable: list[tuple[Recipient, str]] = []
    for recipient in recipients:
        try:
            reachable.append((recipient, policies.destination_allowed(tenant=tenant, to=recipient.to)))
        except policies.PolicyError as error:
            invalid.append({"row": recipient.row, "to": recipient.to, "reason": error.message})
    # One query for the whole list rather than one per row.
    opted_out = (
        policies.opted_out_among(numbers=[number for _, number in reachable])
        if channel == Communication.Channel.SMS
        else set()
    )
    seen: set[str] = set()
    for recipient, number in reachable:
        try:
            if number in opted_out:
                raise policies.opted_out_error(number)
            communication = _communication_for(channel, recipient, number, body, voice_message, pool, call_variables)
        except (policies.PolicyError, templating.MissingValuesError) as error:
            invalid.append({"row": recipient.row, "to": recipient.to, "reason": getattr(error, "message", str(error))})
            continue
        if number in seen:
            invalid.append({"row": recipient.row, "to": recipient.to, "reason": "Duplicate of an earlier row."})
            continue
        seen.add(number)
        communication.status = Status.SCHEDULED if scheduled else Status.PENDING
        communication.send_at = send_at
        valid.append(communication)
    invalid.sort(key=lambda row: row["row"])
    policies.daily_limit_checked(tenant=tenant, channel=channel, adding=len(valid))
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            channel=channel,
            voice_message=voice_message,
            body=body,
            senders=pool,
            send_at=send_at,
            status=Campaign.Status.SCHEDULED if scheduled else Campaign.Status.RUNNING,
            invalid_rows=invalid,
        )
        for communication in valid:
            communication.campaign = campaign
        created = Communication.objects.bulk_create(valid, batch_size=1000)
        _dispatch(created, scheduled=scheduled)
    return campaign


def sender_for(*, pool: list[str], to: str) -> str:
    """The pool's number for this recipient: the same one for as long as the pool is the same."""
    if len(pool) == 1:
        return pool[0]
    digest = hashlib.blake2b(to.encode(), digest_size=8).digest()
    return pool[int.from_bytes(digest) % len(pool)]


def _communication_for(
    channel: str,
    recipient: Recipient,
    number: str,
    body: str,
    voice_message: VoiceMessage | None,
    pool: list[str],
    call_variables: list[str],
) -> Communication:
    sender = sender_for(pool=pool, to=number)
    if channel == Communication.Channel.SMS:
        text = sms_text(body=body or None, voice_message=voice_message, variables=recipient.variables)
        shape = sms_shape(text)
        return Communication(
            channel=channel,
            to_number=number,
            from_number=sender,
            content=text,
            encoding=shape.encoding,
            segments=shape.segments,
            voice_message=voice_message,
            variables=recipient.variables,
        )
    missing = [name for name in call_variables if recipient.variables.get(name) is None]
    if missing:
        raise templating.MissingValuesError(missing, [])
    return Communication(
        channel=channel,
        to_number=number,
        from_number=sender,
        content="" if voice_message else body,
        voice_message=voice_message,
        variables=recipient.variables,
    )


def _dispatch(communications: list[Communication], *, scheduled: bool) -> None:
    schema = current_schema()

    def send() -> None:
        if not scheduled:
            tasks.queue_group(communication_ids=[c.pk for c in communications])
            return
        for communication in communications:
            scheduling.schedule(schema=schema, communication=communication)

    transaction.on_commit(send)


def campaign_progress(*, campaign: Campaign) -> dict[str, int]:
    """Counts by stage (queued, sent, delivered, failed, canceled), readable while the campaign runs: read from
    the annotations of selectors.campaign_list when the campaign comes from there, else counted now."""
    total = getattr(campaign, f"{PROGRESS_PREFIX}total", None)
    if total is None:
        counts = Counter(
            dict(campaign.communications.values("status").annotate(n=Count("id")).values_list("status", "n"))
        )
        progress = _by_stage(counts)
    else:
        progress = {stage: getattr(campaign, f"{PROGRESS_PREFIX}{stage}") for stage in STAGES} | {"total": total}
    return {**progress, "invalid": len(campaign.invalid_rows)}


def campaign_progress_by_sender(*, campaign: Campaign) -> dict[str, dict[str, int]]:
    """The same counts for each number of the campaign's pool."""
    counts: dict[str, Counter[str]] = {sender: Counter() for sender in campaign.senders}
    rows = campaign.communications.values("from_number", "status").annotate(n=Count("id"))
    for row in rows.values_list("from_number", "status", "n"):
        counts.setdefault(row[0], Counter())[row[1]] = row[2]
    return {sender: _by_stage(statuses) for sender, statuses in counts.items()}


def _by_stage(counts: Counter[str]) -> dict[str, int]:
    progress = {stage: sum(counts[status] for status in statuses) for stage, statuses in STAGES.items()}
    progress["total"] = sum(counts.values())
    return progress


def campaign_shown_status(*, campaign: Campaign, progress: dict[str, int]) -> str:
    """The campaign's status as people read it: a running campaign with nothing left in flight has completed."""
    if campaign.status == Campaign.Status.RUNNING and progress["queued"] + progress["sent"] == 0:
        return Campaign.Status.COMPLETED
    return campaign.status


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Workers leave a paused campaign's pending items where they are; resume queues them again."""
    _require(campaign, {Campaign.Status.RUNNING, Campaign.Status.SCHEDULED}, "pause")
    campaign.status = Campaign.Status.PAUSED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def campaign_resume(*, campaign: Campaign) -> Campaign:
    _require(campaign, {Campaign.Status.PAUSED}, "resume")
    with transaction.atomic():
        campaign.status = Campaign.Status.RUNNING
        campaign.save(update_fields=["status", "updated_at"])
        waiting = list(campaign.communications.filter(status=Status.PENDING))
        _dispatch(waiting, scheduled=False)
    return campaign


def campaign_cancel(*, campaign: Campaign) -> Campaign:
    _require(campaign, {Campaign.Status.RUNNING, Campaign.Status.SCHEDULED, Campaign.Status.PAUSED}, "cancel")
    with transaction.atomic():
        campaign.status = Campaign.Status.CANCELED
        campaign.save(update_fields=["status", "updated_at"])
        campaign.communications.filter(status__in=NOT_YET_SENT).update(
            status=Status.CANCELED, updated_at=timezone.now()
        )
    return campaign


def _require(campaign: Campaign, allowed: set[str], action: str) -> None:
    if campaign.status not in allowed:
        raise policies.PolicyError(
            f"A {campaign.get_status_display().lower()} campaign cannot {action}.", code="campaign-state", status=409
        )


def recipients_from_json(rows: Iterable[Mapping[str, Any]]) -> list[Recipient]:
    return [
        Recipient(row=index, to=str(row.get("to", "")).strip(), variables=dict(row.get("variables") or {}))
        for index, row in enumerate(rows, start=1)
    ]
