"""Logs carry what a person searches by (tenant, request id, Twilio SID) and never a secret."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from config.logs import REDACTED, redact_secrets, structured_formatter
from telephony.models import Communication
from telephony.registry.models import TwilioAccount
from testsupport.tenants import PASSWORD, TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db

SECRET_PART = "Zq3_kLm9-PxV2rT8uYwB4nHc6JdE1aFgS0oIi7KjX5s"
A_KEY = f"sb_0a1b2c3d_{SECRET_PART}"


class CapturedLogs:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]

    def named(self, event: str) -> list[dict[str, object]]:
        return [entry for entry in self.events() if entry.get("event") == event]


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """Everything logged at any level, rendered as production renders it (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structured_formatter(log_format="json"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield CapturedLogs(stream)
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_redaction_blanks_secret_fields_and_cuts_secrets_out_of_text() -> None:
    event = redact_secrets(
        None,
        "info",
        {
            "event": "request_finished",
            "request": f"GET /portal/?apiKey={A_KEY}&page=2",
            "auth_token": "0123456789abcdef",
            "headers": {"Authorization": f"Bearer {A_KEY}", "Accept": "text/html"},
            "note": f"tried {A_KEY} and Basic QUNiYWQ6c2VjcmV0",
        },
    )
    rendered = json.dumps(event)
    assert SECRET_PART not in rendered and "QUNiYWQ6c2VjcmV0" not in rendered and "0123456789abcdef" not in rendered
    assert event["auth_token"] == REDACTED and event["headers"]["Authorization"] == REDACTED
    assert event["headers"]["Accept"] == "text/html"
    assert event["request"] == f"GET /portal/?apiKey={REDACTED}&page=2"
    assert event["note"] == f"tried sb_0a1b2c3d_{REDACTED} and Basic {REDACTED}"


def test_api_requests_log_their_tenant_and_request_id_but_no_key(alpha: TenantSetup, logs: CapturedLogs) -> None:
    bearer = alpha.client(alpha.admin_key).get("/api/v1/tenant/")
    in_query = APIClient(HTTP_HOST=alpha.host).get(f"/api/v1/tenant/?apiKey={alpha.admin_key}")
    wrong = alpha.client(A_KEY).get("/api/v1/tenant/")
    assert (bearer.status_code, in_query.status_code, wrong.status_code) == (200, 200, 401)

    finished = logs.named("request_finished")
    assert len(finished) == 3 and all(entry["tenant"] == "alpha" and entry["request_id"] for entry in finished)
    assert len({entry["request_id"] for entry in finished}) == 3
    assert [entry["key_prefix"] for entry in logs.named("api_key_rejected")] == ["sb_0a1b2c3d"]
    secret_of_alphas_key = alpha.admin_key.split("_", 2)[2]
    assert secret_of_alphas_key not in logs.text and SECRET_PART not in logs.text


def test_portal_login_logs_no_password(alpha: TenantSetup, logs: CapturedLogs) -> None:
    client = APIClient(HTTP_HOST=alpha.host)
    response = client.post("/accounts/login/", {"username": alpha.admin_email, "password": PASSWORD})
    assert response.status_code == 302
    assert logs.named("request_finished") and PASSWORD not in logs.text


def test_webhooks_log_the_twilio_sid_and_never_the_accounts_token(
    alpha_on_twilio: TenantSetup, logs: CapturedLogs
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        message = Communication.objects.create(
            channel="sms", to_number="+14155552671", from_number=SENDER, status="sent", twilio_sid="SM" + "7" * 32
        )
    token = TwilioAccount.objects.get(tenant=alpha_on_twilio.tenant).auth_token
    url = f"http://{alpha_on_twilio.host}:{settings.SITE_PORT}/webhooks/twilio/status/{message.public_token}/"
    params = {"MessageSid": message.twilio_sid, "MessageStatus": "delivered"}
    client = APIClient(HTTP_HOST=alpha_on_twilio.host)
    path = url.split(f":{settings.SITE_PORT}")[1]

    signed = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=RequestValidator(token).compute_signature(url, params))
    forged = client.post(path, params, HTTP_X_TWILIO_SIGNATURE="forged")
    assert (signed.status_code, forged.status_code) == (200, 403)

    [rejected] = logs.named("twilio_signature_rejected")
    assert rejected["twilio_sid"] == message.twilio_sid and rejected["tenant"] == "alpha"
    assert all(entry["twilio_sid"] == message.twilio_sid for entry in logs.named("request_finished"))
    assert token not in logs.text
