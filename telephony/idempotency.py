"""Idempotency-Key for POST endpoints: the same key within 24 hours returns the first answer and does
nothing again. The key is claimed in the same transaction as the work, so a concurrent request with the
same key waits for the first and then gets its answer."""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from telephony.models import IdempotencyRecord

KEY_HEADER = "Idempotency-Key"
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class IdempotencyConflict(exceptions.APIException):
    status_code = 422
    default_code = "idempotency-key-reused"


def _fingerprint(request: Request) -> str:
    return hashlib.sha256(json.dumps(request.data, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(endpoint: str) -> Callable:
    def decorator(handler: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(handler)
        def wrapped(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            key = request.headers.get(KEY_HEADER)
            if not key:
                return handler(view, request, *args, **kwargs)
            if len(key) > MAX_KEY_LENGTH:
                raise exceptions.ValidationError({KEY_HEADER: [f"At most {MAX_KEY_LENGTH} characters."]})
            fingerprint = _fingerprint(request)
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        record = IdempotencyRecord.objects.create(
                            endpoint=endpoint, key=key, request_fingerprint=fingerprint
                        )
                except IntegrityError:
                    record = IdempotencyRecord.objects.select_for_update().get(endpoint=endpoint, key=key)
                    if record.created_at >= timezone.now() - KEY_LIFETIME:
                        if record.request_fingerprint != fingerprint:
                            raise IdempotencyConflict(
                                f"This {KEY_HEADER} was used for a different request in the last 24 hours."
                            ) from None
                        return Response(
                            record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"}
                        )
                    record.request_fingerprint, record.created_at = fingerprint, timezone.now()
                response = handler(view, request, *args, **kwargs)
                record.response_status, record.response_body = response.status_code, response.data
                record.save()
            return response

        return wrapped

    return decorator
