"""Phone numbers: search what is for sale, buy, configure, move between subaccounts, release; verified caller IDs.

Caller IDs are only listed and fetched here. On Twilio they come from a validation call
(POST /OutgoingCallerIds.json) that someone answers with a code; the sandbox skips the call and
creates them through its control API (POST /sandbox/caller-ids).
"""

from __future__ import annotations

import re
import time
from typing import Any

from .. import errors, magic, numbers
from ..ids import new_sid
from ..state import Account, IncomingNumber, OutgoingCallerId
from ..twilio_format import available_number_json, incoming_number_json, list_json, outgoing_caller_id_json
from .common import (
    ApiContext,
    Request,
    Response,
    boolean,
    fetch_response,
    first,
    get_or_404,
    http_method,
    list_response,
    may_act_on,
    paging,
    url,
)

_KIND_OF_PATH = {"Local": "local", "Mobile": "mobile", "TollFree": "tollfree", None: None}
# Sandbox choice of code for malformed number webhook URLs (Twilio documents none for these fields).
_URL_CODE = 21502
_ADDRESS_REQUIRED_CODE = 21631
_SEARCH_FILTERS = (
    "AreaCode",
    "Contains",
    "SmsEnabled",
    "MmsEnabled",
    "VoiceEnabled",
    "ExcludeAllAddressRequired",
    "InRegion",
    "InPostalCode",
)


def available_numbers(
    api: ApiContext, request: Request, caller: Account, account_sid: str, country: str, kind_path: str
) -> Response:
    api.account_in_scope(caller, account_sid)
    query = request.query
    kind = _KIND_OF_PATH[kind_path]
    assert kind is not None
    area_code = first(query, "AreaCode")
    if area_code is not None and not re.fullmatch(r"\d{2,4}", area_code):
        raise errors.bad_request(21451, f"Invalid area code {area_code}")
    page_size, page, token = paging(query)
    if country not in numbers.COUNTRY_CODES:
        raise errors.not_found(request.path)
    with api.store.lock:
        taken = set(api.store.owned_numbers)
    exclude_all = boolean(query, "ExcludeAllAddressRequired")
    found = numbers.search(
        country,
        kind,
        is_taken=taken.__contains__,
        area_code=area_code,
        contains=first(query, "Contains"),
        sms_enabled=boolean(query, "SmsEnabled"),
        voice_enabled=boolean(query, "VoiceEnabled"),
        mms_enabled=boolean(query, "MmsEnabled"),
        exclude_address_required=bool(exclude_all),
        in_region=first(query, "InRegion"),
        in_postal_code=first(query, "InPostalCode"),
        limit=page_size,
    )
    if found is None:
        raise errors.not_found(request.path)  # e.g. US/Mobile: Twilio sells no such numbers
    if api.engine.faults.no_numbers_available:
        found = []
    filters = [(k, v) for k in _SEARCH_FILTERS if (v := first(query, k)) is not None]
    # Searches are not paged on Twilio: one page of results, whatever Page says.
    body = list_json(
        "available_phone_numbers",
        [available_number_json(n) for n in found] if page == 0 and not token else [],
        path=request.path,
        filters=filters,
        page=page,
        page_size=page_size,
        token=token,
        next_token=None,
        previous_token=None,
    )
    return Response(200, body)


def list_numbers(
    api: ApiContext, request: Request, caller: Account, account_sid: str, kind_path: str | None
) -> Response:
    account = api.account_in_scope(caller, account_sid)
    query = request.query
    kind = _KIND_OF_PATH[kind_path]
    phone_number = first(query, "PhoneNumber")
    friendly_name = first(query, "FriendlyName")
    pattern = numbers.keypad_pattern(phone_number.lstrip("+")) if phone_number else None
    paged = paging(query)
    filters = [(k, v) for k, v in (("PhoneNumber", phone_number), ("FriendlyName", friendly_name)) if v is not None]

    def wanted(number: IncomingNumber) -> bool:
        # PhoneNumber matches a part of the number, '*' standing for any digit, as on Twilio.
        return (
            (kind is None or number.kind == kind)
            and (phone_number is None or (pattern is not None and pattern.search(number.phone_number) is not None))
            and (friendly_name is None or number.friendly_name == friendly_name)
        )

    def to_json(number: IncomingNumber) -> dict[str, Any]:
        return incoming_number_json(number, typed_list=kind is not None)

    return list_response(
        api, request, "incoming_phone_numbers", api.store.numbers, account.sid, wanted, to_json, filters, paged
    )


def _settings(form: dict[str, list[str]]) -> dict[str, object]:
    """The configurable fields present in a create/update request, validated, as IncomingNumber attributes."""
    changes: dict[str, object] = {}
    for param, attribute in (
        ("VoiceUrl", "voice_url"),
        ("VoiceFallbackUrl", "voice_fallback_url"),
        ("SmsUrl", "sms_url"),
        ("SmsFallbackUrl", "sms_fallback_url"),
        ("StatusCallback", "status_callback"),
    ):
        if param in form:
            changes[attribute] = url(form, param, _URL_CODE)  # "" clears the URL, as on Twilio
    for param, attribute in (
        ("VoiceMethod", "voice_method"),
        ("VoiceFallbackMethod", "voice_fallback_method"),
        ("SmsMethod", "sms_method"),
        ("SmsFallbackMethod", "sms_fallback_method"),
        ("StatusCallbackMethod", "status_callback_method"),
    ):
        if param in form:
            changes[attribute] = http_method(form, param)
    if "VoiceCallerIdLookup" in form:
        changes["voice_caller_id_lookup"] = bool(boolean(form, "VoiceCallerIdLookup"))
    friendly_name = first(form, "FriendlyName")
    if friendly_name is not None:
        if len(friendly_name) > 64:
            raise errors.bad_request(20002, "FriendlyName must be at most 64 characters")
        changes["friendly_name"] = friendly_name
    return changes


