"""Benchmark: signed inbound voice webhooks under load, against a bare view on the same server; 1 tenant vs 1,000.

    python bench/inbound_webhook.py            # 1,000 tenants, 3 rounds (about 8 minutes with the setup)
    python bench/inbound_webhook.py --quick    # smoke run: 60 tenants, 2 short rounds (about 2 minutes)

What it sets up (nothing touches the database or Redis database named in .env):

* A scratch database `switchboard_bench_inbound` (`migrate_schemas --shared`, `setup_platform`) with one tenant,
  made as the platform makes one: a schema cloned from the template (tenants.schema_template), its Domain, an
  active Twilio subaccount (TwilioAccount, auth token encrypted at rest), its number routed to it
  (telephony.registry.routing.number_route_claim) and set up with a "message" call flow
  (telephony.inbound.services.number_settings_save). Every answer of that flow is the same TwiML document.
* A second scratch database `switchboard_bench_inbound_many`, a copy of the first (CREATE DATABASE ... TEMPLATE),
  with --tenants (1,000) tenants in all: the same first tenant and 999 more with their rows made in bulk (Tenant,
  Domain, TwilioAccount, PhoneNumberRoute) and each its own schema, restored from a pg_dump of the template
  schema (20 schemas to a transaction, 2 psql at a time: 2 to 3 times faster than cloning them one by one),
  with the same kind of flow on its number.
* Two web servers, one per database, each gunicorn as testsupport.processes.web_command starts it (2 gthread
  workers x 4 threads; --workers/--threads to try others), with production's settings (DEBUG off, JSON logs at
  INFO, the access log, persistent database connections: CONN_MAX_AGE 60) and bench/settings_inbound.py's
  URLconfs, which add a bare view to the real routes: POST /webhooks/twilio/voice/bench-bare/ answers the flow's
  TwiML as a constant, through the same middleware as the webhook (it is under the same prefix).

What it measures, in alternating rounds (the machine is shared and noisy, so every figure has its neighbour
from the same minute):

* `bare`: the bare view; `webhook`: POST /webhooks/twilio/voice/ on the tenant's host, as Twilio calls a
  number's VoiceUrl: Twilio's incoming-call parameters (with the geographic ones and a CallToken), a new CallSid
  for every request (so each records a new inbound Communication), signed (X-Twilio-Signature) with the
  tenant's auth token by twilio-python's RequestValidator. Both on the one-tenant server.
* `webhook_1000`: the same on the 1,000-tenant server, every request to another tenant's host and number (round
  robin over all of them: per-tenant caches get no help from a hot tenant). `public_1` / `public_1000`: the
  same requests on the public host, where the tenant is found from the number called (the registry); on
  by default, --no-public to skip.
* `bare_baseline` / `webhook_baseline` (with --baseline-tree DIR): the same on a third server running another
  checkout of the project (the code before a change) on the one-tenant database, for before/after in one run.
* `webhook_paced` / `bare_paced`: latency at a fixed offered load (open loop, Poisson arrivals at
  --paced-fraction of the webhook's closed-loop throughput measured in the warm-up), each latency counted
  from when the request was due, so time spent waiting for a free connection counts (no coordinated omission).

The load generator is this process: a lean asyncio HTTP/1.1 client, --concurrency (100) keep-alive connections
opened before the clock starts, every request built and signed before the timed phase, latency measured per
request. An answer that is not 200 with exactly the flow's TwiML (a 403, the fallback TwiML, anything else) is
an error. CPU of the client, the server (gunicorn's processes) and the PostgreSQL backends serving the
database is measured for each run.

About p99 at 100 concurrent requests: in a closed loop the mean latency is concurrency / throughput (Little's
law), so p99 <= 25 ms at 100 concurrent needs >= 4,000 answers/s, which no Django view reaches on 2 cores
(the bare one included); `p99_ms` is reported as the issue asks, and the paced runs show what one request
costs when the server is not saturated.

Prints figures as it goes, ends with one JSON line. Targets: webhook throughput >= 0.8x the bare view's,
p99 <= 25 ms, 1,000-tenant throughput >= 0.9x the one-tenant one.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _scratch  # noqa: E402
from _scratch import REPO_ROOT, say, verdict  # noqa: E402
from _sms_rig import (  # noqa: E402
    Process,
    database_backends_cpu_seconds,
    descendants,
    free_port,
    host_cpu_ticks,
    tree_cpu_seconds,
)

SCRATCH_DB = "switchboard_bench_inbound"
SCRATCH_DB_MANY = "switchboard_bench_inbound_many"
TARGET_RATIO_BARE = 0.8
TARGET_P99_MS = 25.0
TARGET_RATIO_TENANTS = 0.9
VOICE_PATH = "/webhooks/twilio/voice/"
MAIN_SLUG = "bench"
NUMBER_BASE = 14_155_200_000  # +1 415 520 0000 and up: the tenants' numbers (San Francisco)
CALLER_BASE = 12_125_550_000  # +1 212 555 0000 and up: the callers
SCHEMAS_PER_TRANSACTION = 20
PSQL_AT_ONCE = 2
SERVER_START_TIMEOUT = 60.0
CLOSED_SERIES = ("bare", "webhook", "webhook_1000", "public_1", "public_1000")
PACED_SERIES = ("webhook_paced", "bare_paced")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="tenants on the second server (1000)")
    parser.add_argument("--requests", type=int, default=4000, help="requests per closed-loop run (4000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each runs every series once (3)")
    parser.add_argument("--concurrency", type=int, default=100, help="connections, each one request at a time (100)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: web_command's)")
    parser.add_argument(
        "--threads", type=int, default=None, help="gunicorn threads per worker (default: web_command's)"
    )
    parser.add_argument("--no-public", action="store_true", help="skip the public-host series")
    parser.add_argument(
        "--conn-max-age", type=int, default=60, help="the servers' DATABASE_CONN_MAX_AGE (60: production's default)"
    )
    parser.add_argument(
        "--paced-fraction",
        type=float,
        default=0.5,
        help="offered load of the paced runs, as a fraction of the webhook's throughput in the warm-up (0.5; 0: none)",
    )
    parser.add_argument("--paced-seconds", type=float, default=6.0, help="length of each paced run (6 s)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 tenants, 1500 requests, 2 rounds")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (their folder is printed)")
    parser.add_argument(
        "--baseline-requests", type=int, default=1000, help="requests per closed-loop run of the baseline (1000)"
    )
    parser.add_argument(
        "--baseline-tree",
        default="",
        help="another checkout of the project (the code before a change, say): a third server runs it on the "
        "one-tenant database, and its bare view and webhook are measured in the same rounds (bare_baseline, "
        "webhook_baseline)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="py-spy binary: after the last round, record the workers while the webhook series run once more",
    )
    args = parser.parse_args()
    if args.quick:
        args.tenants, args.requests, args.rounds, args.paced_seconds = 60, 1500, 2, 3.0
    if args.tenants < 2 or args.requests < args.concurrency or args.rounds < 1:
        parser.error("need --tenants >= 2, --requests >= --concurrency, --rounds >= 1")
    return args


# --- the requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One tenant as Twilio sees it: its host, number, and the token its requests are signed with."""

    slug: str
    host: str  # the tenant's domain
    number: str
    account_sid: str
    auth_token: str


