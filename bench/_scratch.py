"""Shared plumbing for the benchmarks: a scratch database of their own, and a few statistics helpers.

Benchmarks never touch the development database named in .env: `prepare(db_name)` points
DATABASE_URL at a scratch database on the same server (before Django is set up), REDIS_URL and
CELERY_BROKER_URL at Redis database 14, and (re)creates the scratch database empty. `drop()`
removes it again; call it from a `finally`.
"""

import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_REDIS_DB = 14
_DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/switchboard"
_DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _from_env_or_dotenv(name: str, default: str) -> str:
    """The value the settings would see: the environment first, .env second."""
    if os.environ.get(name):
        return os.environ[name]
    dotenv = REPO_ROOT / ".env"
    if dotenv.exists():
        for line in dotenv.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key.strip() == name and not key.lstrip().startswith("#"):
                return value.strip().strip('"').strip("'")
    return default


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


class ScratchDatabase:
    def __init__(self, db_name: str) -> None:
        dev_url = _from_env_or_dotenv("DATABASE_URL", _DEFAULT_DATABASE_URL)
        self.dev_name = urlsplit(dev_url).path.lstrip("/")
        if db_name == self.dev_name:
            raise SystemExit(f"refusing to use the development database {db_name!r} as a scratch database")
        self.name = db_name
        self.url = _with_path(dev_url, "/" + db_name)
        self.maintenance_url = _with_path(dev_url, "/postgres")
        self.redis_url = ""
        self.redis_was_empty = False

    def _admin(self, sql: str) -> None:
        import psycopg
        from psycopg import sql as pgsql

        with psycopg.connect(self.maintenance_url, autocommit=True) as conn:
            conn.execute(pgsql.SQL(sql).format(pgsql.Identifier(self.name)))

    def create(self, template: str | None = None) -> None:
        """(Re)creates the database empty, or as a copy of the database `template` (which must have no
        connections open while it is copied)."""
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        if template is None:
            self._admin("CREATE DATABASE {}")
            return
        import psycopg
        from psycopg import sql as pgsql

        with psycopg.connect(self.maintenance_url, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    pgsql.Identifier(self.name), pgsql.Identifier(template)
                )
            )

    def drop(self) -> None:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self.clear_redis()

    def clear_redis(self) -> None:
        """Onboarding queues Celery tasks (to Redis database 14, where no worker listens): remove them,
        but only when that database was empty before the benchmark started, so all of it is ours."""
        if not self.redis_url:
            return
        if self.redis_was_empty:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()
        elif _redis_dbsize(self.redis_url):
            print(f"note: {self.redis_url} was not empty before the benchmark; left as it is", flush=True)


def _redis_dbsize(url: str) -> int:
    import redis

    return redis.Redis.from_url(url).dbsize()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def prepare(db_name: str) -> ScratchDatabase:
    """Sets the environment for Django (call before django.setup()) and creates the scratch database."""
    # So that `finally: scratch.drop()` also runs on Ctrl-C and kill, even when started in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    scratch = ScratchDatabase(db_name)
    os.environ["DATABASE_URL"] = scratch.url
    redis_url = _with_path(_from_env_or_dotenv("REDIS_URL", _DEFAULT_REDIS_URL), f"/{BENCH_REDIS_DB}")
    os.environ["REDIS_URL"] = redis_url
    os.environ["CELERY_BROKER_URL"] = redis_url
    scratch.redis_url = redis_url
    scratch.redis_was_empty = _redis_dbsize(redis_url) == 0
    # Production-like: no per-query bookkeeping of DEBUG (override with DJANGO_DEBUG=true).
    os.environ.setdefault("DJANGO_DEBUG", "false")
    # No INFO chatter from the platform between the figures.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    scratch.create()
    return scratch


def run_and_report(db_name: str, run: Callable[[], dict]) -> None:
    """Runs a benchmark in its own scratch database, drops that database whatever happens, and prints the
    benchmark's figures as the last line, in JSON."""
    scratch = prepare(db_name)
    try:
        result = run()
    finally:
        scratch.drop()
        say(f"scratch database {db_name} dropped")
    print(json.dumps(result), flush=True)


def say(message: str = "") -> None:
    print(message, flush=True)


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p90(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=10, method="inclusive")[8]


class Progress:
    """Prints `label: done/total, rate, ETA` every `every` items (and at the end)."""

    def __init__(self, label: str, total: int, every: int = 50) -> None:
        self.label, self.total, self.every = label, total, max(1, every)
        self.started = time.perf_counter()

    def tick(self, done: int) -> None:
        if done % self.every and done != self.total:
            return
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        say(f"  {self.label}: {done}/{self.total}  {elapsed:6.1f} s elapsed, {rate:5.1f}/s, ETA {eta:5.1f} s")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def autovacuum_is_on() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "on"


def vacuum_catalogs() -> float:
    """VACUUM ANALYZE of the system catalogs (what autovacuum does on a server that has it on).

    Every clone creates and drops types, functions and relations, so the catalogs collect dead rows
    and stale statistics; with autovacuum off, the planner's catalog queries (the clone function's
    among them) get slower and slower. Returns the seconds it took.
    """
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'")
        for (table,) in cursor.fetchall():
            cursor.execute(f"VACUUM (ANALYZE) pg_catalog.{connection.ops.quote_name(table)}")
    return time.perf_counter() - started


class CatalogUpkeep:
    """Emulates autovacuum on the catalogs while a benchmark creates schemas, when the server has it off.

    Autovacuum analyzes a table once about 10% of its rows changed (autovacuum_analyze_scale_factor);
    creating schemas grows the catalogs in proportion to the number of schemas, so this vacuums and
    analyzes them whenever the schema count grew by 10% (and at least `minimum`) since the last time.
    """

    def __init__(self, enabled: bool, schemas_now: int, minimum: int = 10) -> None:
        self.enabled, self.minimum = enabled, minimum
        self.last = schemas_now
        self.seconds = 0.0
        self.runs = 0

    def created(self, schemas_now: int) -> None:
        if self.enabled and schemas_now - self.last >= max(self.minimum, self.last // 10):
            self.now(schemas_now)

    def now(self, schemas_now: int) -> float:
        if not self.enabled:
            return 0.0
        spent = vacuum_catalogs()
        self.seconds += spent
        self.runs += 1
        self.last = schemas_now
        return spent


def fresh_session() -> None:
    """Replaces the database connection with a new one (a new PostgreSQL backend).

    django-tenants' clone drops and recreates its PL/pgSQL clone function and types on every clone,
    and a backend that has done many clones gets slower at each next one (and holds on to ~10 MB more
    memory per clone). A web worker's connection lives at most CONN_MAX_AGE seconds and serves other
    requests in between, so onboarding normally meets a backend that has cloned little or nothing: the
    benchmarks reconnect before each clone, outside the timed part, to measure that case.
    """
    from django.db import connection

    connection.close()
    connection.ensure_connection()


def code_version() -> str:
    """The commit the benchmark ran on (with "+dirty" when the working tree had changes), for the record."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: on a shared machine, other work skews the figures."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"
