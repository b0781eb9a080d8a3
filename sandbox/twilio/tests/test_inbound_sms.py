"""Simulated inbound messages (POST /sandbox/inbound-messages): the SmsUrl webhook and the <Message> replies."""

from __future__ import annotations

import requests

from sandbox.twilio import SandboxServer
from sandbox.twilio.tests.openapi_validator import OpenApiValidator
from sandbox.twilio.tests.support import CALLER, DEADLINE, Control, Tenant
from sandbox.twilio.tests.twiml_app import TwimlApp
from testsupport.wait import wait_until


def sms_line(tenant: Tenant, app: TwimlApp, twiml: str, **settings: str) -> str:
    app.route("/sms", twiml)
    number = tenant.client.incoming_phone_numbers.create(area_code="415", sms_url=app.url("/sms"), **settings)
    assert number.phone_number is not None
    return number.phone_number


def test_the_sms_url_gets_twilios_parameters_and_the_reply_is_sent(
    tenant: Tenant, twiml_app: TwimlApp, control: Control
) -> None:
    twiml_app.route("/reply-status")
    number = sms_line(
        tenant,
        twiml_app,
        '<Response><Message action="/reply-status">Thanks! Reply STOP to stop.</Message></Response>',
    )
    result = control.inbound_message(to=number, body="Hello there")
    [webhook] = twiml_app.hits("/sms")
    assert webhook.method == "POST" and webhook.signed_by(tenant.auth_token)
    sid = result["sid"]
    assert webhook.params == {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": tenant.sid,
        "From": CALLER,
        "To": number,
        "Body": "Hello there",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "FromCity": "SAN FRANCISCO",
        "FromState": "CA",
        "FromZip": "94103",
        "FromCountry": "US",
        "ToCity": "SAN FRANCISCO",
        "ToState": "CA",
        "ToZip": "94103",
        "ToCountry": "US",
    }
    assert (result["status"], result["error"]) == (200, None)
    assert "Thanks!" in result["twiml"]

    inbound = tenant.client.messages(sid).fetch()
    assert (inbound.direction, inbound.status, inbound.from_, inbound.to, inbound.body) == (
        "inbound",
        "received",
        CALLER,
        number,
        "Hello there",
    )
    [reply] = result["replies"]
    assert (reply["to"], reply["from"], reply["body"], reply["media_urls"]) == (
        CALLER,
        number,
        "Thanks! Reply STOP to stop.",
        [],
    )
    # The reply is an outbound Message of the same account, going through the ordinary lifecycle.
    wait_until(lambda: tenant.client.messages(reply["sid"]).fetch().status == "delivered")
    sent = tenant.client.messages(reply["sid"]).fetch()
    assert (sent.direction, sent.from_, sent.to) == ("outbound-reply", number, CALLER)
    wait_until(lambda: len(twiml_app.hits("/reply-status")) >= 3)
    statuses = twiml_app.hits("/reply-status")
    assert [h.params["MessageStatus"] for h in statuses] == ["sending", "sent", "delivered"]
    assert all(h.signed_by(tenant.auth_token) for h in statuses)
    assert sid in [m.sid for m in tenant.client.messages.list(to=number)]
    [logged] = [m for m in control.log("inbound-messages") if m["sid"] == sid]
    assert logged["replies"] == result["replies"] and logged["body"] == "Hello there"


def test_media_in_and_out(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    number = sms_line(
        tenant,
        twiml_app,
        '<Response><Message to="+14155550177"><Body>Got your photo</Body><Media>/cat.gif</Media></Message>'
        "<Message>Second reply</Message></Response>",
    )
    result = control.inbound_message(
        to=number,
        body="",
        media_urls=["https://example.com/a.jpg", {"url": "https://example.com/b", "content_type": "video/mp4"}],
    )
    assert result["sid"].startswith("MM")
    params = twiml_app.hits("/sms")[0].params
    assert (params["NumMedia"], params["MediaUrl0"], params["MediaContentType0"]) == (
        "2",
        "https://example.com/a.jpg",
        "image/jpeg",
    )
    assert (params["MediaUrl1"], params["MediaContentType1"]) == ("https://example.com/b", "video/mp4")
    first, second = result["replies"]
    assert (first["to"], first["body"], first["media_urls"]) == (
        "+14155550177",
        "Got your photo",
        [twiml_app.url("/cat.gif")],
    )
    assert first["sid"].startswith("MM") and second["body"] == "Second reply" and second["to"] == CALLER


def test_sms_fallback_url_on_a_500(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/sms-fallback", "<Response><Message>From the fallback</Message></Response>")
    number = sms_line(tenant, twiml_app, "", sms_fallback_url=twiml_app.url("/sms-fallback"))
    twiml_app.route("/sms", status=503)
    result = control.inbound_message(to=number, body="anyone?")
    [fallback] = twiml_app.hits("/sms-fallback")
    assert fallback.signed_by(tenant.auth_token)
    assert (fallback.params["ErrorCode"], fallback.params["ErrorUrl"]) == ("11200", twiml_app.url("/sms"))
    assert result["status"] == 503 and result["error"]["code"] == 11200
    assert [r["body"] for r in result["replies"]] == ["From the fallback"]


def test_redirect_empty_answers_and_no_sms_url(tenant: Tenant, twiml_app: TwimlApp, control: Control) -> None:
    twiml_app.route("/next", "<Response><Message>Redirected reply</Message></Response>")
    number = sms_line(
        tenant, twiml_app, '<Response><Redirect method="GET">/next</Redirect><Message>Never</Message></Response>'
    )
    result = control.inbound_message(to=number, body="go")
    assert [r["body"] for r in result["replies"]] == ["Redirected reply"]
    [redirected] = twiml_app.hits("/next")
    assert redirected.method == "GET" and redirected.signed_by(tenant.auth_token) and redirected.params["Body"] == "go"

    twiml_app.route("/sms", "", content_type="text/plain")  # 200 with an empty body: no reply, no error
    quiet = control.inbound_message(to=number, body="hello?")
    assert (quiet["status"], quiet["replies"], quiet["error"]) == (200, [], None)

    silent = tenant.client.incoming_phone_numbers.create(area_code="415").phone_number
    stored = control.inbound_message(to=silent, body="nobody listens")
    assert stored["status"] is None and stored["requests"] == [] and "no SmsUrl" in stored["notes"][0]
    assert tenant.client.messages(stored["sid"]).fetch().status == "received"


def test_inbound_message_refusals_and_spec(tenant: Tenant, sandbox: SandboxServer, control: Control) -> None:
    url = sandbox.base_url + "/sandbox/inbound-messages"
    assert (
        requests.post(url, json={"from": CALLER, "to": "+12025550143", "body": "x"}, timeout=DEADLINE).status_code
        == 404
    )
    for bad in (
        {"from": CALLER, "body": "x"},
        {"from": CALLER, "to": "+14155550100"},
        {"from": CALLER, "to": "+14155550100", "body": "x", "media_urls": ["ftp://x"]},
    ):
        assert requests.post(url, json=bad, timeout=DEADLINE).status_code == 400, bad
    number = tenant.client.incoming_phone_numbers.create(area_code="415").phone_number
    sid = control.inbound_message(to=number, body="for the spec")["sid"]
    response = requests.get(
        f"{sandbox.base_url}/2010-04-01/Accounts/{tenant.sid}/Messages/{sid}.json",
        auth=(tenant.sid, tenant.auth_token),
        timeout=DEADLINE,
    )
    OpenApiValidator().validate("GET", response.request.path_url, 200, response.json())
    assert response.json()["direction"] == "inbound" and response.json()["price"] == "-0.00790"
