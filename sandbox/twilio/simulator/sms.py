"""POST /sandbox/inbound-messages: a handset texts a number an account owns, and Twilio runs its SmsUrl.

The Message resource (direction inbound, status received) is stored in the owning account first, as
Twilio stores it whether or not a webhook is configured. Then SmsUrl is requested with SmsMethod,
signed, with Twilio's parameters (MessageSid, SmsSid, SmsMessageSid, AccountSid, From, To, Body,
NumMedia, NumSegments, MediaUrl{N}, MediaContentType{N}, SmsStatus=received, ApiVersion and the
From*/To* geography; no MessagingServiceSid: the sandbox has no services). A failed request, a
non-XML answer or a document that does not parse tries SmsFallbackUrl (with ErrorCode and ErrorUrl).
An empty 2xx answer means "no reply".

Each <Message> of the answer (text or <Body>, <Media> URLs, to/from attributes defaulting to the
sender and the number, action/statusCallback) becomes an outbound-reply Message that goes through
the ordinary message lifecycle, status callbacks included. <Redirect> fetches another document
(at most MAX_DOCUMENTS in all). The webhook requests run on the control request's own thread.
"""

from __future__ import annotations

import mimetypes
import time
import xml.etree.ElementTree as ElementTree
from typing import Any

from .. import magic, numbers
from ..behaviour import Engine
from ..ids import new_sid
from ..state import Message, Store
from ..twilio_format import API_VERSION, MMS_PRICE, SMS_PRICE, num_segments, price
from ..twiml import check_twiml
from .hooks import Hooks
from .places import message_places
from .script import Refused, called, caller
from .session import method_of, resolve

MAX_DOCUMENTS = 10
MAX_MEDIA = 10


