"""What the agents tests share: a valid agent's fields and agents made in a tenant's schema."""

from typing import Any

from django_tenants.utils import tenant_context

from testsupport.tenants import TenantSetup
from voice.agents import services
from voice.agents.models import Agent


def agent_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Front desk",
        "system_prompt": "You answer the phone for a dental practice.",
        "greeting": "Hello, Bright Smiles dental.",
        "llm_provider": "fake",
        "llm_model": "fake-model",
    }
    fields.update(overrides)
    return fields


def make_agent(setup: TenantSetup, *, make_default: bool = False, **overrides: Any) -> Agent:
    with tenant_context(setup.tenant):
        return services.agent_create(fields=agent_fields(**overrides), created_by="test", make_default=make_default)
