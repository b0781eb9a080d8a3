"""Phone number validation, formatting and the deterministic pool of "available" numbers.

Validation is structural, not a full numbering-plan check: E.164 (``+`` then 7-15 digits), and for
country code 1 the NANP shape (area code and exchange start with 2-9). That accepts the fictional
numbers developers habitually use (+1555..., +1500555...) while still rejecting garbage the way
Twilio's 21211/21212 do. Numbers without ``+`` are read as NANP when they have 10 digits (or 11
starting with 1), as Twilio does for US senders.

The available-number search is deterministic: the same query against the same sandbox state gives the
same numbers, which keeps tests reproducible. Numbers already owned by any account are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_PUNCTUATION = str.maketrans("", "", " -().\t")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_NANP = re.compile(r"^\+1[2-9]\d\d[2-9]\d{6}$")
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_KEYPAD = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "22233344455566677778889999" * 2)


def normalize(raw: str) -> str | None:
    """The E.164 form of ``raw``, or None when it is not a plausible phone number."""
    compact = raw.strip().translate(_PUNCTUATION)
    if compact.startswith("+"):
        candidate = compact
    elif compact.isdigit() and len(compact) == 10:
        candidate = "+1" + compact
    elif compact.isdigit() and len(compact) == 11 and compact[0] == "1":
        candidate = "+" + compact
    else:
        return None
    if not _E164.match(candidate):
        return None
    if candidate.startswith("+1") and not _NANP.match(candidate):
        return None
    return candidate


def is_alphanumeric_sender(raw: str) -> bool:
    return bool(_ALPHANUMERIC_SENDER.match(raw))


def is_nanp(e164: str) -> bool:
    return bool(_NANP.match(e164))


def format_national(e164: str) -> str:
    """Twilio's *_formatted / friendly_name style: "(415) 867-5309" for NANP, E.164 otherwise."""
    if is_nanp(e164):
        digits = e164[2:]
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return e164


# --- The pool of numbers for sale -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Region:
    """One area code's worth of numbers and the locality data Twilio reports for them."""

    prefix: str  # digits after the country code, e.g. "415" or "20" (London)
    region: str | None
    locality: str | None
    rate_center: str | None
    lata: str | None
    postal_code: str | None
    latitude: float | None
    longitude: float | None
    subscriber_digits: int = 7
    # Twilio's AddressRequirements: "none", or "any" / "local" / "foreign" when buying needs an Address on file.
    address_requirements: str = "none"


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    phone_number: str
    iso_country: str
    kind: str  # local | mobile | tollfree
    region: Region
    capabilities: dict[str, bool]

    @property
    def friendly_name(self) -> str:
        return format_national(self.phone_number)


def _r(prefix: str, region: str, locality: str, lata: str | None, postal: str, lat: float, lon: float) -> Region:
    return Region(prefix, region, locality, locality.upper(), lata, postal, lat, lon)


