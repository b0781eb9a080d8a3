"""Portal pages: the communication log and its chart, campaigns and their progress, senders."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.models import Campaign, Communication
from telephony.statuses import Status
from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db


def logged(setup: TenantSetup, to: str, status: str, days_ago: int = 0, channel: str = "sms") -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.create(
            channel=channel,
            to_number=to,
            from_number=SENDER,
            status=status,
            occurred_at=timezone.now() - timedelta(days=days_ago),
        )


def bar_titles(page: str) -> list[str]:
    return re.findall(r"<g [^>]*>\s*<title>([^<]+)</title>", page)


def test_log_lists_filters_and_charts_the_last_two_weeks(alpha: TenantSetup) -> None:
    logged(alpha, "+14155550901", Status.DELIVERED)
    logged(alpha, "+14155550902", Status.DELIVERED)
    logged(alpha, "+14155550903", Status.FAILED)
    logged(alpha, "+14155550904", Status.COMPLETED, days_ago=3, channel="call")
    logged(alpha, "+14155550905", Status.DELIVERED, days_ago=20)  # before the chart's window
    browser = signed_in(alpha)

    page = browser.get("/communications/").content.decode()
    failed_only = browser.get("/communications/", {"status": "failed"}).content.decode()
    by_number = browser.get("/communications/", {"number": "+1 415 555 0904"}).content.decode()
    bad_number = browser.get("/communications/", {"number": "nope"}).content.decode()

    titles = bar_titles(page)
    assert len(titles) == 14
    assert titles[-1].endswith(": 3, 2 delivered, 1 failed") and titles[-4].endswith(": 1, 1 delivered")
    assert sum(1 for title in titles if title.endswith(": 0")) == 12
    assert all(n in page for n in ("+14155550901", "+14155550905"))
    assert "+14155550903" in failed_only and "+14155550901" not in failed_only
    assert "+14155550904" in by_number and "+14155550901" not in by_number
    assert "not a phone number" in bad_number and "+14155550901" in bad_number  # the filter is dropped, said why


def test_campaign_pages_show_progress_and_operators_control_them(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        campaign = Campaign.objects.create(
            name="Spring sale",
            channel="sms",
            senders=[SENDER],
            status=Campaign.Status.RUNNING,
            invalid_rows=[{"row": 3, "to": "123", "reason": "'123' is not a phone number"}],
        )
        for n, status in enumerate([Status.DELIVERED, Status.DELIVERED, Status.PENDING, Status.FAILED]):
            Communication.objects.create(
                channel="sms", to_number=f"+1415555091{n}", from_number=SENDER, status=status, campaign=campaign
            )
    _, viewer_key = api_key_create(tenant=alpha.tenant, name="viewer", role=Role.VIEWER)
    browser = signed_in(alpha)

    listing = browser.get("/campaigns/").content.decode()
    detail = browser.get(f"/campaigns/{campaign.pk}/").content.decode()
    viewer_pause = alpha.client().post(f"/campaigns/{campaign.pk}/pause/?apiKey={viewer_key}")
    paused = browser.post(f"/campaigns/{campaign.pk}/pause/")

    assert "Spring sale" in listing and 'style="width: 50.00%" title="2 delivered"' in listing
    assert 'title="1 queued"' in detail and 'title="1 failed"' in detail and "is not a phone number" in detail
    assert 'http-equiv="refresh"' in detail and ">Pause</button>" in detail
    assert viewer_pause.status_code == 403
    assert paused.status_code == 302 and paused["Location"] == f"/campaigns/{campaign.pk}/"
    with tenant_context(alpha.tenant):
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
    after = browser.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert ">Resume</button>" in after and 'http-equiv="refresh"' not in after
    assert "cannot pause" in browser.post(f"/campaigns/{campaign.pk}/pause/", follow=True).content.decode()


def test_senders_page_shows_each_numbers_verification(alpha_on_twilio: TenantSetup) -> None:
    page = signed_in(alpha_on_twilio).get("/senders/").content.decode()
    assert SENDER in page and "Verified with Twilio" in page


def test_another_tenants_campaign_is_not_found(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        campaign = Campaign.objects.create(
            name="Alpha only", channel="sms", senders=[SENDER], status=Campaign.Status.RUNNING
        )
    beta_browser = signed_in(beta)

    assert beta_browser.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert beta_browser.post(f"/campaigns/{campaign.pk}/cancel/").status_code == 404
    assert "Alpha only" not in beta_browser.get("/campaigns/").content.decode()
    with tenant_context(alpha.tenant):
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING
