"""Writing agents and provider keys (inside the tenant's schema). Every saved change of an agent is a new
AgentVersion holding its whole configuration; the API and the portal both save through here
(the staff admin only reads)."""

from typing import Any

import structlog
from django.core.exceptions import ValidationError
from django.db import transaction

from config.errors import DomainError
from voice.agents.models import AGENT_FIELDS, Agent, AgentVersion, ProviderCredential

logger = structlog.get_logger(__name__)


class CredentialInUse(DomainError):
    status = 409
    code = "credential-in-use"


class OutboundOnlyAgent(DomainError):
    status = 422
    code = "agent-outbound-only"


def agent_create(*, fields: dict[str, Any], created_by: str, make_default: bool = False) -> Agent:
    """A new agent at version 1; raises ValidationError (field -> messages) for a configuration that is refused."""
    agent = Agent(**_agent_fields(fields))
    with transaction.atomic():
        agent_validate(agent)
        agent.version = 1
        agent.save()
        _record_version(agent, created_by=created_by)
        if make_default:
            agent_make_default(agent=agent)
    return agent


def agent_update(*, agent: Agent, fields: dict[str, Any], created_by: str, is_default: bool | None = None) -> Agent:
    """Applies `fields` and records the result as the next version (nothing is recorded when nothing changed);
    `is_default` True or False makes it the default or stops it being one, with the change or not at all."""
    with transaction.atomic():
        locked = Agent.objects.select_for_update().get(pk=agent.pk)
        for name, value in _agent_fields(fields).items():
            setattr(locked, name, value)
        agent_validate(locked)
        latest = locked.versions.order_by("-number").values_list("config", flat=True).first()
        if latest != version_snapshot(locked):
            locked.version += 1
            locked.save()
            _record_version(locked, created_by=created_by)
        if is_default is True:
            agent_make_default(agent=locked)
        elif is_default is False:
            agent_unset_default(agent=locked)
    return locked


def agent_make_default(*, agent: Agent) -> Agent:
    """Makes `agent` the one that answers numbers naming no agent (the previous default stops being it)."""
    if agent.kind == Agent.Kind.OUTBOUND:
        raise OutboundOnlyAgent(
            f"“{agent.name}” only places calls: the default agent answers them.",
            errors={"is_default": ["An outbound-only agent cannot be the default: make it inbound or both."]},
        )
    with transaction.atomic():
        for previous in Agent.objects.select_for_update().filter(is_default=True).exclude(pk=agent.pk):
            previous.is_default = False
            previous.save(update_fields=["is_default", "updated_at"])
        agent.is_default = True
        agent.save(update_fields=["is_default", "updated_at"])
    return agent


def agent_unset_default(*, agent: Agent) -> Agent:
    """`agent` stops being the default: numbers naming no agent get the platform default."""
    if agent.is_default:
        agent.is_default = False
        agent.save(update_fields=["is_default", "updated_at"])
    return agent


def agent_delete(*, agent: Agent) -> None:
    """Deletes the agent and its versions; its numbers fall back to the default agent. Conversations keep the
    agent's name and the version they ran."""
    agent.delete()


def provider_credential_save(
    *,
    provider: str,
    api_key: str,
    base_url: str = "",
    azure_endpoint: str = "",
    azure_deployment: str = "",
    azure_api_version: str = "",
) -> ProviderCredential:
    """Creates or replaces the tenant's key for `provider` (one per provider)."""
    with transaction.atomic():
        credential = ProviderCredential.objects.select_for_update().filter(provider=provider).first()
        credential = credential or ProviderCredential(provider=provider)
        credential.api_key = api_key
        credential.base_url = base_url
        credential.azure_endpoint = azure_endpoint
        credential.azure_deployment = azure_deployment
        credential.azure_api_version = azure_api_version
        credential.full_clean(validate_unique=False)
        credential.save()
    logger.info("provider_credential_saved", provider=provider, last4=credential.last4)
    return credential


def provider_credential_delete(*, credential: ProviderCredential) -> None:
    """Deletes the key unless an agent still uses its provider (its calls would have no model to talk to)."""
    using = list(Agent.objects.filter(llm_provider=credential.provider).values_list("name", flat=True)[:5])
    if using:
        raise CredentialInUse(
            f"Agents use {credential.get_provider_display()}: {', '.join(using)}. Move them to another provider first.",
            errors={"provider": [f"In use by {', '.join(using)}."]},
        )
    credential.delete()
    logger.info("provider_credential_deleted", provider=credential.provider)


def _agent_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(AGENT_FIELDS)
    if unknown:
        raise ValueError(f"not agent fields: {sorted(unknown)}")
    return fields


def agent_validate(agent: Agent) -> None:
    """The field rules and the agent's own rules (Agent.clean), together, as one ValidationError."""
    errors: dict[str, list[str]] = {}
    try:
        agent.clean_fields(exclude=["version", "is_default"])
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        agent.clean()
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(message for message in messages if message not in errors.get(field, []))
    if errors:
        raise ValidationError(errors)


def version_snapshot(agent: Agent) -> dict[str, Any]:
    """What an AgentVersion keeps: the AgentConfig the agent runs, plus its description and kind, which are not
    part of a call but are part of the agent (AgentConfig.from_snapshot ignores them)."""
    snapshot = agent.config().as_snapshot()
    snapshot.update(description=agent.description, kind=agent.kind)
    return snapshot


def _record_version(agent: Agent, *, created_by: str) -> AgentVersion:
    logger.info("agent_version_saved", agent_id=agent.pk, version=agent.version, by=created_by)
    return AgentVersion.objects.create(
        agent=agent, number=agent.version, config=version_snapshot(agent), created_by=created_by[:200]
    )
