"""Every inbound webhook, on the tenant's host and the public host: only Twilio's signature with the tenant's own
token gets in, and nothing is written otherwise."""

import hashlib
import json
import secrets
from collections.abc import Callable

import pytest
from django.test import Client, override_settings
from django_tenants.utils import tenant_context
from twilio.request_validator import RequestValidator

from telephony.inbound.models import Recording
from telephony.inbound.tests.support import base_url, call_params, sms_params, token_of, twilio_post
from telephony.models import Communication
from telephony.registry.models import PhoneNumberRoute
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER, connect_to_sandbox

pytestmark = pytest.mark.django_db

BETA_NUMBER = "+14155550177"
CALL_SID = "CA" + "7" * 32

Params = Callable[[TenantSetup], dict[str, str]]
WEBHOOKS: dict[str, tuple[str, Params]] = {
    "voice": ("/webhooks/twilio/voice/", lambda setup: call_params(setup, to=SENDER, sid=CALL_SID)),
    "sms": ("/webhooks/twilio/sms/", lambda setup: sms_params(setup, to=SENDER, sid="SM" + "7" * 32, body="Hello")),
    "call status": (
        "/webhooks/twilio/voice/status/",
        lambda setup: call_params(setup, to=SENDER, sid=CALL_SID, CallStatus="completed", CallDuration="5"),
    ),
    "recording": (
        "/webhooks/twilio/voice/recording/",
        lambda setup: {
            "AccountSid": call_params(setup, to=SENDER, sid=CALL_SID)["AccountSid"],
            "CallSid": CALL_SID,
            "RecordingSid": "RE" + "7" * 32,
            "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
            "RecordingStatus": "completed",
            "RecordingDuration": "3",
        },
    ),
}


