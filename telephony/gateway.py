"""The one way Switchboard talks to Twilio.

A gateway is built per Twilio account (a tenant's subaccount or its own credentials). It uses the
real twilio-python client; with TWILIO_MODE=sandbox the client's HTTP layer is pointed at the
built-in sandbox instead of api.twilio.com, and nothing else changes. Every call returns a
GatewayResult that says whether it worked, may work if retried, or never will.
"""

import enum
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import requests

# twilio-python imports its REST API (about 100 modules) on a client's first request. Imported here, it
# is loaded once in a worker's parent process and inherited by every pool process, instead of slowing
# down each pool process's first delivery.
import twilio.rest.api  # noqa: F401
from django.conf import settings
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

MEDIA_TIMEOUT_SECONDS = 30
REQUEST_TIMEOUT_SECONDS = 15
RECONCILE_PAGE = 50
# Twilio's PhoneNumber filter on IncomingPhoneNumbers matches part of a number: a whole E.164 number can
# match a few longer ones too, never a page's worth.
LOOKUP_PAGE = 20

# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
PERMANENT_CODES = frozenset(
    {
        20003,  # authentication failed
        20404,  # resource not found
        21210,  # caller ID ('From') not verified for calls
        21211,  # invalid 'To' number
        21212,  # invalid 'From' number
        21214,  # 'To' number cannot be reached
        21215,  # geographic permission not enabled for calls to this number
        21216,  # call to this number is blocked
        21217,  # 'To' does not appear to be a valid number (calls)
        21408,  # geographic permission not enabled for the region
        21602,  # message body required
        21604,  # 'To' number required
        21606,  # 'From' number is not SMS-capable
        21610,  # recipient has unsubscribed (replied STOP)
        21612,  # cannot route to this number
        21614,  # 'To' is not a mobile number
    }
)
RETRYABLE_CODES = frozenset({20429, 20500, 20503})
UNSUBSCRIBED_CODE = 21610

T = TypeVar("T")


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class GatewayResult:
    outcome: Outcome
    payload: Any = None
    twilio_code: int | None = None
    http_status: int | None = None
    message: str = ""
    retry_after_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCESS


@dataclass(frozen=True)
class OfferedNumber:
    """A number Twilio has for sale (AvailablePhoneNumbers)."""

    phone_number: str
    friendly_name: str
    iso_country: str
    locality: str
    region: str
    postal_code: str
    capabilities: dict[str, bool]
    address_requirements: str


@dataclass(frozen=True)
class OwnedNumber:
    """One of the account's IncomingPhoneNumbers."""

    sid: str
    phone_number: str
    friendly_name: str
    capabilities: dict[str, bool]
    voice_url: str


# Twilio's AvailablePhoneNumbers and IncomingPhoneNumbers sub-resources by the platform's number types.
NUMBER_TYPES = ("local", "toll_free", "mobile")


def _capabilities(raw: Any) -> dict[str, bool]:
    # twilio-python types capabilities as a string; Twilio sends (and the client keeps) an object with lowercase
    # or, for some numbers, capitalised keys (SMS, MMS).
    if not isinstance(raw, dict):
        return {}
    return {str(key).lower(): bool(value) for key, value in raw.items()}


def _offered(number: Any) -> OfferedNumber:
    return OfferedNumber(
        phone_number=str(number.phone_number),
        friendly_name=str(number.friendly_name or ""),
        iso_country=str(number.iso_country or ""),
        locality=str(number.locality or ""),
        region=str(number.region or ""),
        postal_code=str(number.postal_code or ""),
        capabilities=_capabilities(number.capabilities),
        address_requirements=str(number.address_requirements or "none"),
    )


def _owned(number: Any) -> OwnedNumber:
    return OwnedNumber(
        sid=str(number.sid),
        phone_number=str(number.phone_number),
        friendly_name=str(number.friendly_name or ""),
        capabilities=_capabilities(number.capabilities),
        voice_url=str(number.voice_url or ""),
    )


@dataclass(frozen=True)
class SentResource:
    sid: str
    status: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, resource: Any, **extra: Any) -> "SentResource":
        """From a twilio-python instance, which types every field optional; Twilio always sends sid and status."""
        return cls(sid=str(resource.sid), status=str(resource.status), extra=extra)


