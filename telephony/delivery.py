"""Handing one call or message to Twilio: at most once, never lost.

Each attempt is recorded (status `dispatching`, attempt_started_at) and committed before the request
goes out. If a worker dies during the request, whoever picks the item up next finds it still
dispatching; once the attempt's lease has run out it asks Twilio what that sender sent to that
number since the attempt began, adopts a match, and only sends again when there is none. An item
whose task was lost altogether (its worker killed while holding it, or Redis lost its data) is found by
`requeue_stalled` and queued again.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
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
from telephony.registry.models import TwilioAccount
from telephony.services import opt_out_add, platform_error_record
from telephony.statuses import Status, replaceable_by
from tenants.hosts import tenant_base_url
from voice.models import TwimlDocument
from voice.services import twiml_document_create
from voice.templating import render

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
# A sender's rate and the tenant's URL are read for every item and change rarely: each worker process keeps
# them this long.
PROCESS_CACHE_SECONDS = 10


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
    account = TwilioAccount.objects.get(tenant=connection.tenant)
    return TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)


def _rate_bucket(communication: Communication, account_sid: str) -> str:
    """Whose rate the item counts against: the account's calls, or the sending number's messages."""
    if communication.channel == Communication.Channel.CALL:
        return f"calls:{account_sid}"
    return f"sms:{account_sid}:{communication.from_number}"


def _per_second(communication: Communication) -> float:
    if communication.channel == Communication.Channel.CALL:
        return CALLS_PER_SECOND
    return caches["process"].get_or_set(
        f"sender-rate:{connection.schema_name}:{communication.from_number}",
        lambda: _sender_rate(communication.from_number),
        PROCESS_CACHE_SECONDS,
    )


def _sender_rate(phone_number: str) -> float:
    sender = SenderNumber.objects.filter(phone_number=phone_number).first()
    return (sender.messages_per_second if sender else None) or DEFAULT_RATES.get(
        sender.kind if sender else SenderNumber.Kind.LONG_CODE, 1.0
    )


def _base_url() -> str:
    tenant = connection.tenant
    return caches["process"].get_or_set(f"base-url:{tenant.pk}", lambda: tenant_base_url(tenant), PROCESS_CACHE_SECONDS)


def _status_callback_url(communication: Communication) -> str:
    path = reverse("twilio-status-callback", urlconf="config.urls_tenants", kwargs={"token": communication.public_token})
    return _base_url() + path


def _twiml_url(communication: Communication) -> str:
    document = communication.twiml_document
    if document is None:
        if communication.voice_message is not None:
            document = twiml_document_create(message=communication.voice_message, variables=communication.variables)
        else:
            rendered = render(communication.content, communication.variables, voice="Polly.Joanna-Neural", language="en-US")
            document = TwimlDocument.objects.create(variables=communication.variables, xml=rendered.twiml)
        Communication.objects.filter(pk=communication.pk).update(twiml_document=document)
    path = reverse("twiml-document", urlconf="config.urls_tenants", kwargs={"token": document.public_token})
    return _base_url() + path


def _begin_attempt(communication_id: int, *, has_slot: bool) -> Verdict | Attempt:
    """Claims the item for one attempt, or says why not now (a Verdict). Without a slot of its sender, it
    takes one first: now, soon (run again then), or by joining the sender's line (nothing to do until
    the line's pump queues it with its slot)."""
    with transaction.atomic():
        communication = Communication.objects.select_for_update(skip_locked=True).filter(pk=communication_id).first()
        if communication is None:
            exists = Communication.objects.filter(pk=communication_id).exists()
            return Verdict(retry_in=1.0) if exists else DONE  # busy in another worker, or deleted
        reconcile_since = None
        if communication.status == Status.DISPATCHING:
            lease_ends = communication.attempt_started_at + ATTEMPT_LEASE
            if timezone.now() < lease_ends:
                return Verdict(retry_in=(lease_ends - timezone.now()).total_seconds())
            reconcile_since = communication.attempt_started_at
        elif communication.status != Status.PENDING:
            return DONE  # canceled, scheduled for later, or already with Twilio
        if communication.campaign_id and Campaign.objects.filter(pk=communication.campaign_id, status=Campaign.Status.PAUSED).exists():
            return DONE  # stays pending; resuming the campaign queues it again
        account = TwilioAccount.objects.get(tenant=connection.tenant)
        # Built before the token is taken (a process's first use builds the Twilio client), so that a token
        # is followed by its request at once and sends keep the spacing of their tokens.
        attempt = Attempt(
            communication=communication,
            gateway=TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token),
            status_callback_url=_status_callback_url(communication),
            reconcile_since=reconcile_since,
        )
        if not has_slot:
            bucket = _rate_bucket(communication, account.account_sid)
            member = scheduling.member_of(schema=connection.schema_name, communication_id=communication.pk)
            # An unknown earlier attempt stays `dispatching`, so the next pick-up still reconciles first.
            wait = take_slot(bucket=bucket, per_second=_per_second(communication), member=member)
            if wait is None:
                return DONE
            if wait > 0:
                return Verdict(retry_in=wait, slot_bucket=bucket)
        communication.status = Status.DISPATCHING
        communication.attempt_started_at = timezone.now()
        communication.attempts += 1
        communication.save(update_fields=["status", "attempt_started_at", "attempts", "updated_at"])
    return attempt


