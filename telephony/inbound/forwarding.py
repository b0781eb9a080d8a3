"""Inbound SMS forwarded to the tenant's own URL (JSON, signed like Stripe's webhooks) or e-mail address."""

import hashlib
import hmac
import json
import time

import requests
from django.core.mail import send_mail

from telephony.inbound.selectors import inbound_settings
from telephony.models import Communication
from telephony.records import platform_error_record

FORWARD_TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Switchboard-Signature"


class ForwardFailed(Exception):
    """The tenant's URL could not take the message now (unreachable, 5xx, 429): the task tries again."""


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it with its secret and
    refuses an old timestamp, so a captured request cannot be replayed later."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def payload_of(message: Communication) -> dict[str, object]:
    return {
        "id": message.pk,
        "message_sid": message.twilio_sid,
        "from": message.from_number,
        "to": message.to_number,
        "body": message.content,
        "media_urls": message.media_urls,
        "received_at": message.occurred_at.isoformat(),
    }


def signed_json_post(*, url: str, payload: object, secret: str) -> int:
    """POSTs `payload` as JSON signed with the tenant's secret; returns the status the URL answered.
    Raises ForwardFailed when the URL cannot take it now (unreachable, 5xx, 429), for the task to try again."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature_header(secret, body, int(time.time()))}
    try:
        answer = requests.post(url, data=body, headers=headers, timeout=FORWARD_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise ForwardFailed(str(error)) from error
    if answer.status_code >= 500 or answer.status_code == 429:
        raise ForwardFailed(f"{url} answered {answer.status_code}")
    return answer.status_code


def sms_forward_to_url(*, communication_id: int, url: str) -> int:
    """POSTs the message; returns the status the URL answered. Raises ForwardFailed to be tried again."""
    message = Communication.objects.get(pk=communication_id)
    status = signed_json_post(url=url, payload=payload_of(message), secret=inbound_settings().forward_signing_secret)
    if status >= 400:
        platform_error_record(
            source="sms forward", message=f"{url} refused the message: {status}", communication=message
        )
    return status


def sms_forward_by_email(*, communication_id: int, address: str) -> None:
    message = Communication.objects.get(pk=communication_id)
    attachments = "".join(f"\n{url}" for url in message.media_urls)
    send_mail(
        subject=f"SMS from {message.from_number} to {message.to_number}",
        message=message.content + attachments,
        from_email=None,
        recipient_list=[address],
    )
