"""Handing one call or message to Twilio: at most once, never lost.

Each attempt is recorded (status `dispatching`, attempt_started_at) and committed before the request
goes out. If a worker dies during the request, whoever picks the item up next finds it still
dispatching; once the attempt's lease has run out it asks Twilio what that sender sent to that
number since the attempt began, adopts a match, and only sends again when there is none. An item
whose task was lost altogether (its worker killed while holding it, or Redis lost its data) is found by
`claim_stalled` and queued again.
"""

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.core.cache import caches
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from telephony import scheduling
from telephony.gateway import (
    REQUEST_TIMEOUT_SECONDS,
    UNSUBSCRIBED_CODE,
    GatewayResult,
    Outcome,
    SentResource,
    TwilioGateway,
)
from telephony.models import Campaign, Communication, OptOut, SenderNumber
from telephony.ratelimit import DEFAULT_RATES, take_slot
from telephony.records import opt_out_add, platform_error_record
from telephony.registry.models import TwilioAccount
from telephony.statuses import Status, replaceable_by
from tenants.db import connection, current_schema, current_tenant
from tenants.hosts import tenant_base_url
from voice.models import TwimlDocument
from voice.selectors import twiml_document_url
from voice.services import twiml_document_create
from voice.templating import render

logger = structlog.get_logger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# An attempt older than this is over: its request has timed out, or its worker is gone.
ATTEMPT_LEASE = timedelta(seconds=REQUEST_TIMEOUT_SECONDS * 2)
# Twilio's clock and ours may differ a little; look back a bit further when reconciling.
CLOCK_SKEW = timedelta(seconds=30)
CALLS_PER_SECOND = 1.0
# A pending or dispatching item nobody has touched for this long, and that Redis does not hold for later,
# has lost its task. Longer than any wait a task is queued with (scheduling.MAX_WORKER_WAIT_SECONDS).
STALLED_AFTER = timedelta(minutes=5)
STALLED_BATCH = 1000
# The tenant's URL is needed for every item and changes rarely: each worker process keeps it this long.
PROCESS_CACHE_SECONDS = 10
# A group's task hands back the items it has not reached after this long (each request may take up to
# REQUEST_TIMEOUT_SECONDS), so that it stays far inside the broker's visibility timeout.
GROUP_TIME_BUDGET_SECONDS = 30


@dataclass(frozen=True)
class Verdict:
    """What the task should do next: nothing (done), or run again after `retry_in` seconds, at the
    sender's slot when `slot_bucket` says so."""

    retry_in: float | None = None
    slot_bucket: str | None = None

    @property
    def done(self) -> bool:
        return self.retry_in is None


DONE = Verdict()


@dataclass(frozen=True)
class Attempt:
    """One claimed hand-over: the item, and what its request needs, made before the rate token is taken."""

    communication: Communication
    gateway: TwilioGateway
    status_callback_url: str
    reconcile_since: datetime | None  # an earlier attempt's outcome is unknown: ask Twilio first


def backoff_seconds(attempt: int) -> float:
    """Exponential in the attempt number, capped, with jitter so retries of many items spread out."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _gateway() -> TwilioGateway:
    account = TwilioAccount.objects.get(tenant=current_tenant())
    return TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)


def _rate_bucket(communication: Communication, account_sid: str) -> str:
    """Whose rate the item counts against: the account's calls, or the sending number's messages."""
    if communication.channel == Communication.Channel.CALL:
        return f"calls:{account_sid}"
    return f"sms:{account_sid}:{communication.from_number}"


def _rates(communications: Iterable[Communication]) -> dict[int, float]:
    """How many per second each item's bucket allows: the account's calls, or its sending number's messages.
    One query for all the items' senders."""
    communications = list(communications)
    numbers = {c.from_number for c in communications if c.channel == Communication.Channel.SMS}
    senders = {sender.phone_number: sender for sender in SenderNumber.objects.filter(phone_number__in=numbers)}
    return {c.pk: _rate(c, senders.get(c.from_number)) for c in communications}


