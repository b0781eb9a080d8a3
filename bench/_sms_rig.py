"""Shared rig for the SMS delivery benchmarks (sms_throughput.py, sms_kill.py).

What it sets up, none of which touches the development database or Redis database named in .env:

* a scratch PostgreSQL database `switchboard_bench_sms` (dropped and recreated; `migrate_schemas --shared`
  and `setup_platform` run in it; dropped again at the end), and Redis database 13 (flushed before and after);
* the Twilio sandbox as its own process (`python -m sandbox.twilio`, free port, fresh master credentials),
  with TWILIO_SANDBOX_URL / TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN pointed at it for this process and every
  subprocess;
* a receiver for the status callbacks Twilio sends to the tenant host (SITE_PORT): a cheap sink (`sink`, an
  asyncio HTTP responder in its own process) or the real Django app under gunicorn (`web`);
* one tenant (tenant_onboard), its subaccount provisioned in the sandbox (twilio_subaccount_provision), many
  long-code SenderNumbers, and the messages, created through telephony.services.sms_send with the queueing
  held back, so that the timed phase starts at the first enqueue;
* real `celery -A config worker` processes (pool and concurrency from the command line).

Each message body carries a marker (`msg 000123`) so the sandbox's log shows which Communication arrived how
often: duplicates are markers seen more than once, losses are markers never seen.

Run as a script it is the callback sink: `python bench/_sms_rig.py sink --port P`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "switchboard_bench_sms"
PG_SERVER_URL = "postgres://postgres@127.0.0.1:5432"
REDIS_DB = 13
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PYTHON = sys.executable
VENV_BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
TENANT_SLUG = "smsbench"
MARKER = re.compile(r"msg (\d{6})")
SENDER_BASE = 16_463_000_000  # +1 646 300 0000 and up: valid US long codes, none of them sandbox magic numbers
DESTINATION_BASE = 12_122_000_000  # +1 212 200 0000 and up: one destination per message
ACTIVE_STATUSES = ("pending", "dispatching")

# Settings config/settings.py does not have and the workers should (see the benchmarks' output and docstrings).
RECOMMENDED_SETTINGS: dict[str, Any] = {
    # Celery's Django fix-up closes every database connection before and after each task unless this is set
    # (celery/celery#9824): a new PostgreSQL connection (and backend process) per message. With it, a worker
    # process keeps its connection for this many tasks.
    "CELERY_DB_REUSE_MAX": 1000,
    # tenant-schemas-celery looks the tenant up by schema name for every task unless it may cache it.
    "CELERY_TASK_TENANT_CACHE_SECONDS": 60,
    # django-tenants sends SET search_path before every query unless told to send it once per schema change.
    "TENANT_LIMIT_SET_CALLS": True,
}


def say(message: str = "") -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


# --- processes and their CPU time -------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, CPU seconds of the process plus its reaped children) from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ppid, ticks / CLK_TCK


def _process_table() -> dict[int, tuple[int, float]]:
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None:
                table[int(name)] = stat
    return table


def descendants(root: int, table: dict[int, tuple[int, float]] | None = None) -> list[int]:
    table = _process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def tree_cpu_seconds(roots: list[int]) -> float:
    """User+system CPU of each root and all its descendants (living ones, plus those already reaped)."""
    table = _process_table()
    total = 0.0
    for root in roots:
        for pid in [root, *descendants(root, table)]:
            if pid in table:
                total += table[pid][1]
    return total


def proc_text(pid: int, name: str) -> str:
    """/proc/<pid>/<name>, stripped; empty once the process is gone."""
    try:
        with open(f"/proc/{pid}/{name}") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def database_backends_cpu_seconds(database: str = DB_NAME) -> dict[int, float]:
    """CPU seconds of each living PostgreSQL backend connected to `database` (from its process title)."""
    found = {}
    for pid, (_, cpu) in _process_table().items():
        if proc_text(pid, "comm") != "postgres":
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                title = handle.read().decode(errors="replace")
        except OSError:
            continue
        if f" {database} " in title:
            found[pid] = cpu
    return found


class BackendCpu:
    """CPU of the PostgreSQL backends serving the bench database, sampled while the benchmark runs (a backend
    that lives and dies between two samples is missed: with a connection per task this undercounts)."""

    def __init__(self) -> None:
        self.start = database_backends_cpu_seconds()
        self.last = dict(self.start)

    def sample(self) -> None:
        self.last.update(database_backends_cpu_seconds())

    def seconds(self) -> float:
        self.sample()
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.last.items())


def postgres_cpu_seconds() -> float:
    """CPU of the whole PostgreSQL server: the postmaster and its backends, including backends that have
    exited (reaped by the postmaster). Shared with anything else using the server at the time."""
    table = _process_table()
    postmasters = [
        pid
        for pid, (ppid, _) in table.items()
        if proc_text(pid, "comm") == "postgres" and proc_text(ppid, "comm") != "postgres"
    ]
    return tree_cpu_seconds(postmasters)


def host_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


class Process:
    """A subprocess of the rig, in its own session, with its output in a log file."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log_dir: Path, *, cwd: Path = REPO_ROOT
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.popen = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL; also to any descendant left behind (by pid: only processes this rig started)."""
        left = descendants(self.pid) if self.alive() else []
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- the sandbox's message log ----------------------------------------------------------------------


def http_json(url: str, payload: Any = None, timeout: float = 30.0) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class SandboxLog:
    """Reads GET /sandbox/<journal> incrementally; for messages, counts arrivals per marker."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.next = 0
        self.arrivals: dict[int, list[dict[str, Any]]] = {}
        self.unmarked = 0
        self.first_arrival_monotonic: dict[int, float] = {}

    def poll(self) -> int:
        new = 0
        while True:
            page = http_json(f"{self.base_url}/sandbox/messages?since={self.next}&limit=10000")
            for item in page["items"]:
                match = MARKER.search(item.get("body") or "")
                if match is None:
                    self.unmarked += 1
                    continue
                index = int(match.group(1))
                self.arrivals.setdefault(index, []).append(item)
                self.first_arrival_monotonic.setdefault(index, item["received_monotonic"])
                new += 1
            self.next = page["next"]
            if len(page["items"]) < 10000:
                return new

    @property
    def distinct(self) -> int:
        return len(self.arrivals)

    @property
    def total(self) -> int:
        return sum(len(items) for items in self.arrivals.values())

    def duplicates(self) -> int:
        return sum(len(items) - 1 for items in self.arrivals.values())

    def sender_spacing(self, per_second: float) -> dict[str, Any]:
        """The per-sender cap as the sandbox saw it: the smallest gap between two arrivals from one sender, as a
        fraction of 1/rate, and how many gaps were under 0.7/rate (tokens are 1/rate apart; the request after a
        token adds jitter)."""
        by_sender: dict[str, list[float]] = {}
        for items in self.arrivals.values():
            for item in items:
                by_sender.setdefault(item["from"], []).append(item["received_monotonic"])
        smallest, tight = float("inf"), 0
        for times in by_sender.values():
            times.sort()
            for earlier, later in zip(times, times[1:], strict=False):
                smallest = min(smallest, (later - earlier) * per_second)
                tight += (later - earlier) * per_second < 0.7
        return {"min_gap_x_interval": round(smallest, 3) if smallest != float("inf") else None, "gaps_under_0_7": tight}


