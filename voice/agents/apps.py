from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """AI voice agents: their configuration, versions and the tenant's LLM provider credentials."""

    name = "voice.agents"
    label = "agents"
    verbose_name = "AI agents"

    def ready(self) -> None:
        # Connects the signals that make every process forget kept configurations when agents change.
        from voice.agents import checks, lookup  # noqa: F401
