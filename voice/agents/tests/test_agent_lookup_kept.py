"""What a process keeps between calls (outside transactions, on committed data): a kept lookup reads nothing;
a save shows at once in the process that made it (in every other one: test_agent_config_across_processes); a
change behind the signals shows with the next saved one, or once what was kept is too old; without Redis every
lookup reads the database."""

from collections.abc import Iterator

import pytest
import redis
from django.test.utils import override_settings
from django_tenants.utils import tenant_context
from pytest_django import DjangoAssertNumQueries

from telephony.inbound.models import NumberSettings
from tenants import freshness
from testsupport.tenants import TenantSetup
from voice.agents import lookup, services
from voice.agents.credentials import llm_credentials_for
from voice.agents.llm.types import LLMCredentials
from voice.agents.models import Agent
from voice.agents.tests.support import agent_fields

NUMBER = "+14155550100"
GREETING = "Hello, Bright Smiles dental."


@pytest.fixture
def redis_unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    nowhere = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.1, socket_timeout=0.1)
    monkeypatch.setattr(freshness, "_redis", lambda: nowhere)
    monkeypatch.setattr(freshness, "_redis_down_until", 0.0)
    yield


def default_agent() -> Agent:
    return services.agent_create(fields=agent_fields(), created_by="t", make_default=True)


def test_a_kept_lookup_reads_nothing_and_a_save_in_this_process_shows_at_once(
    alpha_committed: TenantSetup, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with tenant_context(alpha_committed.tenant):
        agent = default_agent()
        assert lookup.agent_config_for_number(phone_number=NUMBER).greeting == GREETING
        lookup.agent_config_for_agent(agent_id=agent.pk)
        with django_assert_num_queries(0):
            assert lookup.agent_config_for_number(phone_number=NUMBER).version == 1
            assert lookup.agent_config_for_agent(agent_id=agent.pk).version == 1

        services.agent_update(agent=agent, fields={"greeting": "Good evening."}, created_by="t")

        config = lookup.agent_config_for_number(phone_number=NUMBER)
        assert (config.greeting, config.version) == ("Good evening.", 2)
        assert lookup.agent_config_for_agent(agent_id=agent.pk).greeting == "Good evening."


def test_a_change_behind_the_signals_waits_for_the_next_saved_one(alpha_committed: TenantSetup) -> None:
    with tenant_context(alpha_committed.tenant), override_settings(AGENT_CONFIG_CHECK_SECONDS=0):
        agent = default_agent()
        lookup.agent_config_for_number(phone_number=NUMBER)
        Agent.objects.filter(pk=agent.pk).update(greeting="Changed behind its back.")  # no signal, no generation
        assert lookup.agent_config_for_number(phone_number=NUMBER).greeting == GREETING

        NumberSettings.objects.create(phone_number="+14155550199")  # a saved change of something it depends on
        assert lookup.agent_config_for_number(phone_number=NUMBER).greeting == "Changed behind its back."


def test_a_change_that_moved_no_generation_shows_once_what_was_kept_is_too_old(
    alpha_committed: TenantSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_context(alpha_committed.tenant):
        agent = default_agent()
        clock = [1000.0]
        monkeypatch.setattr(lookup.time, "monotonic", lambda: clock[0])
        lookup.agent_config_for_number(phone_number=NUMBER)
        Agent.objects.filter(pk=agent.pk).update(greeting="Changed without a signal.")
        clock[0] += freshness.KEEP_SECONDS - 1
        assert lookup.agent_config_for_number(phone_number=NUMBER).greeting == GREETING
        clock[0] += 2
        assert lookup.agent_config_for_number(phone_number=NUMBER).greeting == "Changed without a signal."


def test_without_redis_every_lookup_reads_the_database(
    alpha_committed: TenantSetup, redis_unreachable: None, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with tenant_context(alpha_committed.tenant):
        agent = default_agent()
        assert lookup.agent_config_for_number(phone_number=NUMBER).name == "Front desk"
        Agent.objects.filter(pk=agent.pk).update(name="Renamed")  # no signal, nothing to tell anyone
        with django_assert_num_queries(2):
            assert lookup.agent_config_for_number(phone_number=NUMBER).name == "Renamed"
        assert lookup._kept == {}


def test_a_replaced_key_is_what_the_next_call_gets(alpha_committed: TenantSetup) -> None:
    with tenant_context(alpha_committed.tenant):
        services.provider_credential_save(provider="openai", api_key="sk-first-00000001")
        assert llm_credentials_for(provider="openai") == LLMCredentials(api_key="sk-first-00000001")
        services.provider_credential_save(provider="openai", api_key="sk-second-0000002")
        assert llm_credentials_for(provider="openai") == LLMCredentials(api_key="sk-second-0000002")
