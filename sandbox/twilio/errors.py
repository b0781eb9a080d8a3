"""Twilio-shaped API errors.

Twilio answers every failed REST request with the same JSON body::

    {"code": 21211, "message": "...", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}

twilio-python turns that body into ``TwilioRestException(status=..., code=...)``, so the gateway sees
exactly what it would see against the real API.
"""

from __future__ import annotations

from typing import Any

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": MORE_INFO.format(code=code), "status": status}


class ApiError(Exception):
    """Raised anywhere in request handling; the server turns it into Twilio's error JSON."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message)


def bad_request(code: int, message: str) -> ApiError:
    return ApiError(400, code, message)


def invalid_parameter(name: str, detail: str) -> ApiError:
    # Twilio has no single documented code for "malformed optional parameter"; 20001 is the sandbox's choice.
    return ApiError(400, 20001, f"Invalid parameter {name}: {detail}")


def not_found(path: str) -> ApiError:
    return ApiError(404, 20404, f"The requested resource {path} was not found")


def authenticate() -> ApiError:
    return ApiError(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})


def account_not_active(sid: str) -> ApiError:
    return ApiError(401, 20005, f"Account {sid} is not active")


def forbidden(message: str) -> ApiError:
    return ApiError(403, 20403, message)


def method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(405, 20004, f"Method {method} not allowed on {path}")
