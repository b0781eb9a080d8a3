"""A page of campaigns with their progress is read in a constant number of queries (selectors.campaign_list)."""

from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from telephony.models import Campaign, Communication
from telephony.statuses import Status
from tenants.accounts.roles import Role
from tenants.db import connection
from tenants.services import user_create
from testsupport.tenants import PASSWORD, TenantSetup
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

# Each campaign: one message per status, so every stage of its progress is counted.
STATUSES = [Status.PENDING, Status.SENT, Status.DELIVERED, Status.DELIVERED, Status.FAILED, Status.CANCELED]


def add_campaigns(setup: TenantSetup, count: int) -> None:
    with tenant_context(setup.tenant):
        for _ in range(count):
            campaign = Campaign.objects.create(name="Counted", channel=Communication.Channel.SMS, body="Hi")
            Communication.objects.bulk_create(
                Communication(
                    campaign=campaign,
                    channel=Communication.Channel.SMS,
                    to_number=f"+1415555{index:04d}",
                    from_number="+14155550100",
                    content="Hi",
                    status=status,
                )
                for index, status in enumerate(STATUSES)
            )
    connection.set_schema_to_public()


def queries_for(fetch: Any) -> tuple[int, Any]:
    fetch()  # once before counting: the first request of a client also reads what it then caches
    with CaptureQueriesContext(connections["default"]) as captured:
        answer = fetch()
    return len(captured.captured_queries), answer


def test_the_campaign_list_counts_progress_in_one_query_however_many_campaigns(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    add_campaigns(alpha, 2)
    queries_for_two, _ = queries_for(lambda: client.get("/api/v1/campaigns/"))
    add_campaigns(alpha, 8)

    queries_for_ten, listed = queries_for(lambda: client.get("/api/v1/campaigns/"))

    progress = [campaign["progress"] for campaign in listed.json()["results"]]
    assert queries_for_ten == queries_for_two
    assert len(progress) == 10
    assert progress[0] == {
        "queued": 1,
        "sent": 1,
        "delivered": 2,
        "failed": 1,
        "canceled": 1,
        "total": 6,
        "invalid": 0,
    }


def test_the_portals_campaign_page_counts_progress_in_one_query_however_many_campaigns(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        user_create(tenant=alpha.tenant, email="viewer@alpha.test", role=Role.VIEWER, password=PASSWORD)
    browser = signed_in(alpha, "viewer@alpha.test")
    add_campaigns(alpha, 2)
    queries_for_two, _ = queries_for(lambda: browser.get("/campaigns/"))
    add_campaigns(alpha, 8)

    queries_for_ten, page = queries_for(lambda: browser.get("/campaigns/"))

    assert page.status_code == 200
    assert queries_for_ten == queries_for_two
    assert page.content.decode().count("Counted") == 10


def test_canceling_answers_the_progress_as_it_is_after_the_cancel(alpha_on_twilio: TenantSetup) -> None:
    add_campaigns(alpha_on_twilio, 1)
    with tenant_context(alpha_on_twilio.tenant):
        campaign = Campaign.objects.get()
    connection.set_schema_to_public()

    canceled = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(f"/api/v1/campaigns/{campaign.pk}/cancel/")

    assert canceled.status_code == 200
    assert canceled.json()["progress"]["queued"] == 0
    assert canceled.json()["progress"]["canceled"] == 2
