"""Judging a TwiML answer the way Twilio does, with Twilio's error codes.

11200 HTTP retrieval failure (connection error, timeout, non-2xx), 12300 invalid Content-Type,
12100 document parse failure (not XML, or the root is not <Response>). Audio answers are played.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

from .webhooks import WebhookResult

_TWIML_CONTENT_TYPES = {"text/xml", "application/xml", "text/html", "application/xhtml+xml", ""}


def check_twiml(result: WebhookResult, url: str) -> tuple[str | None, dict[str, Any] | None]:
    """(TwiML text, None) or (None, {"code", "message"}) with Twilio's error codes."""
    if result.status is None:
        return None, {"code": 11200, "message": f"HTTP retrieval failure: {result.error}", "url": url}
    if not result.ok:
        return None, {"code": 11200, "message": f"HTTP retrieval failure: status {result.status}", "url": url}
    content_type = result.content_type.split(";")[0].strip().lower()
    if content_type.startswith("audio/"):
        # Twilio plays an audio answer as if it were <Play>.
        return f"<Response><Play>{url}</Play></Response>", None
    if content_type not in _TWIML_CONTENT_TYPES:
        return None, {"code": 12300, "message": f"Invalid Content-Type: {content_type}", "url": url}
    text = result.body.decode("utf-8", "replace")
    return parse_twiml(text, url)


def parse_twiml(text: str, source: str) -> tuple[str | None, dict[str, Any] | None]:
    try:
        root = ElementTree.fromstring(text.strip())
    except ElementTree.ParseError as exc:
        return None, {"code": 12100, "message": f"Document parse failure: {exc}", "url": source}
    if root.tag != "Response":
        return None, {
            "code": 12100,
            "message": f"Document parse failure: root element is <{root.tag}>, not <Response>",
            "url": source,
        }
    return text, None
