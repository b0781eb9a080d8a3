"""Twilio's wire formats: SIDs, RFC 2822 dates, prices, and the JSON of every resource the sandbox serves.

The field sets follow the vendored OpenAPI schemas (openapi/twilio_api_v2010.json) exactly: every
property the schema declares is present (null when Twilio would have nothing), and nothing else.
The sandbox's own OpenAPI test holds the serializers to that.
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlencode

from .numbers import AvailableNumber, format_national
from .state import Account, Call, IncomingNumber, Message, OutgoingCallerId, Recording

API_VERSION = "2010-04-01"
API_ROOT = f"/{API_VERSION}"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(timestamp: float | None) -> str | None:
    """'Sat, 21 Nov 2026 09:15:00 +0000' -- built by hand so the process locale cannot change it."""
    if timestamp is None:
        return None
    t = time.gmtime(timestamp)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def price(amount: float) -> str:
    """Twilio prices are negative (a charge), as strings with five decimals: '-0.00790'."""
    return f"{-abs(amount):.5f}"


SMS_PRICE = 0.0079  # per segment, US
MMS_PRICE = 0.0200
CALL_PRICE_PER_MINUTE = 0.0140
INBOUND_CALL_PRICE_PER_MINUTE = 0.0085  # a local number receiving a call, per started minute
RECORDING_PRICE_PER_MINUTE = 0.0025


def billable_minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def num_segments(body: str) -> int:
    """SMS segments as carriers count them: GSM-7 160/153 per part, otherwise UCS-2 70/67."""
    if not body:
        return 1
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in body):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in body)
        return 1 if units <= 160 else math.ceil(units / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


# --- Resources -------------------------------------------------------------------------------------


def account_uri(sid: str) -> str:
    return f"{API_ROOT}/Accounts/{sid}.json"


_ACCOUNT_SUBRESOURCES = {
    "available_phone_numbers": "AvailablePhoneNumbers",
    "calls": "Calls",
    "conferences": "Conferences",
    "incoming_phone_numbers": "IncomingPhoneNumbers",
    "notifications": "Notifications",
    "outgoing_caller_ids": "OutgoingCallerIds",
    "recordings": "Recordings",
    "transcriptions": "Transcriptions",
    "addresses": "Addresses",
    "signing_keys": "SigningKeys",
    "connect_apps": "ConnectApps",
    "sip": "SIP",
    "authorized_connect_apps": "AuthorizedConnectApps",
    "usage": "Usage",
    "keys": "Keys",
    "applications": "Applications",
    "short_codes": "SMS/ShortCodes",
    "queues": "Queues",
    "messages": "Messages",
    "balance": "Balance",
}


def account_json(account: Account) -> dict[str, Any]:
    base = f"{API_ROOT}/Accounts/{account.sid}"
    return {
        "auth_token": account.auth_token,
        "date_created": rfc2822(account.created),
        "date_updated": rfc2822(account.updated),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.owner_sid,
        "sid": account.sid,
        "status": account.status,
        "subresource_uris": {key: f"{base}/{path}.json" for key, path in _ACCOUNT_SUBRESOURCES.items()},
        "type": "Full",
        "uri": account_uri(account.sid),
    }


_CALL_SUBRESOURCES = {
    "notifications": "Notifications",
    "recordings": "Recordings",
    "payments": "Payments",
    "events": "Events",
    "siprec": "Siprec",
    "streams": "Streams",
    "transcriptions": "Transcriptions",
    "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
    "user_defined_messages": "UserDefinedMessages",
}


def call_json(call: Call) -> dict[str, Any]:
    base = f"{API_ROOT}/Accounts/{call.account_sid}/Calls/{call.sid}"
    return {
        "sid": call.sid,
        "date_created": rfc2822(call.created),
        "date_updated": rfc2822(call.updated),
        "parent_call_sid": None,
        "account_sid": call.account_sid,
        "to": call.to,
        "to_formatted": format_national(call.to),
        "from": call.from_,
        "from_formatted": format_national(call.from_),
        "phone_number_sid": call.phone_number_sid,
        "status": call.status,
        "start_time": rfc2822(call.start_time),
        "end_time": rfc2822(call.end_time),
        "duration": None if call.duration is None else str(call.duration),
        "price": call.price,
        "price_unit": "USD",
        "direction": call.direction,
        "answered_by": call.answered_by,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{base}.json",
        "subresource_uris": {key: f"{base}/{path}.json" for key, path in _CALL_SUBRESOURCES.items()},
    }


def message_json(message: Message) -> dict[str, Any]:
    base = f"{API_ROOT}/Accounts/{message.account_sid}/Messages/{message.sid}"
    return {
        "body": message.body,
        "num_segments": str(message.num_segments),
        "direction": message.direction,
        "from": message.from_,
        "to": message.to,
        "date_updated": rfc2822(message.updated),
        "price": message.price,
        "error_message": message.error_message,
        "uri": f"{base}.json",
        "account_sid": message.account_sid,
        "num_media": str(len(message.media_urls)),
        "status": message.status,
        "messaging_service_sid": message.messaging_service_sid,
        "sid": message.sid,
        "date_sent": rfc2822(message.date_sent),
        "date_created": rfc2822(message.created),
        "error_code": message.error_code,
        "price_unit": "USD",
        "api_version": API_VERSION,
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
    }


def recording_json(recording: Recording) -> dict[str, Any]:
    """GET /Recordings/{Sid}.json and the account's /Recordings.json list (schema api.v2010.account.recording)."""
    base = f"{API_ROOT}/Accounts/{recording.account_sid}/Recordings/{recording.sid}"
    return {
        "account_sid": recording.account_sid,
        "api_version": API_VERSION,
        "call_sid": recording.call_sid,
        "conference_sid": None,
        "date_created": rfc2822(recording.created),
        "date_updated": rfc2822(recording.updated),
        "start_time": rfc2822(recording.start_time),
        "duration": str(recording.duration),
        "sid": recording.sid,
        "price": recording.price,
        "price_unit": "USD",
        "status": recording.status,
        "channels": recording.channels,
        "source": recording.source,
        "error_code": None,
        "uri": f"{base}.json",
        "encryption_details": None,
        "subresource_uris": {
            "add_on_results": f"{base}/AddOnResults.json",
            "transcriptions": f"{base}/Transcriptions.json",
        },
        "media_url": recording.media_url,
    }


