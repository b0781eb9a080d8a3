"""The relay socket's upgrade: Twilio's signature, the tenant of the host, and nothing of another tenant."""

import json
from typing import Any

import pytest
from django.test import override_settings
from django_tenants.utils import tenant_context
from websockets.exceptions import ConnectionClosed, InvalidStatus

from telephony.registry.models import TwilioAccount
from tenants.models import Tenant
from testsupport.llm import FakeLLM
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from voice.agents.models import Agent
from voice.agents.services import provider_credential_save
from voice.conversations.models import Conversation, ConversationEvent, Turn
from voice.conversations.tests.live_support import (
    Caller,
    RelayServer,
    account_sid,
    auth_token,
    make_agent,
    open_relay,
    placed_call,
)


def refused_status(server: RelayServer, setup: TenantSetup, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        open_relay(server, setup, **kwargs).close()  # type: ignore[arg-type]
    return refused.value.response.status_code


def test_an_upgrade_without_a_valid_signature_is_refused(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer
) -> None:
    alpha, beta = live_pair

    assert refused_status(relay_server, alpha, token=None) == 403
    assert refused_status(relay_server, alpha, token="not-the-auth-token") == 403
    # beta's token is a real one, for another tenant
    assert refused_status(relay_server, alpha, token=auth_token(beta)) == 403
    # signed for another URL (beta's socket) and replayed on alpha's host
    assert refused_status(relay_server, alpha, token=auth_token(alpha), url=relay_server.socket_url(beta)) == 403
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        ws.ping().wait(5)  # the properly signed one is accepted


def test_an_unknown_host_and_a_suspended_tenant_are_refused(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer
) -> None:
    alpha, _ = live_pair
    assert refused_status(relay_server, alpha, token=auth_token(alpha), host="nobody.localhost") == 404
    Tenant.objects.filter(pk=alpha.tenant.pk).update(status=Tenant.Status.SUSPENDED)
    try:
        assert refused_status(relay_server, alpha, token=auth_token(alpha)) == 423
    finally:
        Tenant.objects.filter(pk=alpha.tenant.pk).update(status=Tenant.Status.ACTIVE)


def test_a_tenant_without_an_active_account_refuses_a_signature_made_with_an_empty_token(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer
) -> None:
    """Live mode's platform token is empty: an upgrade signed with "" is one anybody can compute."""
    alpha, _ = live_pair
    account = TwilioAccount.objects.get(tenant=alpha.tenant)
    account.status = TwilioAccount.Status.INVALID
    account.save(update_fields=["status"])  # moves the tenant's generation: the kept token is read again
    try:
        with override_settings(TWILIO_AUTH_TOKEN=""):
            assert refused_status(relay_server, alpha, token="") == 403
    finally:
        account.status = TwilioAccount.Status.ACTIVE
        account.save(update_fields=["status"])


def closed_code(caller: Caller) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        caller.next(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_setup_naming_another_twilio_account_is_closed_and_nothing_is_recorded(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer
) -> None:
    alpha, beta = live_pair
    make_agent(alpha, make_default=True)
    with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
        caller = Caller(ws, account_sid=account_sid(beta))
        caller.setup(call_sid="CA" + "c" * 32, to=SENDER)
        assert closed_code(caller) == 1008
    with tenant_context(alpha.tenant):
        assert not Conversation.objects.exists()


def test_a_setup_naming_a_conversation_placed_for_another_call_does_not_continue_it(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: object
) -> None:
    alpha, _ = live_pair
    agent = make_agent(alpha, make_default=True, greeting="")
    with tenant_context(alpha.tenant):
        placed = Conversation.objects.create(
            direction="outbound", agent_id=agent.pk, customer_number="+14155550199", agent_number=SENDER
        )
    placed_call(alpha, conversation=placed, sid="CA" + "1" * 32)
    try:
        with open_relay(relay_server, alpha, token=auth_token(alpha)) as ws:
            caller = Caller(ws, account_sid=account_sid(alpha))
            caller.setup(
                call_sid="CA" + "2" * 32,
                to=SENDER,
                parameters={"conversation_id": str(placed.pk), "direction": "outbound"},
            )
            caller.say("hello")
            caller.reply()
        with tenant_context(alpha.tenant):
            placed.refresh_from_db()
            assert (placed.call_sid, placed.status) == ("", Conversation.Status.LIVE)
            assert not ConversationEvent.objects.filter(conversation=placed).exists()
            other = Conversation.objects.exclude(pk=placed.pk).get()
            assert other.call_sid == "CA" + "2" * 32
    finally:
        with tenant_context(alpha.tenant):
            placed.delete()  # never answered: it would keep the test's teardown waiting for its end


def openai_agent(setup: TenantSetup, lane: FakeLLM, **fields: Any) -> Agent:
    """An agent on provider openai, whose key (the tenant's ProviderCredential) leads to the tenant's own lane."""
    credentials = lane.credentials("openai")
    with tenant_context(setup.tenant):
        provider_credential_save(provider="openai", api_key=credentials.api_key, base_url=credentials.base_url)
    return make_agent(setup, llm_provider="openai", llm_model="gpt-4.1-mini", llm_fallback_model="", **fields)


def test_a_socket_on_alphas_host_never_reads_betas_agents_keys_or_conversations(
    live_pair: tuple[TenantSetup, TenantSetup], relay_server: RelayServer, fake_llm: FakeLLM
) -> None:
    alpha, beta = live_pair
    alpha_lane, beta_lane = fake_llm.new_lane(), fake_llm.new_lane()
    alpha_agent = openai_agent(alpha, alpha_lane, make_default=True, name="Alpha desk", system_prompt="ALPHA")
    make_agent(beta, name="Beta spare")  # beta's agent gets an id alpha has no agent by
    beta_agent = openai_agent(beta, beta_lane, make_default=True, name="Beta desk", system_prompt="BETA")
    with tenant_context(alpha.tenant):
        assert not Agent.objects.filter(pk=beta_agent.pk).exists()
    # Both sockets live at once, so their thread-pool hops interleave; alpha's names beta's agent id.
    with (
        open_relay(relay_server, alpha, token=auth_token(alpha)) as alpha_ws,
        open_relay(relay_server, beta, token=auth_token(beta)) as beta_ws,
    ):
        on_alpha = Caller(alpha_ws, account_sid=account_sid(alpha))
        on_beta = Caller(beta_ws, account_sid=account_sid(beta))
        on_alpha.setup(
            call_sid="CA" + "a" * 32, to=SENDER, parameters={"agentId": str(beta_agent.pk), "agentVersion": "1"}
        )
        on_beta.setup(call_sid="CA" + "b" * 32, to=SENDER)
        for round_ in range(3):
            on_alpha.say(f"alpha question {round_}")
            on_beta.say(f"beta question {round_}")
            alpha_heard, _ = on_alpha.reply()
            beta_heard, _ = on_beta.reply()
            assert alpha_heard == f"You said: alpha question {round_}"
            assert beta_heard == f"You said: beta question {round_}"

    # Each tenant's key led to its own lane, and each lane saw only its own tenant's prompt and words.
    alpha_bodies, beta_bodies = alpha_lane.bodies(), beta_lane.bodies()
    assert len(alpha_bodies) == 3 and len(beta_bodies) == 3
    assert all(body["messages"][0]["content"].startswith("ALPHA") for body in alpha_bodies)
    assert all(body["messages"][0]["content"].startswith("BETA") for body in beta_bodies)
    assert "beta" not in json.dumps(alpha_bodies) and "alpha" not in json.dumps(beta_bodies)
    assert fake_llm.bodies() == []  # the platform's fake key was never used
    with tenant_context(alpha.tenant):
        conversation = Conversation.objects.get()
        assert conversation.call_sid == "CA" + "a" * 32
        assert (conversation.agent_id, conversation.agent_name) == (alpha_agent.pk, "Alpha desk")
        assert all("beta" not in turn.content for turn in Turn.objects.all())
    with tenant_context(beta.tenant):
        assert list(Conversation.objects.values_list("call_sid", flat=True)) == ["CA" + "b" * 32]
        assert all("alpha" not in turn.content for turn in Turn.objects.all())