def _rate(communication: Communication, sender: SenderNumber | None) -> float:
    if communication.channel == Communication.Channel.CALL:
        return CALLS_PER_SECOND
    if sender is None:
        return DEFAULT_RATES[SenderNumber.Kind.LONG_CODE]
    return sender.messages_per_second or DEFAULT_RATES.get(sender.kind, 1.0)


def _base_url() -> str:
    tenant = current_tenant()
    return str(
        caches["process"].get_or_set(f"base-url:{tenant.pk}", lambda: tenant_base_url(tenant), PROCESS_CACHE_SECONDS)
    )


def _status_callback_url(communication: Communication) -> str:
    path = reverse(
        "twilio-status-callback", urlconf="config.urls_tenants", kwargs={"token": communication.public_token}
    )
    return _base_url() + path


def _twiml_url(communication: Communication) -> str:
    document = communication.twiml_document
    if document is None:
        if communication.voice_message is not None:
            document = twiml_document_create(message=communication.voice_message, variables=communication.variables)
        else:
            rendered = render(
                communication.content, communication.variables, voice="Polly.Joanna-Neural", language="en-US"
            )
            document = TwimlDocument.objects.create(variables=communication.variables, xml=rendered.twiml)
        Communication.objects.filter(pk=communication.pk).update(twiml_document=document)
    return twiml_document_url(document, base_url=_base_url())


def _begin_attempt(
    communication: Communication, gateway: TwilioGateway, *, per_second: float | None
) -> Verdict | Attempt:
    """Claims the item for one attempt, or says why not now (a Verdict). Unless it already runs at a slot of
    its sender's (per_second None), it takes one first at that rate: now, soon (run again then), or by
    joining the sender's line (nothing to do until the line's pump queues it with its slot)."""
    reconcile_since = None
    if communication.status == Status.DISPATCHING:
        if communication.attempt_started_at is None:
            raise RuntimeError(f"communication {communication.pk} is dispatching without an attempt_started_at")
        lease_ends = communication.attempt_started_at + ATTEMPT_LEASE
        if timezone.now() < lease_ends:
            return Verdict(retry_in=(lease_ends - timezone.now()).total_seconds())
        reconcile_since = communication.attempt_started_at
    elif communication.status != Status.PENDING:
        return DONE  # canceled, scheduled for later, or already with Twilio
    if (
        communication.campaign_id
        and Campaign.objects.filter(pk=communication.campaign_id, status=Campaign.Status.PAUSED).exists()
    ):
        return DONE  # stays pending; resuming the campaign queues it again
    # Made before the token is taken, so that a token is followed by its request at once and sends keep the
    # spacing of their tokens.
    attempt = Attempt(
        communication=communication,
        gateway=gateway,
        status_callback_url=_status_callback_url(communication),
        reconcile_since=reconcile_since,
    )
    if per_second is not None:
        bucket = _rate_bucket(communication, gateway.account_sid)
        member = scheduling.member_of(schema=current_schema(), communication_id=communication.pk)
        # An unknown earlier attempt stays `dispatching`, so the next pick-up still reconciles first.
        wait = take_slot(bucket=bucket, per_second=per_second, member=member)
        if wait is None:
            return DONE
        if wait > 0:
            return Verdict(retry_in=wait, slot_bucket=bucket)
    if not _claim(communication):
        return Verdict(retry_in=1.0)  # another worker got there first, or it was called off: look again
    return attempt


# The two statements every send runs, written out: built with the ORM they took about a fifth of a worker's
# CPU (py-spy --gil during bench/sms_throughput.py), for SQL that never changes.
_TABLE = Communication._meta.db_table
_CLAIM_SQL = (
    f"UPDATE {_TABLE} SET status = %s, attempt_started_at = %s, attempts = %s, updated_at = %s"
    " WHERE id = %s AND status = %s AND attempts = %s"
)
_RECORD_SUCCESS_SQL = (
    f"UPDATE {_TABLE} SET twilio_sid = %s, error_code = '', error_message = '', updated_at = %s,"
    " status = CASE WHEN status = ANY(%s) THEN %s ELSE status END WHERE id = %s"
)


