"""/api/v1/agents/ and /api/v1/provider-credentials/: CRUD, versions, the default, field errors as problem+json,
roles, keys that never come back, and each tenant's own."""

import logging
from typing import Any

import pytest
from django.db import connection as raw_connection
from django_tenants.utils import tenant_context

from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from voice.agents import lookup
from voice.agents.models import Agent, AgentVersion
from voice.agents.tests.support import agent_fields, make_agent

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk-live-THISISSECRET-9f3a"


def key_with(setup: TenantSetup, role: Role) -> str:
    _, raw = api_key_create(tenant=setup.tenant, name=f"{role} key", role=role, created_by="test")
    return raw


def post_agent(setup: TenantSetup, **overrides: Any) -> Any:
    return setup.client(setup.admin_key).post("/api/v1/agents/", agent_fields(**overrides), format="json")


def test_an_admin_creates_changes_lists_and_deletes_an_agent(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    created = post_agent(alpha, transfer_numbers=["+1 415 555 0100"], hints=["Bright Smiles"])
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["version"], body["transfer_numbers"], body["is_default"]) == (1, ["+14155550100"], False)

    changed = client.patch(f"/api/v1/agents/{body['id']}/", {"greeting": "Hi.", "temperature": 1.2}, format="json")
    assert changed.status_code == 200 and (changed.json()["version"], changed.json()["greeting"]) == (2, "Hi.")

    listed = client.get("/api/v1/agents/").json()
    assert [agent["name"] for agent in listed["results"]] == ["Front desk"]
    assert listed["pagination"]["total_items"] == 1

    assert client.delete(f"/api/v1/agents/{body['id']}/").status_code == 204
    assert client.get(f"/api/v1/agents/{body['id']}/").status_code == 404


