"""Turns reuse one client (and its kept-alive connection) per endpoint; keys never reach a log line."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import pytest

from config.logs import structured_formatter
from testsupport.llm import FakeLLM
from voice.agents.llm import LLMCredentials, LLMError
from voice.agents.llm.clients import endpoint_for, openai_client

from .support import PROVIDERS, llm_request, read_stream, run


@pytest.mark.parametrize("provider", PROVIDERS)
def test_turns_of_a_conversation_share_one_connection(fake_llm: FakeLLM, provider: str) -> None:
    async def three_turns() -> None:
        for _ in range(3):
            await read_stream(llm_request(fake_llm, provider))

    run(three_turns())

    ports = {request["client_port"] for request in fake_llm.requests()}
    assert len(fake_llm.requests()) == 3
    assert len(ports) == 1, "each turn opened a new connection"


def test_clients_are_kept_per_endpoint_and_key_and_per_event_loop(fake_llm: FakeLLM) -> None:
    mine = fake_llm.credentials("openai")
    other_key = LLMCredentials(api_key="another-tenants-key", base_url=mine.base_url)

    async def clients() -> tuple[object, object, object]:
        first = openai_client(endpoint_for(provider="openai", credentials=mine))
        again = openai_client(endpoint_for(provider="openai", credentials=mine))
        other = openai_client(endpoint_for(provider="openai", credentials=other_key))
        assert first is again
        return first, again, other

    first, _, other = run(clients())
    assert first is not other
    # A new loop (a Celery task's asyncio.run) never gets a client whose pool belongs to a closed loop.
    second_loop_client, _, _ = run(clients())
    assert second_loop_client is not first


def test_the_fake_is_found_where_settings_say_in_either_spelling(fake_llm: FakeLLM) -> None:
    with_path = endpoint_for(
        provider="fake", credentials=LLMCredentials(api_key="k", base_url=fake_llm.openai_base_url)
    )
    root = endpoint_for(provider="fake-anthropic", credentials=LLMCredentials(api_key="k", base_url=fake_llm.base_url))
    from_settings = endpoint_for(provider="fake", credentials=None)

    assert with_path.base_url == fake_llm.openai_base_url
    assert root.base_url == fake_llm.anthropic_base_url
    assert (from_settings.base_url, from_settings.api_key) == (fake_llm.openai_base_url, fake_llm.api_key)
    assert fake_llm.api_key not in repr(from_settings)
    assert fake_llm.api_key not in repr(LLMCredentials(api_key=fake_llm.api_key))


@pytest.fixture
def all_logs() -> Iterator[io.StringIO]:
    """Everything any library logs at any level (the SDKs' and httpx2's debug lines too), as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structured_formatter(log_format="json"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_key_is_ever_logged_in_success_or_failure(fake_llm: FakeLLM, provider: str, all_logs: io.StringIO) -> None:
    run(read_stream(llm_request(fake_llm, provider)))
    fake_llm.fail_next(1, kind="500")
    with pytest.raises(LLMError):
        run(read_stream(llm_request(fake_llm, provider)))
    fake_llm.refuse_key()
    with pytest.raises(LLMError) as refused:
        run(read_stream(llm_request(fake_llm, provider)))
    logging.getLogger("test").exception("the refusal, with its traceback", exc_info=refused.value)

    text = all_logs.getvalue()
    assert "llm_request_failed" in text and "HTTP Request" in text  # the SDK's own lines were captured
    assert fake_llm.api_key not in text


def test_a_stream_abandoned_mid_reply_lets_the_connection_go(fake_llm: FakeLLM) -> None:
    """Barge-in closes the stream early; the next turn still gets a clean answer."""
    fake_llm.script(replies=[{"text": "one two three four five", "token_delay": 0.2}, "second"])

    async def interrupted_then_next() -> list[str]:
        from voice.agents.llm import TextDelta, stream_reply

        stream = stream_reply(llm_request(fake_llm, "fake"))
        async for event in stream:
            assert isinstance(event, TextDelta)
            break
        await stream.aclose()
        await asyncio.sleep(0)
        return (await read_stream(llm_request(fake_llm, "fake"))).texts

    assert run(interrupted_then_next()) == ["second"]


def test_the_oldest_client_is_closed_once_too_many_endpoints_are_kept(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice.agents.llm import clients

    monkeypatch.setattr(clients, "CLIENTS_PER_LOOP", 2)

    async def three_keys() -> tuple[bool, bool]:
        made = [
            openai_client(endpoint_for(provider="fake", credentials=LLMCredentials(api_key=f"key-{index}")))
            for index in range(3)
        ]
        await asyncio.sleep(0.05)
        again = openai_client(endpoint_for(provider="fake", credentials=LLMCredentials(api_key="key-0")))
        return made[0].is_closed(), again is made[0]

    first_closed, same = run(three_keys())
    assert first_closed and not same
