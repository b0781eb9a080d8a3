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
from django.apps import apps
from django.conf import settings
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker
from twilio.rest import Client

from sandbox.twilio import SandboxHttpClient, SandboxServer, Timing
from telephony.gateway import TwilioGateway
from telephony.models import SenderNumber
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import twilio_subaccount_provision
from telephony.services import sender_number_register
from telephony.verification import sender_number_verify
from tenants.db import connection
from testsupport.tenants import TenantSetup

SENDER = "+14155550100"


@pytest.fixture(scope="session")
def twilio_sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(
        port=0, account_sid="AC" + secrets.token_hex(16), auth_token=secrets.token_hex(16), timing=Timing.uniform(0.01)
    )
    with server:
        originals = {
            name: getattr(settings, name) for name in ("TWILIO_SANDBOX_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
        }
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


def release_number(phone_number: str) -> None:
    """Takes the number back from whichever subaccount holds it in the sandbox, as the platform (the master
    account) may. The sandbox lives for the whole session while each test's tenant gets a new subaccount,
    so an earlier test's subaccount may still have a number this test's tenant needs."""
    base_url = settings.TWILIO_SANDBOX_URL
    holders = requests.get(f"{base_url}/sandbox/numbers", params={"phone_number": phone_number}, timeout=10)
    holders.raise_for_status()
    master = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=SandboxHttpClient(base_url))
    for number in holders.json()["numbers"]:
        holder = master.api.v2010.accounts(number["account_sid"])
        if holder.fetch().status == "suspended":  # a suspended tenant's subaccount, which Twilio lets do nothing
            holder.update(status="active")
        holder.incoming_phone_numbers(number["sid"]).delete()


def buy_on_sandbox(account: TwilioAccount, phone_number: str) -> None:
    """The tenant's subaccount owns the number in the sandbox, whoever held it before."""
    release_number(phone_number)
    bought = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token).buy_number(
        phone_number=phone_number
    )
    assert bought.ok, bought.message


def sender_on_sandbox(
    account: TwilioAccount,
    phone_number: str,
    *,
    kind: str = SenderNumber.Kind.LONG_CODE,
    is_default: bool = False,
    messages_per_second: float | None = None,
) -> SenderNumber:
    """A verified sender of the tenant whose schema is active, reached the way a real one is: the tenant's
    subaccount buys the number in the sandbox, the number is registered, and sender_number_verify asks the
    sandbox about it, as the worker does after a registration."""
    buy_on_sandbox(account, phone_number)
    registered = sender_number_register(
        phone_number=phone_number, kind=kind, is_default=is_default, messages_per_second=messages_per_second
    )
    sender = sender_number_verify(sender_id=registered.pk)
    assert sender.status == SenderNumber.Status.VERIFIED, sender.status_detail
    return sender


def connect_to_sandbox(setup: TenantSetup, *, sender: str = SENDER) -> TwilioAccount:
    """Gives the tenant an active subaccount in the sandbox and a verified default sender number it owns there."""
    tenant = setup.tenant
    TwilioAccount.objects.filter(tenant=tenant).update(
        status=TwilioAccount.Status.PROVISIONING, kind=TwilioAccount.Kind.SUBACCOUNT
    )
    account = twilio_subaccount_provision(tenant_id=tenant.pk)
    assert account.status == TwilioAccount.Status.ACTIVE, account.status_detail
    with tenant_context(tenant):
        sender_on_sandbox(account, sender, is_default=True)
    return account


@pytest.fixture
def alpha_on_twilio(alpha: TenantSetup, twilio_sandbox: SandboxServer) -> TenantSetup:
    connect_to_sandbox(alpha)
    return alpha


# What a test with committed data leaves behind in alpha's schema, emptied after it, in this order.
COMMITTED_APPS = ("appointments", "inbound", "telephony")


@pytest.fixture
def committed_alpha(
    tenant_pair: tuple[TenantSetup, TenantSetup], twilio_sandbox: SandboxServer, django_db_blocker: DjangoDbBlocker
) -> Iterator[TenantSetup]:
    """alpha wired to the sandbox for real (committed), for tests whose other processes (a worker, a web
    server, two threads) read it; every row of alpha's calls, messages, flows and appointments is deleted after.
    Such a test writes inside `django_db_blocker.unblock()`."""
    alpha = tenant_pair[0]
    with django_db_blocker.unblock():
        connect_to_sandbox(alpha)
        connection.set_schema_to_public()
        try:
            yield alpha
        finally:
            with tenant_context(alpha.tenant):
                for label in COMMITTED_APPS:
                    for model in apps.get_app_config(label).get_models():
                        model._default_manager.all().delete()
            connection.set_schema_to_public()
