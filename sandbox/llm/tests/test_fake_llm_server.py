"""The fake LLM itself: its wire formats byte by byte, lanes kept apart, the control API, and its commands.

Plain HTTP (requests) so what is checked is what goes over the wire, not what an SDK makes of it;
the SDKs' view is tested with the platform's adapters (voice/agents/llm/tests).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.control import ControlError
from sandbox.llm import FakeLLMServer, LaneControl

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(port=0) as server:
        yield server


@pytest.fixture
def lane(fake: FakeLLMServer) -> LaneControl:
    return LaneControl(fake.base_url, "lane-" + secrets.token_hex(8))


def openai_post(fake: FakeLLMServer, key: str, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    return requests.post(
        f"{fake.openai_base_url}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}, **kwargs
    )


def anthropic_post(fake: FakeLLMServer, key: str, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return requests.post(f"{fake.anthropic_base_url}/v1/messages", json=body, headers=headers, **kwargs)


def sse(response: requests.Response) -> list[tuple[str | None, str]]:
    """(event name, data) per server-sent event."""
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = line[len("data: ") :]
        events.append((name, data))
    return events


HELLO = {"model": "gpt-test", "messages": [{"role": "user", "content": "hello there"}]}
CLAUDE = {"model": "claude-test", "max_tokens": 50, "messages": [{"role": "user", "content": "hello there"}]}


def test_openai_stream_is_role_then_tokens_then_finish_then_usage_then_done(
    fake: FakeLLMServer, lane: LaneControl
) -> None:
    response = openai_post(fake, lane.lane, {**HELLO, "stream": True, "stream_options": {"include_usage": True}})

    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = sse(response)
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    tokens = [chunk["choices"][0]["delta"].get("content") for chunk in chunks[1:-2]]
    assert tokens == ["You", " said:", " hello", " there"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4


def test_openai_usage_chunk_only_when_asked(fake: FakeLLMServer, lane: LaneControl) -> None:
    chunks = [json.loads(data) for _, data in sse(openai_post(fake, lane.lane, {**HELLO, "stream": True}))[:-1]]

    assert all(chunk["choices"] for chunk in chunks)
    assert "usage" not in chunks[0]


def test_openai_tool_calls_stream_id_and_name_first_then_argument_pieces(
    fake: FakeLLMServer, lane: LaneControl
) -> None:
    lane.script(replies=[{"tool_calls": [{"name": "press_digits", "arguments": {"digits": "1234#"}}]}])

    chunks = [json.loads(data) for _, data in sse(openai_post(fake, lane.lane, {**HELLO, "stream": True}))[:-1]]

    pieces = [
        chunk["choices"][0]["delta"]["tool_calls"][0]
        for chunk in chunks
        if "tool_calls" in chunk["choices"][0]["delta"]
    ]
    assert pieces[0]["id"].startswith("call_") and pieces[0]["function"]["name"] == "press_digits"
    assert len(pieces) > 2  # the arguments come in parts
    assert json.loads("".join(piece["function"]["arguments"] for piece in pieces)) == {"digits": "1234#"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_openai_whole_answer_and_json_schema(fake: FakeLLMServer, lane: LaneControl) -> None:
    schema = {
        "type": "object",
        "properties": {"rating": {"type": "integer", "minimum": 1}, "tags": {"type": "array", "minItems": 1}},
    }
    body = {**HELLO, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}}

    answer = openai_post(fake, lane.lane, body).json()

    assert answer["object"] == "chat.completion"
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"rating": 1, "tags": ["fake"]}
    assert answer["usage"]["prompt_tokens"] == 2


def test_azure_needs_api_version_and_takes_the_deployment_from_the_path(fake: FakeLLMServer, lane: LaneControl) -> None:
    url = f"{fake.azure_endpoint}/openai/deployments/prod-gpt/chat/completions"
    headers = {"api-key": lane.lane}

    assert requests.post(url, json=HELLO, headers=headers).status_code == 404
    answer = requests.post(
        url, params={"api-version": "2024-10-21"}, json={"messages": HELLO["messages"]}, headers=headers
    )

    assert answer.status_code == 200 and answer.json()["model"] == "prod-gpt"
    [received] = lane.requests()
    assert (received["wire"], received["query"]) == ("azure", {"api-version": "2024-10-21"})


def test_anthropic_stream_speaks_named_events_with_text_and_tool_use_blocks(
    fake: FakeLLMServer, lane: LaneControl
) -> None:
    lane.script(replies=[{"text": "One moment.", "tool_calls": [{"name": "end_call", "arguments": {"why": "done"}}]}])

    events = sse(anthropic_post(fake, lane.lane, {**CLAUDE, "stream": True}))

    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [json.loads(payload) for _, payload in events]
    assert all(item["type"] == name for item, name in zip(data, names, strict=True))
    assert [item["delta"]["text"] for item in data[3:5]] == ["One", " moment."]
    assert data[6]["content_block"]["type"] == "tool_use" and data[6]["index"] == 1
    assert json.loads("".join(item["delta"]["partial_json"] for item in data[7:10])) == {"why": "done"}
    assert data[11]["delta"]["stop_reason"] == "tool_use"


def test_anthropic_checks_what_the_real_api_checks(fake: FakeLLMServer, lane: LaneControl) -> None:
    no_version = requests.post(f"{fake.anthropic_base_url}/v1/messages", json=CLAUDE, headers={"x-api-key": lane.lane})
    assistant_first = anthropic_post(fake, lane.lane, {**CLAUDE, "messages": [{"role": "assistant", "content": "Hi"}]})
    no_max_tokens = anthropic_post(fake, lane.lane, {"model": "c", "messages": CLAUDE["messages"]})

    assert no_version.status_code == 400 and "anthropic-version" in no_version.json()["error"]["message"]
    assert assistant_first.status_code == 400 and "first message" in assistant_first.json()["error"]["message"]
    assert no_max_tokens.status_code == 400 and no_max_tokens.json()["type"] == "error"


def test_a_missing_key_is_refused_in_each_format(fake: FakeLLMServer) -> None:
    openai = requests.post(f"{fake.openai_base_url}/chat/completions", json=HELLO)
    anthropic = requests.post(f"{fake.anthropic_base_url}/v1/messages", json=CLAUDE, headers={"anthropic-version": "x"})

    assert openai.status_code == 401 and openai.json()["error"]["code"] == "invalid_api_key"
    assert anthropic.status_code == 401 and anthropic.json()["error"]["type"] == "authentication_error"


def test_bad_bodies_are_400_in_the_providers_shape(fake: FakeLLMServer, lane: LaneControl) -> None:
    headers = {"Authorization": f"Bearer {lane.lane}", "Content-Type": "application/json"}
    not_json = requests.post(f"{fake.openai_base_url}/chat/completions", data="{", headers=headers)
    no_messages = openai_post(fake, lane.lane, {"model": "m", "messages": []})

    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]["message"]
    assert no_messages.status_code == 400 and "messages" in no_messages.json()["error"]["message"]


def test_lanes_are_kept_apart(fake: FakeLLMServer) -> None:
    first = LaneControl(fake.base_url, "lane-" + secrets.token_hex(8))
    second = LaneControl(fake.base_url, "lane-" + secrets.token_hex(8))
    first.script(replies=["Scripted for the first lane."])
    first.fail_next(1, kind="503")

    second_answer = openai_post(fake, second.lane, HELLO).json()["choices"][0]["message"]["content"]
    failed = openai_post(fake, first.lane, HELLO)
    first_answer = openai_post(fake, first.lane, HELLO).json()["choices"][0]["message"]["content"]

    assert second_answer == "You said: hello there"
    assert failed.status_code == 503
    assert first_answer == "Scripted for the first lane."
    assert len(first.requests()) == 2 and len(second.requests()) == 1


def test_many_conversations_at_once_each_get_their_own_script(fake: FakeLLMServer) -> None:
    lanes = [LaneControl(fake.base_url, f"conv-{index}-{secrets.token_hex(4)}") for index in range(20)]
    for index, lane in enumerate(lanes):
        lane.script(replies=[f"Reply {index} a", f"Reply {index} b"])
        lane.token_delay(0.01)
    answers: dict[int, list[str]] = {}

    def converse(index: int) -> None:
        answers[index] = [
            "".join(
                json.loads(data)["choices"][0]["delta"].get("content") or ""
                for _, data in sse(openai_post(fake, lanes[index].lane, {**HELLO, "stream": True}))[:-1]
            )
            for _ in range(2)
        ]

    threads = [threading.Thread(target=converse, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert answers == {index: [f"Reply {index} a", f"Reply {index} b"] for index in range(20)}


def test_what_a_lane_received_is_kept_without_secrets(fake: FakeLLMServer, lane: LaneControl) -> None:
    anthropic_post(fake, lane.lane, {**CLAUDE, "system": "Be brief."})
    openai_post(fake, lane.lane, HELLO)

    claude, gpt = lane.requests()
    assert claude["wire"] == "anthropic" and claude["body"]["system"] == "Be brief."
    assert gpt["wire"] == "openai" and gpt["model"] == "gpt-test" and gpt["stream"] is False
    for received in (claude, gpt):
        assert not {"authorization", "x-api-key", "api-key"} & set(received["headers"])
        assert lane.lane not in json.dumps(received)
    assert lane.requests(since=1) == [gpt]


def test_failures_come_before_replies_in_the_order_given(fake: FakeLLMServer, lane: LaneControl) -> None:
    lane.script(replies=["first", "second"])
    lane.fail_next(1, kind="429")
    lane.fail_next(1, kind="500")

    statuses = [openai_post(fake, lane.lane, HELLO) for _ in range(4)]

    assert [response.status_code for response in statuses] == [429, 500, 200, 200]
    assert statuses[0].headers["Retry-After"] == "1"
    assert [response.json()["choices"][0]["message"]["content"] for response in statuses[2:]] == ["first", "second"]
    assert [received["failure"] for received in lane.requests()] == ["429", "500", None, None]


def test_append_adds_to_the_script_and_reset_forgets_the_lane(fake: FakeLLMServer, lane: LaneControl) -> None:
    lane.script(replies=["a"])
    lane.script(replies=["b"], append=True)
    lane.first_token_delay(0.5)
    assert lane.describe()["replies_left"] == 2

    lane.reset()

    described = lane.describe()
    assert (described["replies_left"], described["first_token_delay"], described["received"]) == (0, 0.0, 0)
    requests.post(f"{fake.base_url}/control/reset", timeout=5).raise_for_status()
    assert requests.get(f"{fake.base_url}/control/", timeout=5).json()["lanes"] == 0


def test_first_token_and_token_delays_are_kept(fake: FakeLLMServer, lane: LaneControl) -> None:
    lane.configure(first_token_delay=0.3, token_delay=0.1)
    started = time.monotonic()
    arrivals = []
    with openai_post(fake, lane.lane, {**HELLO, "stream": True}, stream=True) as response:
        for line in response.iter_lines():
            if line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
                arrivals.append(time.monotonic() - started)

    assert len(arrivals) == 4
    assert 0.28 < arrivals[0] < 1.0
    assert arrivals[-1] - arrivals[0] > 0.28  # three gaps of 0.1 s


def test_tokens_per_chunk_puts_several_tokens_in_each_event(fake: FakeLLMServer, lane: LaneControl) -> None:
    lane.configure(tokens_per_chunk=3)
    lane.script(replies=["one two three four five six seven"])

    chunks = [json.loads(data) for _, data in sse(openai_post(fake, lane.lane, {**HELLO, "stream": True}))[:-1]]

    texts = [chunk["choices"][0]["delta"].get("content") for chunk in chunks[1:-1]]
    assert texts == ["one two three", " four five six", " seven"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("script", {"replies": "hi"}, "replies"),
        ("script", {"replies": [{"txt": "hi"}]}, "unknown fields"),
        ("script", {"replies": [{"tool_calls": [{"arguments": {}}]}]}, "replies[0].tool_calls[0]"),
        ("script", {"replies": [{"text": "x", "token_delay": -1}]}, "replies[0].token_delay"),
        ("fail", {"kind": "explode"}, "kind"),
        ("fail", {"count": True}, "count"),
        ("settings", {"refuse": "yes"}, "refuse"),
        ("settings", {"speed": 3}, "unknown settings"),
        ("settings", {"tokens_per_chunk": 0}, "tokens_per_chunk"),
    ],
)
def test_the_control_api_refuses_bad_input_naming_the_field_and_changes_nothing(
    lane: LaneControl, path: str, body: dict[str, Any], field: str
) -> None:
    lane.script(replies=["kept"])
    before = lane.describe()

    with pytest.raises(ControlError, match="400") as caught:
        lane._call("POST", path, body)

    assert field in str(caught.value)
    assert lane.describe() == before


def test_hang_ends_when_the_client_gives_up(fake: FakeLLMServer, lane: LaneControl) -> None:
    lane.fail_next(1, kind="hang")

    with pytest.raises(requests.exceptions.ReadTimeout):
        openai_post(fake, lane.lane, HELLO, timeout=0.3)

    assert openai_post(fake, lane.lane, HELLO, timeout=5).status_code == 200


def test_python_dash_m_runs_it_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.llm", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("Fake LLM listening on http://127.0.0.1:")
        base_url = first_line.split()[-1]
        assert requests.get(f"{base_url}/healthz", timeout=5).json() == {"ok": True}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_manage_py_run_fake_llm_listens_where_settings_point() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_fake_llm"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "LLM_FAKE_BASE_URL": f"http://127.0.0.1:{port}"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"Fake LLM listening on http://127.0.0.1:{port}"
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
