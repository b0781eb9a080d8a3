"""Which configuration a call runs: the number's agent, else the tenant's default agent, else the platform
default; only ever the current tenant's; and inside a transaction always what the database holds (what a
process keeps between calls is test_agent_lookup_kept's)."""

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
from voice.agents.config import platform_default_config
from voice.agents.models import Agent
from voice.agents.tests.support import make_agent

pytestmark = pytest.mark.django_db

NUMBER = "+14155550100"
OTHER_NUMBER = "+14155550111"


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    lookup.forget_kept()
    yield
    lookup.forget_kept()


@pytest.fixture
def redis_unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    nowhere = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.1, socket_timeout=0.1)
    monkeypatch.setattr(freshness, "_redis", lambda: nowhere)
    monkeypatch.setattr(freshness, "_redis_down_until", 0.0)
    yield


def test_the_numbers_agent_then_the_tenants_default_then_the_platform_default(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        assert lookup.agent_config_for_number(phone_number=NUMBER) == platform_default_config()
        assert platform_default_config().agent_id is None and platform_default_config().llm_provider == "fake"

        default = services.agent_create(
            fields={"name": "Default", "system_prompt": "Be helpful."}, created_by="t", make_default=True
        )
        assert lookup.agent_config_for_number(phone_number=NUMBER) == default.config()

        sales = services.agent_create(fields={"name": "Sales", "system_prompt": "Sell."}, created_by="t")
        NumberSettings.objects.create(phone_number=NUMBER, agent=sales)
        NumberSettings.objects.create(phone_number=OTHER_NUMBER)
        assert lookup.agent_config_for_number(phone_number=NUMBER).name == "Sales"
        assert lookup.agent_config_for_number(phone_number=OTHER_NUMBER).name == "Default"

        sales.delete()  # the number's agent is gone: SET_NULL, and the default answers
        assert NumberSettings.objects.get(phone_number=NUMBER).agent is None
        assert lookup.agent_config_for_number(phone_number=NUMBER).name == "Default"


def test_settings_agent_defaults_shape_the_platform_default(alpha: TenantSetup) -> None:
    with override_settings(AGENT_DEFAULTS={"name": "Platform helper", "llm_model": "fake-model-fallback"}):
        with tenant_context(alpha.tenant):
            config = lookup.agent_config_for_number(phone_number=NUMBER)
    assert (config.name, config.llm_model, config.version) == ("Platform helper", "fake-model-fallback", 0)


def test_a_number_setting_change_moves_the_call_to_the_new_agent(alpha: TenantSetup) -> None:
    first, second = make_agent(alpha, name="First"), make_agent(alpha, name="Second")
    with tenant_context(alpha.tenant):
        settings_row = NumberSettings.objects.create(phone_number=NUMBER, agent=first)
        assert lookup.agent_config_for_number(phone_number=NUMBER).name == "First"
        settings_row.agent = second
        settings_row.save()
        assert lookup.agent_config_for_number(phone_number=NUMBER).name == "Second"


def test_a_tenant_never_gets_another_tenants_agent(alpha: TenantSetup, beta: TenantSetup) -> None:
    agent = make_agent(alpha, name="Alpha's secret agent", make_default=True)
    with tenant_context(alpha.tenant):
        NumberSettings.objects.create(phone_number=NUMBER, agent=agent)
        assert lookup.agent_config_for_number(phone_number=NUMBER).name == "Alpha's secret agent"
    with tenant_context(beta.tenant):
        assert lookup.agent_config_for_number(phone_number=NUMBER) == platform_default_config()
        with pytest.raises(Agent.DoesNotExist):
            lookup.agent_config_for_agent(agent_id=agent.pk)
        with pytest.raises(Exception, match="no version"):
            lookup.agent_config_of_version(agent_id=agent.pk, version=1)


def test_inside_a_transaction_nothing_is_kept(
    alpha: TenantSetup, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    agent = make_agent(alpha, make_default=True)
    with tenant_context(alpha.tenant):
        assert lookup.agent_config_for_number(phone_number=NUMBER).greeting == "Hello, Bright Smiles dental."
        Agent.objects.filter(pk=agent.pk).update(greeting="Uncommitted, and perhaps rolled back.")
        with django_assert_num_queries(2):  # the number's settings (none), the default agent
            assert lookup.agent_config_for_number(phone_number=NUMBER).greeting.startswith("Uncommitted")
        assert lookup._kept == {}