def _claim(communication: Communication) -> bool:
    """Marks the item as being handed over now, unless someone changed it since it was read. Every claim counts
    an attempt, so the status and the attempt count together tell whether the row is still as it was read:
    of two workers holding the same item, one UPDATE matches and the other matches nothing."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            [
                Status.DISPATCHING,
                now,
                communication.attempts + 1,
                now,
                communication.pk,
                communication.status,
                communication.attempts,
            ],
        )
        claimed = cursor.rowcount
    if claimed:
        communication.status, communication.attempt_started_at = Status.DISPATCHING, now
        communication.attempts += 1
    return bool(claimed)


def _find_earlier_send(gateway: TwilioGateway, communication: Communication, since: datetime) -> GatewayResult:
    since -= CLOCK_SKEW
    if communication.channel == Communication.Channel.SMS:
        result = gateway.messages_sent_since(to=communication.to_number, from_=communication.from_number, since=since)
    else:
        result = gateway.calls_placed_since(to=communication.to_number, from_=communication.from_number, since=since)
    if not result.ok:
        return result
    known = set(
        Communication.objects.filter(twilio_sid__in=[r.sid for r in result.payload]).values_list(
            "twilio_sid", flat=True
        )
    )
    for resource in result.payload:
        same_body = (
            communication.channel == Communication.Channel.CALL or resource.extra.get("body") == communication.content
        )
        if resource.sid not in known and same_body:
            return GatewayResult(outcome=Outcome.SUCCESS, payload=resource)
    return GatewayResult(outcome=Outcome.SUCCESS, payload=None)


def _hand_over(attempt: Attempt) -> GatewayResult:
    communication = attempt.communication
    if communication.channel == Communication.Channel.SMS:
        return attempt.gateway.send_message(
            to=communication.to_number,
            from_=communication.from_number,
            body=communication.content,
            media_urls=communication.media_urls,
            status_callback=attempt.status_callback_url,
        )
    return attempt.gateway.create_call(
        to=communication.to_number,
        from_=communication.from_number,
        twiml_url=_twiml_url(communication),
        status_callback=attempt.status_callback_url,
        record=communication.record,
        machine_detection=communication.machine_detection,
    )


def _record_success(communication_id: int, resource: SentResource) -> None:
    """Keeps Twilio's sid; the status becomes Twilio's unless a callback has already moved it further while
    the request was on its way back. Each UPDATE decides on the row as it is when it runs."""
    takes_twilios = [Status.DISPATCHING, *replaceable_by(resource.status)]
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SUCCESS_SQL, [resource.sid, timezone.now(), takes_twilios, resource.status, communication_id]
        )
    logger.info("handed_to_twilio", communication_id=communication_id, twilio_sid=resource.sid, status=resource.status)


def _record_failure(communication_id: int, result: GatewayResult) -> Verdict:
    with transaction.atomic():
        communication = Communication.objects.select_for_update().get(pk=communication_id)
        communication.error_code = str(result.twilio_code or "")
        communication.error_message = result.message[:2000]
        verdict = DONE
        if result.outcome is Outcome.RETRYABLE and communication.attempts < MAX_ATTEMPTS:
            communication.status = Status.PENDING
            verdict = Verdict(retry_in=max(result.retry_after_seconds or 0, backoff_seconds(communication.attempts)))
        else:
            communication.status = Status.FAILED
            if result.outcome is Outcome.RETRYABLE:
                communication.error_message = (
                    f"Gave up after {communication.attempts} attempts: {communication.error_message}"
                )
        communication.save()
    logger.log(
        logging.WARNING if communication.status == Status.FAILED else logging.INFO,
        "delivery_failed" if communication.status == Status.FAILED else "delivery_retry_scheduled",
        communication_id=communication_id,
        attempts=communication.attempts,
        twilio_code=result.twilio_code,
        http_status=result.http_status,
        reason=result.message[:200],
    )
    if communication.status == Status.FAILED:
        if result.twilio_code == UNSUBSCRIBED_CODE and communication.channel == Communication.Channel.SMS:
            opt_out_add(phone_number=communication.to_number, source=OptOut.Source.TWILIO_21610)
        platform_error_record(
            source=f"deliver {communication.channel}",
            message=communication.error_message,
            twilio_code=result.twilio_code,
            communication=communication,
            http_status=result.http_status,
        )
    return verdict


def deliver(*, communication_id: int, slot_bucket: str | None = None) -> Verdict:
    """One attempt at the item. `slot_bucket`: the task runs at a slot of that sender's, given to it."""
    communication = Communication.objects.filter(pk=communication_id).order_by().first()
    if communication is None:
        return DONE
    per_second = _rates([communication])[communication.pk] if slot_bucket is None else None
    return _attempt(communication, _gateway(), per_second=per_second)


