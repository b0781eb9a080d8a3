"""What the sandbox has for sale: countries and types, Twilio's search filters, the sold-out fault, and buying
(a bought number is offered to nobody, cannot be bought again, and keeps the configuration it was bought with)."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import phonenumbers
import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from sandbox.twilio.tests.support import Control, Tenant

KINDS = {
    ("US", "local"),
    ("US", "toll_free"),
    ("CA", "local"),
    ("CA", "toll_free"),
    ("GB", "local"),
    ("GB", "mobile"),
    ("GB", "toll_free"),
    ("DE", "local"),
    ("DE", "mobile"),
    ("DE", "toll_free"),
    ("AU", "local"),
    ("AU", "mobile"),
    ("AU", "toll_free"),
}
PHONENUMBERS_TYPES = {
    "local": {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE},
    "mobile": {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE},
    "toll_free": {phonenumbers.PhoneNumberType.TOLL_FREE},
}


def search(client: Client, country: str, kind: str, **filters: Any) -> list[Any]:
    resource = client.available_phone_numbers(country)
    return list(getattr(resource, kind).list(**filters))


def numbers(found: list[Any]) -> list[str]:
    return [str(n.phone_number) for n in found]


def capabilities(number: Any) -> dict[str, bool]:
    return cast("dict[str, bool]", number.capabilities)


@pytest.mark.parametrize(("country", "kind"), sorted(KINDS))
def test_every_country_offers_valid_numbers_of_its_type(tenant: Tenant, country: str, kind: str) -> None:
    found = search(tenant.client, country, kind, limit=30)
    assert len(found) == 30 and len(set(numbers(found))) == 30
    for number in found:
        parsed = phonenumbers.parse(str(number.phone_number))
        assert phonenumbers.is_valid_number(parsed), number.phone_number
        assert phonenumbers.region_code_for_number(parsed) == country or (country, kind) == ("CA", "toll_free")
        assert phonenumbers.number_type(parsed) in PHONENUMBERS_TYPES[kind], number.phone_number
        assert number.iso_country == (country if (country, kind) != ("CA", "toll_free") else "CA")


def test_us_has_no_mobile_numbers_for_sale(tenant: Tenant) -> None:
    with pytest.raises(TwilioException) as refused:  # twilio-python's lists raise a bare TwilioException
        search(tenant.client, "US", "mobile", limit=1)
    assert refused.value.args[1].status_code == 404


def test_area_code_and_contains_with_letters_and_wildcards(tenant: Tenant) -> None:
    in_212 = search(tenant.client, "US", "local", area_code="212", limit=10)
    assert all(n.startswith("+1212") for n in numbers(in_212)) and len(in_212) == 10

    # Letters are keypad digits (HELLO = 43556), '*' any one digit.
    spelled = search(tenant.client, "US", "local", contains="HELLO", limit=5)
    assert len(spelled) == 5 and all("43556" in n for n in numbers(spelled))
    wildcard = search(tenant.client, "US", "local", area_code="312", contains="55*1", limit=8)
    assert len(wildcard) == 8
    assert all(n.startswith("+1312") and re.search(r"55\d1", n[2:]) for n in numbers(wildcard))
    assert len({n[-2] for n in numbers(wildcard)}) > 1, "the * is filled with different digits"

    london = search(tenant.client, "GB", "local", contains="20*7", limit=5)
    assert all(re.search(r"20\d7", n[1:]) for n in numbers(london)) and london


def test_capability_filters(tenant: Tenant) -> None:
    voice_only = search(tenant.client, "US", "local", sms_enabled=False, limit=10)
    assert len(voice_only) == 10
    assert all(capabilities(n)["sms"] is False and capabilities(n)["voice"] is True for n in voice_only)
    sms = search(tenant.client, "US", "local", sms_enabled=True, mms_enabled=True, voice_enabled=True, limit=10)
    assert len(sms) == 10 and all(capabilities(n)["sms"] and capabilities(n)["mms"] for n in sms)
    assert not set(numbers(voice_only)) & set(numbers(sms))
    assert search(tenant.client, "US", "local", voice_enabled=False, limit=5) == []


def test_region_postal_code_address_requirements_and_page_size(tenant: Tenant) -> None:
    texas = search(tenant.client, "US", "local", in_region="TX", limit=5)
    assert len(texas) == 5 and {n.region for n in texas} == {"TX"} and {n.locality for n in texas} == {"Austin"}
    boston = search(tenant.client, "US", "local", in_postal_code="02108", limit=3)
    assert {n.locality for n in boston} == {"Boston"}

    german = search(tenant.client, "DE", "local", limit=5)
    assert {n.address_requirements for n in german} == {"local"}
    assert search(tenant.client, "DE", "local", exclude_all_address_required=True, limit=5) == []
    assert len(search(tenant.client, "US", "local", exclude_all_address_required=True, limit=5)) == 5

    assert len(search(tenant.client, "US", "toll_free", page_size=7, limit=7)) == 7


def test_a_bought_number_is_offered_to_nobody_and_cannot_be_bought_again(
    tenant: Tenant, master: Client, make_client: Any
) -> None:
    other = master.api.accounts.create(friendly_name="the other tenant")
    other_client = make_client(other.sid, other.auth_token)
    [first, second] = numbers(search(tenant.client, "US", "local", area_code="617", limit=2))

    bought = tenant.client.incoming_phone_numbers.create(
        phone_number=first,
        voice_url="https://tenant.example/voice",
        sms_url="https://tenant.example/sms",
        status_callback="https://tenant.example/status",
        friendly_name="switchboard-marker",
    )
    assert (bought.voice_url, bought.sms_url, bought.status_callback, bought.friendly_name) == (
        "https://tenant.example/voice",
        "https://tenant.example/sms",
        "https://tenant.example/status",
        "switchboard-marker",
    )
    fetched = tenant.client.incoming_phone_numbers(str(bought.sid)).fetch()
    assert fetched.voice_url == "https://tenant.example/voice" and fetched.sms_url == "https://tenant.example/sms"
    [found] = tenant.client.incoming_phone_numbers.list(friendly_name="switchboard-marker")
    assert found.sid == bought.sid

    for client in (tenant.client, other_client):
        assert first not in numbers(search(client, "US", "local", area_code="617", limit=20))
        assert second in numbers(search(client, "US", "local", area_code="617", limit=20))
    with pytest.raises(TwilioRestException) as refused:
        other_client.incoming_phone_numbers.create(phone_number=first)
    assert (refused.value.status, refused.value.code) == (400, 21422)

    tenant.client.incoming_phone_numbers(str(bought.sid)).delete()
    assert first in numbers(search(other_client, "US", "local", area_code="617", limit=20))


def test_numbers_that_need_an_address_are_refused_without_one(tenant: Tenant) -> None:
    [berlin] = numbers(search(tenant.client, "DE", "local", limit=1))
    with pytest.raises(TwilioRestException) as refused:
        tenant.client.incoming_phone_numbers.create(phone_number=berlin)
    assert refused.value.code == 21631
    bought = tenant.client.incoming_phone_numbers.create(phone_number=berlin, address_sid="AD" + "0" * 32)
    assert bought.phone_number == berlin


def test_the_sold_out_fault_switches_on_and_off(tenant: Tenant, control: Control) -> None:
    [offered] = numbers(search(tenant.client, "US", "local", area_code="206", limit=1))
    control.post("/sandbox/faults", {"no_numbers_available": True})
    assert control.get("/sandbox/faults")["no_numbers_available"] is True
    assert search(tenant.client, "US", "local", area_code="206", limit=5) == []
    assert search(tenant.client, "GB", "mobile", limit=5) == []
    with pytest.raises(TwilioRestException) as given:
        tenant.client.incoming_phone_numbers.create(phone_number=offered)
    assert given.value.code == 21422
    with pytest.raises(TwilioRestException) as by_area_code:
        tenant.client.incoming_phone_numbers.create(area_code="206")
    assert by_area_code.value.code == 21452

    control.post("/sandbox/faults", {})
    assert numbers(search(tenant.client, "US", "local", area_code="206", limit=1)) == [offered]
    assert tenant.client.incoming_phone_numbers.create(phone_number=offered).phone_number == offered


def test_the_fault_field_is_validated(control: Control) -> None:
    import requests

    answer = requests.post(control.base_url + "/sandbox/faults", json={"no_numbers_available": "yes"}, timeout=5)
    assert answer.status_code == 400 and "no_numbers_available" in answer.json()["error"]


def test_a_subaccount_follows_the_status_its_owner_sets(tenant: Tenant, master: Client) -> None:
    [offered] = numbers(search(tenant.client, "US", "local", area_code="303", limit=1))
    bought = tenant.client.incoming_phone_numbers.create(phone_number=offered)
    master.api.v2010.accounts(tenant.sid).update(status="suspended")
    with pytest.raises(TwilioException) as suspended:
        tenant.client.incoming_phone_numbers.list(limit=1)
    assert json.loads(suspended.value.args[1].text)["code"] == 20005
    master.api.v2010.accounts(tenant.sid).update(status="active")
    assert [n.sid for n in tenant.client.incoming_phone_numbers.list(limit=5)] == [bought.sid]
    master.api.v2010.accounts(tenant.sid).update(status="closed")
    assert master.api.v2010.accounts(tenant.sid).fetch().status == "closed"
    assert offered in numbers(search(master, "US", "local", area_code="303", limit=5)), "closing released it"
