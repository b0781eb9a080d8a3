"""What billing calls (contracts.md): purchases asked for from any schema run in the tenant's, and the count of
numbers a tenant holds against its plan."""

import pytest
from django_tenants.utils import tenant_context

from telephony.numbers import services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.services import NumberRefused
from telephony.numbers.tests.conftest import buy
from tenants.db import connection
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def test_a_purchase_asked_for_from_the_public_schema_is_queued_in_the_tenants(
    alpha_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        pending = services.number_purchase_request(
            tenant=alpha_connected.tenant, country="gb", number_type="mobile", reason="plan"
        )
        assert connection.schema_name == "public"

    assert [(t.name, t.kwargs, t.schema) for t in queued_tasks] == [
        ("telephony.numbers.tasks.purchase_number", {"number_id": pending.pk}, alpha_connected.tenant.schema_name)
    ]
    assert (pending.country, pending.number_type, pending.reason) == ("GB", "mobile", "plan")


def test_held_numbers_are_the_active_and_the_pending(
    alpha_connected: TenantSetup, beta_connected: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    active = buy(alpha_connected, area_code="212")
    buy(alpha_connected, area_code="533")  # failed
    with tenant_context(alpha_connected.tenant):
        services.number_purchase_request(tenant=alpha_connected.tenant, area_code="415")
        released = buy(alpha_connected, area_code="617")
        PhoneNumber.objects.filter(pk=released.pk).update(status=PhoneNumber.Status.RELEASED)
    connection.set_schema_to_public()

    assert services.numbers_held_count(tenant=alpha_connected.tenant) == 2
    assert services.numbers_held_count(tenant=beta_connected.tenant) == 0
    with tenant_context(alpha_connected.tenant):
        services.number_release_request(number=active)
    assert services.numbers_held_count(tenant=alpha_connected.tenant) == 1


@pytest.mark.parametrize("area_code", ["1", "123456", "21a", "12345678"])
def test_the_seam_refuses_an_area_code_the_api_would_refuse(alpha_connected: TenantSetup, area_code: str) -> None:
    """Billing's preferences pass through the same rule (telephony.numbers.validators) as the numbers API."""
    with pytest.raises(NumberRefused) as refused:
        services.number_purchase_request(tenant=alpha_connected.tenant, area_code=area_code, reason="plan")

    assert (refused.value.status, list(refused.value.errors or {})) == (400, ["area_code"])
    with tenant_context(alpha_connected.tenant):
        assert not PhoneNumber.objects.exists()
