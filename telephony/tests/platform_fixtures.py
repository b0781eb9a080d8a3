"""Fixtures for the platform's telephony tests: one sandbox for the session, and tenants wired to it.

Loaded from the root conftest (pytest_plugins). The sandbox is the platform's Twilio: settings point
the gateway at it, and each test's tenant gets a real subaccount in it through the same service a
worker runs after onboarding.
"""

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context

from conftest import TenantSetup
from telephony.models import SenderNumber
from telephony.registry.models import TwilioAccount
from telephony.registry.services import twilio_subaccount_provision
from telephony.sandbox import SandboxServer, Timing

SENDER = "+14155550100"


@pytest.fixture(scope="session")
def twilio_sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(
        port=0, account_sid="AC" + secrets.token_hex(16), auth_token=secrets.token_hex(16), timing=Timing.uniform(0.01)
    )
    with server:
        originals = {name: getattr(settings, name) for name in ("TWILIO_SANDBOX_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")}
        settings.TWILIO_SANDBOX_URL = server.base_url
        settings.TWILIO_ACCOUNT_SID = server.account_sid
        settings.TWILIO_AUTH_TOKEN = server.auth_token
        yield server
        for name, value in originals.items():
            setattr(settings, name, value)


class SandboxLog:
    def __init__(self, sandbox: SandboxServer) -> None:
        self.base_url = sandbox.base_url

    def items(self, name: str, **params: Any) -> list[dict[str, Any]]:
        response = requests.get(f"{self.base_url}/sandbox/{name}", params={"limit": 10000, **params}, timeout=10)
        response.raise_for_status()
        return response.json()["items"]

    def faults(self, **config: Any) -> None:
        requests.post(f"{self.base_url}/sandbox/faults", json=config, timeout=10).raise_for_status()


@pytest.fixture
def sandbox_log(twilio_sandbox: SandboxServer) -> Iterator[SandboxLog]:
    log = SandboxLog(twilio_sandbox)
    yield log
    log.faults()  # no fault outlives its test


def connect_to_sandbox(setup: TenantSetup, *, sender: str = SENDER) -> TwilioAccount:
    """Gives the tenant an active subaccount in the sandbox and a default sender number."""
    tenant = setup.tenant
    TwilioAccount.objects.filter(tenant=tenant).update(status=TwilioAccount.Status.PROVISIONING, kind=TwilioAccount.Kind.SUBACCOUNT)
    account = twilio_subaccount_provision(tenant_id=tenant.pk)
    assert account.status == TwilioAccount.Status.ACTIVE, account.status_detail
    with tenant_context(tenant):
        SenderNumber.objects.get_or_create(phone_number=sender, defaults={"is_default": True})
    return account


@pytest.fixture
def alpha_on_twilio(alpha: TenantSetup, twilio_sandbox: SandboxServer) -> TenantSetup:
    connect_to_sandbox(alpha)
    return alpha
