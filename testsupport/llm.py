"""Fixtures for anything that talks to an LLM: one fake LLM server for the session, one lane per test.

The lane is the API key: settings.LLM_FAKE_API_KEY is set to the test's own key for the test's
duration, so provider "fake" (and "fake-anthropic") reaches that lane with no credentials at all, and
a test scripts what the model says without touching any other test's lane.
"""

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from sandbox.llm import FakeLLMServer, LaneControl
from voice.agents.llm.types import LLMCredentials

AZURE_API_VERSION = "2024-10-21"


class FakeLLM(LaneControl):
    """One lane of the session's fake LLM: script it, fail it, slow it, and read what it received."""

    def __init__(self, server: FakeLLMServer, lane: str) -> None:
        super().__init__(server.base_url, lane)
        self.server = server
        self.api_key = lane
        self.openai_base_url = server.openai_base_url
        self.openrouter_base_url = server.openrouter_base_url
        self.azure_endpoint = server.azure_endpoint
        self.anthropic_base_url = server.anthropic_base_url

    def credentials(self, provider: str, *, azure_deployment: str = "gpt-4o-fake") -> LLMCredentials:
        """Credentials that send `provider`'s adapter to this lane, in that provider's wire format."""
        if provider == "azure":
            return LLMCredentials(
                api_key=self.api_key,
                azure_endpoint=self.azure_endpoint,
                azure_deployment=azure_deployment,
                azure_api_version=AZURE_API_VERSION,
            )
        base_url = {
            "openai": self.openai_base_url,
            "openrouter": self.openrouter_base_url,
            "anthropic": self.anthropic_base_url,
        }.get(provider, self.base_url)
        return LLMCredentials(api_key=self.api_key, base_url=base_url)

    def new_lane(self) -> "FakeLLM":
        """Another lane on the same server (a second conversation, a second tenant's key)."""
        return FakeLLM(self.server, "lane-" + secrets.token_hex(8))

    def bodies(self) -> list[dict[str, Any]]:
        return [request["body"] for request in self.requests()]


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0) as server:
        # Processes the suite starts after this (a web server, a worker) find it too.
        previous = os.environ.get("LLM_FAKE_BASE_URL")
        os.environ["LLM_FAKE_BASE_URL"] = server.base_url
        yield server
        if previous is None:
            os.environ.pop("LLM_FAKE_BASE_URL", None)
        else:
            os.environ["LLM_FAKE_BASE_URL"] = previous


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer) -> Iterator[FakeLLM]:
    lane = FakeLLM(fake_llm_server, "lane-" + secrets.token_hex(8))
    originals = {name: getattr(settings, name) for name in ("LLM_FAKE_BASE_URL", "LLM_FAKE_API_KEY")}
    settings.LLM_FAKE_BASE_URL = fake_llm_server.base_url
    settings.LLM_FAKE_API_KEY = lane.api_key
    yield lane
    for name, value in originals.items():
        setattr(settings, name, value)
    lane.reset()