def test_versions_are_listed_newest_first_with_their_whole_configuration(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    agent_id = post_agent(alpha, greeting="One.").json()["id"]
    client.patch(f"/api/v1/agents/{agent_id}/", {"greeting": "Two."}, format="json")

    versions = client.get(f"/api/v1/agents/{agent_id}/versions/").json()
    assert [(version["number"], version["created_by"]) for version in versions["results"]] == [
        (2, f"api-key:{alpha.admin_key[:11]}"),
        (1, f"api-key:{alpha.admin_key[:11]}"),
    ]
    first = client.get(f"/api/v1/agents/{agent_id}/versions/1/").json()
    assert (first["number"], first["config"]["greeting"], first["config"]["version"]) == (1, "One.", 1)
    assert client.get(f"/api/v1/agents/{agent_id}/versions/3/").status_code == 404


def test_making_an_agent_the_default_moves_the_default(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    first = post_agent(alpha, name="First", is_default=True).json()
    second = post_agent(alpha, name="Second").json()
    assert first["is_default"] is True

    made = client.post(f"/api/v1/agents/{second['id']}/make-default/")
    assert made.status_code == 200 and made.json()["is_default"] is True
    assert client.get(f"/api/v1/agents/{first['id']}/").json()["is_default"] is False

    client.patch(f"/api/v1/agents/{second['id']}/", {"is_default": False}, format="json")
    with tenant_context(alpha.tenant):
        assert not Agent.objects.filter(is_default=True).exists()

    refused = client.patch(
        f"/api/v1/agents/{first['id']}/", {"kind": "outbound", "greeting": "New", "is_default": True}, format="json"
    )
    assert refused.status_code == 422 and list(refused.json()["errors"]) == ["is_default"]
    assert client.get(f"/api/v1/agents/{first['id']}/").json()["greeting"] == "Hello, Bright Smiles dental."


def test_a_bad_agent_gets_problem_json_with_every_field_error_and_nothing_is_saved(alpha: TenantSetup) -> None:
    response = post_agent(
        alpha,
        temperature=3,
        max_tokens=0,
        max_duration_seconds=30,
        speech_model="whisper",
        transfer_numbers=["12"],
        llm_provider="openai",
        llm_model="gpt-4.1-mini",
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert set(errors) == {
        "temperature",
        "max_tokens",
        "max_duration_seconds",
        "speech_model",
        "transfer_numbers",
        "llm_provider",
    }
    assert errors["temperature"] == ["Between 0 and 2."]
    assert post_agent(alpha, tts_provider="Acme").json()["errors"] == {
        "tts_provider": ['"Acme" is not a valid choice.']
    }
    with tenant_context(alpha.tenant):
        assert not Agent.objects.exists()

    response = post_agent(alpha, transfer_numbers=["12"], llm_provider="openai", llm_model="gpt-4.1-mini")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"transfer_numbers", "llm_provider"}


def test_a_change_that_is_refused_leaves_the_agent_as_it_was(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    agent_id = post_agent(alpha).json()["id"]
    response = client.patch(f"/api/v1/agents/{agent_id}/", {"greeting": "X", "max_tokens": 4001}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["max_tokens"]
    assert client.get(f"/api/v1/agents/{agent_id}/").json()["version"] == 1


def test_a_key_is_stored_encrypted_and_only_its_last_four_ever_come_back(
    alpha: TenantSetup, caplog: pytest.LogCaptureFixture
) -> None:
    client = alpha.client(alpha.admin_key)
    caplog.set_level(logging.DEBUG)
    created = client.post("/api/v1/provider-credentials/", {"provider": "openai", "api_key": SECRET_KEY}, format="json")
    assert created.status_code == 201
    listed = client.get("/api/v1/provider-credentials/")
    one = client.get("/api/v1/provider-credentials/openai/")
    schema = client.get("/api/schema/")

    for response in (created, listed, one):
        assert SECRET_KEY not in response.content.decode() and "THISISSECRET" not in response.content.decode()
    assert listed.json()["results"][0] | {"created_at": None, "updated_at": None} == {
        "provider": "openai",
        "last4": "9f3a",
        "base_url": "",
        "azure_endpoint": "",
        "azure_deployment": "",
        "azure_api_version": "",
        "created_at": None,
        "updated_at": None,
    }
    assert schema.status_code == 200
    assert "provider_credential_saved" in caplog.text and "9f3a" in caplog.text  # logged, the key's end only
    assert "THISISSECRET" not in caplog.text

    with tenant_context(alpha.tenant), raw_connection.cursor() as cursor:
        cursor.execute("SELECT api_key, last4 FROM agents_providercredential WHERE provider = 'openai'")
        stored, last4 = cursor.fetchone()
    assert last4 == "9f3a" and "THISISSECRET" not in stored and stored.startswith("gAAAAA")  # a Fernet token


def test_posting_a_key_again_replaces_it_and_a_key_in_use_cannot_be_deleted(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    client.post("/api/v1/provider-credentials/", {"provider": "anthropic", "api_key": "sk-ant-old-0001"}, format="json")
    replaced = client.post(
        "/api/v1/provider-credentials/", {"provider": "anthropic", "api_key": "sk-ant-new-0002"}, format="json"
    )
    assert replaced.status_code == 201 and replaced.json()["last4"] == "0002"
    assert client.get("/api/v1/provider-credentials/").json()["pagination"]["total_items"] == 1
    put = client.put("/api/v1/provider-credentials/anthropic/", {"api_key": "sk-ant-put-0003"}, format="json")
    assert put.status_code == 200 and put.json()["last4"] == "0003"

    assert post_agent(alpha, llm_provider="anthropic", llm_model="claude-haiku-4-5").status_code == 201
    refused = client.delete("/api/v1/provider-credentials/anthropic/")
    assert refused.status_code == 409 and "Front desk" in refused.json()["detail"]

    client.patch(
        f"/api/v1/agents/{client.get('/api/v1/agents/').json()['results'][0]['id']}/",
        {"llm_provider": "fake", "llm_model": "fake-model"},
        format="json",
    )
    assert client.delete("/api/v1/provider-credentials/anthropic/").status_code == 204


def test_a_bad_key_or_incomplete_azure_key_gets_field_errors(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    short = client.post("/api/v1/provider-credentials/", {"provider": "openai", "api_key": "abc"}, format="json")
    azure = client.post(
        "/api/v1/provider-credentials/",
        {"provider": "azure", "api_key": "azure-key-123456", "azure_api_version": "latest"},
        format="json",
    )
    unknown = client.post("/api/v1/provider-credentials/", {"provider": "acme", "api_key": "x" * 20}, format="json")
    plain_http = client.post(
        "/api/v1/provider-credentials/",
        {"provider": "openai", "api_key": "sk-0123456789", "base_url": "http://proxy.example.com/v1"},
        format="json",
    )

    assert list(short.json()["errors"]) == ["api_key"]
    assert set(azure.json()["errors"]) == {"azure_endpoint", "azure_deployment", "azure_api_version"}
    assert list(unknown.json()["errors"]) == ["provider"]
    assert plain_http.json()["errors"] == {"base_url": ["Use an https:// address: the key is sent with every request."]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/agents/", agent_fields()),
        ("post", "/api/v1/provider-credentials/", {"provider": "openai", "api_key": SECRET_KEY}),
        ("get", "/api/v1/provider-credentials/", None),
    ],
)
def test_only_admins_change_agents_and_see_keys(alpha: TenantSetup, method: str, path: str, body: Any) -> None:
    response = getattr(alpha.client(key_with(alpha, Role.OPERATOR)), method)(path, body, format="json")
    assert response.status_code == 403


def test_a_viewer_reads_agents(alpha: TenantSetup) -> None:
    make_agent(alpha)
    response = alpha.client(key_with(alpha, Role.VIEWER)).get("/api/v1/agents/")
    assert response.status_code == 200 and response.json()["results"][0]["name"] == "Front desk"


def test_another_tenant_never_sees_the_agents_versions_or_keys(alpha: TenantSetup, beta: TenantSetup) -> None:
    agent = make_agent(alpha, name="Alpha only")
    alpha.client(alpha.admin_key).post(
        "/api/v1/provider-credentials/", {"provider": "openai", "api_key": SECRET_KEY}, format="json"
    )
    client = beta.client(beta.admin_key)

    assert client.get("/api/v1/agents/").json()["results"] == []
    for path in (
        f"/api/v1/agents/{agent.pk}/",
        f"/api/v1/agents/{agent.pk}/versions/",
        f"/api/v1/agents/{agent.pk}/versions/1/",
        "/api/v1/provider-credentials/openai/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.patch(f"/api/v1/agents/{agent.pk}/", {"name": "Taken"}, format="json").status_code == 404
    assert client.delete(f"/api/v1/agents/{agent.pk}/").status_code == 404
    assert client.post(f"/api/v1/agents/{agent.pk}/make-default/").status_code == 404
    assert client.get("/api/v1/provider-credentials/").json()["results"] == []
    # beta has no OpenAI key of its own: alpha's does not count
    refused = post_agent(beta, llm_provider="openai", llm_model="gpt-4.1-mini")
    assert list(refused.json()["errors"]) == ["llm_provider"]
    # and alpha's key from alpha's own host is where it is
    assert alpha.client(beta.admin_key).get("/api/v1/agents/").status_code in (401, 403)
    with tenant_context(alpha.tenant):
        assert Agent.objects.get(pk=agent.pk).name == "Alpha only"
        assert AgentVersion.objects.filter(agent=agent).count() == 1


def test_a_number_points_at_an_agent_of_its_own_tenant_only(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    agent_id = post_agent(alpha_on_twilio, name="Sales line").json()["id"]
    with tenant_context(alpha_on_twilio.tenant):
        alpha_ids = set(Agent.objects.values_list("pk", flat=True))
    beta_agent = make_agent(beta, name="Beta's agent")
    while beta_agent.pk in alpha_ids:  # each schema numbers its own rows: find one alpha has no agent with
        beta_agent = make_agent(beta, name="Beta's agent")

    pointed = client.post("/api/v1/number-settings/", {"phone_number": SENDER, "agent": agent_id}, format="json")
    foreign = client.patch(f"/api/v1/number-settings/{pointed.json()['id']}/", {"agent": beta_agent.pk}, format="json")

    outbound_id = post_agent(alpha_on_twilio, name="Dialer", kind="outbound").json()["id"]
    outbound = client.patch(f"/api/v1/number-settings/{pointed.json()['id']}/", {"agent": outbound_id}, format="json")
    default = client.post(f"/api/v1/agents/{outbound_id}/make-default/")

    assert pointed.status_code == 201 and pointed.json()["agent"] == agent_id
    assert outbound.status_code == 400 and list(outbound.json()["errors"]) == ["agent"]
    assert default.status_code == 422 and list(default.json()["errors"]) == ["is_default"]
    assert foreign.status_code == 400 and list(foreign.json()["errors"]) == ["agent"]
    with tenant_context(alpha_on_twilio.tenant):
        assert lookup.agent_config_for_number(phone_number=SENDER).name == "Sales line"