class InboundMessages:
    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    def receive(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = sorted(set(data) - {"from", "to", "body", "media_urls"})
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}")
        sender, recipient = caller(data.get("from")), called(data.get("to"))
        body = data.get("body", "")
        media = _media(data.get("media_urls", []))
        if not isinstance(body, str) or (not body and not media):
            raise ValueError("body must be a string; a message needs a body or media_urls")
        received_at, received_monotonic = time.time(), time.monotonic()
        with self.store.lock:
            number_sid = self.store.owned_numbers.get(recipient)
            number = self.store.numbers.by_sid.get(number_sid) if number_sid else None
            if number is None:
                raise Refused(404, f"no account owns {recipient} in the sandbox")
            segments = num_segments(body)
            message = Message(
                seq=self.store.next_seq(),
                sid=new_sid("MM" if media else "SM"),
                account_sid=number.account_sid,
                to=number.phone_number,
                from_=sender,
                body=body,
                media_urls=[url for url, _ in media],
                messaging_service_sid=None,
                status_callback=None,
                status="received",
                created=received_at,
                updated=received_at,
                num_segments=segments,
                date_sent=received_at,
                price=price((MMS_PRICE if media else SMS_PRICE) * segments),
                direction="inbound",
            )
            self.store.messages.add(message)
            plan = (number.sms_url, number.sms_method, number.sms_fallback_url, number.sms_fallback_method)
            hooks = Hooks(
                self.store,
                self.engine.sender,
                message.sid,
                message.account_sid,
                self.store.token_of(message.account_sid),
            )
            epoch = self.store.epoch
        params = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "SmsMessageSid": message.sid,
            "AccountSid": message.account_sid,
            "From": sender,
            "To": message.to,
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": str(segments),
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
            **message_places(sender, message.to),
        }
        for index, (media_url, content_type) in enumerate(media):
            params[f"MediaUrl{index}"] = media_url
            params[f"MediaContentType{index}"] = content_type
        result: dict[str, Any] = {"sid": message.sid, "account_sid": message.account_sid, "status": None}
        replies: list[dict[str, Any]] = []
        notes: list[str] = []
        twiml: str | None = None
        error: dict[str, Any] | None = None
        try:
            sms_url, method, fallback_url, fallback_method = plan
            if not sms_url:
                notes.append(f"{message.to} has no SmsUrl: the message was stored, no webhook was sent")
            else:
                twiml, source, error = self._fetch(hooks, sms_url, method, params, fallback_url, fallback_method)
                result["status"] = hooks.requests[0]["status"]
                documents = 1
                while twiml is not None and source is not None:
                    follow = self._reply(twiml, source, message, epoch, replies, notes)
                    if follow is None:
                        break
                    if documents >= MAX_DOCUMENTS:
                        notes.append(f"stopped after {documents} documents (a <Redirect> loop?)")
                        break
                    documents += 1
                    source, method = follow
                    twiml, error = self._judge(hooks, hooks.send("redirect", source, method, params), source)
        finally:
            self.engine.sender.close_thread_connections()
        result |= {"replies": replies, "twiml": twiml, "requests": hooks.requests, "notes": notes, "error": error}
        self.store.journals.inbound_messages.append(
            {
                **result,
                "from": sender,
                "to": message.to,
                "body": body,
                "received_at": received_at,
                "received_monotonic": received_monotonic,
            }
        )
        return result

    def _fetch(
        self,
        hooks: Hooks,
        url: str,
        method: str,
        params: dict[str, str],
        fallback_url: str | None,
        fallback_method: str,
    ) -> tuple[str | None, str | None, dict[str, Any] | None]:
        twiml, error = self._judge(hooks, hooks.send("sms_webhook", url, method, params), url)
        if error is None:
            return twiml, url, None
        if not fallback_url:
            return None, None, error
        fallback_params = {**params, "ErrorCode": str(error["code"]), "ErrorUrl": url}
        result = hooks.send("sms_webhook_fallback", fallback_url, fallback_method, fallback_params)
        fallback_twiml, fallback_error = self._judge(hooks, result, fallback_url)
        if fallback_error is None:
            return fallback_twiml, fallback_url, error
        return None, None, fallback_error

    @staticmethod
    def _judge(hooks: Hooks, result: Any, url: str) -> tuple[str | None, dict[str, Any] | None]:
        """(TwiML or None for "no reply", None) or (None, Twilio's error)."""
        if result.ok and not result.body.strip():
            return None, None
        if result.ok and result.content_type.split(";")[0].strip().lower().startswith("audio/"):
            return None, {"code": 12300, "message": "Invalid Content-Type for a message reply", "url": url}
        twiml, error = check_twiml(result, url)
        if error is not None:
            hooks.requests[-1]["error"] = error["message"]
        return twiml, error

    def _reply(
        self, twiml: str, source: str, inbound: Message, epoch: int, replies: list[dict[str, Any]], notes: list[str]
    ) -> tuple[str, str] | None:
        """Send the document's <Message>s; (url, method) of a <Redirect> to follow, or None."""
        for element in ElementTree.fromstring(twiml.strip()):
            if element.tag == "Redirect":
                target = (element.text or "").strip()
                if target:
                    return resolve(source, target), method_of(element)
                notes.append("<Redirect> without a URL: ignored")
            elif element.tag == "Message":
                reply = self._send_reply(element, source, inbound, epoch, notes)
                if reply is not None:
                    replies.append(reply)
            else:
                notes.append(f"<{element.tag}> in a messaging response: ignored")
        return None

    def _send_reply(
        self, element: ElementTree.Element, source: str, inbound: Message, epoch: int, notes: list[str]
    ) -> dict[str, Any] | None:
        body = ((element.text or "") + "".join(b.text or "" for b in element.findall("Body"))).strip()
        media_urls = [
            resolve(source, (m.text or "").strip()) for m in element.findall("Media") if (m.text or "").strip()
        ]
        to_raw = element.get("to") or inbound.from_ or ""
        to = numbers.normalize(to_raw) or (to_raw if to_raw.startswith(("client:", "whatsapp:")) else None)
        sender = element.get("from") or inbound.to
        if to is None or (not body and not media_urls):
            notes.append(f"<Message to={to_raw!r}> has no valid recipient or no content: not sent")
            return None
        callback = element.get("action") or element.get("statusCallback")
        now = time.time()
        with self.store.lock:
            if epoch != self.store.epoch:
                return None
            message = Message(
                seq=self.store.next_seq(),
                sid=new_sid("MM" if media_urls else "SM"),
                account_sid=inbound.account_sid,
                to=to,
                from_=sender,
                body=body,
                media_urls=media_urls,
                messaging_service_sid=None,
                status_callback=resolve(source, callback) if callback else None,
                status="queued",
                created=now,
                updated=now,
                num_segments=num_segments(body),
                outcome=magic.MESSAGE_OUTCOMES.get(to, magic.DELIVERED),
                direction="outbound-reply",
            )
            self.store.messages.add(message)
        self.engine.message_created(message)
        return {
            "sid": message.sid,
            "to": to,
            "from": sender,
            "body": body,
            "media_urls": media_urls,
            "status_callback": message.status_callback,
        }


def _media(value: Any) -> list[tuple[str, str]]:
    """media_urls: URLs, or {"url", "content_type"} objects; the type is guessed from the URL otherwise."""
    if not isinstance(value, list) or len(value) > MAX_MEDIA:
        raise ValueError(f"media_urls must be a list of at most {MAX_MEDIA} URLs")
    media = []
    for item in value:
        url, content_type = (item.get("url"), item.get("content_type")) if isinstance(item, dict) else (item, None)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"media URL {url!r} is not an http(s) URL")
        media.append((url, content_type or mimetypes.guess_type(url)[0] or "application/octet-stream"))
    return media
