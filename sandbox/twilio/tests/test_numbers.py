"""Sandbox phone numbers: searching what is for sale, buying, configuring, moving and releasing; verified caller IDs."""

from __future__ import annotations

import re
from typing import Protocol, cast

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from sandbox.twilio.tests.support import Control, Tenant


class NumberResource(Protocol):
    """What these tests read of a number, for sale or owned; twilio-python types every field as optional."""

    @property
    def phone_number(self) -> str | None: ...

    @property
    def capabilities(self) -> str | None: ...


def phone_number(number: NumberResource) -> str:
    assert number.phone_number is not None
    return number.phone_number


def capabilities(number: NumberResource) -> dict[str, bool]:
    # twilio-python types capabilities as a string; the API sends (and the client keeps) a JSON object.
    return cast("dict[str, bool]", number.capabilities)


def test_search_local_numbers_by_area_code(tenant: Tenant) -> None:
    found = tenant.client.available_phone_numbers("US").local.list(area_code="415", limit=5)
    assert len(found) == 5
    for number in found:
        assert number.phone_number is not None and re.fullmatch(r"\+1415[2-9]\d{6}", number.phone_number)
        assert (
            number.friendly_name == f"({number.phone_number[2:5]}) {number.phone_number[5:8]}-{number.phone_number[8:]}"
        )
        assert (number.iso_country, number.region, number.locality, number.rate_center) == (
            "US",
            "CA",
            "San Francisco",
            "SAN FRANCISCO",
        )
        assert capabilities(number)["voice"] is True
        assert number.latitude is not None and number.postal_code == "94103"
    assert len({n.phone_number for n in found}) == 5
    # Deterministic: the same search gives the same numbers.
    again = tenant.client.available_phone_numbers("US").local.list(area_code="415", limit=5)
    assert [n.phone_number for n in again] == [n.phone_number for n in found]


def test_search_filters(tenant: Tenant) -> None:
    contains = tenant.client.available_phone_numbers("US").local.list(contains="5309", limit=10)
    assert len(contains) == 10 and all("5309" in phone_number(n) for n in contains)
    assert len({n.locality for n in contains}) > 1  # spread over several cities
    wildcard = tenant.client.available_phone_numbers("US").local.list(area_code="212", contains="55*1", limit=5)
    assert wildcard and all(re.search(r"55\d1", phone_number(n)[1:]) for n in wildcard)
    letters = tenant.client.available_phone_numbers("US").local.list(contains="CALL", limit=3)
    assert letters and all("2255" in phone_number(n) for n in letters)

    everything = tenant.client.available_phone_numbers("US").local.list(area_code="303", limit=40)
    sms = tenant.client.available_phone_numbers("US").local.list(area_code="303", sms_enabled=True, limit=40)
    voice_only = tenant.client.available_phone_numbers("US").local.list(area_code="303", sms_enabled=False, limit=40)
    assert all(capabilities(n)["sms"] for n in sms)
    assert voice_only and not any(capabilities(n)["sms"] for n in voice_only)
    assert {n.phone_number for n in everything} <= {n.phone_number for n in sms} | {n.phone_number for n in voice_only}
    assert tenant.client.available_phone_numbers("US").local.list(area_code="533") == []


def test_search_other_kinds_and_countries(tenant: Tenant) -> None:
    toll_free = tenant.client.available_phone_numbers("US").toll_free.list(limit=7)
    assert len(toll_free) == 7 and all(
        re.fullmatch(r"\+18(00|33|44|55|66|77|88)\d{7}", phone_number(n)) for n in toll_free
    )
    assert all(n.locality is None and n.lata is None for n in toll_free)
    canada = tenant.client.available_phone_numbers("CA").local.list(area_code="604", limit=3)
    assert [n.iso_country for n in canada] == ["CA"] * 3 and all(phone_number(n).startswith("+1604") for n in canada)
    assert canada[0].region == "BC"
    mobile = tenant.client.available_phone_numbers("GB").mobile.list(limit=3)
    assert len(mobile) == 3 and all(re.fullmatch(r"\+447\d{9}", phone_number(n)) for n in mobile)
    # Twilio sells no "Mobile" numbers in the US: 404, as there.
    with pytest.raises(TwilioException, match="404"):
        tenant.client.available_phone_numbers("US").mobile.list(limit=1)
    with pytest.raises(TwilioException, match="404"):
        tenant.client.available_phone_numbers("ZZ").local.list(limit=1)


