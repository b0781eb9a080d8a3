"""What every handler of the sandbox's Twilio REST API shares: requests and responses, authentication
and account scoping, fetch and list answers, and parameter parsing.

Authentication is HTTP Basic with AccountSid:AuthToken, like Twilio. A master account may act on
its own resources and its subaccounts'; a subaccount only on its own. A path naming an account the
caller may not use answers 401/20003 (Twilio's "Authenticate"); a resource that exists but belongs to
another account answers 404/20404, so SIDs of other tenants cannot even be probed.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from .. import errors
from ..behaviour import Engine
from ..state import Account, Collection, Sequenced, Store, paginate
from ..twilio_format import list_json

_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    authorization: str | None
    received_at: float
    received_monotonic: float


@dataclass(slots=True)
class Response:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (recording media), sent as is with content_type
    content_type: str | None = None


Handler = Callable[..., Response]
R = TypeVar("R", bound=Sequenced)


class ApiContext:
    """The store and engine a handler works on, and the caller checks every handler makes."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    # --- auth and scoping ---------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Account:
        if not header or not header.startswith("Basic "):
            raise errors.authenticate()
        try:
            sid, _, token = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise errors.authenticate() from None
        with self.store.lock:
            account = self.store.accounts.get(sid)
            valid = account is not None and hmac.compare_digest(account.auth_token.encode(), token.encode())
            active = account is not None and account.status == "active"
        if account is None or not valid:
            raise errors.authenticate()
        if not active:
            raise errors.account_not_active(account.sid)
        return account

    def account_in_scope(self, caller: Account, sid: str) -> Account:
        """The account a /Accounts/{sid}/... path names, if the caller may act on it and it is active."""
        with self.store.lock:
            account = self.store.accounts.get(sid)
            allowed = account is not None and may_act_on(caller, account)
            active = account is not None and account.status == "active"
        if account is None or not allowed:
            raise errors.authenticate()
        if not active:
            raise errors.account_not_active(account.sid)
        return account


def may_act_on(caller: Account, account: Account) -> bool:
    return account.sid == caller.sid or (caller.is_master and account.owner_sid == caller.sid)


# --- shared resource handling ----------------------------------------------------------------------


def get_or_404(collection: Collection[R], account_sid: str, sid: str, path: str) -> R:
    """The account's record with this SID (caller holds the store lock).

    Another account's record answers the same 404 as a missing one, so SIDs cannot be probed.
    """
    item = collection.get(account_sid, sid)
    if item is None:
        raise errors.not_found(path)
    return item


def fetch_response(
    api: ApiContext,
    request: Request,
    caller: Account,
    account_sid: str,
    collection: Collection[R],
    sid: str,
    to_json: Callable[[R], dict[str, Any]],
) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        return Response(200, to_json(get_or_404(collection, account.sid, sid, request.path)))


def list_response(
    api: ApiContext,
    request: Request,
    key: str,
    collection: Collection[R],
    account_sid: str,
    wanted: Callable[[R], bool],
    to_json: Callable[[R], dict[str, Any]],
    filters: list[tuple[str, str]],
    paged: Paging,
) -> Response:
    """One page of an account's records, newest first, in Twilio's list envelope."""
    page_size, page, token = paged
    with api.store.lock:
        result = paginate(collection, account_sid, wanted, page_size=page_size, page=page, token=token)
        records = [to_json(item) for item in result.items]
    body = list_json(
        key,
        records,
        path=request.path,
        filters=filters,
        page=page,
        page_size=page_size,
        token=token,
        next_token=result.next_token,
        previous_token=result.previous_token,
    )
    return Response(200, body)


# --- parameters ------------------------------------------------------------------------------------


def first(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def boolean(params: dict[str, list[str]], name: str) -> bool | None:
    value = first(params, name)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise errors.invalid_parameter(name, f"{value!r} is not true or false")


def integer(params: dict[str, list[str]], name: str) -> int | None:
    value = first(params, name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.invalid_parameter(name, f"{value!r} is not an integer") from None


def http_method(params: dict[str, list[str]], name: str, default: str = "POST") -> str:
    value = first(params, name)
    if value is None or value == "":
        return default
    if value.upper() not in ("GET", "POST"):
        raise errors.invalid_parameter(name, "must be GET or POST")
    return value.upper()


def url(params: dict[str, list[str]], name: str, code: int) -> str | None:
    value = first(params, name)
    if value is None or value == "":
        return None
    if not is_url(value):
        raise errors.bad_request(code, f"The {name} URL {value} is not valid.")
    return value


def is_url(value: str) -> bool:
    return len(value) <= 4000 and bool(_URL.match(value))


class Paging(NamedTuple):
    page_size: int
    page: int
    token: str | None


def paging(query: dict[str, list[str]]) -> Paging:
    page_size = integer(query, "PageSize") or DEFAULT_PAGE_SIZE
    if page_size < 1:
        raise errors.invalid_parameter("PageSize", "must be at least 1")
    page = integer(query, "Page") or 0
    if page < 0:
        raise errors.invalid_parameter("Page", "must not be negative")
    return Paging(min(page_size, MAX_PAGE_SIZE), page, first(query, "PageToken"))


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def time_filter(
    query: dict[str, list[str]], name: str
) -> tuple[list[tuple[str, str]], Callable[[float | None], bool] | None]:
    """Twilio's Name / Name< / Name> date filters ("YYYY-MM-DD" or an ISO 8601 instant), inclusive.

    Name= matches the whole UTC day of its value (twilio-python sends a ``date`` as midnight
    "YYYY-MM-DDT00:00:00Z", so an exact-instant match would never hit). For Name< / Name> a date
    means the whole day (Name<=day includes that day) and an instant means that second. Records
    with no such timestamp yet (an unsent message's date_sent) match no date filter.
    Returns (the filters echoed in page URIs, a predicate on the timestamp, or None when unfiltered).
    """
    low, high = float("-inf"), float("inf")
    echoed: list[tuple[str, str]] = []
    for suffix in ("", "<", ">"):
        key = name + suffix
        value = first(query, key)
        if value is None:
            continue
        echoed.append((key, value))
        start, end = _instant_range(key, value)
        if suffix == "":
            start = start - start % 86_400
            low, high = max(low, start), min(high, start + 86_400)
        elif suffix == "<":
            high = min(high, end)
        else:
            low = max(low, start)
    if not echoed:
        return echoed, None
    return echoed, lambda ts: ts is not None and low <= ts < high


def _instant_range(key: str, value: str) -> tuple[float, float]:
    """[start, end) of the day or the second named by value."""
    text = value.strip()
    try:
        if _DAY.match(text):
            start = calendar.timegm(datetime.strptime(text, "%Y-%m-%d").timetuple())
            return float(start), float(start + 86_400)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid_parameter(key, f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time") from None
    if moment.tzinfo is None:
        start = calendar.timegm(moment.timetuple())
    else:
        start = int(moment.timestamp())
    return float(start), float(start + 1)
