"""The tenant hosts' routes (config.urls_tenants) plus a bare view for bench/inbound_webhook.py.

The bare view answers the TwiML the benchmark's call flow answers, as a constant: no signature check, no
tenant lookup of its own, no database. It lives under /webhooks/twilio/voice/ so that every middleware treats
it as it treats the real webhook (the fallback middleware reads the body of every POST under that prefix).
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config import urls_tenants

BARE_PATH = "/webhooks/twilio/voice/bench-bare/"
# What the flow of bench/inbound_webhook.py (a message flow with FLOW_TEXT) renders to, byte for byte.
FLOW_TEXT = "Thank you for calling Bench and Sons. Nobody can take your call right now. Goodbye."
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-US" voice="Polly.Joanna-Neural">'
    f"{FLOW_TEXT}</Say><Hangup /></Response>"
).encode()


@csrf_exempt
def bare_twiml(request: HttpRequest) -> HttpResponse:
    return HttpResponse(TWIML, content_type="application/xml")


urlpatterns = [path(BARE_PATH.lstrip("/"), bare_twiml, name="bench-bare"), *urls_tenants.urlpatterns]

handler404 = urls_tenants.handler404
handler500 = urls_tenants.handler500
