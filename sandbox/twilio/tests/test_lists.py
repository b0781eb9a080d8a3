"""Sandbox list endpoints: filters and paging through several pages with the client's list()/stream()."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TypedDict, Unpack

import pytest
from twilio.base.exceptions import TwilioException
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from sandbox.twilio.tests.support import Control, Tenant
from testsupport.wait import wait_until

FROM = "+14155550199"


class DateSentFilters(TypedDict, total=False):
    """messages.list() date filters: dates, datetimes, or day strings passed through as they are."""

    date_sent: date
    date_sent_before: date | str
    date_sent_after: date | str


def test_messages_page_through_several_pages(tenant: Tenant, control: Control) -> None:
    sids = [
        tenant.client.messages.create(to="+14155550100" if i % 3 else "+14155550111", from_=FROM, body=f"m{i}").sid
        for i in range(23)
    ]
    since = control.log_total("requests")

    listed = tenant.client.messages.list(page_size=5)
    assert [m.sid for m in listed] == list(reversed(sids))  # newest first, nothing lost or repeated
    # (Only this tenant's GETs: a request held by an earlier timeout test may be logged meanwhile.)
    page_requests = [
        r
        for r in control.log("requests", since)
        if r["method"] == "GET" and r["path"] == f"/2010-04-01/Accounts/{tenant.sid}/Messages.json"
    ]
    assert len(page_requests) == 5  # 5 + 5 + 5 + 5 + 3, each next page fetched via next_page_uri
    assert all("PageToken=PA" in r["query"] for r in page_requests[1:])

    assert [m.sid for m in tenant.client.messages.stream(page_size=4, limit=10)] == list(reversed(sids))[:10]
    assert [m.sid for m in tenant.client.messages.list(limit=7)] == list(reversed(sids))[:7]

    to_111 = tenant.client.messages.list(to="+14155550111", page_size=2)
    assert [m.sid for m in to_111] == [sid for i, sid in reversed(list(enumerate(sids))) if i % 3 == 0]
    assert tenant.client.messages.list(from_="+14155550000") == []


def test_page_objects_link_forward_and_back(tenant: Tenant) -> None:
    sids = [tenant.client.messages.create(to="+14155550100", from_=FROM, body=f"p{i}").sid for i in range(6)]
    newest_first = list(reversed(sids))
    first = tenant.client.messages.page(page_size=4)
    assert [m.sid for m in first] == newest_first[:4]
    assert first.previous_page_url is None and first.next_page_url is not None
    second = first.next_page()
    assert second is not None
    assert [m.sid for m in second] == newest_first[4:]
    assert second.next_page_url is None
    back = second.previous_page()
    assert back is not None
    assert [m.sid for m in back] == newest_first[:4]
    # Records created after a page was read do not shift the pages that follow it.
    tenant.client.messages.create(to="+14155550100", from_=FROM, body="late")
    again = first.next_page()
    assert again is not None
    assert [m.sid for m in again] == newest_first[4:]


def test_messages_date_sent_filters(tenant: Tenant) -> None:
    message = tenant.client.messages.create(to="+14155550100", from_=FROM, body="dated")
    message_sid = message.sid
    assert message_sid is not None

    def fetch_sent() -> MessageInstance | None:
        fetched = tenant.client.messages(message_sid).fetch()
        return fetched if fetched.date_sent else None

    sent = wait_until(fetch_sent)
    assert sent.date_sent is not None
    today = sent.date_sent.date()
    day = timedelta(days=1)

    def sids(**filters: Unpack[DateSentFilters]) -> list[str | None]:
        return [m.sid for m in tenant.client.messages.list(**filters)]

    # A date object goes out as midnight "YYYY-MM-DDT00:00:00Z": DateSent= matches that whole day.
    assert sids(date_sent=today) == [message.sid]
    assert sids(date_sent=today - day) == []
    # Day strings pass through twilio-python as they are: "on or before/after" the whole day.
    assert sids(date_sent_before=today.isoformat()) == [message.sid]
    assert sids(date_sent_after=today.isoformat()) == [message.sid]
    assert sids(date_sent_before=(today - day).isoformat()) == []
    assert sids(date_sent_after=(today + day).isoformat()) == []
    # Instants compare to the second.
    assert sids(date_sent_before=today) == []  # before today's midnight
    assert sids(date_sent_after=today) == [message.sid]
    moment = sent.date_sent
    assert sids(date_sent_after=moment - timedelta(seconds=5), date_sent_before=moment + timedelta(seconds=5)) == [
        message.sid
    ]
    assert sids(date_sent_after=moment + timedelta(seconds=5)) == []


def test_calls_filters_and_paging(tenant: Tenant) -> None:
    busy = [tenant.client.calls.create(to="+15005550486", from_=FROM, twiml="<Response/>").sid for _ in range(3)]
    answered = [tenant.client.calls.create(to="+14155550100", from_=FROM, twiml="<Response/>").sid for _ in range(4)]
    wait_until(
        lambda: (
            len(tenant.client.calls.list(status="completed")) == 4 and len(tenant.client.calls.list(status="busy")) == 3
        )
    )

    assert [c.sid for c in tenant.client.calls.list(page_size=2)] == list(reversed(busy + answered))
    assert [c.sid for c in tenant.client.calls.list(status="busy", page_size=2)] == list(reversed(busy))
    assert [c.sid for c in tenant.client.calls.list(to="+14155550100", page_size=3)] == list(reversed(answered))
    assert tenant.client.calls.list(from_="+14155550100") == []

    today = datetime.now(UTC).date()
    assert len(tenant.client.calls.list(start_time=today)) == 7
    assert len(tenant.client.calls.list(start_time_after=datetime.now(UTC) - timedelta(minutes=5))) == 7
    assert tenant.client.calls.list(start_time_before=today - timedelta(days=1)) == []
    assert tenant.client.calls.list(start_time_after=date(2999, 1, 1)) == []
    assert len(tenant.client.calls.list(end_time=today, status="completed")) == 4


def test_accounts_page(master: Client) -> None:
    created = {master.api.accounts.create(friendly_name="paging").sid for _ in range(5)}
    listed = master.api.accounts.list(friendly_name="paging", page_size=2)
    assert created <= {a.sid for a in listed}
    assert len(listed) == len({a.sid for a in listed})


def test_bad_filters_are_400(tenant: Tenant) -> None:
    # twilio-python's paging raises a plain TwilioException carrying the response.
    with pytest.raises(TwilioException, match="400") as caught:
        tenant.client.messages.list(date_sent="yesterday")
    assert "20001" in str(caught.value)
    with pytest.raises(TwilioException, match="400"):
        tenant.client.calls.list(status="ringing-ish")
    with pytest.raises(TwilioException, match="400"):
        tenant.client.messages.list(page_size=-1)