# Real area codes with their real cities; LATA / postal codes are representative, not authoritative.
_US_LOCAL = (
    _r("212", "NY", "New York", "132", "10001", 40.7506, -73.9971),
    _r("415", "CA", "San Francisco", "722", "94103", 37.7749, -122.4194),
    _r("312", "IL", "Chicago", "358", "60601", 41.8781, -87.6298),
    _r("206", "WA", "Seattle", "674", "98101", 47.6062, -122.3321),
    _r("512", "TX", "Austin", "558", "78701", 30.2672, -97.7431),
    _r("617", "MA", "Boston", "128", "02108", 42.3601, -71.0589),
    _r("303", "CO", "Denver", "656", "80202", 39.7392, -104.9903),
    _r("305", "FL", "Miami", "460", "33101", 25.7617, -80.1918),
    _r("404", "GA", "Atlanta", "438", "30303", 33.7490, -84.3880),
    _r("213", "CA", "Los Angeles", "730", "90012", 34.0522, -118.2437),
    _r("503", "OR", "Portland", "672", "97201", 45.5152, -122.6784),
    _r("602", "AZ", "Phoenix", "666", "85001", 33.4484, -112.0740),
    _r("615", "TN", "Nashville", "470", "37201", 36.1627, -86.7816),
    _r("702", "NV", "Las Vegas", "721", "89101", 36.1699, -115.1398),
    _r("808", "HI", "Hilo", "834", "96720", 19.7200, -155.0900),
)
_CA_LOCAL = (
    _r("416", "ON", "Toronto", None, "M5H 2N2", 43.6532, -79.3832),
    _r("604", "BC", "Vancouver", None, "V6B 1A1", 49.2827, -123.1207),
    _r("514", "QC", "Montreal", None, "H2Y 1C6", 45.5017, -73.5673),
    _r("403", "AB", "Calgary", None, "T2P 1J9", 51.0447, -114.0719),
    _r("613", "ON", "Ottawa", None, "K1P 1J1", 45.4215, -75.6972),
)
_GB_LOCAL = (
    Region("20", "London", "London", None, None, "EC1A 1BB", 51.5072, -0.1276, subscriber_digits=8),
    Region("161", "Manchester", "Manchester", None, None, "M1 1AE", 53.4808, -2.2426, subscriber_digits=7),
)
# Germany sells local numbers only to holders of a German address, as on Twilio.
_DE_LOCAL = (
    Region(
        "30", "BE", "Berlin", None, None, "10115", 52.5200, 13.4050, subscriber_digits=8, address_requirements="local"
    ),
    Region(
        "89", "BY", "Munich", None, None, "80331", 48.1351, 11.5820, subscriber_digits=8, address_requirements="local"
    ),
    Region(
        "40", "HH", "Hamburg", None, None, "20095", 53.5511, 9.9937, subscriber_digits=8, address_requirements="local"
    ),
)
_DE_TOLL_FREE = (
    Region("800", None, None, None, None, None, None, None, subscriber_digits=7, address_requirements="any"),
)
_DE_MOBILE = (Region("151", None, None, None, None, None, None, None, subscriber_digits=8, address_requirements="any"),)
_AU_LOCAL = (
    Region("29", "NSW", "Sydney", None, None, "2000", -33.8688, 151.2093, address_requirements="any"),
    Region("39", "VIC", "Melbourne", None, None, "3000", -37.8136, 144.9631, address_requirements="any"),
    Region("79", "QLD", "Brisbane", None, None, "4000", -27.4698, 153.0251, address_requirements="any"),
)
_AU_TOLL_FREE = (Region("1800", None, None, None, None, None, None, None, subscriber_digits=6),)
_AU_MOBILE = (Region("41", None, None, None, None, None, None, None),)
_NANP_TOLL_FREE = tuple(
    Region(code, None, None, None, None, None, None, None) for code in ("800", "833", "844", "855", "866", "877", "888")
)
_GB_TOLL_FREE = (Region("800", None, None, None, None, None, None, None, subscriber_digits=7),)
_GB_MOBILE = (Region("77", None, None, None, None, None, None, None, subscriber_digits=8),)

COUNTRY_CODES = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "AU": "61"}
# (country, kind) -> regions. Twilio has no "Mobile" inventory for US/CA numbers: those 404 as on Twilio.
INVENTORY: dict[tuple[str, str], tuple[Region, ...]] = {
    ("US", "local"): _US_LOCAL,
    ("CA", "local"): _CA_LOCAL,
    ("GB", "local"): _GB_LOCAL,
    ("US", "tollfree"): _NANP_TOLL_FREE,
    ("CA", "tollfree"): _NANP_TOLL_FREE,
    ("GB", "tollfree"): _GB_TOLL_FREE,
    ("GB", "mobile"): _GB_MOBILE,
    ("DE", "local"): _DE_LOCAL,
    ("DE", "tollfree"): _DE_TOLL_FREE,
    ("DE", "mobile"): _DE_MOBILE,
    ("AU", "local"): _AU_LOCAL,
    ("AU", "tollfree"): _AU_TOLL_FREE,
    ("AU", "mobile"): _AU_MOBILE,
}
UNAVAILABLE_AREA_CODE = "533"  # Twilio's magic "no numbers in this area code"


def _nanp_region_for(area_code: str, country: str) -> Region | None:
    for region in INVENTORY.get((country, "local"), ()):
        if region.prefix == area_code:
            return region
    return None


def region_of(e164: str) -> tuple[str, str, Region]:
    """(iso_country, kind, region) for a number someone buys, so its JSON carries sensible data."""
    if is_nanp(e164):
        area = e164[2:5]
        if any(r.prefix == area for r in _NANP_TOLL_FREE):
            return "US", "tollfree", Region(area, None, None, None, None, None, None, None)
        for country in ("US", "CA"):
            region = _nanp_region_for(area, country)
            if region:
                return country, "local", region
        return "US", "local", Region(area, None, None, None, None, None, None, None)
    if e164.startswith("+447"):
        return "GB", "mobile", _GB_MOBILE[0]
    if e164.startswith("+44800"):
        return "GB", "tollfree", _GB_TOLL_FREE[0]
    if e164.startswith("+44"):
        return "GB", "local", _GB_LOCAL[0]
    for country in ("DE", "AU"):
        code = COUNTRY_CODES[country]
        if e164.startswith("+" + code):
            national = e164[1 + len(code) :]
            for kind in ("tollfree", "mobile", "local"):
                for region in INVENTORY[(country, kind)]:
                    if national.startswith(region.prefix):
                        return country, kind, region
            return country, "local", INVENTORY[(country, "local")][0]
    return "US", "local", Region("", None, None, None, None, None, None, None)