def callback_summary(base_url: str) -> dict[str, int]:
    """How the sandbox's status callbacks fared: sent, answered 2xx, failed (no answer or an error status)."""
    since, sent, ok = 0, 0, 0
    while True:
        page = http_json(f"{base_url}/sandbox/callbacks?since={since}&limit=10000")
        for item in page["items"]:
            if item.get("kind") == "status_callback":
                sent += 1
                status = item.get("status") or item.get("response_status")
                ok += int(isinstance(status, int) and 200 <= status < 300)
        since = page["next"]
        if len(page["items"]) < 10000:
            return {"sent": sent, "ok": ok, "failed": sent - ok}


# --- the rig ----------------------------------------------------------------------------------------


@dataclass
class RigOptions:
    messages: int = 10_000
    workers: int = 2
    concurrency: int = 4
    pool: str = "prefork"
    senders: int = 400
    sender_rate: float | None = None  # messages_per_second override; None: the long-code default (1/s)
    callbacks: str = "sink"  # sink | web
    web_workers: int = 2
    create: str = "service"  # service (sms_send) | bulk
    queue: str = "group"  # group (tasks.queue_group, as a campaign) | single (tasks.queue_now, as sms_send)
    extra_settings: dict[str, Any] = field(
        default_factory=dict
    )  # settings the workers get on top of config/settings.py
    keep_logs: bool = False


