"""The whole way, with the real processes: the API asks for a number, a Celery worker buys it in the tenant's
schema, a text to it through the sandbox reaches the platform's web server and is answered, and the API's
release has the worker give it back."""

from typing import Any

import requests
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker

from sandbox.twilio import SandboxServer
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import sandbox_holders
from testsupport.processes import PlatformProcesses
from testsupport.tenants import TenantSetup
from testsupport.wait import wait_until

CALLER = "+14155559876"


def status_of(setup: TenantSetup, blocker: DjangoDbBlocker, number_id: int) -> PhoneNumber:
    with blocker.unblock(), tenant_context(setup.tenant):
        return PhoneNumber.objects.get(pk=number_id)


def test_bought_by_the_worker_answered_by_the_platform_released_by_the_worker(
    committed_pair: tuple[TenantSetup, TenantSetup],
    platform_processes: PlatformProcesses,
    twilio_sandbox: SandboxServer,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    alpha = committed_pair[0]
    api = alpha.client(alpha.admin_key)
    with django_db_blocker.unblock():
        asked = api.post("/api/v1/numbers/", {"area_code": "617", "friendly_name": "Boston"}, format="json")
    assert asked.status_code == 202, asked.content
    number_id = asked.json()["id"]

    def active() -> PhoneNumber | None:
        number = status_of(alpha, django_db_blocker, number_id)
        assert number.status != PhoneNumber.Status.FAILED, number.status_detail
        return number if number.status == PhoneNumber.Status.ACTIVE else None

    number = wait_until(
        active, timeout=30, interval=0.2, message="the worker's purchase", details=platform_processes.logs
    )
    assert number.phone_number.startswith("+1617")
    with django_db_blocker.unblock():
        patched = api.patch(f"/api/v1/numbers/{number_id}/", {"auto_reply": "Boston here, hello!"}, format="json")
    assert patched.status_code == 200, patched.content

    texted: dict[str, Any] = requests.post(
        f"{twilio_sandbox.base_url}/sandbox/inbound-messages",
        json={"from": CALLER, "to": number.phone_number, "body": "anyone there?"},
        timeout=60,
    ).json()
    assert texted["error"] is None, texted
    assert [reply["body"] for reply in texted["replies"]] == ["Boston here, hello!"]

    with django_db_blocker.unblock():
        assert api.delete(f"/api/v1/numbers/{number_id}/").status_code == 202
    wait_until(
        lambda: status_of(alpha, django_db_blocker, number_id).status == PhoneNumber.Status.RELEASED,
        timeout=30,
        interval=0.2,
        message="the worker's release",
        details=platform_processes.logs,
    )
    assert sandbox_holders(number.phone_number) == []
