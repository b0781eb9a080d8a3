import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context
from twilio.rest import Client

from sandbox.twilio import SandboxHttpClient, SandboxServer
from telephony import demo
from telephony.inbound.models import CallFlow, NumberSettings
from telephony.models import SenderNumber
from telephony.registry.models import TwilioAccount
from tenants.db import connection
from testsupport.tenants import TenantSetup
from testsupport.twilio import release_number
from voice.agents.models import Agent
from voice.management.commands.seed_demo import DEMO_SENDER
from voice.models import VoiceMessage

pytestmark = pytest.mark.django_db

URL = "/api/v1/voice-messages/"
DEMO_NAMES = ["Appointment Reminder", "Payment Due Notice", "Welcome Message"]


@pytest.fixture(autouse=True)
def demo_number_for_sale(twilio_sandbox: SandboxServer) -> None:
    # Each test's tenant gets a new subaccount; an earlier test's may still hold the number.
    release_number(DEMO_SENDER)


def seed(slug: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--tenant", slug, stdout=out)
    return out.getvalue()


def message_id(setup: TenantSetup, name: str) -> int:
    results = setup.client(setup.admin_key).get(URL, {"search": name}).json()["results"]
    return next(item["id"] for item in results if item["name"] == name)


def test_seeded_payment_notice_renders_say_as(alpha: TenantSetup) -> None:
    seed("alpha")
    client = alpha.client(alpha.admin_key)
    payment_id = message_id(alpha, "Payment Due Notice")

    response = client.post(
        f"{URL}{payment_id}/render/", {"variables": {"amount": "$42.50", "phone_number": "+14155552671"}}, format="json"
    )

    assert response.status_code == 200, response.json()
    twiml = ET.fromstring(response.json()["twiml"])
    say_as = [(element.get("interpret-as"), element.text) for element in twiml.iter("say-as")]
    assert say_as == [("currency", "$42.50"), ("telephone", "+14155552671")]


def test_seeded_messages_and_their_variables(alpha: TenantSetup) -> None:
    out = seed("alpha")
    client = alpha.client(alpha.admin_key)

    listing = client.get(URL).json()["results"]
    reminder = client.get(f"{URL}{message_id(alpha, 'Appointment Reminder')}/variables/").json()

    assert out.splitlines() == [
        "created: Welcome Message",
        "created: Appointment Reminder",
        "created: Payment Due Notice",
        "default sender: +15005550006 (verified)",
        "inbound: +15005550006 answers with the demo menu",
    ]
    with tenant_context(alpha.tenant):
        sender = SenderNumber.objects.get(is_default=True)
    connection.set_schema_to_public()
    assert (sender.phone_number, sender.status) == ("+15005550006", "verified") and sender.twilio_sid.startswith("PN")
    assert [(item["name"], item["message_type"]) for item in listing] == [
        ("Appointment Reminder", "reminder"),
        ("Payment Due Notice", "notification"),
        ("Welcome Message", "greeting"),
    ]
    assert reminder == {"variables": ["patient_name", "appointment_date", "appointment_time"], "audio_files": []}
    twiml = client.post(
        f"{URL}{message_id(alpha, 'Appointment Reminder')}/render/",
        {"variables": {"patient_name": "Ann", "appointment_date": "2025-05-01", "appointment_time": "14:30"}},
        format="json",
    ).json()["twiml"]
    assert [e.get("interpret-as") for e in ET.fromstring(twiml).iter("say-as")] == ["date", "time"]


def test_seeding_twice_keeps_three_messages_and_the_number(alpha: TenantSetup, beta: TenantSetup) -> None:
    seed("alpha")
    with tenant_context(alpha.tenant):
        first = list(VoiceMessage.objects.order_by("name").values_list("id", "name", "updated_at"))
        bought = SenderNumber.objects.get(phone_number=DEMO_SENDER).twilio_sid
    connection.set_schema_to_public()

    out = seed("alpha")

    with tenant_context(alpha.tenant):
        assert list(VoiceMessage.objects.order_by("name").values_list("id", "name", "updated_at")) == first
        assert SenderNumber.objects.get(phone_number=DEMO_SENDER).twilio_sid == bought  # not bought again
    with tenant_context(beta.tenant):
        assert not VoiceMessage.objects.exists()
    connection.set_schema_to_public()
    assert [name for _, name, _ in first] == DEMO_NAMES
    assert out.splitlines() == [
        "kept: Welcome Message",
        "kept: Appointment Reminder",
        "kept: Payment Due Notice",
        "default sender: +15005550006 (verified)",
        "inbound: +15005550006 answers with the demo menu",
    ]


def test_a_restarted_sandbox_gives_the_demo_a_new_subaccount(alpha: TenantSetup) -> None:
    # The sandbox keeps its state in memory: after a restart it knows no subaccount of an earlier run.
    TwilioAccount.objects.filter(tenant=alpha.tenant).update(
        status=TwilioAccount.Status.ACTIVE, account_sid="AC" + "e" * 32, auth_token="forgotten"
    )

    out = seed("alpha")

    account = TwilioAccount.objects.get(tenant=alpha.tenant)
    assert account.is_usable and account.account_sid != "AC" + "e" * 32
    assert out.splitlines()[-2:] == [
        "default sender: +15005550006 (verified)",
        "inbound: +15005550006 answers with the demo menu",
    ]


def test_unknown_tenant_is_refused(alpha: TenantSetup) -> None:
    with pytest.raises(CommandError, match="No tenant with the slug 'nobody'"):
        seed("nobody")


def test_without_the_sandbox_seeding_says_what_to_do(
    alpha: TenantSetup, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "SANDBOX_WAIT_SECONDS", 0)
    settings.TWILIO_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens there

    with pytest.raises(CommandError, match="does not answer .* Start it with `manage.py run_sandbox`"):
        seed("alpha")


def test_with_live_twilio_nothing_is_bought_and_a_worker_checks_the_number(alpha: TenantSetup, settings: Any) -> None:
    settings.TWILIO_MODE = "live"

    out = seed("alpha")

    assert out.splitlines()[-2] == "default sender: +15005550006 (pending)"


def test_the_demo_number_answers_calls_with_the_demo_menu_once_seeded(
    alpha: TenantSetup, twilio_sandbox: SandboxServer
) -> None:
    out = seed("alpha")
    seed("alpha")  # again: nothing is made twice

    with tenant_context(alpha.tenant):
        menus = list(CallFlow.objects.filter(name="Demo menu"))
        number_settings = NumberSettings.objects.get(phone_number=DEMO_SENDER)
    connection.set_schema_to_public()
    owned = requests.get(f"{twilio_sandbox.base_url}/sandbox/numbers", params={"phone_number": DEMO_SENDER}, timeout=10)
    (held,) = owned.json()["numbers"]
    master = Client(
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=SandboxHttpClient(twilio_sandbox.base_url)
    )
    number = master.api.v2010.accounts(held["account_sid"]).incoming_phone_numbers(held["sid"]).fetch()
    assert f"inbound: {DEMO_SENDER} answers with the demo menu" in out
    assert len(menus) == 1 and number_settings.call_flow_id == menus[0].pk
    assert sorted(menus[0].options) == ["1", "2", "3"]
    with tenant_context(alpha.tenant):
        assistant_flow = CallFlow.objects.get(pk=menus[0].options["3"])
        (assistant,) = Agent.objects.all()
    assert (assistant_flow.kind, assistant.name, assistant.is_default) == ("agent", "Demo assistant", True)
    assert number.voice_url == f"http://{alpha.host}:8000/webhooks/twilio/voice/"
    assert number.sms_url == f"http://{alpha.host}:8000/webhooks/twilio/sms/"