def add_rig_arguments(parser: argparse.ArgumentParser, *, workers: int, concurrency: int, pool: str) -> None:
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=workers, help="celery worker processes (main processes)")
    parser.add_argument("--concurrency", type=int, default=concurrency, help="pool size of each worker")
    parser.add_argument("--pool", default=pool, choices=["prefork", "threads", "solo"])
    parser.add_argument("--senders", type=int, default=400, help="long-code sender numbers, round robin")
    parser.add_argument(
        "--sender-rate", type=float, default=None, help="messages_per_second override per sender (default: none, 1/s)"
    )
    parser.add_argument(
        "--callbacks",
        default="sink",
        choices=["sink", "web"],
        help="sink: a cheap HTTP responder takes the status callbacks; web: the real Django app under gunicorn",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes with --callbacks web")
    parser.add_argument(
        "--create",
        default="service",
        choices=["service", "bulk"],
        help="create the messages with sms_send (default) or bulk_create (faster setup)",
    )
    parser.add_argument(
        "--queue",
        default="group",
        choices=["group", "single"],
        help="group: queue the messages as a campaign does, 50 to a task (tasks.queue_group); "
        "single: one task each, as a message sent through the API is (tasks.queue_now)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the subprocess logs (path printed)")
    parser.add_argument(
        "--recommended-settings",
        action="store_true",
        help="run the workers with the settings this benchmark recommends adding to config/settings.py "
        "(RECOMMENDED_SETTINGS in bench/_sms_rig.py); default: the settings exactly as they are",
    )
    parser.add_argument("--extra-settings", default="", help="JSON object of further Django settings for the workers")


def settings_label(options: "RigOptions") -> str:
    if not options.extra_settings:
        return "config/settings.py as it is"
    return "config/settings.py plus " + ", ".join(f"{k}={v!r}" for k, v in options.extra_settings.items())


def extra_settings_from(args: argparse.Namespace) -> dict[str, Any]:
    settings = dict(RECOMMENDED_SETTINGS) if args.recommended_settings else {}
    settings.update(json.loads(args.extra_settings) if args.extra_settings else {})
    return settings


class Rig:
    def __init__(self, options: RigOptions) -> None:
        self.options = options
        self.log_dir = Path(tempfile.mkdtemp(prefix="sb_sms_bench_"))
        self.processes: list[Process] = []
        self.workers: list[Process] = []
        self.worker_serial = 0
        self.sandbox: Process | None = None
        self.receiver: Process | None = None
        self.env: dict[str, str] = {}
        self.tenant: Any = None
        self.ids: list[int] = []  # Communication id per message index
        self.run_id = secrets.token_hex(3)
        self.db_created = False
        self.sandbox_url = ""

    # --- setup ---------------------------------------------------------------------------------------

    def setup(self) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _exit_on_signal)
        started = time.perf_counter()
        self._environment()
        self._fresh_database_and_redis()
        self._start_sandbox()
        import django

        sys.path.insert(0, str(REPO_ROOT))
        django.setup()
        self._migrate()
        if self.options.callbacks == "web":
            self._start_web()
        else:
            self._start_sink()
        self._tenant_on_sandbox()
        self._senders()
        self._messages()
        say(f"setup: {time.perf_counter() - started:.1f} s (not measured); subprocess logs in {self.log_dir}")

    def _environment(self) -> None:
        self.sandbox_port = free_port()
        self.receiver_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        overrides = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"{PG_SERVER_URL}/{DB_NAME}",
            "REDIS_URL": REDIS_URL,
            "CELERY_BROKER_URL": REDIS_URL,
            "DJANGO_DEBUG": "false",  # production-like: DEBUG would keep every query in memory
            "LOG_LEVEL": "WARNING",
            "TWILIO_MODE": "sandbox",
            "TWILIO_SANDBOX_URL": self.sandbox_url,
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "SITE_SCHEME": "http",
            "SITE_PORT": str(self.receiver_port),  # status callback URLs point at the receiver
            "TENANT_DEFAULT_MAX_MESSAGES_PER_DAY": str(max(10_000, self.options.messages + 100)),
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if self.options.extra_settings:
            overrides["SB_BENCH_SETTINGS"] = json.dumps(self.options.extra_settings)
        os.environ.update(overrides)
        self.env = dict(os.environ)

    def _fresh_database_and_redis(self) -> None:
        import psycopg
        import redis

        with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        self.db_created = True
        redis.Redis.from_url(REDIS_URL).flushdb()

    def _start_sandbox(self) -> None:
        self.sandbox = self._spawn(
            "sandbox",
            [
                PYTHON,
                "-m",
                "sandbox.twilio",
                "--port",
                str(self.sandbox_port),
                "--account-sid",
                self.account_sid,
                "--auth-token",
                self.auth_token,
            ],
        )
        self._wait_http(f"{self.sandbox_url}/sandbox/", self.sandbox)

    def _start_sink(self) -> None:
        self.receiver = self._spawn(
            "callback-sink", [PYTHON, str(Path(__file__).resolve()), "sink", "--port", str(self.receiver_port)]
        )
        self._wait_http(f"http://127.0.0.1:{self.receiver_port}/", self.receiver)

    def _start_web(self) -> None:
        self.receiver = self._spawn(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.receiver_port}",
                "--workers",
                str(self.options.web_workers),
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
        )
        self._wait_http(f"http://127.0.0.1:{self.receiver_port}/", self.receiver, any_status=True)

    def _spawn(self, name: str, argv: list[str]) -> Process:
        process = Process(name, argv, self.env, self.log_dir)
        self.processes.append(process)
        return process

    def _wait_http(self, url: str, process: Process, any_status: bool = False, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                raise SystemExit(f"{process.name} exited:\n{process.tail()}")
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return
            except urllib.error.HTTPError:
                if any_status:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{process.name} did not answer at {url}:\n{process.tail()}")

    def _migrate(self) -> None:
        import io

        from django.core.management import call_command

        call_command("migrate_schemas", "--shared", verbosity=0, stdout=io.StringIO())
        call_command("setup_platform", stdout=io.StringIO())

    def _tenant_on_sandbox(self) -> None:
        import redis

        from telephony.registry.models import TwilioAccount
        from telephony.registry.provisioning import twilio_subaccount_provision
        from tenants.services import tenant_onboard

        result = tenant_onboard(name="SMS bench", slug=TENANT_SLUG, admin_email="bench@example.com")
        account = twilio_subaccount_provision(tenant_id=result.tenant.pk)
        if account.status != TwilioAccount.Status.ACTIVE:
            raise SystemExit(f"subaccount not provisioned: {account.status_detail}")
        # Onboarding queued the provisioning task; it was done just now, in process.
        redis.Redis.from_url(REDIS_URL).delete("celery")
        self.tenant = result.tenant
        say(f"tenant {self.tenant.slug} ({self.tenant.schema_name}) on sandbox subaccount {account.account_sid}")

    def sender_number(self, index: int) -> str:
        return f"+{SENDER_BASE + index % self.options.senders}"

    def _senders(self) -> None:
        from django_tenants.utils import tenant_context

        from telephony.gateway import TwilioGateway
        from telephony.models import SenderNumber
        from telephony.registry.models import TwilioAccount
        from telephony.verification import sender_number_verify

        with tenant_context(self.tenant):
            # As real senders are: the subaccount owns each number, and Twilio (the sandbox) confirms it. Not through
            # sender_number_register, which would leave a verification task per sender in the queue of the timed phase.
            account = TwilioAccount.objects.get(tenant=self.tenant)
            gateway = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)
            senders = SenderNumber.objects.bulk_create(
                SenderNumber(
                    phone_number=self.sender_number(index),
                    kind=SenderNumber.Kind.LONG_CODE,
                    is_default=index == 0,
                    messages_per_second=self.options.sender_rate,
                )
                for index in range(self.options.senders)
            )
            for sender in senders:
                bought = gateway.buy_number(phone_number=sender.phone_number)
                if not bought.ok or sender_number_verify(sender_id=sender.pk).status != SenderNumber.Status.VERIFIED:
                    raise SystemExit(f"sender {sender.phone_number} could not be set up: {bought.message}")

    def senders_description(self) -> str:
        from telephony.models import SenderNumber
        from telephony.ratelimit import DEFAULT_RATES

        rate = self.options.sender_rate or DEFAULT_RATES[SenderNumber.Kind.LONG_CODE]
        how = (
            f"messages_per_second override {rate:g}/s"
            if self.options.sender_rate
            else f"the long-code default {rate:g}/s"
        )
        return (
            f"{self.options.senders} long-code senders, round robin, each at {how} "
            f"(aggregate cap {self.options.senders * rate:g} msg/s; no override)"
            if not self.options.sender_rate
            else f"{self.options.senders} long-code senders, round robin, each with a {how} "
            f"(aggregate cap {self.options.senders * rate:g} msg/s)"
        )

    def body(self, index: int) -> str:
        return f"Switchboard bench {self.run_id} msg {index:06d}: your code is {index % 10_000:04d}"

    def _messages(self) -> None:
        from django_tenants.utils import tenant_context

        from telephony import tasks
        from telephony.models import Communication
        from telephony.services import sms_send
        from telephony.sms import sms_shape

        count = self.options.messages
        started = time.perf_counter()
        with tenant_context(self.tenant):
            if self.options.create == "bulk":
                shape = sms_shape(self.body(0))
                rows = Communication.objects.bulk_create(
                    Communication(
                        channel=Communication.Channel.SMS,
                        to_number=f"+{DESTINATION_BASE + index}",
                        from_number=self.sender_number(index),
                        content=self.body(index),
                        encoding=shape.encoding,
                        segments=shape.segments,
                        status="pending",
                    )
                    for index in range(count)
                )
                self.ids = [row.pk for row in rows]
            else:
                # sms_send queues on commit; hold that back so the timed phase starts at the first enqueue.
                held: list[int] = []
                original = tasks.queue_now
                tasks.queue_now = lambda *, communication_id: held.append(communication_id)
                try:
                    for index in range(count):
                        sms_send(
                            tenant=self.tenant,
                            to=f"+{DESTINATION_BASE + index}",
                            from_=self.sender_number(index),
                            body=self.body(index),
                        )
                        if (index + 1) % 2000 == 0:
                            say(f"  created {index + 1}/{count} with sms_send ({time.perf_counter() - started:.1f} s)")
                finally:
                    tasks.queue_now = original
                self.ids = held
        if len(self.ids) != count:
            raise SystemExit(f"created {len(self.ids)} messages, expected {count}")
        say(
            f"created {count} messages with {'sms_send' if self.options.create == 'service' else 'bulk_create'}"
            f" in {time.perf_counter() - started:.1f} s"
        )

    # --- workers -------------------------------------------------------------------------------------

    def start_worker(self) -> Process:
        self.worker_serial += 1
        name = f"smsbench{self.worker_serial}"
        argv = [
            str(VENV_BIN / "celery"),
            "-A",
            "bench._sms_rig:worker_app" if self.options.extra_settings else "config",
            "worker",
            "--pool",
            self.options.pool,
            "--concurrency",
            str(self.options.concurrency),
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ]
        process = self._spawn(f"worker-{name}", argv)
        process.node = f"{name}@{socket.gethostname()}"  # type: ignore[attr-defined]
        self.workers.append(process)
        return process

    def start_beat(self) -> Process:
        """`celery beat` as deployed: it drives the platform's own recovery (senders' lines, the stalled-item sweep)."""
        return self._spawn(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "bench._sms_rig:worker_app" if self.options.extra_settings else "config",
                "beat",
                "--schedule",
                str(self.log_dir / "beat-schedule"),
                "--loglevel",
                "WARNING",
            ],
        )

    def wait_workers_ready(self, workers: list[Process], timeout: float = 90.0) -> None:
        from config.celery import app

        wanted = {w.node for w in workers}  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for worker in workers:
                if not worker.alive():
                    raise SystemExit(f"{worker.name} exited:\n{worker.tail()}")
            # Typed as optional: ping() answers None only when asked not to wait for replies.
            replies = app.control.ping(destination=sorted(wanted), timeout=1.0) or []
            answered = {node for reply in replies for node in reply}
            if wanted <= answered:
                if self.options.pool == "prefork":
                    # Pool children are forked at start-up; wait until all of them are there.
                    if all(len(descendants(w.pid)) >= self.options.concurrency for w in workers):
                        return
                else:
                    return
            time.sleep(0.2)
        raise SystemExit("workers did not come up:\n" + "\n".join(w.tail() for w in workers))

    def live_worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.alive()]

    # --- the timed phase -----------------------------------------------------------------------------

    def enqueue_all(self) -> float:
        """Queues every message, in the tenant's schema, the way a campaign does (tasks.queue_group) or, with
        --queue single, the way sms_send does (tasks.queue_now). Returns time.monotonic() of the first enqueue."""
        from django_tenants.utils import tenant_context

        from telephony import tasks

        with tenant_context(self.tenant):
            cpu = time.process_time()
            first = time.monotonic()
            if self.options.queue == "group":
                tasks.queue_group(communication_ids=self.ids)
            else:
                for communication_id in self.ids:
                    tasks.queue_now(communication_id=communication_id)
        self.enqueued_at = time.monotonic()
        self.enqueue_cpu = time.process_time() - cpu
        return first

    def db_counts(self) -> dict[str, int]:
        from django.db.models import Count
        from django_tenants.utils import tenant_context

        from telephony.models import Communication

        with tenant_context(self.tenant):
            return dict(Communication.objects.values_list("status").annotate(n=Count("id")).order_by())

    def attempt_counts(self) -> dict[int, int]:
        """How many Communications took how many attempts (an attempt: marked dispatching before a request)."""
        from django.db.models import Count
        from django_tenants.utils import tenant_context

        from telephony.models import Communication

        with tenant_context(self.tenant):
            return dict(Communication.objects.values_list("attempts").annotate(n=Count("id")).order_by("attempts"))

    def db_check(self, log: SandboxLog) -> dict[str, int]:
        """Cross-checks the database against the sandbox: every Communication holds the sid Twilio gave it."""
        from django_tenants.utils import tenant_context

        from telephony.models import Communication

        index_of = {pk: index for index, pk in enumerate(self.ids)}
        without_sid = mismatched = 0
        with tenant_context(self.tenant):
            for pk, sid in Communication.objects.values_list("pk", "twilio_sid"):
                arrivals = log.arrivals.get(index_of[pk], [])
                if not sid:
                    without_sid += 1
                elif sid not in {item["sid"] for item in arrivals}:
                    mismatched += 1
        return {"without_sid": without_sid, "sid_not_at_sandbox": mismatched}

    # --- teardown ------------------------------------------------------------------------------------

    def teardown(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as exc:  # keep tearing down
                say(f"note: stopping {process.name}: {exc}")
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if self.db_created:
            import psycopg

            with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        try:
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
        except Exception:
            pass
        if self.options.keep_logs:
            say(f"logs kept in {self.log_dir}")
        else:
            shutil.rmtree(self.log_dir, ignore_errors=True)


def wait_for_arrivals(
    rig: Rig,
    log: SandboxLog,
    *,
    timeout: float,
    on_progress: Any = None,
    started: float,
    report_every: float = 3.0,
    backends: BackendCpu | None = None,
) -> bool:
    """Polls the sandbox until every message arrived at least once. Returns whether they all did."""
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while time.monotonic() < deadline:
        log.poll()
        if backends is not None:
            backends.sample()
        if on_progress is not None:
            on_progress(log.distinct)
        if log.distinct >= rig.options.messages:
            return True
        if time.monotonic() - last_report >= report_every:
            elapsed = time.monotonic() - started
            say(
                f"  {elapsed:6.1f} s: {log.distinct}/{rig.options.messages} at the sandbox ({log.distinct / elapsed:.0f}/s)"
            )
            last_report = time.monotonic()
        time.sleep(0.25)
    return False


def wait_settled(rig: Rig, timeout: float) -> dict[str, int]:
    """Waits until no Communication is pending or dispatching any more. Returns the status counts."""
    deadline = time.monotonic() + timeout
    while True:
        counts = rig.db_counts()
        if not any(counts.get(status) for status in ACTIVE_STATUSES) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


# --- `celery -A bench._sms_rig:worker_app`: the platform's Celery app, with Django settings the platform does not
# have yet (JSON object in SB_BENCH_SETTINGS) set before the app reads its configuration. Only used when a benchmark
# is asked to try settings (--with-settings); by default the workers run `celery -A config` exactly as deployed.


def __getattr__(name: str) -> Any:
    if name == "worker_app":
        from django.conf import settings

        for key, value in json.loads(os.environ.get("SB_BENCH_SETTINGS") or "{}").items():
            setattr(settings, key, value)
        from config.celery import app

        return app
    raise AttributeError(name)


# --- the callback sink --------------------------------------------------------------------------------


def _run_sink(port: int) -> None:
    """Answers every HTTP/1.1 request with 200 and an empty TwiML document, keeping connections alive."""
    import asyncio

    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 11\r\n\r\n<Response/>"

    class Sink(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                head_end = self.buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                head = self.buffer[:head_end].lower()
                length = 0
                at = head.find(b"content-length:")
                if at >= 0:
                    length = int(head[at + 15 :].split(b"\r\n", 1)[0].strip() or 0)
                end = head_end + 4 + length
                if len(self.buffer) < end:
                    return
                self.buffer = self.buffer[end:]
                self.transport.write(reply)  # type: ignore[attr-defined]

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Sink, "127.0.0.1", port, backlog=512)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(serve())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python bench/_sms_rig.py")
    parser.add_argument("role", choices=["sink"])
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    _run_sink(arguments.port)
