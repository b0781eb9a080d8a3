"""System checks of the agents' settings: a deployment without the fake LLM needs a real platform default."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from voice.agents.config import platform_default_values
from voice.agents.models import KEYLESS_PROVIDERS


@register()
def platform_default_provider_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    provider = platform_default_values()["llm_provider"]
    if provider in KEYLESS_PROVIDERS and not settings.LLM_FAKE_ENABLED:
        return [
            Error(
                f"AGENT_DEFAULTS names the fake LLM ({provider!r}) but LLM_FAKE_ENABLED is off.",
                hint="Set AGENT_DEFAULT_LLM_PROVIDER (and AGENT_DEFAULT_LLM_MODEL) to a real provider, "
                "e.g. openai and gpt-4.1-mini.",
                id="agents.E001",
            )
        ]
    return []
