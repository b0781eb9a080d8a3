from django.db.models import QuerySet

from voice.agents.models import Agent, AgentVersion, ProviderCredential


def agent_list() -> QuerySet[Agent]:
    return Agent.objects.order_by("name", "id")


def agent_version_list(*, agent: Agent) -> QuerySet[AgentVersion]:
    return AgentVersion.objects.filter(agent=agent).order_by("-number")


def provider_credential_list() -> QuerySet[ProviderCredential]:
    return ProviderCredential.objects.order_by("provider")
