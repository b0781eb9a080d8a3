"""Twilio's requests to a tenant host. Each is signature-checked, handed to a service, and answered
at once with valid TwiML, even when something inside fails."""

import structlog
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from telephony.models import Communication
from telephony.records import platform_error_record, status_callback_apply
from telephony.signatures import is_signed_by_twilio
from tenants.db import current_tenant

logger = structlog.get_logger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twiml_response(xml: str = EMPTY_TWIML, status: int = 200) -> HttpResponse:
    return HttpResponse(xml, content_type="application/xml", status=status)


@csrf_exempt
@require_POST
def status_callback(request: HttpRequest, token: str) -> HttpResponse:
    twilio_sid = request.POST.get("MessageSid") or request.POST.get("CallSid")
    structlog.contextvars.bind_contextvars(twilio_sid=twilio_sid)
    if not is_signed_by_twilio(request, current_tenant()):
        logger.warning("twilio_signature_rejected", path=request.path)
        return twiml_response(status=403)
    communication = Communication.objects.filter(public_token=token).first()
    if communication is None:
        return twiml_response(status=404)
    try:
        status_callback_apply(communication=communication, params=request.POST.dict())
    except Exception as error:  # Twilio must get its answer; the failure is kept for the tenant to see
        logger.exception("status_callback_failed", communication_id=communication.pk)
        platform_error_record(source="twilio status callback", message=str(error)[:500], communication=communication)
    return twiml_response()
