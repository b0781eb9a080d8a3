"""LLM adapters against the fake LLM: what a turn costs with a kept client, a fresh one, and no SDK at all.

    python bench/llm_adapters.py [--turns 300] [--conversations 100] [--conversation-turns 10]

The fake LLM runs in a process of its own (`python -m sandbox.llm`, answering at once), so it does not
share this process's interpreter. Side by side, interleaved turn by turn in one run:

- `kept`: `stream_reply` as the engine calls it (provider "fake": the openai SDK on a client kept per
  endpoint, its connection kept alive), and `kept_anthropic` (provider "fake-anthropic", the anthropic SDK);
- `fresh`: the same request through a new `AsyncOpenAI` client per turn (closed after it), which is what a
  turn would pay without the client cache: a new pool, a new TCP connection;
- `raw`: the same streamed request with a bare kept-alive httpx2 client reading the SSE lines, no SDK: the
  fake's own cost plus HTTP, a floor for the others.

Each reports time to the first token and to the end of the reply, p50/p95 in ms. Then `--conversations`
conversations of `--conversation-turns` turns each run at once through `stream_reply` on one key (one
client, one pool), as the live engine's benchmark drives them: time to first token p50/p95/p99, turns per
second, failed turns, and the fake's own CPU time per turn (from /proc); then the same again with the fake
sending each whole reply as one event (tokens_per_chunk), which shows what the SDK's per-event parsing costs. Logging is set to WARNING (the SDK's
INFO line per request would otherwise be measured too). No database, no Redis. The last line is JSON.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _scratch import REPO_ROOT, code_version, load_average, say, verdict  # noqa: E402

from sandbox.llm import LaneControl  # noqa: E402

LANE = "bench-lane"
Turn = Callable[[], Awaitable[tuple[float, float]]]


def percentile(samples: list[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_fake() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.llm", "--port", "0"], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()
    if not first_line.startswith("Fake LLM listening on "):
        process.kill()
        raise SystemExit(f"the fake LLM did not start: {first_line!r}")
    return process, first_line.split()[-1]


async def run(args: argparse.Namespace, base_url: str, fake_pid: int) -> dict[str, object]:
    import httpx2
    import openai
    from django.conf import settings

    from voice.agents.llm import ChatMessage, LLMRequest, StreamDone, TextDelta, stream_reply
    from voice.agents.llm.clients import POOL_LIMITS

    settings.LLM_FAKE_BASE_URL = base_url
    settings.LLM_FAKE_API_KEY = LANE
    messages = (ChatMessage(role="user", content="Can I book a cleaning for next Tuesday morning?"),)

    def request(provider: str = "fake") -> LLMRequest:
        return LLMRequest(provider=provider, model="fake-model", system="You are a receptionist.", messages=messages)

    async def timed(events: object) -> tuple[float, float]:
        started = time.perf_counter()
        first = 0.0
        async for event in events:  # type: ignore[attr-defined]
            if isinstance(event, TextDelta) and not first:
                first = time.perf_counter() - started
            if isinstance(event, StreamDone):
                break
        return first * 1000, (time.perf_counter() - started) * 1000

    async def kept() -> tuple[float, float]:
        return await timed(stream_reply(request()))

    async def kept_anthropic() -> tuple[float, float]:
        return await timed(stream_reply(request("fake-anthropic")))

    body = {
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": "You are a receptionist."},
            {"role": "user", "content": messages[0].content},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    async def fresh() -> tuple[float, float]:
        started = time.perf_counter()
        client = openai.AsyncOpenAI(
            api_key=LANE,
            base_url=base_url + "/openai/v1",
            max_retries=0,
            http_client=openai.DefaultAsyncHttpxClient(limits=POOL_LIMITS),
        )
        first = 0.0
        try:
            chunks = await client.chat.completions.create(**body)  # type: ignore[call-overload]
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content and not first:
                    first = time.perf_counter() - started
        finally:
            await client.close()
        return first * 1000, (time.perf_counter() - started) * 1000

    raw_client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {LANE}"}, limits=POOL_LIMITS)

    async def raw() -> tuple[float, float]:
        started = time.perf_counter()
        first = 0.0
        async with raw_client.stream("POST", base_url + "/openai/v1/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if not first and '"content":"' in line and '"content":""' not in line:
                    first = time.perf_counter() - started
                if line == "data: [DONE]":
                    break
        return first * 1000, (time.perf_counter() - started) * 1000

    kinds: dict[str, Turn] = {"kept": kept, "kept_anthropic": kept_anthropic, "fresh": fresh, "raw": raw}
    say(f"warming up ({args.warmup} turns of each)")
    for _ in range(args.warmup):
        for turn in kinds.values():
            await turn()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
    say(f"{args.turns} turns of each, interleaved")
    for _ in range(args.turns):
        for name, turn in kinds.items():
            samples[name].append(await turn())
    await raw_client.aclose()

    figures: dict[str, object] = {}
    say(f"{'':16}{'first token p50':>16}{'p95':>8}{'reply p50':>12}{'p95':>8}   (ms)")
    for name, pairs in samples.items():
        first_tokens = [first for first, _ in pairs]
        totals = [total for _, total in pairs]
        row = {
            "first_p50": percentile(first_tokens, 50),
            "first_p95": percentile(first_tokens, 95),
            "total_p50": percentile(totals, 50),
            "total_p95": percentile(totals, 95),
        }
        say(f"{name:16}{row['first_p50']:16.2f}{row['first_p95']:8.2f}{row['total_p50']:12.2f}{row['total_p95']:8.2f}")
        for key, value in row.items():
            figures[f"{name}_{key}_ms"] = round(value, 3)
    kept_first = statistics.median(first for first, _ in samples["kept"])
    fresh_first = statistics.median(first for first, _ in samples["fresh"])
    raw_first = statistics.median(first for first, _ in samples["raw"])
    say(f"a kept client saves {fresh_first - kept_first:.2f} ms to the first token per turn (p50)")
    say(f"the SDK and adapter add {kept_first - raw_first:.2f} ms over a bare HTTP client (p50)")
    figures["client_reuse_saves_ms"] = round(fresh_first - kept_first, 3)
    figures["adapter_over_raw_ms"] = round(kept_first - raw_first, 3)

    async def concurrently(label: str) -> dict[str, float]:
        say(f"{args.conversations} conversations x {args.conversation_turns} turns at once ({label})")
        firsts: list[float] = []
        failed = 0

        async def conversation() -> None:
            nonlocal failed
            for _ in range(args.conversation_turns):
                try:
                    first, _ = await kept()
                    firsts.append(first)
                except Exception as exc:  # a failed turn is counted and reported, not fatal to the run
                    failed += 1
                    say(f"  failed turn: {type(exc).__name__}: {exc}")

        started = time.perf_counter()
        fake_cpu = cpu_seconds(fake_pid)
        await asyncio.gather(*(conversation() for _ in range(args.conversations)))
        wall = time.perf_counter() - started
        turns = len(firsts) + failed
        row = {
            "first_p50_ms": round(percentile(firsts, 50), 3) if firsts else 0.0,
            "first_p95_ms": round(percentile(firsts, 95), 3) if firsts else 0.0,
            "first_p99_ms": round(percentile(firsts, 99), 3) if firsts else 0.0,
            "turns_per_second": round(turns / wall, 1),
            "fake_cpu_per_turn_ms": round((cpu_seconds(fake_pid) - fake_cpu) / turns * 1000, 3),
            "turns": turns,
            "failed": failed,
        }
        say(
            f"  first token p50 {row['first_p50_ms']} ms, p95 {row['first_p95_ms']} ms, p99 {row['first_p99_ms']} ms;"
            f" {row['turns_per_second']} turns/s; {failed} failed of {turns};"
            f" the fake's own CPU {row['fake_cpu_per_turn_ms']} ms per turn"
        )
        return row

    per_token = await concurrently("one token per streamed event, as real models send them")
    LaneControl(base_url, LANE).configure(tokens_per_chunk=1000)
    whole = await concurrently("the whole reply in one event: what is left is the platform's and the SDK's request")
    failed = per_token["failed"] + whole["failed"]
    say(f"targets: adapter over a bare HTTP client <= 2 ms (p50): {verdict(kept_first - raw_first <= 2)}")
    say(
        f"         a kept client at least 3x faster to the first token than a fresh one: {verdict(fresh_first >= 3 * kept_first)}"
    )
    say(f"         the fake's own CPU <= 1 ms per turn: {verdict(per_token['fake_cpu_per_turn_ms'] <= 1)}")
    say(f"         no failed turn: {verdict(failed == 0)}")
    return {
        **figures,
        **{f"concurrent_{key}": value for key, value in per_token.items()},
        **{f"concurrent_one_event_{key}": value for key, value in whole.items()},
        "turns": per_token["turns"] + whole["turns"],
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--conversation-turns", type=int, default=10)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    process, base_url = start_fake()
    try:
        say(f"fake LLM at {base_url} (its own process); load average {load_average()}")
        result = asyncio.run(run(args, base_url, process.pid))
    finally:
        process.terminate()
        process.wait(timeout=10)
    result |= {"commit": code_version(), "load_average": load_average()}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
