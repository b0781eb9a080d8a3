"""Twilio's requests for a tenant's numbers: incoming calls and SMS, call flows' next steps, recordings.

Each path answers on the tenant's host and on the public host. On the public host the tenant is found
from the number called (`To`, through the public registry) or, for callbacks without one, the Twilio
account (`AccountSid`). Every request is signature-checked with that tenant's auth token before
anything is written (403 otherwise), and always answered with TwiML: a number nobody has gets a polite
one, and a failure inside gets the number's fallback (see telephony.inbound.fallback).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import wraps
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_tenants.utils import get_public_schema_name, tenant_context
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from telephony.inbound import fallback, flows, services
from telephony.inbound.selectors import call_flow_for_webhook
from telephony.models import Communication
from telephony.records import platform_error_record, status_callback_apply
from telephony.registry.routing import tenant_for_account_sid, tenant_for_number
from telephony.signatures import is_signed_by_twilio, public_base_url
from tenants.db import current_schema, current_tenant
from tenants.freshness import kept
from tenants.hosts import tenant_base_url
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

UNKNOWN_NUMBER = "The number you have called is not in service. Goodbye."


def _tenant_base_url(tenant: Tenant) -> str:
    """Where Twilio calls the tenant (its primary domain), kept by the process until the tenant's domains change."""
    return kept(tenant.schema_name, "base-url", lambda: tenant_base_url(tenant))


@dataclass(frozen=True)
class Inbound:
    params: QueryDict
    base_url: str  # where Twilio reached us; the documents' own webhooks are under it


def twiml(document: VoiceResponse | MessagingResponse, status: int = 200) -> HttpResponse:
    return HttpResponse(document.to_xml(), content_type="application/xml", status=status)


def _unknown_number(voice: bool) -> VoiceResponse | MessagingResponse:
    if not voice:
        return MessagingResponse()
    response = VoiceResponse()
    response.say(UNKNOWN_NUMBER, voice=flows.VOICE, language=flows.LANGUAGE)
    response.hangup()
    return response


def twilio_webhook(*, voice: bool) -> Callable[[Callable[..., VoiceResponse | MessagingResponse]], Any]:
    """Finds the tenant, checks the signature, runs the handler in the tenant's schema, answers its TwiML."""

    def decorator(handler: Callable[..., VoiceResponse | MessagingResponse]) -> Any:
        @csrf_exempt
        @require_POST
        @wraps(handler)
        def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            params = request.POST
            structlog.contextvars.bind_contextvars(twilio_sid=params.get("CallSid") or params.get("MessageSid"))
            tenant: Tenant | None
            schema: AbstractContextManager[object]
            if current_schema() == get_public_schema_name():
                tenant = tenant_for_number(params.get("To", "")) or tenant_for_account_sid(params.get("AccountSid", ""))
                if tenant is None:
                    logger.info("inbound_number_unknown", to=params.get("To"))
                    return twiml(_unknown_number(voice))
                base_url, schema = public_base_url(), tenant_context(tenant)
            else:
                tenant = current_tenant()
                base_url, schema = _tenant_base_url(tenant), nullcontext()
            if not is_signed_by_twilio(request, tenant, base_url=base_url):
                logger.warning("twilio_signature_rejected", path=request.path)
                return twiml(VoiceResponse() if voice else MessagingResponse(), status=403)
            with schema:
                try:
                    return twiml(handler(Inbound(params=params, base_url=base_url), **kwargs))
                except Exception as error:  # Twilio must get its answer; the failure is kept for the tenant
                    logger.exception("inbound_webhook_failed", path=request.path)
                    _keep(error, request.path)
                    return twiml(fallback.document(params.get("To", "")) if voice else MessagingResponse())

        return view

    return decorator


def _keep(error: Exception, path: str) -> None:
    try:
        platform_error_record(source=f"webhook {path}", message=str(error)[:500] or type(error).__name__)
    except Exception:  # the database may be what failed
        logger.exception("platform_error_not_recorded")


@twilio_webhook(voice=True)
def voice_incoming(inbound: Inbound) -> VoiceResponse:
    return services.inbound_call_answer(params=inbound.params, base_url=inbound.base_url)


@twilio_webhook(voice=True)
def flow_document(inbound: Inbound, flow_id: int) -> VoiceResponse:
    """A flow again (a menu after a wrong key)."""
    return flows.flow_document(call_flow_for_webhook(flow_id), services.call_context(inbound.params, inbound.base_url))


@twilio_webhook(voice=True)
def flow_chosen(inbound: Inbound, flow_id: int) -> VoiceResponse:
    flow = call_flow_for_webhook(flow_id)
    context = services.call_context(inbound.params, inbound.base_url)
    if flow is None:
        return flows.flow_document(None, context)
    return flows.menu_choice_document(flow, inbound.params.get("Digits", ""), context)


@twilio_webhook(voice=True)
def flow_dialed(inbound: Inbound, flow_id: int) -> VoiceResponse:
    flow = call_flow_for_webhook(flow_id)
    context = services.call_context(inbound.params, inbound.base_url)
    if flow is None:
        return flows.flow_document(None, context)
    return flows.dial_outcome_document(flow, inbound.params.get("DialCallStatus", ""), context)


@twilio_webhook(voice=True)
def flow_recorded(inbound: Inbound, flow_id: int) -> VoiceResponse:
    return flows.recorded_document()


@twilio_webhook(voice=True)
def recording_status(inbound: Inbound) -> VoiceResponse:
    services.recording_received(params=inbound.params)
    return VoiceResponse()


@twilio_webhook(voice=True)
def call_status(inbound: Inbound) -> VoiceResponse:
    """Status callbacks of inbound calls (the number's StatusCallback): the call's status moves forward only."""
    call = Communication.objects.filter(twilio_sid=inbound.params.get("CallSid") or None).first()
    if call is not None:
        status_callback_apply(communication=call, params={key: str(value) for key, value in inbound.params.items()})
    return VoiceResponse()


@twilio_webhook(voice=False)
def sms_incoming(inbound: Inbound) -> MessagingResponse:
    return services.inbound_sms_answer(params=inbound.params, status_callback_base=inbound.base_url)
