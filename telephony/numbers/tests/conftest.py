from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker

from sandbox.twilio import SandboxServer
from telephony.inbound.models import NumberSettings
from telephony.models import SenderNumber
from telephony.numbers import purchasing, services
from telephony.numbers.models import PhoneNumber
from telephony.registry.models import PhoneNumberRoute
from tenants.db import connection
from testsupport.tenants import TenantSetup
from testsupport.twilio import connect_to_sandbox


def offered(*, country: str = "US", kind: str = "Local", **filters: str) -> str:
    """A number the sandbox has for sale now (asked as the platform's master account, outside the platform)."""
    path = f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/AvailablePhoneNumbers/{country}/{kind}.json"
    answer = requests.get(
        settings.TWILIO_SANDBOX_URL + path,
        params={"PageSize": "1", **filters},
        auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["available_phone_numbers"][0]["phone_number"])


def sandbox_holders(phone_number: str) -> list[dict[str, Any]]:
    """Which sandbox accounts own the number (sid, account_sid)."""
    answer = requests.get(
        f"{settings.TWILIO_SANDBOX_URL}/sandbox/numbers", params={"phone_number": phone_number}, timeout=10
    )
    answer.raise_for_status()
    return list(answer.json()["numbers"])


def sandbox_number(account_sid: str, account_token: str, sid: str) -> dict[str, Any]:
    answer = requests.get(
        f"{settings.TWILIO_SANDBOX_URL}/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json",
        auth=(account_sid, account_token),
        timeout=10,
    )
    answer.raise_for_status()
    return dict(answer.json())


def buy(setup: TenantSetup, **request: Any) -> PhoneNumber:
    """What a purchase ends in: asked for as the API does, then run as the worker runs it."""
    with tenant_context(setup.tenant):
        pending = services.number_purchase_request(tenant=setup.tenant, **request)
        assert pending.status == PhoneNumber.Status.PENDING
        return purchasing.number_purchase(number_id=pending.pk)


@pytest.fixture
def alpha_connected(alpha: TenantSetup, twilio_sandbox: SandboxServer) -> TenantSetup:
    connect_to_sandbox(alpha, sender="+14155550101")
    return alpha


@pytest.fixture
def beta_connected(beta: TenantSetup, twilio_sandbox: SandboxServer) -> TenantSetup:
    connect_to_sandbox(beta, sender="+14155550102")
    return beta


@pytest.fixture
def committed_pair(
    tenant_pair: tuple[TenantSetup, TenantSetup], twilio_sandbox: SandboxServer, django_db_blocker: DjangoDbBlocker
) -> Iterator[tuple[TenantSetup, TenantSetup]]:
    """alpha and beta on the sandbox for real (committed), for tests whose threads or processes read them; what
    the numbers tests make in them is deleted after. Such a test writes inside `django_db_blocker.unblock()`."""
    with django_db_blocker.unblock():
        for setup, sender in zip(tenant_pair, ("+14155550103", "+14155550104"), strict=True):
            connect_to_sandbox(setup, sender=sender)
        connection.set_schema_to_public()
        try:
            yield tenant_pair
        finally:
            for setup in tenant_pair:
                with tenant_context(setup.tenant):
                    PhoneNumber.objects.all().delete()
                    NumberSettings.objects.all().delete()
                    SenderNumber.objects.all().delete()
                PhoneNumberRoute.objects.filter(tenant=setup.tenant).delete()
            connection.set_schema_to_public()
