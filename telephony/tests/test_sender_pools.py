"""Campaigns spread over a pool of senders: each recipient always gets the same number of the pool."""

import re
from collections import Counter

import pytest
from django_tenants.utils import tenant_context

from telephony.campaigns import sender_for
from telephony.models import Communication, SenderNumber
from telephony.policies import MAX_SENDER_POOL
from telephony.registry.models import TwilioAccount
from tenants.db import connection
from testsupport.tenants import TenantSetup
from testsupport.twilio import sender_on_sandbox
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"
POOL = ["+14155550611", "+14155550612", "+14155550613"]


@pytest.fixture
def pooled(alpha_on_twilio: TenantSetup) -> TenantSetup:
    with tenant_context(alpha_on_twilio.tenant):
        account = TwilioAccount.objects.get(tenant=alpha_on_twilio.tenant)
        for number in POOL:
            sender_on_sandbox(account, number)
    connection.set_schema_to_public()
    return alpha_on_twilio


def launch(setup: TenantSetup, recipients: list[str], **payload):
    body = {
        "name": "Pooled",
        "channel": "sms",
        "body": "Hi",
        "recipients": [{"to": to} for to in recipients],
        **payload,
    }
    return setup.client(setup.admin_key).post(URL, body, format="json")


def senders_used(setup: TenantSetup, campaign_id: int) -> dict[str, str]:
    with tenant_context(setup.tenant):
        return dict(Communication.objects.filter(campaign_id=campaign_id).values_list("to_number", "from_number"))


def test_recipients_are_spread_over_the_pool_and_keep_their_sender(pooled: TenantSetup) -> None:
    recipients = [f"+1415556{n:04d}" for n in range(300)]

    first = launch(pooled, recipients, senders=POOL)
    again = launch(pooled, list(reversed(recipients[:100])), senders=list(reversed(POOL)) + [POOL[0]])

    assert first.status_code == 202, first.json()
    assert first.json()["senders"] == POOL and first.json()["from"] is None
    assert again.json()["senders"] == POOL  # the same pool, however it was written
    used = senders_used(pooled, first.json()["id"])
    assert set(used.values()) == set(POOL)
    assert all(60 <= count <= 140 for count in Counter(used.values()).values()), Counter(used.values())
    assert senders_used(pooled, again.json()["id"]) == {to: used[to] for to in recipients[:100]}


def test_a_one_number_pool_is_that_sender(pooled: TenantSetup) -> None:
    assert sender_for(pool=[POOL[1]], to="+14155550100") == POOL[1]
    response = launch(pooled, ["+14155550100"], senders=[POOL[1]])
    assert response.json()["from"] == POOL[1] and response.json()["senders"] == [POOL[1]]


def test_every_sender_of_a_pool_must_be_verified(pooled: TenantSetup) -> None:
    with tenant_context(pooled.tenant):
        SenderNumber.objects.create(
            phone_number="+14155550614", status=SenderNumber.Status.REJECTED, status_detail="Not on the account."
        )

    unknown = launch(pooled, ["+14155550100"], senders=[POOL[0], "+14155550699"])
    rejected = launch(pooled, ["+14155550100"], senders=[POOL[0], "+14155550614"])
    malformed = launch(pooled, ["+14155550100"], senders=[POOL[0], "12"])

    assert (
        unknown.status_code == 422
        and "+14155550699 is not one of this account's" in unknown.json()["errors"]["senders"][0]
    )
    assert rejected.status_code == 422 and "Not on the account." in rejected.json()["errors"]["senders"][0]
    assert malformed.status_code == 400 and malformed.json()["errors"]["senders"][0].startswith(
        "'12' is not a phone number"
    )
    with tenant_context(pooled.tenant):
        assert not Communication.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"senders": POOL, "from": POOL[0]},
        {"senders": []},
        {"senders": [f"+1415555{n:04d}" for n in range(MAX_SENDER_POOL + 1)]},
    ],
    ids=["with-from", "empty", "too-many"],
)
def test_a_pool_is_checked_at_the_edge(pooled: TenantSetup, payload: dict) -> None:
    response = launch(pooled, ["+14155550100"], **payload)
    assert response.status_code == 400 and response.json()["errors"]["senders"], response.json()


def test_the_campaign_page_shows_progress_per_sender(pooled: TenantSetup) -> None:
    campaign_id = launch(pooled, [f"+1415556{n:04d}" for n in range(30)], senders=POOL).json()["id"]
    used = Counter(senders_used(pooled, campaign_id).values())

    page = signed_in(pooled).get(f"/campaigns/{campaign_id}/").content.decode()

    assert "Senders (3)" in page
    for number in POOL:
        row = page[page.index(f"<td>{number}</td>") :].split("</tr>")[0]
        # delivered, sent, queued, failed, canceled, total
        assert re.findall(r"<td>(\d+)</td>", row) == ["0", "0", str(used[number]), "0", "0", str(used[number])], row
        assert f'title="{used[number]} queued"' in row