def e164(base: int, index: int) -> str:
    return f"+{base + index}"


def call_token() -> str:
    """Twilio adds a CallToken (for forwarding with the caller's ID) to every incoming call: a JSON document,
    about this long."""
    return json.dumps(
        {
            "parentCallInfoToken": secrets.token_urlsafe(180),
            "identityHeaderTokens": [],
            "callerIdInfoToken": secrets.token_urlsafe(120),
        }
    )


def incoming_call_params(target: Target, sid: str, caller: str, token: str) -> dict[str, str]:
    """Twilio's parameters for an incoming call to a number (ringing), in the order Twilio sends them."""
    return {
        "AccountSid": target.account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "ringing",
        "CallToken": token,
        "Called": target.number,
        "CalledCity": "SAN FRANCISCO",
        "CalledCountry": "US",
        "CalledState": "CA",
        "CalledZip": "94103",
        "Caller": caller,
        "CallerCity": "NEW YORK",
        "CallerCountry": "US",
        "CallerState": "NY",
        "CallerZip": "10001",
        "Direction": "inbound",
        "From": caller,
        "FromCity": "NEW YORK",
        "FromCountry": "US",
        "FromState": "NY",
        "FromZip": "10001",
        "StirVerstat": "TN-Validation-Passed-A",
        "To": target.number,
        "ToCity": "SAN FRANCISCO",
        "ToCountry": "US",
        "ToState": "CA",
        "ToZip": "94103",
    }


