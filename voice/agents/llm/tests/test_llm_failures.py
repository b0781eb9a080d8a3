"""Provider failures come out as LLMError kinds a caller can act on (retry, fall back, apologise)."""

from __future__ import annotations

import time

import pytest

from testsupport.llm import FakeLLM
from voice.agents.llm import LLMCredentials, LLMError, LLMRefused, LLMRequest, LLMTimeout, LLMUnavailable

from .support import ANTHROPIC_WIRE, PROVIDERS, Reading, llm_request, read_stream, run


def failure_of(request: LLMRequest, reading: Reading | None = None) -> tuple[LLMError, float]:
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        run(read_stream(request, reading))
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", ["500", "503", "429", "529"])
def test_server_errors_and_rate_limits_are_retryable_unavailability(
    fake_llm: FakeLLM, provider: str, kind: str
) -> None:
    fake_llm.fail_next(1, kind=kind)

    error, _ = failure_of(llm_request(fake_llm, provider))

    assert isinstance(error, LLMUnavailable)
    assert error.retryable is True
    # The fake answers 529 (Anthropic's "overloaded") on both wires; 503 is how OpenAI's would say it.
    assert error.status == int(kind)
    assert error.provider == provider
    assert error.retry_after == (1.0 if kind == "429" else None)
    # The failure was one request: the next one is answered.
    assert "".join(run(read_stream(llm_request(fake_llm, provider))).texts) == "You said: I need an appointment"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_key_is_a_permanent_refusal_that_never_shows_the_key(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.refuse_key()

    error, _ = failure_of(llm_request(fake_llm, provider))

    assert isinstance(error, LLMRefused)
    assert error.retryable is False
    assert error.status == 401
    # The fake spells the key out in its 401 message; it must not reach ours.
    assert fake_llm.api_key not in str(error)


@pytest.mark.parametrize("provider", ["openai", "openrouter", "azure", "anthropic"])
def test_a_provider_without_credentials_is_refused_before_any_request(fake_llm: FakeLLM, provider: str) -> None:
    request = llm_request(fake_llm, provider, credentials=None)

    error, _ = failure_of(request)

    assert isinstance(error, LLMRefused)
    assert "no " in str(error) and "API key" in str(error)
    assert fake_llm.requests() == []


def test_azure_without_an_endpoint_or_api_version_is_refused(fake_llm: FakeLLM) -> None:
    error, _ = failure_of(llm_request(fake_llm, "azure", credentials=LLMCredentials(api_key=fake_llm.api_key)))

    assert isinstance(error, LLMRefused)
    assert "endpoint" in str(error)


def test_an_unknown_provider_is_refused(fake_llm: FakeLLM) -> None:
    error, _ = failure_of(llm_request(fake_llm, "cohere"))

    assert isinstance(error, LLMRefused) and "cohere" in str(error)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_first_token_later_than_the_timeout_is_a_timeout(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.first_token_delay(2.0)

    error, elapsed = failure_of(llm_request(fake_llm, provider, timeout_seconds=0.4))

    assert isinstance(error, LLMTimeout) and error.retryable
    assert 0.35 < elapsed < 1.5


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", ["hang", "timeout"])
def test_a_provider_that_never_answers_or_stalls_after_the_headers_times_out(
    fake_llm: FakeLLM, provider: str, kind: str
) -> None:
    fake_llm.fail_next(1, kind=kind)

    error, elapsed = failure_of(llm_request(fake_llm, provider, timeout_seconds=0.4))

    assert isinstance(error, LLMTimeout)
    assert elapsed < 1.5


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stall_in_the_middle_of_a_reply_times_out_after_the_tokens_already_given(
    fake_llm: FakeLLM, provider: str
) -> None:
    fake_llm.script(replies=[{"text": "Let me check that for you.", "token_delay": 2.0}])
    reading = Reading(events=[], at=[])

    error, elapsed = failure_of(llm_request(fake_llm, provider, timeout_seconds=0.5), reading)

    assert isinstance(error, LLMTimeout)
    assert reading.texts == ["Let"]
    assert elapsed < 1.8


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_cut_mid_reply_is_retryable_after_the_part_already_given(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(replies=["one two three four five six seven eight"])
    fake_llm.fail_next(1, kind="break")
    reading = Reading(events=[], at=[])

    error, _ = failure_of(llm_request(fake_llm, provider), reading)

    assert isinstance(error, LLMUnavailable) and error.retryable
    assert 0 < len(reading.texts) < 8
    assert "".join(reading.texts) == " ".join("one two three four five six seven eight".split()[: len(reading.texts)])


@pytest.mark.parametrize("provider", ANTHROPIC_WIRE)
def test_a_timed_out_anthropic_request_lets_the_next_one_through_at_once(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.fail_next(1, kind="hang")
    failure_of(llm_request(fake_llm, provider, timeout_seconds=0.3))

    reading = run(read_stream(llm_request(fake_llm, provider, timeout_seconds=2.0)))

    assert reading.done.finish_reason == "stop"
