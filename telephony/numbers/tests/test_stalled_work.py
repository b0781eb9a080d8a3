"""Beat's sweep: a purchase or release that lost its task (retries run out, a worker gone) is queued again in
its tenant's schema; one still being worked on is left alone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.numbers import services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tasks import STALLED_AFTER, resume_stalled_number_work
from telephony.numbers.tests.conftest import buy
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def test_stalled_purchases_and_releases_are_queued_again(
    alpha_connected: TenantSetup, beta_connected: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    releasing = buy(beta_connected, area_code="212")
    with tenant_context(beta_connected.tenant):
        services.number_release_request(number=releasing)
    with tenant_context(alpha_connected.tenant):
        stalled = services.number_purchase_request(tenant=alpha_connected.tenant, area_code="415")
        fresh = services.number_purchase_request(tenant=alpha_connected.tenant, area_code="312")
        PhoneNumber.objects.filter(pk=stalled.pk).update(updated_at=timezone.now() - STALLED_AFTER - timedelta(1))
        PhoneNumber.objects.filter(pk=fresh.pk).update(updated_at=timezone.now() - STALLED_AFTER + timedelta(minutes=1))
    with tenant_context(beta_connected.tenant):
        PhoneNumber.objects.filter(pk=releasing.pk).update(updated_at=timezone.now() - STALLED_AFTER * 2)

    assert resume_stalled_number_work.run() == 2

    queued = sorted((t.name, t.kwargs["number_id"], t.schema) for t in queued_tasks)
    assert queued == sorted(
        [
            ("telephony.numbers.tasks.purchase_number", stalled.pk, alpha_connected.tenant.schema_name),
            ("telephony.numbers.tasks.release_number", releasing.pk, beta_connected.tenant.schema_name),
        ]
    )
