"""Messages: send (create), list with filters and paging, fetch, redact (update Body=""), delete."""

from __future__ import annotations

import re
import time

from .. import errors, magic, numbers
from ..ids import new_sid
from ..state import Account, Message
from ..twilio_format import message_json, num_segments
from .common import (
    ApiContext,
    Request,
    Response,
    fetch_response,
    first,
    get_or_404,
    is_url,
    list_response,
    paging,
    time_filter,
    url,
)

FINAL_STATUSES = frozenset({"sent", "delivered", "undelivered", "failed", "received", "canceled", "read"})
_MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
MAX_BODY = 1600
MAX_MEDIA = 10


def create_message(api: ApiContext, request: Request, caller: Account, account_sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    form = request.form
    # Validation order follows Twilio's: To, then sender, then content.
    to_raw = first(form, "To")
    if not to_raw:
        raise errors.bad_request(21604, "A 'To' phone number is required.")
    from_raw = first(form, "From")
    service = first(form, "MessagingServiceSid")
    if not from_raw and not service:
        raise errors.bad_request(21603, "A 'From' phone number is required.")
    body = first(form, "Body") or ""
    media_urls = form.get("MediaUrl", [])
    if not body and not media_urls:
        raise errors.bad_request(21602, "Message body is required.")
    if len(body) > MAX_BODY:
        raise errors.bad_request(21617, f"The concatenated message body exceeds the {MAX_BODY} character limit.")
    if len(media_urls) > MAX_MEDIA:
        raise errors.bad_request(
            21623, f"Number of media files ({len(media_urls)}) exceeds allowed limit of {MAX_MEDIA}"
        )
    for media_url in media_urls:
        if not is_url(media_url):
            raise errors.bad_request(21620, f"Invalid media URL(s): {media_url}")
    status_callback = url(form, "StatusCallback", 21609)
    if service and not _MESSAGING_SERVICE.match(service):
        # Sandbox choice of code: there is no Messaging Service resource to look up.
        raise errors.bad_request(21701, f"The Messaging Service Sid {service} is invalid.")

    sender: str | None = None
    if from_raw:
        if from_raw in magic.MESSAGE_FROM_REJECTS:
            raise errors.bad_request(*magic.MESSAGE_FROM_REJECTS[from_raw])
        sender = numbers.normalize(from_raw) or (from_raw if numbers.is_alphanumeric_sender(from_raw) else None)
        if sender is None:
            raise errors.bad_request(
                21212,
                f"The 'From' number {from_raw} is not a valid phone number, shortcode, or alphanumeric sender ID.",
            )
    to = numbers.normalize(to_raw)
    if to in magic.MESSAGE_TO_REJECTS:
        raise errors.bad_request(*magic.MESSAGE_TO_REJECTS[to])
    if to is None:
        raise errors.bad_request(21211, f"The 'To' number {to_raw} is not a valid phone number.")
    if to == sender:
        raise errors.bad_request(21266, "'To' and 'From' number cannot be the same")

    now = time.time()
    with api.store.lock:
        message = Message(
            seq=api.store.next_seq(),
            sid=new_sid("MM" if media_urls else "SM"),
            account_sid=account.sid,
            to=to,
            from_=sender,
            body=body,
            media_urls=list(media_urls),
            messaging_service_sid=service,
            status_callback=status_callback,
            # With a Messaging Service and no From, Twilio "accepts" first and picks the sender later.
            status="accepted" if service and not sender else "queued",
            created=now,
            updated=now,
            num_segments=num_segments(body),
            outcome=magic.MESSAGE_OUTCOMES.get(to, magic.DELIVERED),
        )
        api.store.messages.add(message)
        result = message_json(message)
    api.store.journals.messages.append(
        {
            "sid": message.sid,
            "account_sid": message.account_sid,
            "to": to,
            "from": sender,
            "messaging_service_sid": service,
            "body": body,
            "media_urls": list(media_urls),
            "status_callback": status_callback,
            "received_at": request.received_at,
            "received_monotonic": request.received_monotonic,
        }
    )
    api.engine.message_created(message)
    return Response(201, result)


def list_messages(api: ApiContext, request: Request, caller: Account, account_sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    query = request.query
    to = first(query, "To")
    sender = first(query, "From")
    # Twilio matches the number as stored (E.164); accept the same spellings create accepts.
    to_match = numbers.normalize(to) or to if to else None
    from_match = numbers.normalize(sender) or sender if sender else None
    date_filters, sent_in_range = time_filter(query, "DateSent")
    paged = paging(query)
    filters = [(k, v) for k, v in (("To", to), ("From", sender)) if v is not None] + date_filters

    def wanted(message: Message) -> bool:
        return (
            (to_match is None or message.to == to_match)
            and (from_match is None or message.from_ == from_match)
            and (sent_in_range is None or sent_in_range(message.date_sent))
        )

    return list_response(
        api, request, "messages", api.store.messages, account.sid, wanted, message_json, filters, paged
    )


def fetch_message(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    return fetch_response(api, request, caller, account_sid, api.store.messages, sid, message_json)


def update_message(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    body = first(request.form, "Body")
    status = first(request.form, "Status")
    with api.store.lock:
        message = get_or_404(api.store.messages, account.sid, sid, request.path)
        if status is not None:
            # Only scheduled messages can be canceled, and the sandbox does not schedule.
            raise errors.bad_request(20009, f"Message {sid} is not scheduled and cannot be canceled")
        if body is not None:
            if body != "":
                raise errors.invalid_parameter("Body", "can only be set to an empty string (redaction)")
            if message.status not in FINAL_STATUSES:
                raise errors.bad_request(20009, f"Cannot redact message {sid} while it is {message.status}")
            message.body = ""
            message.updated = time.time()
        return Response(200, message_json(message))


def delete_message(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        message = get_or_404(api.store.messages, account.sid, sid, request.path)
        if message.status not in FINAL_STATUSES:
            raise errors.bad_request(20009, f"Cannot delete message {sid} while it is {message.status}")
        api.store.messages.remove(message)
    return Response(204, None)
