"""Structured logs: one event per line, with the tenant, request id, Celery task id and Twilio SID it concerns.

structlog renders every record, the standard library's included (Django, Celery, twilio-python): JSON
lines in production (LOG_FORMAT=json), aligned key=value lines in development (LOG_FORMAT=console).
django-structlog binds request_id (web) and task_id (worker); `with_tenant` adds the tenant the
database connection is set to; code that handles a Twilio resource binds `twilio_sid`.

Nothing secret reaches a log: `redact_secrets` blanks values under secret-sounding keys and cuts
API keys, bearer tokens and credential query parameters out of any text, whoever wrote it.
"""

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

REDACTED = "[redacted]"
SECRET_KEYS = re.compile(r"(pass(word)?|secret|token|authorization|api_?key|signature|cookie|credential)", re.I)
SECRET_TEXT = [
    # An API key keeps its visible prefix (sb_1a2b3c4d), never its secret part.
    (re.compile(r"\b(sb_[0-9a-f]{8})_[A-Za-z0-9_-]{8,}"), r"\1_" + REDACTED),
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I), r"\1 " + REDACTED),
    (
        re.compile(r"([?&;\s](?:apiKey|api_key|token|auth_token|AuthToken|password|signature)=)[^&\s;\"']+", re.I),
        r"\1" + REDACTED,
    ),
]


def redact_text(text: str) -> str:
    for pattern, replacement in SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, MutableMapping):
        return {key: REDACTED if SECRET_KEYS.search(str(key)) else _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redacted(item) for item in value)
    return value


def redact_secrets(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    for key, value in event_dict.items():
        event_dict[key] = REDACTED if key != "event" and SECRET_KEYS.search(key) else _redacted(value)
    return event_dict


def with_tenant(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """The tenant whose schema the connection is set to (no query: django-tenants keeps it on the connection)."""
    from django.db import connection  # here, not at the top: settings import this module

    schema = getattr(connection, "schema_name", None)
    if schema and schema != "public" and "tenant" not in event_dict:
        event_dict["tenant"] = getattr(getattr(connection, "tenant", None), "slug", None) or schema
    return event_dict


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        with_tenant,
        structlog.stdlib.ExtraAdder(),
        structlog.stdlib.PositionalArgumentsFormatter(),
    ]


def structured_formatter(*, log_format: str) -> logging.Formatter:
    """Renders structlog's events and the standard library's records alike, secrets redacted."""
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False, sort_keys=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
        foreign_pre_chain=shared_processors(),
    )


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting: every record goes through the structured formatter to one console handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": structured_formatter, "log_format": log_format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # twilio-python logs every request with its headers at INFO; keep only its warnings.
            "twilio.http_client": {"level": "WARNING"},
            # django-structlog says what a task did (task_id, duration); Celery's own lines would say it twice,
            # and beat's "Sending due task" every second would bury everything else.
            "celery.app.trace": {"level": "WARNING"},
            "celery.worker.strategy": {"level": "WARNING"},
            "celery.beat": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
