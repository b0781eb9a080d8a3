import xml.etree.ElementTree as ET

import pytest
from django_tenants.utils import tenant_context

from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.tenants import TenantSetup
from voice.models import VoiceMessage

pytestmark = pytest.mark.django_db

URL = "/api/v1/voice-messages/"


def create(client, **fields):
    payload = {"name": "Reminder", "template_text": "Hi {name}, see you at {time}~SSML~time.", **fields}
    return client.post(URL, payload, format="json")


def test_create_get_update_and_list(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)

    created = create(
        client,
        voice="Polly.Matthew-Neural",
        language="en-GB",
        rate="slow",
        message_type="reminder",
        settings={"channel": "ivr"},
        voice_age="adult",
        tropo_voice="Vanessa",
    )
    message_id = created.json()["id"]
    full = client.put(f"{URL}{message_id}/", {"name": "Reminder v2", "template_text": "Bye {name}"}, format="json")
    partial = client.patch(f"{URL}{message_id}/", {"is_active": False}, format="json")

    assert created.status_code == 201
    assert created.json()["variables"] == ["name", "time"]
    assert (created.json()["voice_age"], created.json()["tropo_voice"]) == ("adult", "Vanessa")
    assert full.status_code == 200 and full.json()["name"] == "Reminder v2"
    assert partial.json()["is_active"] is False and partial.json()["template_text"] == "Bye {name}"
    assert client.get(f"{URL}{message_id}/").json()["variables"] == ["name"]


def test_list_filters_and_search(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    create(client, name="Welcome", template_text="Welcome to the clinic", message_type="greeting")
    create(client, name="Payment", template_text="You owe {amount}~SSML~currency", message_type="reminder")
    create(client, name="Old", template_text="Retired greeting", message_type="greeting", is_active=False)

    def names(**params):
        return [item["name"] for item in client.get(URL, params).json()["results"]]

    assert names() == ["Old", "Payment", "Welcome"]
    assert names(type="greeting") == ["Old", "Welcome"]
    assert names(type="greeting", active="true") == ["Welcome"]
    assert names(search="owe") == ["Payment"]
    assert names(search="GREETING") == ["Old"]
    assert client.get(URL, {"type": "nonsense"}).status_code == 400


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"voice": "Polly.Nobody"}, "voice"),
        ({"language": "english"}, "language"),
        ({"rate": "warp"}, "rate"),
        ({"template_text": "{amount}~SSML~money"}, "template_text"),
        ({"template_text": "x" * 10_001}, "template_text"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_fields_are_named(alpha: TenantSetup, fields: dict, bad_field: str) -> None:
    response = create(alpha.client(alpha.admin_key), **fields)
    assert response.status_code == 400
    assert bad_field in response.json()["errors"]


def test_names_are_unique_among_live_messages(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    create(client)
    again = create(client)
    assert again.status_code == 400
    assert "already exists" in again.json()["errors"]["name"][0]


def test_soft_delete_restore_and_hard_delete(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    message_id = create(client).json()["id"]

    assert client.delete(f"{URL}{message_id}/").status_code == 204
    assert client.get(f"{URL}{message_id}/").status_code == 404
    assert [m["id"] for m in client.get(URL, {"deleted": "true"}).json()["results"]] == [message_id]
    with tenant_context(alpha.tenant):
        assert VoiceMessage.objects.filter(pk=message_id).exists()

    restored = client.post(f"{URL}{message_id}/restore/")
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None

    assert client.delete(f"{URL}{message_id}/?hard=true").status_code == 204
    with tenant_context(alpha.tenant):
        assert not VoiceMessage.objects.filter(pk=message_id).exists()


def test_restore_refuses_a_name_taken_meanwhile(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    old_id = create(client).json()["id"]
    client.delete(f"{URL}{old_id}/")
    create(client)

    response = client.post(f"{URL}{old_id}/restore/")
    assert response.status_code == 400
    assert "rename" in response.json()["errors"]["name"][0]


def test_duplicate_never_clashes(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    original = create(client, name="Welcome").json()

    names = [client.post(f"{URL}{original['id']}/duplicate/").json()["name"] for _ in range(3)]

    assert names == ["Copy of Welcome", "Copy of Welcome (2)", "Copy of Welcome (3)"]
    copy = client.get(URL, {"search": "Copy of Welcome (3)"}).json()["results"][0]
    assert copy["template_text"] == original["template_text"] and copy["voice"] == original["voice"]


def test_render_strict_and_lenient(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    message_id = create(client, template_text="Hi {name}, you owe {amount}~SSML~currency.").json()["id"]

    strict = client.post(f"{URL}{message_id}/render/", {"variables": {"name": "Ann"}}, format="json")
    lenient = client.post(
        f"{URL}{message_id}/render/", {"variables": {"name": "Ann"}, "mode": "lenient"}, format="json"
    )
    full = client.post(f"{URL}{message_id}/render/", {"variables": {"name": "<b>", "amount": 9.5}}, format="json")

    assert strict.status_code == 422
    assert strict.json()["errors"]["variables"] == ["Missing value for 'amount'."]
    assert lenient.status_code == 200 and lenient.json()["missing_variables"] == ["amount"]
    assert full.status_code == 200
    say = ET.fromstring(full.json()["twiml"]).find("Say")
    assert say is not None
    assert "".join(say.itertext()) == "Hi <b>, you owe 9.5."
    assert full.json()["variables"] == ["name", "amount"]


def test_variables_endpoint(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    message_id = create(client, template_text="{a} {MP3~intro} {b}~SSML~digits {a}").json()["id"]

    assert client.get(f"{URL}{message_id}/variables/").json() == {"variables": ["a", "b"], "audio_files": ["intro"]}


def test_viewer_reads_operator_writes(alpha: TenantSetup) -> None:
    _, viewer = api_key_create(tenant=alpha.tenant, name="v", role=Role.VIEWER)
    _, operator = api_key_create(tenant=alpha.tenant, name="o", role=Role.OPERATOR)
    message_id = create(alpha.client(operator)).json()["id"]

    assert alpha.client(viewer).get(f"{URL}{message_id}/").status_code == 200
    assert create(alpha.client(viewer), name="Nope").status_code == 403
    assert alpha.client(viewer).delete(f"{URL}{message_id}/").status_code == 403
    assert alpha.client(viewer).post(f"{URL}{message_id}/duplicate/").status_code == 403


def test_messages_are_invisible_to_other_tenants(alpha: TenantSetup, beta: TenantSetup) -> None:
    message_id = create(alpha.client(alpha.admin_key), name="Alpha secret").json()["id"]
    beta_client = beta.client(beta.admin_key)

    assert beta_client.get(f"{URL}{message_id}/").status_code == 404
    assert "Alpha secret" not in str(beta_client.get(URL).json())
    assert beta_client.post(f"{URL}{message_id}/render/", {}, format="json").status_code == 404