def deliver_group(*, communication_ids: Sequence[int], follow_up: Callable[[int, Verdict], None]) -> list[int]:
    """One attempt at each of many items of the current tenant, in order, with one read of the items, of the
    account and of their senders. Each item is still claimed, sent and recorded on its own, so a group gives the
    same guarantees as single items, and each verdict is followed up at once: a slot's time counts from when it
    was given. A slow Twilio cannot keep the group's task past GROUP_TIME_BUDGET_SECONDS, well inside the
    broker's visibility timeout; the items it has not reached by then are returned, to be queued again."""
    deadline = time.monotonic() + GROUP_TIME_BUDGET_SECONDS
    communications = Communication.objects.in_bulk(communication_ids)
    rates = _rates(communications.values())
    gateway = _gateway()
    for index, communication_id in enumerate(communication_ids):
        if index and time.monotonic() > deadline:  # the first item always gets its attempt: groups progress
            return list(communication_ids[index:])
        if communication := communications.get(communication_id):
            follow_up(communication_id, _attempt(communication, gateway, per_second=rates[communication_id]))
    return []


def _attempt(communication: Communication, gateway: TwilioGateway, *, per_second: float | None) -> Verdict:
    attempt = _begin_attempt(communication, gateway, per_second=per_second)
    if isinstance(attempt, Verdict):
        return attempt
    if attempt.reconcile_since is not None:
        earlier = _find_earlier_send(attempt.gateway, attempt.communication, attempt.reconcile_since)
        if not earlier.ok:
            return _record_failure(communication.pk, earlier)
        if earlier.payload is not None:
            _record_success(communication.pk, earlier.payload)
            return DONE
    result = _hand_over(attempt)
    if result.ok:
        _record_success(communication.pk, result.payload)
        return DONE
    return _record_failure(communication.pk, result)


def hang_up(*, communication_id: int) -> None:
    communication = Communication.objects.get(pk=communication_id)
    if communication.twilio_sid:
        result = _gateway().cancel_call(sid=communication.twilio_sid)
        if not result.ok:
            platform_error_record(
                source="hang up call",
                message=result.message,
                twilio_code=result.twilio_code,
                communication=communication,
            )


def claim_stalled(*, now: datetime) -> list[int]:
    """The items of the current tenant whose task was lost, for the caller to queue again: pending or dispatching,
    untouched for STALLED_AFTER, and neither scheduled, retrying later, nor waiting in their sender's line
    in Redis. A task of theirs that does still exist somewhere finds the item claimed or done: delivery
    never sends twice."""
    candidates = list(
        Communication.objects.filter(
            direction=Communication.Direction.OUTBOUND,
            status__in=[Status.PENDING, Status.DISPATCHING],
            updated_at__lt=now - STALLED_AFTER,
        )
        .exclude(campaign__status=Campaign.Status.PAUSED)  # resuming the campaign queues them
        .order_by("updated_at")
        .only("pk", "channel", "from_number")[:STALLED_BATCH]
    )
    account = TwilioAccount.objects.filter(tenant=current_tenant()).first()
    if not candidates or account is None:
        return []
    buckets = {communication.pk: _rate_bucket(communication, account.account_sid) for communication in candidates}
    held = scheduling.waiting_in_redis(schema=current_schema(), buckets=buckets)
    stalled = [pk for pk in buckets if pk not in held]
    # Touched, so that the next sweeps leave them to the task the caller queues now.
    Communication.objects.filter(pk__in=stalled).update(updated_at=now)
    return stalled
