"""Keys with each role for the appointment tests (the helpers are in support)."""

import pytest

from telephony.appointments.tests.support import key_with_role
from tenants.accounts.roles import Role
from testsupport.tenants import TenantSetup


@pytest.fixture
def viewer_key(alpha: TenantSetup) -> str:
    return key_with_role(alpha, Role.VIEWER)


@pytest.fixture
def operator_key(alpha: TenantSetup) -> str:
    return key_with_role(alpha, Role.OPERATOR)
