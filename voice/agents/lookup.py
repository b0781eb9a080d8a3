"""Which configuration a call runs with, read on the call path and kept in each process's memory.

A process keeps what it read per tenant schema, filed under the tenant's generation (tenants.freshness: a
Redis counter that every committed save or delete of an agent, a provider key or a number's settings moves).
Reading Redis for every lookup would cost more than the lookup it saves, so a process rereads the generation
at most every AGENT_CONFIG_CHECK_SECONDS; between those reads a lookup is a dictionary read. A change is
therefore in use in every process within AGENT_CONFIG_CHECK_SECONDS of its commit (measured by
bench/agent_config_lookup.py), and in the process that made it at once.

Nothing read inside a transaction is kept: what it reads may be its own uncommitted writes, or be rolled back
(the call path runs in autocommit; a test runs in a transaction that is rolled back, so tests never see what
an earlier test kept). When Redis cannot be reached nothing is kept either: every lookup reads the database
(freshness retries Redis later).
A change that could not move the generation, or that bypassed model signals (QuerySet.update), shows within
tenants.freshness.KEEP_SECONDS, when what was kept is dropped whatever the generation says.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from telephony.inbound.models import NumberSettings
from tenants.db import current_schema
from tenants.freshness import KEEP_SECONDS, generation, tenant_changed
from voice.agents.config import AgentConfig, platform_default_config
from voice.agents.models import Agent, AgentVersion, ProviderCredential

T = TypeVar("T")

# Whatever is kept of a schema is dropped past this many entries (numbers x versions read); it is read again.
MAX_ENTRIES_PER_SCHEMA = 10_000


@dataclass(slots=True)
class _Kept:
    generation: str
    check_after: float
    # A change that could not move the generation (Redis unreachable from the process that made it) or that
    # bypassed the signals (QuerySet.update) shows once what was kept is this old, as in tenants.freshness.
    expires_at: float
    entries: dict[str, Any] = field(default_factory=dict)


_kept: dict[str, _Kept] = {}


def agent_config_for_number(*, phone_number: str) -> AgentConfig:
    """The configuration a call to `phone_number` (one of the current tenant's numbers, E.164) runs: the number's
    agent, else the tenant's default agent, else the platform default (settings.AGENT_DEFAULTS)."""
    return cached(f"number:{phone_number}", lambda: _read_for_number(phone_number))


def agent_config_for_agent(*, agent_id: int) -> AgentConfig:
    """The agent's current configuration; raises Agent.DoesNotExist when the tenant has no such agent."""
    found = cached(f"agent:{agent_id}", lambda: _read_agent(agent_id))
    if found is None:
        raise Agent.DoesNotExist(f"No agent {agent_id}.")
    return found


def agent_config_of_version(*, agent_id: int, version: int) -> AgentConfig:
    """The configuration an agent had at `version`; raises AgentVersion.DoesNotExist when there is none."""
    found = cached(f"version:{agent_id}:{version}", lambda: _read_version(agent_id, version))
    if found is None:
        raise AgentVersion.DoesNotExist(f"Agent {agent_id} has no version {version}.")
    return found


def forget_kept() -> None:
    """Drops everything this process keeps (tests and benchmarks measure the uncached path with it)."""
    _kept.clear()


def cached(what: str, read: Callable[[], T]) -> T:
    """`read()`, kept like the configurations above until the tenant's agents, keys or numbers change
    (voice.agents.credentials keeps the decrypted provider keys this way)."""
    if connection.in_atomic_block:
        return read()
    schema = current_schema()
    kept = _kept.get(schema)
    now = time.monotonic()
    if kept is None or now >= kept.check_after:
        current = generation(schema)
        if current is None:  # Redis cannot tell whether what was kept is current: read it
            _kept.pop(schema, None)
            return read()
        if (
            kept is None
            or kept.generation != current
            or now >= kept.expires_at
            or len(kept.entries) > MAX_ENTRIES_PER_SCHEMA
        ):
            kept = _Kept(generation=current, check_after=0.0, expires_at=now + KEEP_SECONDS)
            _kept[schema] = kept
        kept.check_after = now + settings.AGENT_CONFIG_CHECK_SECONDS
    if what in kept.entries:
        found: T = kept.entries[what]
        return found
    found = read()
    kept.entries[what] = found
    return found


def _read_for_number(phone_number: str) -> AgentConfig:
    settings_row = NumberSettings.objects.select_related("agent").filter(phone_number=phone_number).first()
    agent = settings_row.agent if settings_row is not None else None
    if agent is None:
        agent = Agent.objects.filter(is_default=True).first()
    return agent.config() if agent is not None else platform_default_config()


def _read_agent(agent_id: int) -> AgentConfig | None:
    agent = Agent.objects.filter(pk=agent_id).first()
    return agent.config() if agent is not None else None


def _read_version(agent_id: int, version: int) -> AgentConfig | None:
    found = AgentVersion.objects.filter(agent_id=agent_id, number=version).values_list("config", flat=True).first()
    return AgentConfig.from_snapshot(found) if found is not None else None


def _changed(sender: type[Model], **kwargs: Any) -> None:
    schema = current_schema()
    _kept.pop(schema, None)  # this process: at once
    tenant_changed(schema)  # every process: once committed

    def forget_again() -> None:  # what this process read before the commit may be the old rows
        _kept.pop(schema, None)

    transaction.on_commit(forget_again)


for _model in (Agent, ProviderCredential, NumberSettings):
    for _signal in (post_save, post_delete):
        _signal.connect(_changed, sender=_model, dispatch_uid=f"agents-kept-{_model.__name__}")