class RequestFactory:
    """Builds signed requests ahead of the timed phase: every one a new call (its own CallSid)."""

    def __init__(self, *, scheme: str, run_id: str) -> None:
        from twilio.request_validator import RequestValidator

        self.scheme = scheme
        self.run_id = run_id
        self.serial = 0
        self.validators: dict[str, Any] = {}
        self.tokens = [call_token() for _ in range(64)]
        self._validator_class = RequestValidator

    def build(self, target: Target, *, port: int, path: str, public_host: str | None = None) -> bytes:
        self.serial += 1
        sid = f"CA{self.run_id}{self.serial:026x}"
        caller = e164(CALLER_BASE, self.serial % 10_000)
        params = incoming_call_params(target, sid, caller, self.tokens[self.serial % len(self.tokens)])
        host = f"{public_host or target.host}:{port}"
        url = f"{self.scheme}://{host}{path}"
        validator = self.validators.get(target.auth_token)
        if validator is None:
            validator = self.validators[target.auth_token] = self._validator_class(target.auth_token)
        signature = validator.compute_signature(url, params)
        body = urlencode(params).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nAccept: */*\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


# --- the load generator ------------------------------------------------------------------------------


@dataclass
class RunResult:
    series: str
    requests: int
    seconds: float
    latencies: list[float]  # seconds, one per answered request
    errors: Counter[str] = field(default_factory=Counter)
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    postgres_cpu: float = 0.0
    host_busy_pct: float = 0.0
    worker_cpu: list[float] = field(default_factory=list)
    offered_rate: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError("answer without Content-Length")
    end = lower.index(b"\r\n", at + 2)
    body = await reader.readexactly(int(lower[at + 17 : end]))
    return status, body, b"\r\nconnection: close" in lower


def _classify(status: int, body: bytes, expected: bytes, errors: Counter[str]) -> None:
    if status != 200:
        errors[f"http {status}"] += 1
    elif body != expected:
        errors["fallback TwiML" if b"Sorry, we cannot take your call" in body else "other answer"] += 1


async def _connect(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    return list(await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(count))))


async def _closed_loop(port: int, requests: list[bytes], concurrency: int, expected: bytes) -> RunResult:
    """`concurrency` connections, each sending its next request as soon as it has the answer to the last."""
    connections = await _connect(port, concurrency)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    next_index = iter(range(len(requests)))
    clock = time.perf_counter

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for index in next_index:
            started = clock()
            writer.write(requests[index])
            try:
                status, body, close = await _answer(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError) as error:
                errors[f"connection: {type(error).__name__}"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(clock() - started)
            _classify(status, body, expected, errors)
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    started = clock()
    await asyncio.gather(*(client(reader, writer) for reader, writer in connections))
    seconds = clock() - started
    return RunResult(series="", requests=len(requests), seconds=seconds, latencies=latencies, errors=errors)


async def _paced(port: int, requests: list[bytes], concurrency: int, expected: bytes, rate: float) -> RunResult:
    """Open loop: request i is due at a Poisson arrival time; it goes out on the next free connection and its
    latency counts from when it was due."""
    connections = await _connect(port, concurrency)
    free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for connection in connections:
        free.put_nowait(connection)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    clock = time.perf_counter
    arrivals = random.Random(7)

    async def one(request: bytes, due: float) -> None:
        reader, writer = await free.get()
        writer.write(request)
        try:
            status, body, close = await _answer(reader)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as error:
            errors[f"connection: {type(error).__name__}"] += 1
            close, status, body = True, 0, b""
        else:
            latencies.append(clock() - due)
            _classify(status, body, expected, errors)
        if close:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        free.put_nowait((reader, writer))

    tasks = []
    started = clock()
    due = started
    for request in requests:
        due += arrivals.expovariate(rate)
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(request, due)))
    await asyncio.gather(*tasks)
    seconds = clock() - started
    while not free.empty():
        free.get_nowait()[1].close()
    return RunResult(
        series="", requests=len(requests), seconds=seconds, latencies=latencies, errors=errors, offered_rate=rate
    )


# --- the web servers ---------------------------------------------------------------------------------


class Server(Process):
    """gunicorn on one scratch database, in its own session, its output in a log file."""

    def __init__(
        self,
        *,
        name: str,
        database_url: str,
        database: str,
        log_dir: Path,
        argv_tail: list[str],
        cwd: Path = REPO_ROOT,
        conn_max_age: int = 60,
    ) -> None:
        from django.conf import settings

        self.database, self.cwd = database, cwd
        self.port = free_port()
        self.argv = self._command(argv_tail)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings_inbound",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": str(conn_max_age),  # production's default is 60 (the test fixtures use 0)
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "INFO",  # production's: django-structlog's request_finished, one line a request
            "LOG_FORMAT": "json",
            "SITE_PORT": str(self.port),  # where "Twilio" calls: the signed URLs carry this port
            "SITE_SCHEME": settings.SITE_SCHEME,
            "BASE_DOMAIN": settings.BASE_DOMAIN,
        }
        super().__init__(name, self.argv, env, log_dir, cwd=cwd)

    def _command(self, argv_tail: list[str]) -> list[str]:
        from testsupport.processes import web_command

        command = web_command(self.port)
        for option, value in zip(argv_tail[::2], argv_tail[1::2], strict=True):
            command[command.index(option) + 1] = value
        return command

    def describe(self) -> str:
        at = self.argv.index("gunicorn")
        return " ".join(self.argv[at:]).replace(f"127.0.0.1:{self.port}", "127.0.0.1:PORT")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise SystemExit(f"{self.name} server exited:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"{self.name} server did not start:\n{self.tail()}")

    def worker_pids(self) -> list[int]:
        return descendants(self.pid)


def _per_pid_cpu(pids: list[int]) -> dict[int, float]:
    return {pid: tree_cpu_seconds([pid]) for pid in pids}


# --- the data ----------------------------------------------------------------------------------------


def _target(slug: str, index: int, account_sid: str, token: str) -> Target:
    from tenants.hosts import tenant_domain_for

    return Target(
        slug=slug,
        host=tenant_domain_for(slug),
        number=e164(NUMBER_BASE, index),
        account_sid=account_sid,
        auth_token=token,
    )


def make_main_tenant() -> Target:
    """The one tenant of the first database, made the way the platform makes one."""
    from django.db import transaction
    from django_tenants.utils import tenant_context
    from urls_inbound import FLOW_TEXT

    from telephony.inbound.models import CallFlow
    from telephony.inbound.services import number_settings_save
    from telephony.registry.models import TwilioAccount
    from telephony.registry.routing import number_route_claim
    from tenants.hosts import tenant_domain_for
    from tenants.models import Domain, Tenant
    from tenants.schema_template import create_tenant_schema
    from tenants.validators import schema_name_for_slug

    target = _target(MAIN_SLUG, 0, "AC" + secrets.token_hex(16), secrets.token_hex(16))
    with transaction.atomic():
        tenant = Tenant.objects.create(
            name="Bench and Sons", slug=MAIN_SLUG, schema_name=schema_name_for_slug(MAIN_SLUG)
        )
        create_tenant_schema(tenant.schema_name)
        Domain.objects.create(domain=tenant_domain_for(MAIN_SLUG), tenant=tenant, is_primary=True)
        TwilioAccount.objects.create(
            tenant=tenant,
            kind=TwilioAccount.Kind.SUBACCOUNT,
            status=TwilioAccount.Status.ACTIVE,
            account_sid=target.account_sid,
            auth_token=target.auth_token,
        )
    number_route_claim(tenant=tenant, phone_number=target.number)
    with tenant_context(tenant):
        flow = CallFlow(name="Closed", kind=CallFlow.Kind.MESSAGE, text=FLOW_TEXT)
        flow.full_clean()
        flow.save()
        number_settings_save(tenant=tenant, phone_number=target.number, call_flow=flow)
    return target


def make_many_tenants(count: int, database_url: str) -> list[Target]:
    """Tenants 1..count-1 of the second database: public rows in bulk, schemas restored from the template's dump."""
    from django.conf import settings
    from django.db import transaction
    from django_tenants.utils import schema_context
    from urls_inbound import FLOW_TEXT

    from telephony.inbound.models import CallFlow, NumberSettings
    from telephony.registry.models import PhoneNumberRoute, TwilioAccount
    from tenants.models import Domain, Tenant
    from tenants.validators import schema_name_for_slug

    targets = [
        _target(f"t{index:05d}", index, "AC" + secrets.token_hex(16), secrets.token_hex(16))
        for index in range(1, count)
    ]
    started = time.perf_counter()
    with transaction.atomic():
        tenants = Tenant.objects.bulk_create(
            [Tenant(name=f"Bench {t.slug}", slug=t.slug, schema_name=schema_name_for_slug(t.slug)) for t in targets]
        )
        Domain.objects.bulk_create(
            [Domain(domain=t.host, tenant=tenant, is_primary=True) for t, tenant in zip(targets, tenants, strict=True)]
        )
        TwilioAccount.objects.bulk_create(
            [
                TwilioAccount(
                    tenant=tenant,
                    kind=TwilioAccount.Kind.SUBACCOUNT,
                    status=TwilioAccount.Status.ACTIVE,
                    account_sid=t.account_sid,
                    auth_token=t.auth_token,
                )
                for t, tenant in zip(targets, tenants, strict=True)
            ]
        )
        PhoneNumberRoute.objects.bulk_create(
            [PhoneNumberRoute(phone_number=t.number, tenant=tenant) for t, tenant in zip(targets, tenants, strict=True)]
        )
    say(
        f"  public rows for {len(targets)} tenants (Tenant, Domain, TwilioAccount, PhoneNumberRoute): "
        f"{time.perf_counter() - started:.1f} s"
    )

    template = settings.TENANT_TEMPLATE_SCHEMA
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "--schema", template, database_url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    started = time.perf_counter()
    schemas = [tenant.schema_name for tenant in tenants]
    batches = [schemas[at : at + SCHEMAS_PER_TRANSACTION] for at in range(0, len(schemas), SCHEMAS_PER_TRANSACTION)]
    running: list[subprocess.Popen[str]] = []
    done = 0
    for batch in batches:
        while len(running) >= PSQL_AT_ONCE:
            running = _reap(running)
            time.sleep(0.02)
        script = "SET synchronous_commit = off;\n" + "".join(dump.replace(template, name) for name in batch)
        process = subprocess.Popen(
            ["psql", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1", database_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None
        process.stdin.write(script)
        process.stdin.close()
        running.append(process)
        done += len(batch)
        if done % 200 < SCHEMAS_PER_TRANSACTION or done == len(schemas):
            elapsed = time.perf_counter() - started
            say(f"  schemas: {done}/{len(schemas)} started, {elapsed:5.1f} s")
    while running:
        running = _reap(running)
        time.sleep(0.02)
    say(f"  {len(schemas)} schemas restored from the template's dump: {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    for t, tenant in zip(targets, tenants, strict=True):
        with schema_context(tenant.schema_name):
            flow = CallFlow.objects.create(name="Closed", kind=CallFlow.Kind.MESSAGE, text=FLOW_TEXT)
            NumberSettings.objects.create(phone_number=t.number, call_flow=flow)
    say(f"  a call flow and number settings in each: {time.perf_counter() - started:.1f} s")
    return targets


def _reap(running: list[subprocess.Popen[str]]) -> list[subprocess.Popen[str]]:
    left = []
    for process in running:
        if process.poll() is None:
            left.append(process)
        elif process.returncode:
            assert process.stderr is not None
            raise SystemExit(f"psql failed restoring schemas: {process.stderr.read()[-2000:]}")
    return left


def use_database(name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def inbound_calls_recorded(schemas: list[str]) -> int:
    from tenants.db import connection

    total = 0
    with connection.cursor() as cursor:
        for at in range(0, len(schemas), 200):
            union = " UNION ALL ".join(
                f"SELECT count(*) FROM {connection.ops.quote_name(s)}.telephony_communication "
                "WHERE direction = 'inbound' AND channel = 'call'"
                for s in schemas[at : at + 200]
            )
            cursor.execute(f"SELECT sum(count) FROM ({union}) AS counts")
            total += int(cursor.fetchone()[0] or 0)
    return total


# --- the benchmark -----------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    server: Server
    path: str
    targets: list[Target]
    public: bool = False
    paced: bool = False
    runs: list[RunResult] = field(default_factory=list)


class Bench:
    def __init__(self, args: argparse.Namespace, expected: bytes, public_host: str, scheme: str) -> None:
        self.args = args
        self.expected = expected
        self.public_host = public_host
        self.factory = RequestFactory(scheme=scheme, run_id=secrets.token_hex(3))
        self.next_target: dict[str, int] = {}
        self.webhook_ok: Counter[str] = Counter()  # 200 + the flow's TwiML, per server: each recorded a call

    def requests_for(self, series: Series, count: int) -> list[bytes]:
        at = self.next_target.get(series.name, 0)
        built = []
        for k in range(count):
            target = series.targets[(at + k) % len(series.targets)]
            built.append(
                self.factory.build(
                    target,
                    port=series.server.port,
                    path=series.path,
                    public_host=self.public_host if series.public else None,
                )
            )
        self.next_target[series.name] = (at + count) % len(series.targets)
        return built

    def run(self, series: Series, count: int, rate: float | None = None, record: bool = True) -> RunResult:
        requests = self.requests_for(series, count)
        workers = series.server.worker_pids()
        server_before = tree_cpu_seconds([series.server.pid])
        workers_before = _per_pid_cpu(workers)
        postgres_before = database_backends_cpu_seconds(series.server.database)
        host_before = host_cpu_ticks()
        client_before = time.process_time()
        if rate is None:
            result = asyncio.run(_closed_loop(series.server.port, requests, self.args.concurrency, self.expected))
        else:
            result = asyncio.run(_paced(series.server.port, requests, self.args.concurrency, self.expected, rate))
        result.client_cpu = time.process_time() - client_before
        host_after = host_cpu_ticks()
        result.server_cpu = tree_cpu_seconds([series.server.pid]) - server_before
        result.worker_cpu = [cpu - workers_before.get(pid, 0.0) for pid, cpu in _per_pid_cpu(workers).items()]
        postgres_after = database_backends_cpu_seconds(series.server.database)
        result.postgres_cpu = sum(cpu - postgres_before.get(pid, 0.0) for pid, cpu in postgres_after.items())
        result.host_busy_pct = (host_after[0] - host_before[0]) / max(1, host_after[1] - host_before[1]) * 100
        result.series = series.name
        if series.path == VOICE_PATH:
            self.webhook_ok[series.server.name] += len(result.latencies) - result.error_count
        if record:
            series.runs.append(result)
        return result


def ms(seconds: float) -> float:
    return seconds * 1000.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * (len(sorted_values) - 1)))))
    return sorted_values[index]


def describe_run(result: RunResult) -> str:
    ordered = sorted(result.latencies)
    per_request = 1000.0 / max(1, result.requests)
    offered = f" offered {result.offered_rate:.0f}/s," if result.offered_rate else ""
    errors = f" ERRORS {dict(result.errors)}" if result.errors else ""
    return (
        f"{result.series:<14} {result.rps:7.1f} req/s,{offered} p50 {ms(percentile(ordered, 0.5)):6.1f} ms, "
        f"p99 {ms(percentile(ordered, 0.99)):6.1f} ms | CPU ms/request: server {result.server_cpu * per_request:.2f}, "
        f"postgres {result.postgres_cpu * per_request:.2f}, client {result.client_cpu * per_request:.2f}; "
        f"machine {result.host_busy_pct:.0f}% busy{errors}"
    )


def summarize(series: Series) -> dict[str, Any]:
    latencies = sorted(value for run in series.runs for value in run.latencies)
    requests = sum(run.requests for run in series.runs)
    errors: Counter[str] = Counter()
    for run in series.runs:
        errors.update(run.errors)

    def per_request(attribute: str) -> float:
        return sum(getattr(run, attribute) for run in series.runs) * 1000.0 / max(1, requests)

    return {
        "rps": statistics.median(run.rps for run in series.runs) if series.runs else 0.0,
        "rps_runs": [round(run.rps, 1) for run in series.runs],
        "p50_ms": ms(percentile(latencies, 0.5)),
        "p90_ms": ms(percentile(latencies, 0.9)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "max_ms": ms(latencies[-1]) if latencies else float("nan"),
        "requests": requests,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "server_cpu_ms": per_request("server_cpu"),
        "postgres_cpu_ms": per_request("postgres_cpu"),
        "client_cpu_ms": per_request("client_cpu"),
        "host_busy_pct": statistics.fmean(run.host_busy_pct for run in series.runs) if series.runs else 0.0,
    }


def paired_ratio(numerator: Series, denominator: Series) -> float:
    """The median of each round's ratio: each pair ran within the same minute."""
    pairs = [a.rps / b.rps for a, b in zip(numerator.runs, denominator.runs, strict=False) if b.rps]
    return statistics.median(pairs) if pairs else float("nan")


def run(args: argparse.Namespace, scratch: _scratch.ScratchDatabase, many: _scratch.ScratchDatabase) -> dict[str, Any]:
    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from urls_inbound import BARE_PATH, TWIML

    from tenants.db import connection

    version = _scratch.code_version()
    loads = [_scratch.load_average()]
    say(f"code: {version}; load average {loads[0]} ({os.cpu_count()} CPUs)")
    say(f"scratch databases: {scratch.name}, {many.name} (the development database is not touched)")
    setup_started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("setup_platform", stdout=io.StringIO())
    main = make_main_tenant()
    say(
        f"setup: public schema, template, one tenant ({main.host}, {main.number}): "
        f"{time.perf_counter() - setup_started:.1f} s"
    )

    use_database("postgres")  # nobody on the first database while it is copied
    many.create(template=scratch.name)
    use_database(many.name)
    say(f"{many.name}: a copy of {scratch.name}, then {args.tenants - 1} more tenants:")
    others = make_many_tenants(args.tenants, many.url)
    if not _scratch.autovacuum_is_on():
        say(
            f"  VACUUM ANALYZE of the system catalogs (autovacuum is off on this server): {_scratch.vacuum_catalogs():.1f} s"
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM tenants_tenant WHERE schema_name <> 'public'")
        schemas_many = [row[0] for row in cursor.fetchall()]
    use_database(scratch.name)
    say(f"setup done: {time.perf_counter() - setup_started:.1f} s")

    log_dir = Path(tempfile.mkdtemp(prefix="sb_inbound_bench_"))
    tail = []
    if args.workers is not None:
        tail += ["--workers", str(args.workers)]
    if args.threads is not None:
        tail += ["--threads", str(args.threads)]
    servers: list[Server] = []
    bench_result: dict[str, Any] = {}
    try:
        one = Server(
            name="one-tenant",
            database_url=scratch.url,
            database=scratch.name,
            log_dir=log_dir,
            argv_tail=tail,
            conn_max_age=args.conn_max_age,
        )
        servers.append(one)
        thousand = Server(
            name="many-tenants",
            database_url=many.url,
            database=many.name,
            log_dir=log_dir,
            argv_tail=tail,
            conn_max_age=args.conn_max_age,
        )
        servers.append(thousand)
        baseline = None
        if args.baseline_tree:
            baseline = Server(
                name="baseline",
                database_url=scratch.url,
                database=scratch.name,
                log_dir=log_dir,
                argv_tail=tail,
                conn_max_age=args.conn_max_age,
                cwd=Path(args.baseline_tree).resolve(),
            )
            servers.append(baseline)
        for server in servers:
            server.wait_ready()
        say(f"servers: {one.describe()} (each; one on each database)")
        bench_result = measure(args, one, thousand, baseline, main, others, TWIML, BARE_PATH, settings, loads, version)
    finally:
        for server in servers:
            server.stop()
        if args.keep_logs:
            say(f"server logs kept in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)

    from tenants.validators import schema_name_for_slug

    recorded_one = inbound_calls_recorded([schema_name_for_slug(MAIN_SLUG)])
    use_database(many.name)
    recorded_many = inbound_calls_recorded(schemas_many)
    use_database(scratch.name)
    answered_one = bench_result["_ok"].get("one-tenant", 0) + bench_result["_ok"].get("baseline", 0)
    answered_many = bench_result["_ok"].get("many-tenants", 0)
    say(
        f"inbound calls recorded: {recorded_one} for {answered_one} webhooks answered on the one-tenant server, "
        f"{recorded_many} for {answered_many} on the 1,000-tenant one"
    )
    del bench_result["_ok"]
    bench_result["calls_recorded_match"] = recorded_one == answered_one and recorded_many == answered_many
    return bench_result


def measure(
    args: argparse.Namespace,
    one: Server,
    thousand: Server,
    baseline: Server | None,
    main: Target,
    others: list[Target],
    expected: bytes,
    bare_path: str,
    settings: Any,
    loads: list[str],
    version: str,
) -> dict[str, Any]:
    bench = Bench(args, expected, public_host=settings.BASE_DOMAIN, scheme=settings.SITE_SCHEME)
    everyone = [main, *others]
    series = {
        "bare": Series("bare", one, bare_path, [main]),
        "webhook": Series("webhook", one, VOICE_PATH, [main]),
        "webhook_1000": Series("webhook_1000", thousand, VOICE_PATH, everyone),
    }
    if not args.no_public:
        series["public_1"] = Series("public_1", one, VOICE_PATH, [main], public=True)
        series["public_1000"] = Series("public_1000", thousand, VOICE_PATH, everyone, public=True)
    if baseline is not None:
        series["bare_baseline"] = Series("bare_baseline", baseline, bare_path, [main])
        series["webhook_baseline"] = Series("webhook_baseline", baseline, VOICE_PATH, [main])

    # One request first: the webhook must answer exactly the flow's TwiML, or there is nothing to measure.
    for check in (series["webhook"], series["webhook_1000"]):
        probe = bench.run(check, 1, record=False)
        if probe.errors:
            raise SystemExit(
                f"the webhook does not answer the flow's TwiML on {check.server.name}: {dict(probe.errors)}\n"
                f"{check.server.tail()}"
            )

    say()
    say("warm-up (not counted): every series once, every tenant three times")
    warm = max(args.requests // 2, 3 * len(everyone))
    warm_rates = {}
    for item in series.values():
        if item.server.name == "baseline":
            count = args.baseline_requests // 2
        else:
            count = warm if len(item.targets) > 1 else args.requests // 2
        result = bench.run(item, count, record=False)
        say("  " + describe_run(result))
        warm_rates[item.name] = result.rps
    paced_rate = min(warm_rates["bare"], warm_rates["webhook"]) * args.paced_fraction
    if paced_rate > 0:
        series["webhook_paced"] = Series("webhook_paced", one, VOICE_PATH, [main], paced=True)
        series["bare_paced"] = Series("bare_paced", one, bare_path, [main], paced=True)

    order = list(series)
    for round_number in range(1, args.rounds + 1):
        say()
        say(f"round {round_number}/{args.rounds} (load average {_scratch.load_average()})")
        shift = (round_number - 1) % len(order)
        for name in order[shift:] + order[:shift]:
            item = series[name]
            if item.paced:
                count = max(args.concurrency, int(paced_rate * args.paced_seconds))
                result = bench.run(item, count, rate=paced_rate)
            else:
                result = bench.run(item, args.baseline_requests if item.server.name == "baseline" else args.requests)
            say("  " + describe_run(result))
        if args.profile and round_number == args.rounds:
            profile(args.profile, bench, series)
    loads.append(_scratch.load_average())

    figures = {name: summarize(item) for name, item in series.items()}
    ratio_bare = paired_ratio(series["webhook"], series["bare"])
    ratio_tenants = paired_ratio(series["webhook_1000"], series["webhook"])
    ratio_public = paired_ratio(series["public_1000"], series["public_1"]) if "public_1" in series else None
    web, bare = figures["webhook"], figures["bare"]
    say()
    say("summary (rates: median of the rounds; latencies: over every request of every round)")
    for name, figure in figures.items():
        say(
            f"  {name:<14} {figure['rps']:7.1f} req/s (runs {figure['rps_runs']}), p50 {figure['p50_ms']:.1f} ms, "
            f"p99 {figure['p99_ms']:.1f} ms, max {figure['max_ms']:.0f} ms, errors {figure['errors']}; CPU ms/request "
            f"server {figure['server_cpu_ms']:.2f}, postgres {figure['postgres_cpu_ms']:.2f}, "
            f"client {figure['client_cpu_ms']:.2f}"
        )
    say(
        f"  {verdict(ratio_bare >= TARGET_RATIO_BARE)}  webhook / bare view throughput {ratio_bare:.2f} "
        f"(target >= {TARGET_RATIO_BARE})"
    )
    say(
        f"  {verdict(web['p99_ms'] <= TARGET_P99_MS)}  webhook p99 at {args.concurrency} concurrent "
        f"{web['p99_ms']:.1f} ms (target <= {TARGET_P99_MS:.0f} ms; the bare view's: {bare['p99_ms']:.1f} ms; "
        f"closed loop: mean latency = {args.concurrency} / throughput)"
    )
    if "webhook_paced" in figures:
        say(
            f"        paced at {paced_rate:.0f} req/s ({args.paced_fraction:.0%} of the webhook's warm-up rate): "
            f"webhook p99 {figures['webhook_paced']['p99_ms']:.1f} ms, bare view p99 {figures['bare_paced']['p99_ms']:.1f} ms"
        )
    scaled = args.tenants >= 1000
    say(
        f"  {verdict(ratio_tenants >= TARGET_RATIO_TENANTS)}  {args.tenants} tenants / 1 tenant throughput "
        f"{ratio_tenants:.2f} (target >= {TARGET_RATIO_TENANTS})"
        + ("" if scaled else " (smoke run: the target is for 1,000)")
    )
    if ratio_public is not None:
        say(f"        on the public host (tenant from the number called): {ratio_public:.2f}")
    if "webhook_baseline" in figures:
        old, old_bare = figures["webhook_baseline"], figures["bare_baseline"]
        say(
            f"  baseline ({args.baseline_tree}), same rounds: webhook {old['rps']:.1f} req/s, p99 {old['p99_ms']:.1f} ms, "
            f"bare view {old_bare['rps']:.1f} req/s; webhook now / then "
            f"{paired_ratio(series['webhook'], series['webhook_baseline']):.2f}x, webhook / bare then "
            f"{paired_ratio(series['webhook_baseline'], series['bare_baseline']):.2f}"
        )
    total_errors = sum(figure["errors"] for figure in figures.values())
    say(f"  errors (not 200 with the flow's TwiML): {total_errors}")
    say(f"load average at the end: {loads[-1]}")
    report: dict[str, Any] = {
        "benchmark": "inbound_webhook",
        "code": version,
        "load_avg_start": loads[0],
        "load_avg_end": loads[-1],
        "cpus": os.cpu_count(),
        "server": one.describe(),
        "concurrency": args.concurrency,
        "requests_per_run": args.requests,
        "rounds": args.rounds,
        "tenants": args.tenants,
        "rps": round(web["rps"], 1),
        "rps_bare": round(bare["rps"], 1),
        "ratio_vs_bare": round(ratio_bare, 3),
        "p50_ms": round(web["p50_ms"], 1),
        "p90_ms": round(web["p90_ms"], 1),
        "p99_ms": round(web["p99_ms"], 1),
        "p99_ms_bare": round(bare["p99_ms"], 1),
        "rps_1000_tenants": round(figures["webhook_1000"]["rps"], 1),
        "rps_1_tenant": round(web["rps"], 1),
        "ratio_1000_vs_1": round(ratio_tenants, 3),
        "errors": total_errors,
    }
    if ratio_public is not None:
        report.update(
            {
                "rps_public_1_tenant": round(figures["public_1"]["rps"], 1),
                "rps_public_1000_tenants": round(figures["public_1000"]["rps"], 1),
                "ratio_public_1000_vs_1": round(ratio_public, 3),
            }
        )
    if "webhook_baseline" in figures:
        report["baseline"] = {
            "tree": args.baseline_tree,
            "rps": round(figures["webhook_baseline"]["rps"], 1),
            "rps_bare": round(figures["bare_baseline"]["rps"], 1),
            "ratio_vs_bare": round(paired_ratio(series["webhook_baseline"], series["bare_baseline"]), 3),
            "p50_ms": round(figures["webhook_baseline"]["p50_ms"], 1),
            "p99_ms": round(figures["webhook_baseline"]["p99_ms"], 1),
            "speedup_webhook": round(paired_ratio(series["webhook"], series["webhook_baseline"]), 2),
        }
    if "webhook_paced" in figures:
        report.update(
            {
                "paced_rps": round(paced_rate, 1),
                "p50_ms_paced": round(figures["webhook_paced"]["p50_ms"], 1),
                "p99_ms_paced": round(figures["webhook_paced"]["p99_ms"], 1),
                "p99_ms_paced_bare": round(figures["bare_paced"]["p99_ms"], 1),
            }
        )
    report.update(
        {
            "cpu_ms_per_request": {
                name: {
                    "server": round(figure["server_cpu_ms"], 3),
                    "postgres": round(figure["postgres_cpu_ms"], 3),
                    "client": round(figure["client_cpu_ms"], 3),
                }
                for name, figure in figures.items()
            },
            "rps_runs": {name: figure["rps_runs"] for name, figure in figures.items()},
            "pass_ratio_vs_bare": ratio_bare >= TARGET_RATIO_BARE,
            "pass_p99": web["p99_ms"] <= TARGET_P99_MS,
            "pass_ratio_tenants": ratio_tenants >= TARGET_RATIO_TENANTS,
            "_ok": dict(bench.webhook_ok),
        }
    )
    return report


def profile(py_spy: str, bench: Bench, series: dict[str, Series]) -> None:
    """py-spy (--profile) on the workers of the server of each webhook series while it runs once more (not counted):
    raw collapsed stacks, one file per worker, of CPU samples (idle threads left out)."""
    out = Path(tempfile.mkdtemp(prefix="sb_inbound_profile_"))
    for name in ("webhook", "webhook_1000"):
        item = series[name]
        recorders = [
            subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--gil"]
                + ["--output", str(out / f"{name}-{pid}.txt")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in item.server.worker_pids()
        ]
        time.sleep(1.0)
        say("  profiling: " + describe_run(bench.run(item, bench.args.requests, record=False)))
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
        for recorder in recorders:
            recorder.wait(30)
    say(f"  py-spy profiles (raw, collapsed stacks) in {out}")


def main() -> None:
    args = parse_args()
    scratch = _scratch.prepare(SCRATCH_DB)
    many = _scratch.ScratchDatabase(SCRATCH_DB_MANY)
    try:
        result = run(args, scratch, many)
    finally:
        many.drop()
        scratch.drop()
        say(f"scratch databases {SCRATCH_DB}, {SCRATCH_DB_MANY} dropped")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