def buy_number(api: ApiContext, request: Request, caller: Account, account_sid: str, kind_path: str | None) -> Response:
    account = api.account_in_scope(caller, account_sid)
    form = request.form
    kind = _KIND_OF_PATH[kind_path]
    requested = first(form, "PhoneNumber")
    area_code = first(form, "AreaCode")
    settings = _settings(form)
    if not requested and not area_code:
        raise errors.bad_request(21421, "A PhoneNumber or an AreaCode is required.")
    sold_out = api.engine.faults.no_numbers_available
    now = time.time()
    with api.store.lock:
        if requested:
            if requested in magic.PURCHASE_REJECTS:
                raise errors.bad_request(*magic.PURCHASE_REJECTS[requested])
            phone = numbers.normalize(requested)
            if phone is None:
                raise errors.bad_request(21421, f"PhoneNumber {requested} is invalid")
            if phone in api.store.owned_numbers or sold_out:
                raise errors.bad_request(21422, f"PhoneNumber {phone} is not available")
            iso_country, number_kind, region = numbers.region_of(phone)
            if kind is not None and number_kind != kind:
                raise errors.bad_request(21421, f"PhoneNumber {phone} is not a {kind_path} number")
            if region.address_requirements != "none" and not first(form, "AddressSid"):
                raise errors.bad_request(
                    _ADDRESS_REQUIRED_CODE, f"PhoneNumber {phone} requires an Address (AddressSid) to be bought"
                )
        else:
            assert area_code is not None
            if not re.fullmatch(r"[2-9]\d\d", area_code):
                raise errors.bad_request(21451, f"Invalid area code {area_code}")
            country = "CA" if any(r.prefix == area_code for r in numbers.INVENTORY[("CA", "local")]) else "US"
            found = numbers.search(
                country, kind or "local", is_taken=api.store.owned_numbers.__contains__, area_code=area_code, limit=1
            )
            if not found or sold_out:
                raise errors.bad_request(21452, f"No phone numbers found in area code {area_code}")
            phone, iso_country, number_kind = found[0].phone_number, found[0].iso_country, found[0].kind
        number = IncomingNumber(
            seq=api.store.next_seq(),
            sid=new_sid("PN"),
            account_sid=account.sid,
            phone_number=phone,
            friendly_name=numbers.format_national(phone),
            kind=number_kind,
            iso_country=iso_country,
            capabilities=numbers.capabilities_of(phone, number_kind),
            created=now,
            updated=now,
        )
        for attribute, value in settings.items():
            setattr(number, attribute, value)
        api.store.numbers.add(number)
        api.store.owned_numbers[phone] = number.sid
        body = incoming_number_json(number, typed_list=kind is not None)
    return Response(201, body)


def fetch_number(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    return fetch_response(api, request, caller, account_sid, api.store.numbers, sid, incoming_number_json)


def update_number(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    settings = _settings(request.form)
    new_owner_sid = first(request.form, "AccountSid")
    with api.store.lock:
        number = get_or_404(api.store.numbers, account.sid, sid, request.path)
        if new_owner_sid and new_owner_sid != number.account_sid:
            # Moving numbers between a master and its subaccounts needs the master's credentials.
            new_owner = api.store.accounts.get(new_owner_sid)
            if not caller.is_master or new_owner is None or not may_act_on(caller, new_owner):
                raise errors.bad_request(21420, f"Cannot transfer {number.phone_number} to account {new_owner_sid}")
            api.store.numbers.move(number, new_owner.sid)
        for attribute, value in settings.items():
            setattr(number, attribute, value)
        number.updated = time.time()
        body = incoming_number_json(number)
    return Response(200, body)


def release_number(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    with api.store.lock:
        number = get_or_404(api.store.numbers, account.sid, sid, request.path)
        api.store.numbers.remove(number)
        api.store.owned_numbers.pop(number.phone_number, None)
    return Response(204, None)


def list_caller_ids(api: ApiContext, request: Request, caller: Account, account_sid: str) -> Response:
    account = api.account_in_scope(caller, account_sid)
    query = request.query
    phone_number = first(query, "PhoneNumber")
    friendly_name = first(query, "FriendlyName")
    paged = paging(query)
    filters = [(k, v) for k, v in (("PhoneNumber", phone_number), ("FriendlyName", friendly_name)) if v is not None]

    def wanted(caller_id: OutgoingCallerId) -> bool:
        # Unlike IncomingPhoneNumbers, Twilio matches the whole number here, not a part of it.
        return (phone_number is None or caller_id.phone_number == phone_number) and (
            friendly_name is None or caller_id.friendly_name == friendly_name
        )

    return list_response(
        api,
        request,
        "outgoing_caller_ids",
        api.store.caller_ids,
        account.sid,
        wanted,
        outgoing_caller_id_json,
        filters,
        paged,
    )


def fetch_caller_id(api: ApiContext, request: Request, caller: Account, account_sid: str, sid: str) -> Response:
    return fetch_response(api, request, caller, account_sid, api.store.caller_ids, sid, outgoing_caller_id_json)