def _find_earlier_send(gateway: TwilioGateway, communication: Communication, since: datetime) -> GatewayResult:
    since -= CLOCK_SKEW
    if communication.channel == Communication.Channel.SMS:
        result = gateway.messages_sent_since(to=communication.to_number, from_=communication.from_number, since=since)
    else:
        result = gateway.calls_placed_since(to=communication.to_number, from_=communication.from_number, since=since)
    if not result.ok:
        return result
    known = set(
        Communication.objects.filter(twilio_sid__in=[r.sid for r in result.payload]).values_list("twilio_sid", flat=True)
    )
    for resource in result.payload:
        same_body = communication.channel == Communication.Channel.CALL or resource.extra.get("body") == communication.content
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
    the request was on its way back. One UPDATE, which decides on the row as it is when it runs."""
    takes_twilios = [Status.DISPATCHING, *replaceable_by(resource.status)]
    Communication.objects.filter(pk=communication_id).update(
        twilio_sid=resource.sid,
        status=Case(When(status__in=takes_twilios, then=Value(resource.status)), default=F("status")),
        error_code="",
        error_message="",
        updated_at=timezone.now(),
    )


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
                communication.error_message = f"Gave up after {communication.attempts} attempts: {communication.error_message}"
        communication.save()
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
    if slot_bucket is not None:
        # Whatever becomes of this item, its sender's next slots are handed to the next in line.
        scheduling.release_line(bucket=slot_bucket)
    attempt = _begin_attempt(communication_id, has_slot=slot_bucket is not None)
    if isinstance(attempt, Verdict):
        return attempt
    if attempt.reconcile_since is not None:
        earlier = _find_earlier_send(attempt.gateway, attempt.communication, attempt.reconcile_since)
        if not earlier.ok:
            return _record_failure(communication_id, earlier)
        if earlier.payload is not None:
            _record_success(communication_id, earlier.payload)
            return DONE
    result = _hand_over(attempt)
    if result.ok:
        _record_success(communication_id, result.payload)
        return DONE
    return _record_failure(communication_id, result)


def hang_up(*, communication_id: int) -> None:
    communication = Communication.objects.get(pk=communication_id)
    if communication.twilio_sid:
        result = _gateway().cancel_call(sid=communication.twilio_sid)
        if not result.ok:
            platform_error_record(
                source="hang up call", message=result.message, twilio_code=result.twilio_code, communication=communication
            )


def requeue_stalled(*, now: datetime) -> int:
    """Queues again, in the current tenant's schema, the items whose task was lost: pending or dispatching,
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
    account = TwilioAccount.objects.filter(tenant=connection.tenant).first()
    if not candidates or account is None:
        return 0
    buckets = {communication.pk: _rate_bucket(communication, account.account_sid) for communication in candidates}
    held = scheduling.waiting_in_redis(schema=connection.schema_name, buckets=buckets)
    stalled = [pk for pk in buckets if pk not in held]
    # Touched, so that the next sweeps leave them to the task queued now.
    Communication.objects.filter(pk__in=stalled).update(updated_at=now)
    for pk in stalled:
        scheduling.queue_now(communication_id=pk)
    return len(stalled)
