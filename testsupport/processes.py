"""Test fixtures that run the platform's real processes: a Celery worker and a web server.

They work on the test database and the test Redis, with the Twilio sandbox of the session, so a test
can go from an API request through a worker to the sandbox and back through its signed callbacks.
Loaded from the root conftest (pytest_plugins).
"""

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from django.conf import settings

from config.celery import app
from tenants.db import connection
from testsupport.wait import wait_until

START_TIMEOUT = 60
# How long a test waits for the worker or web process to have done something.
EVENTUALLY_TIMEOUT = 45
T = TypeVar("T")


@dataclass(frozen=True)
class PlatformProcesses:
    web_port: int
    mail_dir: Path
    log_dir: Path

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-4000:]}" for path in sorted(self.log_dir.glob("*.log")))

    def log_events(self, process: str) -> list[dict[str, Any]]:
        """The structured events a process (worker, web) has logged so far; its other output is left out."""
        lines = (self.log_dir / f"{process}.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def platform_environment(web_port: int, mail_dir: Path) -> dict[str, str]:
    """The environment the platform's processes run with in tests: the test database, Redis and sandbox."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": str(mail_dir),
        "TWILIO_SANDBOX_URL": settings.TWILIO_SANDBOX_URL,
        "TWILIO_ACCOUNT_SID": settings.TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": settings.TWILIO_AUTH_TOKEN,
        "STRIPE_SANDBOX_URL": settings.STRIPE_SANDBOX_URL,  # the Stripe double of the session, once started
        "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
        "SITE_PORT": str(web_port),
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "LOG_FORMAT": "json",  # what production writes, and what tests read back (PlatformProcesses.log_events)
    }


def _wait(
    ready: Callable[[], bool], processes: list[subprocess.Popen[bytes]], what: str, platform: PlatformProcesses
) -> None:
    wait_until(
        ready,
        timeout=START_TIMEOUT,
        interval=0.2,
        message=f"{what} to start",
        details=platform.logs,
        gave_up=lambda: any(process.poll() is not None for process in processes),
    )


def web_command(port: int) -> list[str]:
    """gunicorn as in production."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--access-logfile",
        "-",
    ]


@contextmanager
def web_server(*, port: int, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A web server of a test's own (on a database that is down, say), serving once it accepts connections."""
    process = subprocess.Popen(
        web_command(port), cwd=settings.BASE_DIR, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT
    )
    try:
        wait_until(
            lambda: _accepts_connections(port),
            timeout=START_TIMEOUT,
            interval=0.1,
            message="the web server to start",
            details=log_path.read_text,
            gave_up=lambda: process.poll() is not None,
        )
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _accepts_connections(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _web_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def platform_processes(
    django_db_setup: None, twilio_sandbox: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformProcesses]:
    """A Celery worker (4 processes) and a gunicorn web server, as in production, on the test data."""
    log_dir = tmp_path_factory.mktemp("platform-logs")
    platform = PlatformProcesses(web_port=free_port(), mail_dir=tmp_path_factory.mktemp("worker-mail"), log_dir=log_dir)
    env = platform_environment(platform.web_port, platform.mail_dir)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")  # nothing left over from earlier runs
    commands = {
        "worker": [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency=4",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            f"--hostname=test-worker-{os.getpid()}@%h",
        ],
        "web": web_command(platform.web_port),
    }
    processes = [
        subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=(log_dir / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for name, command in commands.items()
    ]
    try:
        _wait(lambda: bool(app.control.ping(timeout=1)), processes, "The Celery worker", platform)
        _wait(lambda: _web_answers(platform.web_port), processes, "The web server", platform)
        yield platform
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def eventually(probe: Callable[[], T | None], what: str, platform: PlatformProcesses) -> T:
    """The probe's first answer that is not None, waiting for the platform's processes; on a timeout the failure
    shows `what` and the processes' logs."""
    return wait_until(probe, timeout=EVENTUALLY_TIMEOUT, interval=0.2, message=what, details=platform.logs)
