"""A task queued from a tenant's request runs in that tenant's schema, on a real worker over real Redis."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from config.celery import app
from conftest import TenantSetup
from tenants.accounts.models import User

WORKER_START_TIMEOUT = 60
MAIL_TIMEOUT = 30


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real `celery worker` process on the test database and the test Redis. Yields its mail folder."""
    mail_dir = tmp_path_factory.mktemp("worker-mail")
    log_path = mail_dir.parent / "worker.log"
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")  # nothing left over from earlier runs
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-mingle", "--without-gossip", "--without-heartbeat", f"--hostname=test-worker-{os.getpid()}@%h"],
        cwd=settings.BASE_DIR, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while not app.control.ping(timeout=1):
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail("Celery worker did not start:\n" + log_path.read_text())
        yield mail_dir
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def wait_for_mail(mail_dir: Path) -> str:
    deadline = time.monotonic() + MAIL_TIMEOUT
    while time.monotonic() < deadline:
        files = sorted(mail_dir.glob("*.log"))
        if files and files[0].stat().st_size:
            return files[0].read_text()
        time.sleep(0.2)
    pytest.fail("The worker sent no invitation email. Its log:\n" + (mail_dir.parent / "worker.log").read_text())


@pytest.mark.worker
def test_invitation_task_runs_in_the_inviting_tenants_schema(
    tenant_pair: tuple[TenantSetup, TenantSetup], celery_worker: Path, django_db_blocker: DjangoDbBlocker
) -> None:
    alpha, beta = tenant_pair
    email = "worker-check@alpha.test"
    with django_db_blocker.unblock():  # real commits: the worker is another process
        try:
            response = alpha.client(alpha.admin_key).post("/api/v1/users/", {"email": email, "role": "viewer"}, format="json")
            assert response.status_code == 201

            message = wait_for_mail(celery_worker)
        finally:
            with tenant_context(alpha.tenant):
                User.objects.filter(email=email).delete()
            connection.set_schema_to_public()

    # The user exists only in alpha's schema: finding it, and alpha's name and host, proves where the task ran.
    assert f"To: {email}" in message
    assert "invited to Alpha on Switchboard" in message
    assert "http://alpha.localhost:8000/accounts/set-password/" in message
    assert beta.host not in message
