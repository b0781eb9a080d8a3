"""A worker killed after Twilio bought the number and before it recorded it: the retry finds the number in the
account's IncomingPhoneNumbers and adopts it. Nothing is bought twice.

The worker is a real process of its own, killed with SIGKILL while the sandbox holds back the answer to its
purchase (which has taken effect: the sandbox's timeout fault with timeout_after_commit)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker

from telephony.inbound.models import NumberSettings
from telephony.models import SenderNumber
from telephony.numbers import purchasing, services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import offered, sandbox_holders
from telephony.registry.models import PhoneNumberRoute, TwilioAccount
from testsupport.processes import platform_environment
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog
from testsupport.wait import wait_until

HOLD_MS = 4_000  # the purchase's answer is held this long, then dropped; the worker is killed well before

WORKER = """
import sys
import django
django.setup()
from django_tenants.utils import tenant_context
from telephony.numbers.purchasing import number_purchase
from tenants.models import Tenant
with tenant_context(Tenant.objects.get(schema_name=sys.argv[1])):
    number_purchase(number_id=int(sys.argv[2]))
print("the worker was not killed")
"""


def owned_by(account_sid: str) -> list[dict[str, str]]:
    answer = requests.get(f"{settings.TWILIO_SANDBOX_URL}/sandbox/numbers", timeout=10)
    answer.raise_for_status()
    return [number for number in answer.json()["numbers"] if number["account_sid"] == account_sid]


def purchases_by(sandbox_log: SandboxLog, account_sid: str) -> list[dict[str, object]]:
    path = f"/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json"
    return [r for r in sandbox_log.items("requests") if r["method"] == "POST" and r["path"] == path]


def killed_after_twilio_bought(setup: TenantSetup, number: PhoneNumber, sandbox_log: SandboxLog, tmp: Path) -> None:
    account = TwilioAccount.objects.get(tenant=setup.tenant)
    before = {n["sid"] for n in owned_by(account.account_sid)}
    sandbox_log.faults(
        timeout_rate=1.0,
        timeout_after_commit=True,
        timeout_hold_ms=HOLD_MS,
        methods=["POST"],
        path_contains="/IncomingPhoneNumbers.json",
    )
    env = platform_environment(0, tmp)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, setup.tenant.schema_name, str(number.pk)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: {n["sid"] for n in owned_by(account.account_sid)} - before,
            timeout=30,
            message="the worker's purchase to take effect at Twilio",
            gave_up=lambda: worker.poll() is not None,
            details=lambda: worker.stdout.read().decode() if worker.stdout and worker.poll() is not None else "",
        )
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    sandbox_log.faults()


@pytest.mark.parametrize("by", ["phone_number", "area_code"])
def test_a_purchase_whose_worker_died_is_adopted_not_bought_again(
    committed_pair: tuple[TenantSetup, TenantSetup],
    django_db_blocker: DjangoDbBlocker,
    sandbox_log: SandboxLog,
    queued_tasks: list[QueuedTask],
    tmp_path: Path,
    by: str,
) -> None:
    alpha = committed_pair[0]
    request = {"phone_number": offered(AreaCode="615")} if by == "phone_number" else {"area_code": "615"}
    with django_db_blocker.unblock():
        account = TwilioAccount.objects.get(tenant=alpha.tenant)
        with tenant_context(alpha.tenant):
            pending = services.number_purchase_request(tenant=alpha.tenant, **request)

        killed_after_twilio_bought(alpha, pending, sandbox_log, tmp_path)

        with tenant_context(alpha.tenant):
            pending.refresh_from_db()
            assert pending.status == PhoneNumber.Status.PENDING and pending.twilio_sid == ""
            [at_twilio] = [n for n in owned_by(account.account_sid) if n["phone_number"].startswith("+1615")]
            retried = purchasing.number_purchase(number_id=pending.pk)  # the task, delivered again
            assert retried.status == PhoneNumber.Status.ACTIVE, retried.status_detail
            assert (retried.twilio_sid, retried.phone_number) == (at_twilio["sid"], at_twilio["phone_number"])
            assert retried.attempts == 2
            assert SenderNumber.objects.get(phone_number=retried.phone_number).status == "verified"
            assert NumberSettings.objects.filter(phone_number=retried.phone_number).exists()
        assert PhoneNumberRoute.objects.get(phone_number=retried.phone_number).tenant_id == alpha.tenant.pk
        assert [h["account_sid"] for h in sandbox_holders(retried.phone_number)] == [account.account_sid]
        # Only the killed worker's purchase reached Twilio (logged once its held answer is dropped).
        wait_until(lambda: purchases_by(sandbox_log, account.account_sid), timeout=HOLD_MS / 1000 + 10)
        assert len(purchases_by(sandbox_log, account.account_sid)) == 1