def capabilities_of(e164: str, kind: str) -> dict[str, bool]:
    """Deterministic capabilities: about one local number in eight is voice-only, like real inventory."""
    digits = e164[-7:]
    sms = kind != "local" or int(digits) % 8 != 3
    return {"voice": True, "sms": sms, "mms": sms, "fax": kind == "local"}


def keypad_pattern(contains: str) -> re.Pattern[str] | None:
    """Twilio's Contains: digits, letters (phone keypad) and '*' for any one digit."""
    cleaned = contains.strip().translate(_KEYPAD)
    if not cleaned or not re.fullmatch(r"[0-9*]+", cleaned):
        return None
    return re.compile(cleaned.replace("*", r"\d"))


def _subscriber(prefix: str, index: int, width: int) -> str:
    # An affine walk over the subscriber space: deterministic, spread out, every index distinct.
    space = 10**width
    value = (index * 7_919 + int(prefix or "0") * 104_729 + 1_000_003) % space
    return f"{value:0{width}d}"


def _overlay(subscriber: str, pattern: str) -> str:
    """Put a Contains pattern at the end of the subscriber number, keeping our digits under '*'."""
    if len(pattern) > len(subscriber):
        return subscriber
    head, tail = subscriber[: -len(pattern)], subscriber[-len(pattern) :]
    return head + "".join(t if p == "*" else p for p, t in zip(pattern, tail, strict=True))


def _valid_subscriber(country: str, kind: str, subscriber: str) -> bool:
    if COUNTRY_CODES[country] != "1":
        return subscriber[0] != "0" or kind == "mobile"
    exchange = subscriber[:3]
    return exchange[0] in "23456789" and exchange[1:] != "11" and exchange != "555"


def search(
    country: str,
    kind: str,
    *,
    is_taken: Callable[[str], bool],
    area_code: str | None = None,
    contains: str | None = None,
    sms_enabled: bool | None = None,
    voice_enabled: bool | None = None,
    mms_enabled: bool | None = None,
    exclude_address_required: bool = False,
    in_region: str | None = None,
    in_postal_code: str | None = None,
    limit: int = 50,
) -> list[AvailableNumber] | None:
    """Numbers for sale, or None when Twilio has no such inventory (the caller answers 404)."""
    regions = INVENTORY.get((country, kind))
    if regions is None:
        return None
    # Region and postal code pick whole regions here: each region has one of each.
    if exclude_address_required:
        regions = tuple(r for r in regions if r.address_requirements == "none")
    if in_region is not None:
        regions = tuple(r for r in regions if r.region is not None and r.region.lower() == in_region.lower())
    if in_postal_code is not None:
        regions = tuple(r for r in regions if r.postal_code is not None and r.postal_code == in_postal_code)
    if area_code is not None:
        if area_code == UNAVAILABLE_AREA_CODE:
            return []
        regions = tuple(r for r in regions if r.prefix == area_code)
        if not regions and kind == "local" and COUNTRY_CODES[country] == "1" and re.fullmatch(r"[2-9]\d\d", area_code):
            # A real area code we have no locality data for still has numbers.
            regions = (Region(area_code, None, None, None, None, None, None, None),)
    pattern_text = contains.strip().translate(_KEYPAD) if contains else ""
    matcher = keypad_pattern(contains) if contains else None
    if contains and matcher is None:
        return []
    found: list[AvailableNumber] = []
    for number in _candidates(country, kind, regions, pattern_text):
        if matcher and not matcher.search(number.phone_number[1:]):
            continue
        if sms_enabled is not None and number.capabilities["sms"] != sms_enabled:
            continue
        if voice_enabled is not None and number.capabilities["voice"] != voice_enabled:
            continue
        if mms_enabled is not None and number.capabilities["mms"] != mms_enabled:
            continue
        if is_taken(number.phone_number):
            continue
        found.append(number)
        if len(found) >= limit:
            break
    return found


def _candidates(country: str, kind: str, regions: tuple[Region, ...], pattern: str) -> Iterator[AvailableNumber]:
    code = COUNTRY_CODES[country]
    if not regions:
        return
    # Round-robin over regions so an unfiltered search shows several cities, bounded so a
    # pattern that can never match ends the search instead of spinning.
    for index in range(4_000):
        region = regions[index % len(regions)]
        subscriber = _subscriber(region.prefix, index // len(regions), region.subscriber_digits)
        if pattern:
            national = region.prefix + subscriber
            if len(pattern) <= len(subscriber):
                subscriber = _overlay(subscriber, pattern)
            elif len(pattern) <= len(national):
                overlaid = _overlay(national, pattern)
                if not overlaid.startswith(region.prefix):
                    continue
                subscriber = overlaid[len(region.prefix) :]
        if not _valid_subscriber(country, kind, subscriber):
            continue
        e164 = f"+{code}{region.prefix}{subscriber}"
        yield AvailableNumber(e164, country, kind, region, capabilities_of(e164, kind))
