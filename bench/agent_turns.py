"""Benchmark: conversation turns through the real ConversationRelay socket under uvicorn, against a bare echo
socket on the same server.

    python bench/agent_turns.py            # 100 concurrent conversations x 10 turns, twice each (about 3 minutes)
    python bench/agent_turns.py --quick    # smoke run: 20 conversations x 4 turns

What it sets up (nothing touches the database or Redis database named in .env): a scratch database
`switchboard_bench_live` (`migrate_schemas --shared`, `setup_platform`) with one tenant made by tenant_onboard
and its default agent (provider "fake", a greeting, a system prompt); the project's fake LLM server
(`python -m sandbox.llm`, OpenAI wire format, answering at once: it echoes the caller) and one uvicorn process
serving config.asgi (production settings: DEBUG off, logs at WARNING, persistent database connections) with
the bare echo socket switched on (CONVERSATION_ECHO_SOCKET).

What it measures, in alternating phases (agent, bare, agent, bare: the machine is shared and noisy):

* `agent`: --conversations sockets opened at once on the tenant's host, each signed as Twilio signs the
  upgrade (X-Twilio-Signature over the socket URL, twilio-python's RequestValidator), arriving over 2 s,
  each sending `setup`, then (after the 1-2 s a welcome greeting takes) --turns caller turns: a `prompt` with last=true, the reply read to its text with last=true. Between
  turns a caller thinks for --think seconds (uniformly 0.5x-1.5x): callers speak for seconds, not
  back-to-back. Figures per turn: the server's own overhead, prompt received -> first text token sent, as
  the engine records it on the assistant Turn (Turn.latency_ms; the fake LLM's round trip is inside it), and
  the client's round trip, prompt sent -> first token received.
* `bare`: the same number of sockets and turns, paced the same, on /ws/echo/ of the same server: the time
  from sending the prompt to receiving it back (what the socket itself costs).

A turn fails when its reply does not arrive within 10 s, is not the echo of what was said, or the socket
closes. Prints figures as it goes, ends with one JSON line: p95_overhead_ms, p95_bare_ms, turns, failed (and
the rest). Target: p95 server overhead <= 10 ms, no failed turn.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _scratch  # noqa: E402
from _scratch import say  # noqa: E402

SCRATCH_DB = "switchboard_bench_live"
TARGET_P95_MS = 10.0
REPLY_TIMEOUT = 10.0
RELAY_PATH = "/ws/conversation-relay/"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="agent + bare phases, alternating")
    parser.add_argument("--think", type=float, default=3.0, help="mean seconds between a reply and the next turn")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 conversations x 4 turns, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.turns, args.rounds = 20, 4, 1
    return args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(samples: list[float], q: int) -> float:
    if not samples:
        return float("nan")
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def summary(samples: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": round(percentile(samples, q), 3) for q in (50, 95, 99)}


@dataclass
class Phase:
    rtt_ms: list[float] = field(default_factory=list)
    failed: int = 0
    turns: int = 0
    errors: list[str] = field(default_factory=list)


async def converse(
    *,
    port: int,
    host: str,
    path: str,
    headers: dict[str, str],
    account_sid: str,
    index: int,
    turns: int,
    think: float,
    phase: Phase,
    agent: bool,
) -> None:
    from websockets.asyncio.client import connect

    rng = random.Random(index)
    await asyncio.sleep(rng.uniform(0.0, 2.0))  # calls arrive over a couple of seconds, not in one instant
    try:
        async with connect(
            f"ws://{host}:{port}{path}",
            additional_headers=headers,
            host="127.0.0.1",
            port=port,
            open_timeout=30,
            max_queue=None,
        ) as ws:
            if agent:
                await ws.send(
                    json.dumps(
                        {
                            "type": "setup",
                            "accountSid": account_sid,  # as Twilio's setup names it: the socket takes no other
                            "callSid": "CA" + secrets.token_hex(16),
                            "from": f"+1415{6_000_000 + index:07d}",
                            "to": "+14155550100",
                            "direction": "inbound",
                            "customParameters": {},
                        }
                    )
                )
            await asyncio.sleep(rng.uniform(1.0, 2.0))  # Twilio speaks the welcome greeting first
            for turn in range(turns):
                said = f"caller {index} turn {turn}"
                prompt = json.dumps({"type": "prompt", "voicePrompt": said, "lang": "en-US", "last": True})
                sent = time.perf_counter()
                await ws.send(prompt)
                phase.turns += 1
                try:
                    async with asyncio.timeout(REPLY_TIMEOUT):
                        first = True
                        reply = ""
                        while True:
                            message = json.loads(await ws.recv())
                            if not agent:
                                phase.rtt_ms.append((time.perf_counter() - sent) * 1000)
                                if message.get("voicePrompt") != said:
                                    raise ValueError("the echo is not what was sent")
                                break
                            if message.get("type") != "text":
                                continue
                            if first and message["token"]:
                                phase.rtt_ms.append((time.perf_counter() - sent) * 1000)
                                first = False
                            reply += message["token"]
                            if message.get("last"):
                                break
                        if agent and reply != f"You said: {said}":
                            raise ValueError(f"unexpected reply {reply!r}")
                except (TimeoutError, ValueError) as failure:
                    phase.failed += 1
                    phase.errors.append(f"{type(failure).__name__}: {failure}")
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
    except Exception as failure:  # a socket that could not open or closed early fails its remaining turns
        phase.failed += max(1, turns - phase.turns)
        phase.errors.append(f"{type(failure).__name__}: {failure}")


async def run_phase(
    *, port: int, host: str, args: argparse.Namespace, token: str, account_sid: str, agent: bool
) -> Phase:
    from twilio.request_validator import RequestValidator

    phase = Phase()
    path = RELAY_PATH if agent else "/ws/echo/"
    url = f"ws://{host}:{port}{RELAY_PATH}"
    headers = {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, {})} if agent else {}
    await asyncio.gather(
        *(
            converse(
                port=port,
                host=host,
                path=path,
                headers=headers,
                account_sid=account_sid,
                index=i,
                turns=args.turns,
                think=args.think,
                phase=phase,
                agent=agent,
            )
            for i in range(args.conversations)
        )
    )
    return phase


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def run(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from telephony.signatures import twilio_account_sid_for, twilio_auth_token_for
    from tenants.db import connection
    from tenants.services import tenant_onboard
    from voice.agents import services
    from voice.conversations.models import Turn

    say(
        f"scratch database: {connection.settings_dict['NAME']}; code {_scratch.code_version()}; load average {_scratch.load_average()}"
    )
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("setup_platform", stdout=io.StringIO())
    tenant = tenant_onboard(name="Live bench", slug="livebench", admin_email="bench@example.com").tenant
    with tenant_context(tenant):
        services.agent_create(
            fields={
                "name": "Bench agent",
                "system_prompt": "You are a concise phone assistant. " * 10,
                "greeting": "Hello, how can I help?",
                "llm_provider": "fake",
                "llm_model": "fake-model",
            },
            created_by="bench",
            make_default=True,
        )
    token, account_sid = twilio_auth_token_for(tenant), twilio_account_sid_for(tenant)
    host = tenant.get_primary_domain().domain
    connection.set_schema_to_public()

    llm_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "LLM_FAKE_BASE_URL": f"http://127.0.0.1:{llm_port}",
        "CONVERSATION_ECHO_SOCKET": "true",
        "CONVERSATION_RELAY_PORT": str(web_port),
        "SITE_PORT": str(web_port),
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "60",
    }
    log_dir = Path(settings.BASE_DIR) / "var"
    log_dir.mkdir(exist_ok=True)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "sandbox.llm", "--port", str(llm_port)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=(log_dir / "bench-fake-llm.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                sys.executable,
                *(["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []),
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--port",
                str(web_port),
                "--no-access-log",
                "--log-level",
                "warning",
                "--ws-max-queue",
                "1000",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=(log_dir / "bench-uvicorn.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        wait_for_port(llm_port, processes[0], "the fake LLM server")
        wait_for_port(web_port, processes[1], "uvicorn")
        say(
            f"uvicorn on {web_port} (relay and echo sockets), fake LLM on {llm_port}; "
            f"{args.conversations} conversations x {args.turns} turns, think {args.think} s, {args.rounds} round(s)"
        )
        agent, bare = Phase(), Phase()
        for round_ in range(args.rounds):
            for is_agent, into in ((True, agent), (False, bare)):
                started = time.perf_counter()
                phase = asyncio.run(
                    run_phase(port=web_port, host=host, args=args, token=token, account_sid=account_sid, agent=is_agent)
                )
                into.rtt_ms += phase.rtt_ms
                into.failed += phase.failed
                into.turns += phase.turns
                into.errors += phase.errors
                say(
                    f"  round {round_ + 1} {'agent' if is_agent else 'bare '}: {phase.turns} turns, {phase.failed} failed, "
                    f"client p50 {percentile(phase.rtt_ms, 50):.2f} ms p95 {percentile(phase.rtt_ms, 95):.2f} ms "
                    f"({time.perf_counter() - started:.1f} s)"
                )
        time.sleep(1.0)  # the last conversations' writes
        with tenant_context(tenant):
            timed = list(
                Turn.objects.filter(role=Turn.Role.ASSISTANT, latency_ms__isnull=False).values_list(
                    "index", "latency_ms"
                )
            )
            server_ms = [float(latency or 0) for _, latency in timed]
            first_ms = [float(latency or 0) for index, latency in timed if index == 2]
        connection.set_schema_to_public()
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)  # a graceful stop (and a profile written, with BENCH_PROFILE)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    server, agent_rtt, bare_rtt = summary(server_ms), summary(agent.rtt_ms), summary(bare.rtt_ms)
    say()
    say(
        f"server overhead (prompt received -> first token sent, {len(server_ms)} turns): "
        f"p50 {server['p50_ms']} ms, p95 {server['p95_ms']} ms, p99 {server['p99_ms']} ms"
    )
    say(
        f"  of which first turns ({len(first_ms)}): p50 {percentile(first_ms, 50):.2f} ms, p95 {percentile(first_ms, 95):.2f} ms"
    )
    say(
        f"agent round trip at the client: p50 {agent_rtt['p50_ms']} ms, p95 {agent_rtt['p95_ms']} ms, p99 {agent_rtt['p99_ms']} ms"
    )
    say(
        f"bare echo round trip at the client: p50 {bare_rtt['p50_ms']} ms, p95 {bare_rtt['p95_ms']} ms, p99 {bare_rtt['p99_ms']} ms"
    )
    for error in sorted(set(agent.errors + bare.errors))[:10]:
        say(f"  error: {error}")
    failed = agent.failed + bare.failed + max(0, agent.turns - len(server_ms))
    ok = server["p95_ms"] <= TARGET_P95_MS and failed == 0
    say(f"p95 overhead <= {TARGET_P95_MS:.0f} ms and no failed turn: {_scratch.verdict(ok)}")
    return {
        "benchmark": "agent_turns",
        "p95_overhead_ms": server["p95_ms"],
        "p50_overhead_ms": server["p50_ms"],
        "p99_overhead_ms": server["p99_ms"],
        "p95_bare_ms": bare_rtt["p95_ms"],
        "p50_bare_ms": bare_rtt["p50_ms"],
        "p99_bare_ms": bare_rtt["p99_ms"],
        "p95_agent_client_ms": agent_rtt["p95_ms"],
        "p50_agent_client_ms": agent_rtt["p50_ms"],
        "turns": agent.turns,
        "bare_turns": bare.turns,
        "failed": failed,
        "conversations": args.conversations,
        "turns_per_conversation": args.turns,
        "think_seconds": args.think,
        "target_met": ok,
        "code": _scratch.code_version(),
        "load_average": _scratch.load_average(),
    }


def main() -> None:
    args = parse_args()
    _scratch.run_and_report(SCRATCH_DB, lambda: run(args))


if __name__ == "__main__":
    main()
