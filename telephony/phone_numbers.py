import phonenumbers
from django.core.exceptions import ValidationError


def normalize_e164(number: str) -> str:
    """The number in E.164 form; raises ValidationError for anything that is not a valid phone number."""
    return phonenumbers.format_number(parse_e164(number), phonenumbers.PhoneNumberFormat.E164)


def parse_e164(number: str) -> phonenumbers.PhoneNumber:
    """The number parsed (a leading + and country code required); raises ValidationError unless it is valid."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            f"'{number}' is not a phone number in E.164 form (like +15551234567).", code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"'{number}' is not a valid phone number.", code="invalid_phone")
    return parsed