def classify(error: Exception) -> GatewayResult:
    """Maps what twilio-python or the network raised to an outcome, keeping Twilio's code and message."""
    if isinstance(error, TwilioRestException):
        retry_after = None
        details = error.details if isinstance(error.details, dict) else {}
        if "retry_after" in details:
            retry_after = float(details["retry_after"])
        retryable = error.status == 429 or error.status >= 500 or error.code in RETRYABLE_CODES
        if error.code in PERMANENT_CODES:
            retryable = False
        return GatewayResult(
            outcome=Outcome.RETRYABLE if retryable else Outcome.PERMANENT,
            twilio_code=error.code,
            http_status=error.status,
            message=error.msg or str(error),
            retry_after_seconds=retry_after,
        )
    if isinstance(error, (requests.Timeout, requests.ConnectionError)):
        return GatewayResult(outcome=Outcome.RETRYABLE, message=f"{type(error).__name__}: {error}")
    if isinstance(error, TwilioException):
        return GatewayResult(outcome=Outcome.RETRYABLE, message=str(error))
    raise error


def _new_client(account_sid: str, auth_token: str, base_url: str | None) -> Client:
    http_client: TwilioHttpClient
    if base_url:
        # Settings name the sandbox's client; the platform never imports the sandbox itself.
        http_client = import_string(settings.TWILIO_SANDBOX_HTTP_CLIENT)(base_url, timeout=REQUEST_TIMEOUT_SECONDS)
    else:
        http_client = TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)
    return Client(account_sid, auth_token, http_client=http_client)


_per_thread = threading.local()


def _client(account_sid: str, auth_token: str, base_url: str | None) -> Client:
    # One client (and so one pooled HTTP session) per account, process and thread. Not shared between threads
    # (a worker with the threads pool, or gunicorn's gthread workers, run several at once): twilio-python's
    # HTTP client keeps the last response on itself and returns it from there, so a client shared by threads
    # could hand a thread another thread's answer.
    clients = getattr(_per_thread, "clients", None)
    if clients is None:
        clients = _per_thread.clients = lru_cache(maxsize=1024)(_new_client)
    return clients(account_sid, auth_token, base_url)


def api_base_url() -> str | None:
    """None means the real Twilio; in sandbox mode, the sandbox's base URL."""
    if settings.TWILIO_MODE == "live":
        return None
    return settings.TWILIO_SANDBOX_URL


