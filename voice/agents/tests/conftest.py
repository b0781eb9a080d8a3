from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker

from telephony.inbound.models import NumberSettings
from tenants.db import connection
from testsupport.tenants import TenantSetup
from voice.agents import lookup
from voice.agents.models import Agent, ProviderCredential


@pytest.fixture
def alpha_committed(
    tenant_pair: tuple[TenantSetup, TenantSetup], django_db_blocker: DjangoDbBlocker
) -> Iterator[TenantSetup]:
    """alpha for tests whose writes are committed (another process reads them, or what is kept outside a
    transaction is what they test); its agents, keys and number settings are deleted after."""
    alpha = tenant_pair[0]
    lookup.forget_kept()
    with django_db_blocker.unblock():
        try:
            yield alpha
        finally:
            with tenant_context(alpha.tenant):
                NumberSettings.objects.all().delete()
                Agent.objects.all().delete()
                ProviderCredential.objects.all().delete()
            connection.set_schema_to_public()
            lookup.forget_kept()
