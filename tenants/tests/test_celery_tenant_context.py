"""A task queued from a tenant's request runs in that tenant's schema, on a real worker over real Redis."""

from pathlib import Path

import pytest
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from tenants.accounts.models import User
from tenants.db import connection
from testsupport.processes import PlatformProcesses
from testsupport.tenants import TenantSetup
from testsupport.wait import wait_until

MAIL_TIMEOUT = 30


def wait_for_mail(platform: PlatformProcesses, recipient: str) -> str:
    def mail_to_recipient() -> str | None:
        texts = (path.read_text() for path in Path(platform.mail_dir).glob("*.log"))
        return next((text for text in texts if f"To: {recipient}" in text), None)

    return wait_until(
        mail_to_recipient, timeout=MAIL_TIMEOUT, interval=0.2, message="the invitation email", details=platform.logs
    )


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