def call_recording_json(recording: Recording) -> dict[str, Any]:
    """/Calls/{CallSid}/Recordings[/{Sid}].json (schema api.v2010.account.call.call_recording).

    That schema differs from the account-level one: a "track", no media_url or subresource_uris, and
    "price" typed as a number (twilio-python reads it with deserialize.decimal, which takes either).
    """
    return {
        "account_sid": recording.account_sid,
        "api_version": API_VERSION,
        "call_sid": recording.call_sid,
        "conference_sid": None,
        "date_created": rfc2822(recording.created),
        "date_updated": rfc2822(recording.updated),
        "start_time": rfc2822(recording.start_time),
        "duration": str(recording.duration),
        "sid": recording.sid,
        "price": None if recording.price is None else float(recording.price),
        "uri": f"{API_ROOT}/Accounts/{recording.account_sid}/Calls/{recording.call_sid}/Recordings/{recording.sid}.json",
        "encryption_details": None,
        "price_unit": "USD",
        "status": recording.status,
        "channels": recording.channels,
        "source": recording.source,
        "error_code": None,
        "track": recording.track,
    }


def incoming_number_json(number: IncomingNumber, *, typed_list: bool = False) -> dict[str, Any]:
    """typed_list: for the /IncomingPhoneNumbers/{Local,Mobile,TollFree}.json endpoints, whose schema has no "type"."""
    body = {
        "account_sid": number.account_sid,
        "address_sid": None,
        "address_requirements": "none",
        "api_version": API_VERSION,
        "beta": False,
        "capabilities": dict(number.capabilities),
        "date_created": rfc2822(number.created),
        "date_updated": rfc2822(number.updated),
        "friendly_name": number.friendly_name,
        "identity_sid": None,
        "phone_number": number.phone_number,
        "origin": "twilio",
        "sid": number.sid,
        "sms_application_sid": None,
        "sms_fallback_method": number.sms_fallback_method,
        "sms_fallback_url": number.sms_fallback_url,
        "sms_method": number.sms_method,
        "sms_url": number.sms_url,
        "status_callback": number.status_callback,
        "status_callback_method": number.status_callback_method,
        "trunk_sid": None,
        "uri": f"{API_ROOT}/Accounts/{number.account_sid}/IncomingPhoneNumbers/{number.sid}.json",
        "voice_receive_mode": "voice",
        "voice_application_sid": None,
        "voice_caller_id_lookup": number.voice_caller_id_lookup,
        "voice_fallback_method": number.voice_fallback_method,
        "voice_fallback_url": number.voice_fallback_url,
        "voice_method": number.voice_method,
        "voice_url": number.voice_url,
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "bundle_sid": None,
        "status": "in-use",
        "type": number.kind,
    }
    if typed_list:
        del body["type"]
    return body


def outgoing_caller_id_json(caller_id: OutgoingCallerId) -> dict[str, Any]:
    return {
        "sid": caller_id.sid,
        "date_created": rfc2822(caller_id.created),
        "date_updated": rfc2822(caller_id.updated),
        "friendly_name": caller_id.friendly_name,
        "account_sid": caller_id.account_sid,
        "phone_number": caller_id.phone_number,
        "uri": f"{API_ROOT}/Accounts/{caller_id.account_sid}/OutgoingCallerIds/{caller_id.sid}.json",
    }


def available_number_json(number: AvailableNumber) -> dict[str, Any]:
    region = number.region
    return {
        "friendly_name": number.friendly_name,
        "phone_number": number.phone_number,
        "lata": region.lata,
        "locality": region.locality,
        "rate_center": region.rate_center,
        "latitude": region.latitude,
        "longitude": region.longitude,
        "region": region.region,
        "postal_code": region.postal_code,
        "iso_country": number.iso_country,
        "address_requirements": region.address_requirements,
        "beta": False,
        "capabilities": dict(number.capabilities),
    }


# --- Lists -----------------------------------------------------------------------------------------


def page_uri(path: str, filters: list[tuple[str, str]], page_size: int, page: int, token: str | None = None) -> str:
    params = [*filters, ("PageSize", str(page_size)), ("Page", str(page))]
    if token:
        params.append(("PageToken", token))
    return f"{path}?{urlencode(params)}"


def list_json(
    key: str,
    records: list[dict[str, Any]],
    *,
    path: str,
    filters: list[tuple[str, str]],
    page: int,
    page_size: int,
    token: str | None,
    next_token: str | None,
    previous_token: str | None,
) -> dict[str, Any]:
    """Twilio's 2010 list envelope. next/previous page URIs carry a PageToken, as Twilio's do."""
    start = page * page_size
    return {
        "first_page_uri": page_uri(path, filters, page_size, 0),
        "end": start + max(len(records) - 1, 0),
        "previous_page_uri": page_uri(path, filters, page_size, page - 1, previous_token) if previous_token else None,
        key: records,
        "uri": page_uri(path, filters, page_size, page, token),
        "page_size": page_size,
        "start": start,
        "next_page_uri": page_uri(path, filters, page_size, page + 1, next_token) if next_token else None,
        "page": page,
    }
