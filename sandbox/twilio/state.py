"""The sandbox's state: accounts, messages, calls, recordings, phone numbers, caller IDs, and the inspection journals.

One lock (``Store.lock``) guards every resource; request threads and the scheduler hold it only for
dictionary work, never across I/O. Journals (append-only logs for the /sandbox/ inspection API) have
their own small locks so logging never waits behind resource work.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from .ids import new_auth_token, new_sid
from .magic import DELIVERED, MessageOutcome


@dataclass(slots=True, eq=False)
class Account:
    sid: str
    auth_token: str
    friendly_name: str
    owner_sid: str
    created: float
    updated: float
    status: str = "active"  # active | suspended | closed
    seq: int = 0

    @property
    def is_master(self) -> bool:
        return self.owner_sid == self.sid

    @property
    def account_sid(self) -> str:
        # Accounts are listed per owner: a master's list holds itself and its subaccounts.
        return self.owner_sid


@dataclass(slots=True, eq=False)
class Message:
    seq: int
    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    media_urls: list[str]
    messaging_service_sid: str | None
    status_callback: str | None
    status: str
    created: float
    updated: float
    num_segments: int
    outcome: MessageOutcome = DELIVERED
    date_sent: float | None = None
    price: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    direction: str = "outbound-api"  # inbound (received from a handset) | outbound-reply (a TwiML <Message>)


@dataclass(slots=True, eq=False)
class Call:
    seq: int
    sid: str
    account_sid: str
    to: str
    from_: str
    phone_number_sid: str | None
    created: float
    updated: float
    url: str | None
    method: str
    twiml: str | None  # the inline Twiml parameter
    fallback_url: str | None
    fallback_method: str
    status_callback: str | None
    status_callback_method: str
    status_callback_events: frozenset[str]
    machine_detection: str | None
    record: bool
    timeout: int
    outcome: str  # answer | busy | no-answer | failed | machine
    status: str = "queued"
    # Twilio's resource says "queued" while the call is being dialled; callbacks say "initiated".
    # The phase tracks where the lifecycle really is: queued, initiated, ringing, answering, in-progress, ended.
    phase: str = "queued"
    generation: int = 0  # bumped on cancel/hang-up/redirect so stale scheduled steps are dropped
    start_time: float | None = None
    answered_at: float | None = None
    end_time: float | None = None
    duration: int | None = None
    price: str | None = None
    answered_by: str | None = None
    fetched_twiml: str | None = None
    twiml_source: str | None = None  # URL the current TwiML came from, or "inline"
    twiml_error: dict[str, Any] | None = None
    recording_sid: str | None = None
    callback_sequence: int = 0
    direction: str = "outbound-api"  # inbound for the calls the simulator places (simulator/)
    # Parameters every webhook of the call carries besides the standard ones (an inbound call's geography).
    extra_params: dict[str, str] = field(default_factory=dict)
    # A REST redirect (POST Url/Twiml) of a simulated inbound call: (url, method, twiml), picked up between verbs.
    redirect_to: tuple[str | None, str, str | None] | None = None


@dataclass(slots=True, eq=False)
class IncomingNumber:
    seq: int
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    kind: str
    iso_country: str
    capabilities: dict[str, bool]
    created: float
    updated: float
    voice_url: str | None = None
    voice_method: str = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"
    voice_caller_id_lookup: bool = False
    sms_url: str | None = None
    sms_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"


@dataclass(slots=True, eq=False)
class Recording:
    """A recording made by <Record> or <Dial record> in a simulated inbound call, its WAV bytes included."""

    seq: int
    sid: str
    account_sid: str
    call_sid: str
    created: float
    updated: float
    start_time: float
    duration: int
    source: str  # RecordVerb | DialVerb
    track: str  # inbound (the caller, <Record>) | both (<Dial>)
    media: bytes  # a WAV file (sandbox.twilio.simulator.wav)
    media_url: str  # where the sandbox serves it, without extension (Twilio's RecordingUrl)
    price: str | None
    channels: int = 1
    status: str = "completed"


@dataclass(slots=True, eq=False)
class OutgoingCallerId:
    """A number the account has proved it answers (Twilio's validation call), usable as a call's From."""

    seq: int
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    created: float
    updated: float


class Sequenced(Protocol):
    # Read-only members, so an Account (whose account_sid is a property: its owner) is Sequenced too.
    @property
    def seq(self) -> int: ...
    @property
    def sid(self) -> str: ...
    @property
    def account_sid(self) -> str: ...


class Movable(Sequenced, Protocol):
    """A resource that can change account (phone numbers moved between subaccounts)."""

    account_sid: str


R = TypeVar("R", bound=Sequenced)
M = TypeVar("M", bound=Movable)


class Collection(Generic[R]):
    """Resources of one kind: by SID, and per account in creation order (for newest-first paging)."""

    def __init__(self) -> None:
        self.by_sid: dict[str, R] = {}
        self.by_account: dict[str, list[R]] = {}
        # PageTokens name a SID; remembering every SID's position keeps tokens valid after deletes.
        self.seq_of: dict[str, int] = {}

    def add(self, item: R) -> None:
        self.by_sid[item.sid] = item
        self.by_account.setdefault(item.account_sid, []).append(item)
        self.seq_of[item.sid] = item.seq

    def remove(self, item: R) -> None:
        self.by_sid.pop(item.sid, None)
        items = self.by_account.get(item.account_sid, [])
        index = bisect.bisect_left(items, item.seq, key=lambda r: r.seq)
        if index < len(items) and items[index] is item:
            del items[index]

    def move(self: Collection[M], item: M, account_sid: str) -> None:
        """Reassign to another account (numbers moved between subaccounts)."""
        self.remove(item)
        item.account_sid = account_sid
        items = self.by_account.setdefault(account_sid, [])
        bisect.insort(items, item, key=lambda r: r.seq)
        self.by_sid[item.sid] = item

    def get(self, account_sid: str, sid: str) -> R | None:
        item = self.by_sid.get(sid)
        return item if item is not None and item.account_sid == account_sid else None


@dataclass(slots=True)
class Page(Generic[R]):
    items: list[R]
    page: int
    token: str | None
    next_token: str | None
    previous_token: str | None


def paginate(
    collection: Collection[R],
    account_sid: str,
    predicate: Callable[[R], bool],
    *,
    page_size: int,
    page: int,
    token: str | None,
) -> Page[R]:
    """Newest first. Tokens are "PA<sid>" (older than that record) and "PB<sid>" (newer than it).

    Walking from a token's position makes each page O(page) rather than O(everything), and pages
    stay stable while new records arrive at the head of the list.
    """
    items = collection.by_account.get(account_sid, [])
    if token and token[:2] in ("PA", "PB") and token[2:] in collection.seq_of:
        anchor = collection.seq_of[token[2:]]
        if token[:2] == "PA":
            end = bisect.bisect_left(items, anchor, key=lambda r: r.seq)
            found = _collect(reversed(items[:end]), predicate, page_size + 1)
            return _older_page(found, page_size, page, token, has_newer=True)
        start = bisect.bisect_right(items, anchor, key=lambda r: r.seq)
        newer = _collect(iter(items[start:]), predicate, page_size + 1)
        has_newer = len(newer) > page_size
        chosen = list(reversed(newer[:page_size]))
        return Page(
            chosen,
            page,
            token,
            f"PA{chosen[-1].sid}" if chosen else None,
            f"PB{chosen[0].sid}" if chosen and has_newer and page > 0 else None,
        )
    # No usable token: Twilio's legacy Page=N paging, counting matches from the newest.
    skip = max(page, 0) * page_size
    found = _collect(reversed(items), predicate, skip + page_size + 1)[skip:]
    return _older_page(found, page_size, page, token, has_newer=page > 0)


def _older_page(found: list[R], page_size: int, page: int, token: str | None, *, has_newer: bool) -> Page[R]:
    """A page walked newest to oldest; ``found`` holds one match more than the page when an older page exists."""
    chosen = found[:page_size]
    return Page(
        chosen,
        page,
        token,
        f"PA{chosen[-1].sid}" if len(found) > page_size else None,
        f"PB{chosen[0].sid}" if chosen and has_newer else None,
    )


def _collect(walk: Iterable[R], predicate: Callable[[R], bool], limit: int) -> list[R]:
    found: list[R] = []
    for item in walk:
        if predicate(item):
            found.append(item)
            if len(found) >= limit:
                break
    return found


class Journal:
    """Append-only log with absolute indexes, so readers page with ?since=<next> cheaply.

    Bounded: past ``limit`` entries the oldest are dropped, and ``first`` says where the log starts.
    """

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._items: deque[dict[str, Any]] = deque(maxlen=limit)
        self._total = 0

    def append(self, entry: dict[str, Any]) -> int:
        with self._lock:
            index = self._total
            entry["index"] = index
            self._items.append(entry)
            self._total += 1
            return index

    def read(self, since: int = 0, limit: int = 1000) -> tuple[list[dict[str, Any]], int, int]:
        """(entries with index >= since, up to limit; the next `since`; total ever appended)."""
        with self._lock:
            first = self._total - len(self._items)
            start = max(since, first) - first
            end = min(start + max(limit, 0), len(self._items))
            chosen = [self._items[i] for i in range(start, end)] if start < end else []
            next_since = chosen[-1]["index"] + 1 if chosen else max(since, first)
            return chosen, next_since, self._total

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._total = 0

    def __len__(self) -> int:
        with self._lock:
            return self._total


@dataclass(slots=True)
class Journals:
    messages: Journal
    calls: Journal
    callbacks: Journal
    requests: Journal
    responses: Journal
    inbound_calls: Journal  # every simulated inbound call with its transcript (POST /sandbox/inbound-calls)
    inbound_messages: Journal  # every simulated inbound SMS with its replies (POST /sandbox/inbound-messages)

    @classmethod
    def create(cls, limit: int) -> Journals:
        return cls(*(Journal(limit) for _ in range(7)))

    def clear(self) -> None:
        for journal in (
            self.messages,
            self.calls,
            self.callbacks,
            self.requests,
            self.responses,
            self.inbound_calls,
            self.inbound_messages,
        ):
            journal.clear()


@dataclass
class Store:
    master_sid: str
    master_token: str
    journal_limit: int = 1_000_000
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.journals = Journals.create(self.journal_limit)
        self._clear()

    def _clear(self) -> None:
        now = time.time()
        master = Account(self.master_sid, self.master_token, "Sandbox master account", self.master_sid, now, now)
        self.accounts: dict[str, Account] = {self.master_sid: master}
        self.account_list: Collection[Account] = Collection()
        self.account_list.add(master)
        self.messages: Collection[Message] = Collection()
        self.calls: Collection[Call] = Collection()
        self.numbers: Collection[IncomingNumber] = Collection()
        self.owned_numbers: dict[str, str] = {}  # E.164 -> PN sid, across all accounts
        self.caller_ids: Collection[OutgoingCallerId] = Collection()
        self.recordings: Collection[Recording] = Collection()
        self._seq = 0
        self.active_lifecycles = 0  # messages and calls not yet in a final state (for wait_idle)
        # Scheduled work captures the epoch; a reset bumps it so old lifecycles stop quietly.
        self.epoch = getattr(self, "epoch", 0) + 1

    def reset(self) -> None:
        with self.lock:
            self._clear()
        self.journals.clear()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def new_subaccount(self, owner: Account, friendly_name: str, sid: str, now: float) -> Account:
        account = Account(sid, new_auth_token(), friendly_name, owner.sid, now, now, seq=self.next_seq())
        self.accounts[sid] = account
        self.account_list.add(account)
        return account

    def verify_caller_id(self, account_sid: str, phone_number: str, friendly_name: str, now: float) -> OutgoingCallerId:
        """The account's caller ID for this number, created as if its validation call had succeeded (caller holds the lock).

        Verifying a number the account already has changes nothing, as on Twilio."""
        for caller_id in self.caller_ids.by_account.get(account_sid, []):
            if caller_id.phone_number == phone_number:
                return caller_id
        caller_id = OutgoingCallerId(self.next_seq(), new_sid("PN"), account_sid, phone_number, friendly_name, now, now)
        self.caller_ids.add(caller_id)
        return caller_id

    def token_of(self, account_sid: str) -> str:
        account = self.accounts.get(account_sid)
        return account.auth_token if account else self.master_token
