"""How an SMS body will travel: its encoding and how many segments it costs (GSM 03.38)."""

from dataclasses import dataclass

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each takes two septets (escape + character)


@dataclass(frozen=True)
class SmsShape:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


# Twilio refuses a message body longer than this.
MAX_SMS_BODY = 1600
# What a call may speak from text given inline.
MAX_CALL_TEXT = 4000


def sms_shape(body: str) -> SmsShape:
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in body):
        septets = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body)
        segments = 1 if septets <= 160 else -(-septets // 153)
        return SmsShape(encoding="GSM-7", segments=max(segments, 1), units=septets)
    code_units = len(body.encode("utf-16-le")) // 2
    segments = 1 if code_units <= 70 else -(-code_units // 67)
    return SmsShape(encoding="UCS-2", segments=segments, units=code_units)
