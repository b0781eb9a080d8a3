"""With PostgreSQL (and Redis) down, a real web server still answers Twilio with valid TwiML; what it could keep
is handled once the platform is back."""

import json
from pathlib import Path
from xml.etree import ElementTree

import requests
from django.test import override_settings
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker
from twilio.request_validator import RequestValidator

from config.redis_client import redis_client
from telephony.inbound import fallback
from telephony.inbound.models import DEFAULT_FALLBACK_MESSAGE
from telephony.inbound.tests.support import CALLER, call_params, sms_params, token_of
from telephony.models import Communication, OptOut
from tenants.db import connection
from testsupport.processes import free_port, platform_environment, web_server
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

DEAD_DATABASE = "postgres://nobody@127.0.0.1:1/nowhere"
DEAD_REDIS = "redis://127.0.0.1:1/0"


class Twilio:
    """Posts signed webhooks to a web server of the test's own, as Twilio would to the tenant's host."""

    def __init__(self, setup: TenantSetup, port: int, token: str) -> None:
        self.host, self.port, self.token = f"{setup.host}:{port}", port, token

    def post(self, path: str, params: dict[str, str]) -> requests.Response:
        signature = RequestValidator(self.token).compute_signature(f"http://{self.host}{path}", params)
        return requests.post(
            f"http://127.0.0.1:{self.port}{path}",
            data=params,
            headers={"Host": self.host, "X-Twilio-Signature": signature},
            timeout=30,
        )


def test_with_postgresql_down_twilio_gets_twiml_and_the_requests_are_handled_once_it_is_back(
    committed_alpha: TenantSetup, django_db_blocker: DjangoDbBlocker, tmp_path: Path
) -> None:
    port = free_port()
    env = platform_environment(port, tmp_path)
    with django_db_blocker.unblock():
        twilio = Twilio(committed_alpha, port, token_of(committed_alpha))
        call = call_params(committed_alpha, to=SENDER, sid="CA" + "5" * 32)
        stop = sms_params(committed_alpha, to=SENDER, sid="SM" + "5" * 32, body="STOP")

    with web_server(port=port, env={**env, "DATABASE_URL": DEAD_DATABASE}, log_path=tmp_path / "down.log"):
        voice_answer = twilio.post("/webhooks/twilio/voice/", call)
        sms_answer = twilio.post("/webhooks/twilio/sms/", stop)
    kept = redis_client().llen(fallback.SPOOL_KEY)

    with (
        web_server(port=port, env=env, log_path=tmp_path / "back.log"),
        override_settings(WEB_INTERNAL_URL=f"http://127.0.0.1:{port}"),
    ):
        replayed = fallback.replay_spooled()

    assert voice_answer.status_code == 200 and voice_answer.headers["Content-Type"] == "application/xml"
    heard = ElementTree.fromstring(voice_answer.content)
    assert [verb.tag for verb in heard] == ["Say", "Hangup"] and heard[0].text == DEFAULT_FALLBACK_MESSAGE
    assert sms_answer.status_code == 200 and ElementTree.fromstring(sms_answer.content).tag == "Response"
    assert kept == 2 and replayed == 2 and redis_client().llen(fallback.SPOOL_KEY) == 0
    with django_db_blocker.unblock(), tenant_context(committed_alpha.tenant):
        assert OptOut.objects.filter(phone_number=CALLER).exists()  # the STOP counted
        assert Communication.objects.filter(twilio_sid=call["CallSid"], direction="inbound").exists()
    connection.set_schema_to_public()


def test_with_postgresql_and_redis_down_the_request_is_written_to_the_log(
    committed_alpha: TenantSetup, django_db_blocker: DjangoDbBlocker, tmp_path: Path
) -> None:
    port = free_port()
    env = {**platform_environment(port, tmp_path), "DATABASE_URL": DEAD_DATABASE, "REDIS_URL": DEAD_REDIS}
    with django_db_blocker.unblock():
        twilio = Twilio(committed_alpha, port, token_of(committed_alpha))
        stop = sms_params(committed_alpha, to=SENDER, sid="SM" + "6" * 32, body="STOP")

    with web_server(port=port, env=env, log_path=tmp_path / "down.log"):
        answer = twilio.post("/webhooks/twilio/sms/", stop)

    assert answer.status_code == 200 and ElementTree.fromstring(answer.content).tag == "Response"
    events = [json.loads(line) for line in (tmp_path / "down.log").read_text().splitlines() if line.startswith("{")]
    (lost,) = [event for event in events if event["event"] == "inbound_webhook_not_spooled"]
    assert "Body=STOP" in lost["body"] and lost["path"] == "/webhooks/twilio/sms/"
    assert twilio.token not in json.dumps(events)  # nothing secret is logged
