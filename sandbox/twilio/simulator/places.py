"""The geographic parameters Twilio adds to inbound call and message webhooks (FromCity, ToZip, ...).

Taken from the sandbox's numbering data (numbers.region_of): a +1 415 number is in San Francisco,
CA 94103, US. Cities are upper-case, as Twilio sends them; what is unknown is an empty string.
"""

from __future__ import annotations

from .. import numbers


def place(prefix: str, phone: str) -> dict[str, str]:
    """{prefix}City, {prefix}State, {prefix}Zip, {prefix}Country for one number."""
    if numbers.normalize(phone) != phone:  # client:, sip:, anonymous: nowhere
        return {f"{prefix}City": "", f"{prefix}State": "", f"{prefix}Zip": "", f"{prefix}Country": ""}
    country, _, region = numbers.region_of(phone)
    return {
        f"{prefix}City": (region.locality or "").upper(),
        f"{prefix}State": region.region or "",
        f"{prefix}Zip": region.postal_code or "",
        f"{prefix}Country": country,
    }


def call_places(caller: str, called: str) -> dict[str, str]:
    """An inbound call's: Caller* and From* for the caller, Called* and To* for the number called."""
    return {**place("Caller", caller), **place("From", caller), **place("Called", called), **place("To", called)}


def message_places(sender: str, recipient: str) -> dict[str, str]:
    return {**place("From", sender), **place("To", recipient)}