def test_buy_configure_and_release(tenant: Tenant, master: Client) -> None:
    [candidate] = tenant.client.available_phone_numbers("US").local.list(area_code="512", limit=1)
    assert candidate.phone_number is not None
    bought = tenant.client.incoming_phone_numbers.create(
        phone_number=candidate.phone_number,
        voice_url="https://example.com/voice",
        voice_method="GET",
        sms_url="https://example.com/sms",
        status_callback="https://example.com/status",
        friendly_name="Support line",
    )
    assert bought.sid is not None and re.fullmatch(r"PN[0-9a-f]{32}", bought.sid)
    assert (bought.phone_number, bought.friendly_name, bought.account_sid) == (
        candidate.phone_number,
        "Support line",
        tenant.sid,
    )
    assert (bought.voice_url, bought.voice_method, bought.sms_url, bought.sms_method) == (
        "https://example.com/voice",
        "GET",
        "https://example.com/sms",
        "POST",
    )
    assert bought.status_callback == "https://example.com/status"
    assert bought.capabilities == candidate.capabilities

    # It is off the market, for everyone.
    after = master.available_phone_numbers("US").local.list(area_code="512", limit=20)
    assert candidate.phone_number not in {n.phone_number for n in after}
    with pytest.raises(TwilioRestException) as caught:
        master.incoming_phone_numbers.create(phone_number=candidate.phone_number)
    assert (caught.value.status, caught.value.code) == (400, 21422)

    updated = tenant.client.incoming_phone_numbers(bought.sid).update(
        sms_url="https://example.com/sms2", sms_method="GET", voice_url=""
    )
    assert (updated.sms_url, updated.sms_method, updated.voice_url) == ("https://example.com/sms2", "GET", None)
    assert tenant.client.incoming_phone_numbers(bought.sid).fetch().sms_url == "https://example.com/sms2"

    assert [n.sid for n in tenant.client.incoming_phone_numbers.list(phone_number=candidate.phone_number)] == [
        bought.sid
    ]
    assert [n.sid for n in tenant.client.incoming_phone_numbers.list(phone_number=candidate.phone_number[-4:])] == [
        bought.sid
    ]
    assert [n.sid for n in tenant.client.incoming_phone_numbers.list(friendly_name="Support line")] == [bought.sid]
    assert tenant.client.incoming_phone_numbers.list(friendly_name="nope") == []
    assert [n.sid for n in tenant.client.incoming_phone_numbers.local.list()] == [bought.sid]
    assert tenant.client.incoming_phone_numbers.toll_free.list() == []

    assert tenant.client.incoming_phone_numbers(bought.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.incoming_phone_numbers(bought.sid).fetch()
    assert caught.value.status == 404
    again = master.available_phone_numbers("US").local.list(area_code="512", limit=1)
    assert again[0].phone_number == candidate.phone_number  # back on sale


def test_buy_by_area_code_and_magic_numbers(tenant: Tenant) -> None:
    number = tenant.client.incoming_phone_numbers.create(area_code="617")
    assert number.friendly_name is not None
    assert phone_number(number).startswith("+1617") and number.friendly_name.startswith("(617)")
    [offer] = tenant.client.available_phone_numbers("US").toll_free.list(area_code="888", limit=1)
    toll_free = tenant.client.incoming_phone_numbers.toll_free.create(phone_number=phone_number(offer))
    assert toll_free.sid is not None and phone_number(toll_free).startswith("+1888")
    assert tenant.client.incoming_phone_numbers(toll_free.sid).fetch().type == "tollfree"
    with pytest.raises(TwilioRestException) as caught:  # a local number is not toll-free
        tenant.client.incoming_phone_numbers.toll_free.create(phone_number="+14155550123")
    assert caught.value.code == 21421
    for arguments, code in (
        ({"phone_number": "+15005550000"}, 21422),
        ({"phone_number": "+15005550001"}, 21421),
        ({"phone_number": "12"}, 21421),
        ({"area_code": "533"}, 21452),
        ({"area_code": "0x1"}, 21451),
        ({"voice_url": "https://example.com"}, 21421),
        ({"area_code": "415", "voice_url": "not a url"}, 21502),
    ):
        with pytest.raises(TwilioRestException) as caught:
            tenant.client.incoming_phone_numbers.create(**arguments)
        assert (caught.value.status, caught.value.code) == (400, code), arguments


def test_master_moves_a_number_to_a_subaccount(tenant: Tenant, master: Client) -> None:
    number = master.incoming_phone_numbers.create(area_code="206")
    assert number.sid is not None and master.account_sid is not None
    moved = master.incoming_phone_numbers(number.sid).update(account_sid=tenant.sid)
    assert moved.account_sid == tenant.sid
    assert [n.sid for n in tenant.client.incoming_phone_numbers.list()] == [number.sid]
    with pytest.raises(TwilioRestException) as caught:
        master.incoming_phone_numbers(number.sid).fetch()
    assert caught.value.status == 404
    # A subaccount cannot give numbers away.
    with pytest.raises(TwilioRestException) as caught:
        tenant.client.incoming_phone_numbers(number.sid).update(account_sid=master.account_sid)
    assert caught.value.status == 400


def test_verified_caller_ids_are_listed_by_number_and_fetched(tenant: Tenant, master: Client, control: Control) -> None:
    created = control.post("/sandbox/caller-ids", {"account_sid": tenant.sid, "phone_number": "(415) 555-0177"})
    again = control.post("/sandbox/caller-ids", {"account_sid": tenant.sid, "phone_number": "+14155550177"})
    other = control.post(
        "/sandbox/caller-ids",
        {"account_sid": tenant.sid, "phone_number": "+14155550178", "friendly_name": "Front desk"},
    )

    assert re.fullmatch(r"PN[0-9a-f]{32}", created["sid"]) and again["sid"] == created["sid"]  # verifying twice: one
    assert (created["phone_number"], created["friendly_name"], created["account_sid"]) == (
        "+14155550177",
        "(415) 555-0177",
        tenant.sid,
    )
    [found] = tenant.client.outgoing_caller_ids.list(phone_number="+14155550177")
    assert (found.sid, found.phone_number) == (created["sid"], "+14155550177")
    # The whole number must match, unlike IncomingPhoneNumbers' PhoneNumber filter.
    assert tenant.client.outgoing_caller_ids.list(phone_number="0177") == []
    assert [c.sid for c in tenant.client.outgoing_caller_ids.list(friendly_name="Front desk")] == [other["sid"]]
    assert [c.sid for c in tenant.client.outgoing_caller_ids.list()] == [other["sid"], created["sid"]]
    assert tenant.client.outgoing_caller_ids(created["sid"]).fetch().friendly_name == "(415) 555-0177"
    # Another account's caller ID is as missing as one that never was.
    assert master.outgoing_caller_ids.list(phone_number="+14155550177") == []
    with pytest.raises(TwilioRestException) as caught:
        master.outgoing_caller_ids(created["sid"]).fetch()
    assert caught.value.status == 404


def test_caller_id_control_endpoint_checks_its_input(tenant: Tenant, control: Control) -> None:
    for body in (
        {"account_sid": tenant.sid, "phone_number": "12"},
        {"account_sid": "AC" + "0" * 31 + "1", "phone_number": "+14155550177"},
        {"phone_number": "+14155550177"},
        {"account_sid": tenant.sid, "phone_number": "+14155550177", "friendly_name": "x" * 65},
    ):
        response = requests.post(f"{control.base_url}/sandbox/caller-ids", json=body, timeout=10)
        assert response.status_code == 400 and response.json()["error"], body
    assert tenant.client.outgoing_caller_ids.list() == []


def test_who_owns_a_number_is_visible_in_the_control_api(tenant: Tenant, control: Control) -> None:
    number = tenant.client.incoming_phone_numbers.create(area_code="415")

    owners = control.get("/sandbox/numbers", phone_number=number.phone_number)["numbers"]

    assert owners == [{"sid": number.sid, "account_sid": tenant.sid, "phone_number": number.phone_number}]
    assert number.sid in {n["sid"] for n in control.get("/sandbox/numbers")["numbers"]}
