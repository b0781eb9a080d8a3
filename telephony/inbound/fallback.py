"""What Twilio gets when the platform cannot answer a webhook properly (PostgreSQL or Redis down, a bug):
still valid TwiML, and the request kept to be handled once the platform is back.

A number's fallback (a message, then maybe a forward) is remembered in the process each time its
settings are read, so it is at hand without the database. The request goes to a Redis list; with Redis
down too, it is written to the log, from where it can be replayed by hand.
"""

import json
from collections.abc import Callable

import requests
import structlog
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from config.redis_client import redis_client, text
from telephony.inbound.models import DEFAULT_FALLBACK_MESSAGE, NumberSettings

logger = structlog.get_logger(__name__)

FALLBACK_CACHE_KEY = "inbound-fallback:{number}"  # in the process: the database may be what is down
SPOOL_KEY = "switchboard:inbound-spool"
SPOOL_LIMIT = 100_000  # beyond this the oldest are dropped rather than filling Redis
REPLAY_TIMEOUT_SECONDS = 10
VOICE_PREFIX = "/webhooks/twilio/voice/"
SMS_PREFIX = "/webhooks/twilio/sms/"


def remember(settings: NumberSettings) -> None:
    caches["process"].set(
        FALLBACK_CACHE_KEY.format(number=settings.phone_number),
        (settings.fallback_message, settings.fallback_forward_to),
        None,
    )


def document(number: str) -> VoiceResponse:
    message, forward_to = caches["process"].get(
        FALLBACK_CACHE_KEY.format(number=number), (DEFAULT_FALLBACK_MESSAGE, "")
    )
    response = VoiceResponse()
    response.say(message, voice="Polly.Joanna-Neural", language="en-US")
    if forward_to:
        response.dial(forward_to)
    response.hangup()
    return response


def spool(request: HttpRequest) -> None:
    """Keeps the request for later: Twilio will not send it again once it has had an answer."""
    entry = {
        "host": request.get_host(),
        "path": request.path,
        "query": request.META.get("QUERY_STRING", ""),
        "signature": request.META.get("HTTP_X_TWILIO_SIGNATURE", ""),
        "content_type": request.content_type,
        "body": request.body.decode("utf-8", "replace"),
    }
    try:
        pipe = redis_client().pipeline()
        pipe.rpush(SPOOL_KEY, json.dumps(entry))
        pipe.ltrim(SPOOL_KEY, -SPOOL_LIMIT, -1)
        pipe.execute()
        logger.warning("inbound_webhook_spooled", path=request.path)
    except Exception:
        logger.exception("inbound_webhook_not_spooled", **entry)


class WebhookFallbackMiddleware:
    """Outermost: turns any failure answering a Twilio voice or SMS webhook (a 5xx from anywhere below,
    the tenant middleware's database lookup included) into valid TwiML, and keeps the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        is_voice, is_sms = request.path.startswith(VOICE_PREFIX), request.path.startswith(SMS_PREFIX)
        if not (is_voice or is_sms) or request.method != "POST":
            return self.get_response(request)
        _ = request.body  # read now, to be kept if need be: the views below read the stream through request.POST
        response = self.get_response(request)
        if response.status_code < 500:
            return response
        spool(request)
        answer = document(request.POST.get("To", "")) if is_voice else MessagingResponse()
        return HttpResponse(answer.to_xml(), content_type="application/xml")


def replay_spooled(*, limit: int = 500) -> int:
    """Sends the kept requests again, as Twilio would have: to the same URL with the same signature, so they
    go through every check a first delivery does. Their TwiML answers come too late to be used: a reply
    or a call flow is lost, what is recorded (the SMS, an opt-out, the call) is not."""
    client = redis_client()
    taken = [text(raw) for raw in client.lpop(SPOOL_KEY, limit) or []]
    for replayed, raw in enumerate(taken):
        entry = json.loads(raw)
        base = settings.WEB_INTERNAL_URL or f"{settings.SITE_SCHEME}://{entry['host']}"
        url = base + entry["path"] + (f"?{entry['query']}" if entry["query"] else "")
        headers = {
            "Host": entry["host"],
            "Content-Type": entry["content_type"],
            "X-Twilio-Signature": entry["signature"],
        }
        try:
            requests.post(url, data=entry["body"].encode(), headers=headers, timeout=REPLAY_TIMEOUT_SECONDS)
        except requests.RequestException:
            client.lpush(SPOOL_KEY, *reversed(taken[replayed:]))  # still not answering: they wait, in order
            return replayed
    return len(taken)