@pytest.fixture
def both_on_twilio(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> tuple[TenantSetup, TenantSetup]:
    connect_to_sandbox(beta, sender=BETA_NUMBER)
    return alpha_on_twilio, beta


def written(setup: TenantSetup) -> tuple[int, int]:
    """Inbound calls and SMS recorded, recordings recorded."""
    with tenant_context(setup.tenant):
        inbound = Communication.objects.filter(direction=Communication.Direction.INBOUND).count()
        return inbound, Recording.objects.count()


def test_verifying_a_number_routes_it_to_its_tenant(both_on_twilio: tuple[TenantSetup, TenantSetup]) -> None:
    alpha, beta = both_on_twilio
    routes = dict(PhoneNumberRoute.objects.values_list("phone_number", "tenant__slug"))
    assert routes == {SENDER: alpha.slug, BETA_NUMBER: beta.slug}


@pytest.mark.parametrize("webhook", WEBHOOKS)
@pytest.mark.parametrize("on_public_host", [False, True], ids=["tenant host", "public host"])
def test_twilios_signature_with_the_tenants_token_is_accepted(
    both_on_twilio: tuple[TenantSetup, TenantSetup], webhook: str, on_public_host: bool
) -> None:
    alpha, _ = both_on_twilio
    path, params = WEBHOOKS[webhook]
    if webhook == "call status":  # a status callback is for a call the number took
        twilio_post(
            alpha, "/webhooks/twilio/voice/", call_params(alpha, to=SENDER, sid=CALL_SID), token=token_of(alpha)
        )

    response = twilio_post(None if on_public_host else alpha, path, params(alpha), token=token_of(alpha))

    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Response')
    communications, recordings = written(alpha)
    assert (communications, recordings) == ((0, 1) if webhook == "recording" else (1, 0))
    if webhook == "call status":
        with tenant_context(alpha.tenant):
            call = Communication.objects.get(twilio_sid=CALL_SID)
        assert (call.status, call.duration_seconds) == ("completed", 5)


@pytest.mark.parametrize("webhook", WEBHOOKS)
@pytest.mark.parametrize("on_public_host", [False, True], ids=["tenant host", "public host"])
@pytest.mark.parametrize("signature", ["forged", "another tenant's token", "missing", "another URL"])
def test_anything_else_is_refused_and_nothing_is_written(
    both_on_twilio: tuple[TenantSetup, TenantSetup], webhook: str, on_public_host: bool, signature: str
) -> None:
    alpha, beta = both_on_twilio
    path, params = WEBHOOKS[webhook]
    host = None if on_public_host else alpha
    token = {
        "forged": secrets.token_hex(16),
        "another tenant's token": token_of(beta),
        "missing": None,
        "another URL": token_of(alpha),
    }[signature]
    # "another URL": signed for beta's host, replayed at alpha's (or the public host).
    signed_url = base_url(beta) + path if signature == "another URL" else None

    response = twilio_post(host, path, params(alpha), token=token, signed_url=signed_url)

    assert response.status_code == 403 and response["Content-Type"] == "application/xml"
    assert written(alpha) == (0, 0) and written(beta) == (0, 0)


@pytest.mark.parametrize("voice", [True, False], ids=["voice", "sms"])
def test_an_unknown_number_on_the_public_host_gets_valid_twiml_not_a_404(
    alpha_on_twilio: TenantSetup, voice: bool
) -> None:
    path = "/webhooks/twilio/voice/" if voice else "/webhooks/twilio/sms/"
    params = call_params(alpha_on_twilio, to="+14155550000", sid=CALL_SID)
    params["AccountSid"] = "AC" + "0" * 32  # nobody's account either

    response = twilio_post(None, path, params, token=None)

    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    if voice:
        assert b"<Say" in response.content and b"not in service" in response.content and b"<Hangup" in response.content
    else:
        assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert written(alpha_on_twilio) == (0, 0)


def test_a_json_body_is_checked_by_its_sha256(alpha_on_twilio: TenantSetup) -> None:
    body = json.dumps(call_params(alpha_on_twilio, to=SENDER, sid=CALL_SID))
    digest = hashlib.sha256(body.encode()).hexdigest()
    path = f"/webhooks/twilio/voice/recording/?bodySHA256={digest}"
    url = base_url(alpha_on_twilio) + path
    signature = RequestValidator(token_of(alpha_on_twilio)).compute_signature(url, {})
    client = Client(HTTP_HOST=alpha_on_twilio.host)

    accepted = client.post(path, body, content_type="application/json", HTTP_X_TWILIO_SIGNATURE=signature)
    tampered = client.post(
        path,
        body.replace(CALL_SID, "CA" + "8" * 32),
        content_type="application/json",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )

    assert accepted.status_code == 200
    assert tampered.status_code == 403


def test_behind_a_tls_proxy_the_https_url_twilio_called_validates(alpha_on_twilio: TenantSetup) -> None:
    params = call_params(alpha_on_twilio, to=SENDER, sid=CALL_SID)
    with override_settings(SITE_SCHEME="https", SITE_PORT=""):
        signed_for_https = twilio_post(
            alpha_on_twilio, "/webhooks/twilio/voice/", params, token=token_of(alpha_on_twilio)
        )
    # The proxy spoke plain http to us; what was signed for http is not what Twilio would have called.
    plain_url = "http://" + alpha_on_twilio.host + "/webhooks/twilio/voice/"
    with override_settings(SITE_SCHEME="https", SITE_PORT=""):
        signed_for_http = twilio_post(
            alpha_on_twilio, "/webhooks/twilio/voice/", params, token=token_of(alpha_on_twilio), signed_url=plain_url
        )

    assert signed_for_https.status_code == 200
    assert signed_for_http.status_code == 403


def test_the_port_may_be_left_out_of_what_was_signed(alpha_on_twilio: TenantSetup) -> None:
    with override_settings(SITE_SCHEME="https", SITE_PORT="443"):
        response = twilio_post(
            alpha_on_twilio,
            "/webhooks/twilio/voice/",
            call_params(alpha_on_twilio, to=SENDER, sid=CALL_SID),
            token=token_of(alpha_on_twilio),
            signed_url=f"https://{alpha_on_twilio.host}/webhooks/twilio/voice/",
        )

    assert response.status_code == 200
