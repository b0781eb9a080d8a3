"""Sandbox accounts: subaccounts, credentials, and what each account may see."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from sandbox.twilio import SandboxServer
from sandbox.twilio.tests.support import Control, Tenant

SID = re.compile(r"^AC[0-9a-f]{32}$")


def test_subaccount_create_list_fetch(
    sandbox: SandboxServer, master: Client, make_client: Callable[..., Client]
) -> None:
    name = f"acme-{uuid.uuid4().hex[:8]}"
    created = master.api.accounts.create(friendly_name=name)
    assert created.sid is not None and created.auth_token is not None and created.subresource_uris is not None

    assert SID.match(created.sid) and created.sid != sandbox.account_sid
    assert created.owner_account_sid == sandbox.account_sid
    assert re.fullmatch(r"[0-9a-f]{32}", created.auth_token)
    assert created.status == "active" and created.type == "Full" and created.friendly_name == name
    assert created.uri == f"/2010-04-01/Accounts/{created.sid}.json"
    assert created.subresource_uris["messages"] == f"/2010-04-01/Accounts/{created.sid}/Messages.json"

    listed = master.api.accounts.list(friendly_name=name)
    assert [a.sid for a in listed] == [created.sid]
    everyone = {a.sid for a in master.api.accounts.list(status="active")}
    assert {sandbox.account_sid, created.sid} <= everyone

    fetched = master.api.accounts(created.sid).fetch()
    assert (fetched.sid, fetched.friendly_name, fetched.auth_token) == (created.sid, name, created.auth_token)

    # The subaccount's own credentials work, and it sees only itself.
    own = make_client(created.sid, created.auth_token)
    assert own.api.accounts(created.sid).fetch().friendly_name == name
    assert [a.sid for a in own.api.accounts.list()] == [created.sid]


def test_default_friendly_name_and_rename(master: Client) -> None:
    account = master.api.accounts.create()
    assert account.sid is not None and account.friendly_name is not None
    assert re.fullmatch(r"SubAccount Created at \d{4}-\d{2}-\d{2} \d{2}:\d{2} (am|pm)", account.friendly_name)
    renamed = master.api.accounts(account.sid).update(friendly_name="renamed")
    assert renamed.friendly_name == "renamed"
    fetched = master.api.accounts(account.sid).fetch()
    # twilio-python parsed the RFC 2822 dates, so they were in Twilio's format.
    assert fetched.date_updated is not None and fetched.date_created is not None
    assert fetched.date_updated.tzinfo is not None and fetched.date_updated >= fetched.date_created


def test_suspend_and_reactivate_subaccount(tenant: Tenant, master: Client) -> None:
    suspended = master.api.accounts(tenant.sid).update(status="suspended")
    assert suspended.status == "suspended"
    assert tenant.sid in {a.sid for a in master.api.accounts.list(status="suspended")}
    assert tenant.sid not in {a.sid for a in master.api.accounts.list(status="active")}

    # A suspended account cannot use the API, even with its own valid credentials.
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.messages.create(to="+14155550100", from_="+14155550199", body="hi")
    assert (caught.value.status, caught.value.code) == (401, 20005)
    # Its owner cannot send on its behalf either, but still manages it.
    with pytest.raises(TwilioRestException) as caught:
        master.api.accounts(tenant.sid).messages.create(to="+14155550100", from_="+14155550199", body="hi")
    assert caught.value.code == 20005

    assert master.api.accounts(tenant.sid).update(status="active").status == "active"
    assert tenant.client.messages.create(to="+14155550100", from_="+14155550199", body="back").status == "queued"


def test_closed_subaccount_cannot_be_reopened(tenant: Tenant, master: Client) -> None:
    assert master.api.accounts(tenant.sid).update(status="closed").status == "closed"
    with pytest.raises(TwilioRestException) as caught:
        master.api.accounts(tenant.sid).update(status="active")
    assert (caught.value.status, caught.value.code) == (400, 20005)


def test_accounts_cannot_change_their_own_status(tenant: Tenant, master: Client, sandbox: SandboxServer) -> None:
    with pytest.raises(TwilioRestException) as caught:
        master.api.accounts(sandbox.account_sid).update(status="suspended")
    assert (caught.value.status, caught.value.code) == (403, 20403)
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.api.accounts(tenant.sid).update(status="closed")
    assert caught.value.status == 403


@pytest.mark.parametrize("credentials", ["wrong-token", "unknown-account", "empty-token"])
def test_bad_credentials_are_401_with_twilio_error_body(
    credentials: str, sandbox: SandboxServer, make_client: Callable[..., Client], control: Control
) -> None:
    sid, token = {
        "wrong-token": (sandbox.account_sid, "0" * 32),
        "unknown-account": ("AC" + "f" * 32, sandbox.auth_token),
        "empty-token": (sandbox.account_sid, ""),
    }[credentials]
    since = control.log_total("responses")
    with pytest.raises(TwilioRestException) as caught:
        # (list() would raise a plain TwilioException: twilio-python's paging does not parse errors)
        make_client(sid, token).messages.create(to="+14155550100", from_="+14155550199", body="hi")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    [response] = control.log("responses", since)
    assert response["status"] == 401
    assert response["body"] == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_subaccount_cannot_reach_master_or_sibling_resources(
    sandbox: SandboxServer, master: Client, make_client: Callable[..., Client]
) -> None:
    first = master.api.accounts.create(friendly_name="first")
    second = master.api.accounts.create(friendly_name="second")
    first_client = make_client(first.sid, first.auth_token)
    second_client = make_client(second.sid, second.auth_token)
    master_message = master.messages.create(to="+14155550100", from_="+14155550199", body="master's")
    first_message = first_client.messages.create(to="+14155550101", from_="+14155550199", body="first's")
    assert first.sid is not None and second.sid is not None
    assert master_message.sid is not None and first_message.sid is not None

    # The master acts on its subaccounts' resources through their account path.
    assert master.api.accounts(first.sid).messages(first_message.sid).fetch().body == "first's"
    assert first_message.sid in {m.sid for m in master.api.accounts(first.sid).messages.list()}

    # A subaccount cannot use another account's path at all ...
    for path_account, sid in ((sandbox.account_sid, master_message.sid), (first.sid, first_message.sid)):
        with pytest.raises(TwilioRestException) as caught:
            second_client.api.accounts(path_account).messages(sid).fetch()
        assert (caught.value.status, caught.value.code) == (401, 20003)
        with pytest.raises(TwilioException, match="401"):
            second_client.api.accounts(path_account).messages.list()
    # ... and through its own path another account's SID simply does not exist.
    with pytest.raises(TwilioRestException) as caught:
        second_client.messages(first_message.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert second_client.messages.list() == []
    # It cannot see other accounts, nor create subaccounts of its own.
    for other in (sandbox.account_sid, first.sid):
        with pytest.raises(TwilioRestException) as caught:
            second_client.api.accounts(other).fetch()
        assert caught.value.status == 404
    with pytest.raises(TwilioRestException) as caught:
        second_client.api.accounts.create(friendly_name="grandchild")
    assert (caught.value.status, caught.value.code) == (403, 20403)