class TwilioGateway:
    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self._auth = (account_sid, auth_token)
        self._client = _client(account_sid, auth_token, api_base_url())

    @classmethod
    def platform(cls) -> "TwilioGateway":
        """The platform's master account, which owns the tenants' subaccounts."""
        return cls(account_sid=settings.TWILIO_ACCOUNT_SID, auth_token=settings.TWILIO_AUTH_TOKEN)

    def _call(self, operation: Callable[[], T], convert: Callable[[T], Any]) -> GatewayResult:
        """twilio-python's list methods raise a bare TwilioException("Unable to fetch page", response) for an
        error answer: it is read back as the TwilioRestException Twilio's answer says it is, so that a list on a
        suspended account (20005) is as permanent as any other call on it."""
        try:
            value = operation()
        except TwilioRestException as error:
            return classify(error)
        except TwilioException as error:
            answer = error.args[1] if len(error.args) > 1 else None
            status = getattr(answer, "status_code", None)
            if not isinstance(status, int):
                return classify(error)
            try:
                body = json.loads(getattr(answer, "text", "") or "{}")
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            return classify(TwilioRestException(status, "", body.get("message", str(error)), body.get("code")))
        except requests.RequestException as error:
            return classify(error)
        return GatewayResult(outcome=Outcome.SUCCESS, payload=convert(value))

    def verify_credentials(self) -> GatewayResult:
        return self._call(
            lambda: self._client.api.v2010.accounts(self.account_sid).fetch(), lambda account: account.status
        )

    def create_subaccount(self, *, friendly_name: str) -> GatewayResult:
        """payload: (sid, auth_token) of the new subaccount."""
        return self._call(
            lambda: self._client.api.v2010.accounts.create(friendly_name=friendly_name[:64]),
            lambda account: (account.sid, account.auth_token),
        )

    def send_message(
        self, *, to: str, from_: str, body: str, media_urls: Sequence[str] = (), status_callback: str | None = None
    ) -> GatewayResult:
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": body}
        if media_urls:
            kwargs["media_url"] = list(media_urls)
        if status_callback:
            kwargs["status_callback"] = status_callback
        return self._call(
            lambda: self._client.messages.create(**kwargs),
            lambda message: SentResource.of(message, num_segments=message.num_segments),
        )

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        twiml_url: str,
        status_callback: str | None = None,
        record: bool = False,
        machine_detection: bool = False,
    ) -> GatewayResult:
        kwargs: dict[str, Any] = {"to": to, "from_": from_, "url": twiml_url, "record": record}
        if status_callback:
            kwargs["status_callback"] = status_callback
            kwargs["status_callback_event"] = ["initiated", "ringing", "answered", "completed"]
        if machine_detection:
            kwargs["machine_detection"] = "Enable"
        return self._call(lambda: self._client.calls.create(**kwargs), lambda call: SentResource.of(call))

    def messages_sent_since(self, *, to: str, from_: str, since: datetime) -> GatewayResult:
        """What Twilio has from this sender to this number since `since`: the ground truth for reconciling.

        Not filtered by DateSent on Twilio's side: a message still queued has no date_sent yet, and
        is exactly the one a reconciliation must not miss. Newest come first, so a page is enough.
        """
        return self._call(
            lambda: self._client.messages.list(to=to, from_=from_, limit=RECONCILE_PAGE),
            lambda messages: [
                SentResource.of(m, body=m.body) for m in messages if m.date_created is None or m.date_created >= since
            ],
        )

    def calls_placed_since(self, *, to: str, from_: str, since: datetime) -> GatewayResult:
        return self._call(
            lambda: self._client.calls.list(to=to, from_=from_, limit=RECONCILE_PAGE),
            lambda calls: [SentResource.of(c) for c in calls if c.date_created is None or c.date_created >= since],
        )

    def owned_number(self, *, phone_number: str) -> GatewayResult:
        """payload: the SID (PN...) of the account's IncomingPhoneNumber with exactly this number, or None."""
        return self._call(
            lambda: self._client.incoming_phone_numbers.list(phone_number=phone_number, limit=LOOKUP_PAGE),
            lambda numbers: next((n.sid for n in numbers if n.phone_number == phone_number), None),
        )

    def verified_caller_id(self, *, phone_number: str) -> GatewayResult:
        """payload: the SID (PN...) of the account's OutgoingCallerId for exactly this number, or None."""
        return self._call(
            lambda: self._client.outgoing_caller_ids.list(phone_number=phone_number, limit=LOOKUP_PAGE),
            lambda caller_ids: next((c.sid for c in caller_ids if c.phone_number == phone_number), None),
        )

    def buy_number(self, *, phone_number: str) -> GatewayResult:
        """Buys this number for the account. payload: the SID (PN...) of the new IncomingPhoneNumber."""
        return self._call(
            lambda: self._client.incoming_phone_numbers.create(phone_number=phone_number), lambda number: number.sid
        )

    def configure_number(self, *, sid: str, voice_url: str, sms_url: str, status_callback: str) -> GatewayResult:
        """Points the number's calls and SMS (IncomingPhoneNumber `sid`) at the platform's webhooks."""
        return self._call(
            lambda: self._client.incoming_phone_numbers(sid).update(
                voice_url=voice_url,
                voice_method="POST",
                sms_url=sms_url,
                sms_method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
            ),
            lambda number: number.sid,
        )

    def available_numbers(
        self,
        *,
        country: str,
        number_type: str,
        area_code: str | None = None,
        contains: str | None = None,
        sms_enabled: bool | None = None,
        voice_enabled: bool | None = None,
        mms_enabled: bool | None = None,
        exclude_address_required: bool = False,
        limit: int = 20,
    ) -> GatewayResult:
        """payload: list[OfferedNumber], what Twilio has for sale with these filters (Twilio does not page these)."""
        resource = self._client.available_phone_numbers(country)
        kinds: dict[str, Any] = {"local": resource.local, "toll_free": resource.toll_free, "mobile": resource.mobile}
        filters: dict[str, Any] = {
            name: value
            for name, value in (
                ("area_code", area_code),
                ("contains", contains),
                ("sms_enabled", sms_enabled),
                ("voice_enabled", voice_enabled),
                ("mms_enabled", mms_enabled),
            )
            if value is not None
        }
        if exclude_address_required:
            filters["exclude_all_address_required"] = True
        return self._call(
            lambda: kinds[number_type].list(limit=limit, page_size=limit, **filters),
            lambda offered: [_offered(number) for number in offered],
        )

    def incoming_number(self, *, phone_number: str | None = None, friendly_name: str | None = None) -> GatewayResult:
        """payload: the account's OwnedNumber with exactly this number (or this friendly name), or None."""
        filters = {"phone_number": phone_number} if phone_number else {"friendly_name": friendly_name}
        return self._call(
            lambda: self._client.incoming_phone_numbers.list(limit=LOOKUP_PAGE, **filters),
            lambda found: next(
                (
                    _owned(n)
                    for n in found
                    if (phone_number and n.phone_number == phone_number)
                    or (not phone_number and n.friendly_name == friendly_name)
                ),
                None,
            ),
        )

    def buy_configured_number(
        self,
        *,
        friendly_name: str,
        voice_url: str,
        sms_url: str,
        status_callback: str,
        phone_number: str | None = None,
        area_code: str | None = None,
    ) -> GatewayResult:
        """Buys the number (or Twilio's choice in a US/CA area code) already pointed at the platform's webhooks: no
        moment where a call finds it unconfigured. payload: the OwnedNumber."""
        wanted = {"phone_number": phone_number} if phone_number else {"area_code": area_code}
        return self._call(
            lambda: self._client.incoming_phone_numbers.create(
                **wanted,
                friendly_name=friendly_name[:64],
                voice_url=voice_url,
                voice_method="POST",
                sms_url=sms_url,
                sms_method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
            ),
            _owned,
        )

    def release_number(self, *, sid: str) -> GatewayResult:
        """Gives the number (IncomingPhoneNumber `sid`) back to Twilio."""
        return self._call(lambda: self._client.incoming_phone_numbers(sid).delete(), lambda deleted: deleted)

    def set_subaccount_status(self, *, account_sid: str, status: str) -> GatewayResult:
        """Suspends, reactivates or closes a subaccount ("suspended", "active", "closed"); only its owner (the
        platform account) may. Closing is final, and Twilio releases the subaccount's numbers."""
        return self._call(
            lambda: self._client.api.v2010.accounts(account_sid).update(status=status),
            lambda account: account.status,
        )

    def cancel_call(self, *, sid: str) -> GatewayResult:
        return self._call(lambda: self._client.calls(sid).update(status="canceled"), lambda call: call.status)

    def recording_media(self, *, media_url: str) -> GatewayResult:
        """payload: the recording's audio (WAV bytes), fetched with the account's credentials."""

        def fetch() -> bytes:
            answer = requests.get(
                media_url + ".wav", auth=self._auth, timeout=MEDIA_TIMEOUT_SECONDS, allow_redirects=True
            )
            if answer.status_code >= 400:
                raise TwilioRestException(answer.status_code, media_url, f"media answered {answer.status_code}")
            return answer.content

        return self._call(fetch, lambda content: content)

    def delete_recording(self, *, recording_sid: str) -> GatewayResult:
        return self._call(lambda: self._client.recordings(recording_sid).delete(), lambda deleted: deleted)

    def price_of(self, *, sid: str) -> GatewayResult:
        """payload: (price, price_unit) of a message (SM...) or call (CA...); price None until Twilio has priced it."""
        resource = self._client.calls(sid) if sid.startswith("CA") else self._client.messages(sid)
        return self._call(lambda: resource.fetch(), lambda found: (found.price, found.price_unit))
