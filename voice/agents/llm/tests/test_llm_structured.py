"""structured_reply asks each provider for JSON in its own structured-output mode and checks the answer."""

from __future__ import annotations

from typing import Any

import pytest

from testsupport.llm import FakeLLM
from voice.agents.llm import LLMBadOutput, LLMRefused, LLMTimeout, LLMUnavailable, structured_reply

from .support import ANTHROPIC_WIRE, PROVIDERS, llm_request, run

ANALYSIS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "categories": {"type": "array", "items": {"type": "string", "enum": ["booking", "billing"]}},
        "transfer_requested": {"type": "boolean"},
        "summary": {"type": "string"},
    },
    "required": ["rating", "sentiment", "categories", "transfer_requested", "summary"],
    "additionalProperties": False,
}
GOOD = {
    "rating": 4,
    "sentiment": "positive",
    "categories": ["booking"],
    "transfer_requested": False,
    "summary": "The caller booked a cleaning.",
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_scripted_answer_that_matches_the_schema_comes_back_as_a_dict(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(replies=[{"json": GOOD}])

    answer = run(structured_reply(llm_request(fake_llm, provider, max_tokens=800), schema=ANALYSIS, name="analysis"))

    assert answer == GOOD
    [received] = fake_llm.requests()
    body = received["body"]
    assert not body.get("stream")
    if provider in ANTHROPIC_WIRE:
        assert body["output_config"] == {"format": {"type": "json_schema", "schema": ANALYSIS}}
    else:
        # Closed objects with every property required: OpenAI's strict mode can guarantee the shape.
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "analysis", "schema": ANALYSIS, "strict": True},
        }


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unscripted_the_fake_answers_something_the_schema_accepts(fake_llm: FakeLLM, provider: str) -> None:
    answer = run(structured_reply(llm_request(fake_llm, provider, max_tokens=800), schema=ANALYSIS, name="analysis"))

    assert answer["rating"] == 1 and answer["sentiment"] == "positive" and answer["transfer_requested"] is False


def test_a_schema_strict_mode_would_refuse_is_sent_unstrict_and_still_checked(fake_llm: FakeLLM) -> None:
    open_schema = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": []}
    fake_llm.script(replies=[{"json": {"summary": "ok"}}])

    assert run(structured_reply(llm_request(fake_llm, "openai"), schema=open_schema, name="notes")) == {"summary": "ok"}
    assert fake_llm.bodies()[0]["response_format"]["json_schema"]["strict"] is False


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_answer_outside_the_schema_is_bad_output_naming_where(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(replies=[{"json": {**GOOD, "rating": 9}}])

    with pytest.raises(LLMBadOutput) as caught:
        run(structured_reply(llm_request(fake_llm, provider, max_tokens=800), schema=ANALYSIS, name="analysis"))

    assert "rating" in str(caught.value) and caught.value.retryable


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_json_is_bad_output(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(replies=[{"json": GOOD}])
    fake_llm.fail_next(1, kind="malformed")

    with pytest.raises(LLMBadOutput) as caught:
        run(structured_reply(llm_request(fake_llm, provider, max_tokens=800), schema=ANALYSIS, name="analysis"))

    assert "not JSON" in str(caught.value)


def test_an_answer_that_is_not_an_object_is_bad_output(fake_llm: FakeLLM) -> None:
    fake_llm.script(replies=["[1, 2, 3]"])

    with pytest.raises(LLMBadOutput):
        run(structured_reply(llm_request(fake_llm, "fake"), schema={"type": "array"}, name="numbers"))


@pytest.mark.parametrize("provider", ["fake", "fake-anthropic"])
def test_structured_failures_and_timeouts_map_like_streamed_ones(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.fail_next(1, kind="503")
    with pytest.raises(LLMUnavailable):
        run(structured_reply(llm_request(fake_llm, provider), schema=ANALYSIS, name="analysis"))

    fake_llm.first_token_delay(2.0)
    with pytest.raises(LLMTimeout):
        run(structured_reply(llm_request(fake_llm, provider, timeout_seconds=0.4), schema=ANALYSIS, name="analysis"))


@pytest.mark.parametrize("provider", ["fake", "fake-anthropic"])
def test_an_answer_cut_off_mid_body_is_retryable_unavailability(fake_llm: FakeLLM, provider: str) -> None:
    fake_llm.script(replies=[{"json": GOOD}])
    fake_llm.fail_next(1, kind="break")

    with pytest.raises(LLMUnavailable) as caught:
        run(structured_reply(llm_request(fake_llm, provider), schema=ANALYSIS, name="analysis"))

    assert caught.value.retryable


def test_an_invalid_schema_is_refused_before_any_request(fake_llm: FakeLLM) -> None:
    with pytest.raises(LLMRefused):
        run(structured_reply(llm_request(fake_llm, "fake"), schema={"type": "no-such-type"}, name="broken"))

    assert fake_llm.requests() == []
