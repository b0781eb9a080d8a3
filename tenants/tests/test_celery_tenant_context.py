"""A task queued from a tenant's request runs in that tenant's schema, on a real worker over real Redis."""

import time
from pathlib import Path

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from config.testing import PlatformProcesses
from conftest import TenantSetup
from tenants.accounts.models import User

MAIL_TIMEOUT = 30


def wait_for_mail(platform: PlatformProcesses, recipient: str) -> str:
    deadline = time.monotonic() + MAIL_TIMEOUT
    while time.monotonic() < deadline:
        for path in Path(platform.mail_dir).glob("*.log"):
            text = path.read_text()
            if f"To: {recipient}" in text:
                return text
        time.sleep(0.2)
    pytest.fail("The worker sent no invitation email.\n" + platform.logs())


@pytest.mark.worker
def test_invitation_task_runs_in_the_inviting_tenants_schema(
    tenant_pair: tuple[TenantSetup, TenantSetup],
    platform_processes: PlatformProcesses,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    alpha, beta = tenant_pair
    email = "worker-check@alpha.test"
    with django_db_blocker.unblock():  # real commits: the worker is another process
        try:
            response = alpha.client(alpha.admin_key).post(
                "/api/v1/users/", {"email": email, "role": "viewer"}, format="json"
            )
            assert response.status_code == 201

            message = wait_for_mail(platform_processes, email)
        finally:
            with tenant_context(alpha.tenant):
                User.objects.filter(email=email).delete()
            connection.set_schema_to_public()

    # The user exists only in alpha's schema: finding it, and alpha's name and host, proves where the task ran.
    assert "invited to Alpha on Switchboard" in message
    assert f"http://alpha.localhost:{platform_processes.web_port}/accounts/set-password/" in message
    assert beta.host not in message
