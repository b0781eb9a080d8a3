"""Accounts: subaccount creation, listing, fetch, rename and status changes."""

from __future__ import annotations

import time

from .. import errors
from ..ids import new_sid
from ..state import Account
from ..twilio_format import account_json
from .common import ApiContext, Request, Response, first, list_response, may_act_on, paging

STATUSES = ("active", "suspended", "closed")


def list_accounts(api: ApiContext, request: Request, caller: Account) -> Response:
    query = request.query
    friendly_name = first(query, "FriendlyName")
    status = first(query, "Status")
    if status is not None and status not in STATUSES:
        raise errors.invalid_parameter("Status", f"must be one of {', '.join(STATUSES)}")
    paged = paging(query)
    filters = [(k, v) for k, v in (("FriendlyName", friendly_name), ("Status", status)) if v is not None]

    def wanted(account: Account) -> bool:
        # A master lists itself and its subaccounts; a subaccount sees only itself.
        return (
            (caller.is_master or account.sid == caller.sid)
            and (friendly_name is None or account.friendly_name == friendly_name)
            and (status is None or account.status == status)
        )

    return list_response(
        api, request, "accounts", api.store.account_list, caller.owner_sid, wanted, account_json, filters, paged
    )


def create_account(api: ApiContext, request: Request, caller: Account) -> Response:
    if not caller.is_master:
        raise errors.forbidden("Subaccounts cannot create subaccounts")
    now = time.time()
    friendly_name = first(request.form, "FriendlyName") or (
        "SubAccount Created at " + time.strftime("%Y-%m-%d %I:%M %p", time.gmtime(now)).lower()
    )
    if len(friendly_name) > 64:
        raise errors.bad_request(20002, "FriendlyName must be at most 64 characters")
    with api.store.lock:
        account = api.store.new_subaccount(caller, friendly_name, new_sid("AC"), now)
        body = account_json(account)
    return Response(201, body)


def _visible_account(api: ApiContext, caller: Account, sid: str, path: str) -> Account:
    account = api.store.accounts.get(sid)
    if account is None or not may_act_on(caller, account):
        raise errors.not_found(path)
    return account


def fetch_account(api: ApiContext, request: Request, caller: Account, sid: str) -> Response:
    with api.store.lock:
        return Response(200, account_json(_visible_account(api, caller, sid, request.path)))


def update_account(api: ApiContext, request: Request, caller: Account, sid: str) -> Response:
    form = request.form
    friendly_name = first(form, "FriendlyName")
    status = first(form, "Status")
    if status is not None and status not in STATUSES:
        raise errors.invalid_parameter("Status", f"must be one of {', '.join(STATUSES)}")
    if friendly_name is not None and len(friendly_name) > 64:
        raise errors.bad_request(20002, "FriendlyName must be at most 64 characters")
    with api.store.lock:
        account = _visible_account(api, caller, sid, request.path)
        if status is not None and status != account.status:
            if account.is_master or account.sid == caller.sid:
                raise errors.forbidden("Only the owner of a subaccount can change its status")
            if account.status == "closed":
                raise errors.ApiError(400, 20005, f"Account {sid} is closed and cannot be reactivated")
            account.status = status
            if status == "closed":
                # Twilio releases a closed account's numbers; they go back on sale.
                for number in list(api.store.numbers.by_account.get(sid, [])):
                    api.store.numbers.remove(number)
                    api.store.owned_numbers.pop(number.phone_number, None)
        if friendly_name is not None:
            account.friendly_name = friendly_name
        account.updated = time.time()
        body = account_json(account)
    return Response(200, body)
