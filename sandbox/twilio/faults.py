"""Fault injection: the failures a gateway must survive, on demand and reproducibly.

Configured with POST /sandbox/faults (JSON; every POST replaces the whole configuration, omitted
fields take their defaults) and read back with GET /sandbox/faults. Faults apply only to Twilio API
requests (/2010-04-01/...), never to the /sandbox/ control API, and the callback faults apply to
status callbacks (not to TwiML fetches).

==========================  =========  =====================================================================
Field                       Default    Effect
==========================  =========  =====================================================================
error_429_rate              0.0        share of API requests answered 429, code 20429, with Retry-After
retry_after_seconds         1          the Retry-After header's value
error_500_rate              0.0        share answered 500, code 20500
delay_ms                    0          added latency before every API request is handled
delay_jitter_ms             0          plus a uniform random 0..jitter ms
timeout_rate                0.0        share held past client timeouts (timeout_hold_ms), then the
                                       connection is dropped without a response
timeout_hold_ms             15000      how long a "timeout" request is held
timeout_after_commit        true       true: the request takes effect and only the response is lost (the
                                       case that makes retries create duplicates); false: dropped unprocessed
duplicate_callback_rate     0.0        share of status callbacks delivered twice (same idempotency token)
out_of_order_callbacks      false      every non-final status callback is held back until the next callback
                                       for the same resource has been sent (pairs arrive swapped; a final
                                       callback is never held and releases the one before it)
no_numbers_available        false      Twilio has no numbers for sale: searches find none, buying a given number
                                       answers 21422 and buying by area code 21452 (numbers already owned
                                       are untouched)
methods                     null       only requests with these HTTP methods get API faults, e.g. ["POST"]
path_contains               null       only requests whose path contains this string, e.g. "/Messages"
seed                        null       seeds the fault RNG, so a run's fault pattern is reproducible
==========================  =========  =====================================================================
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class FaultConfig:
    error_429_rate: float = 0.0
    retry_after_seconds: int = 1
    error_500_rate: float = 0.0
    delay_ms: int = 0
    delay_jitter_ms: int = 0
    timeout_rate: float = 0.0
    timeout_hold_ms: int = 15_000
    timeout_after_commit: bool = True
    duplicate_callback_rate: float = 0.0
    out_of_order_callbacks: bool = False
    no_numbers_available: bool = False
    methods: tuple[str, ...] | None = None
    path_contains: str | None = None
    seed: int | None = None

    @property
    def affects_requests(self) -> bool:
        return bool(
            self.error_429_rate or self.error_500_rate or self.delay_ms or self.delay_jitter_ms or self.timeout_rate
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = list(self.methods) if self.methods is not None else None
        return data

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Validated construction; raises ValueError with a readable reason."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name in ("error_429_rate", "error_500_rate", "timeout_rate", "duplicate_callback_rate"):
            if name in data:
                rate = data[name]
                if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                    raise ValueError(f"{name} must be a number between 0 and 1")
                values[name] = float(rate)
        for name in ("retry_after_seconds", "delay_ms", "delay_jitter_ms", "timeout_hold_ms"):
            if name in data:
                number = data[name]
                if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
                values[name] = number
        for name in ("timeout_after_commit", "out_of_order_callbacks", "no_numbers_available"):
            if name in data:
                if not isinstance(data[name], bool):
                    raise ValueError(f"{name} must be true or false")
                values[name] = data[name]
        if data.get("methods") is not None:
            methods = data["methods"]
            if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
                raise ValueError("methods must be a list of HTTP methods")
            values["methods"] = tuple(m.upper() for m in methods)
        if data.get("path_contains") is not None:
            if not isinstance(data["path_contains"], str):
                raise ValueError("path_contains must be a string")
            values["path_contains"] = data["path_contains"]
        if data.get("seed") is not None:
            if isinstance(data["seed"], bool) or not isinstance(data["seed"], int):
                raise ValueError("seed must be an integer")
            values["seed"] = data["seed"]
        return cls(**values)


@dataclass(frozen=True, slots=True)
class RequestFault:
    """What to do to one API request."""

    delay_s: float = 0.0
    status: int | None = None  # 429 or 500
    timeout_hold_s: float | None = None
    timeout_after_commit: bool = True
    retry_after_seconds: int = 1


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._random = random.Random()

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)

    def for_request(self, method: str, path: str) -> RequestFault | None:
        config = self._config  # one read: a concurrent configure() can't give us a mix of two configs
        if not config.affects_requests:
            return None  # the hot path when no faults are set
        if config.methods is not None and method not in config.methods:
            return None
        if config.path_contains is not None and config.path_contains not in path:
            return None
        with self._lock:
            draw = self._random.random
            delay = config.delay_ms / 1000
            if config.delay_jitter_ms:
                delay += draw() * config.delay_jitter_ms / 1000
            # Independent draws in a fixed order keep a seeded run reproducible.
            timeout = config.timeout_rate > 0 and draw() < config.timeout_rate
            too_many = config.error_429_rate > 0 and draw() < config.error_429_rate
            broken = config.error_500_rate > 0 and draw() < config.error_500_rate
        if timeout:
            return RequestFault(delay, None, config.timeout_hold_ms / 1000, config.timeout_after_commit)
        if too_many:
            return RequestFault(delay, 429, retry_after_seconds=config.retry_after_seconds)
        if broken:
            return RequestFault(delay, 500)
        return RequestFault(delay) if delay else None

    def duplicate_callback(self) -> bool:
        config = self._config
        if not config.duplicate_callback_rate:
            return False
        with self._lock:
            return self._random.random() < config.duplicate_callback_rate

    @property
    def out_of_order(self) -> bool:
        return self._config.out_of_order_callbacks

    @property
    def no_numbers_available(self) -> bool:
        return self._config.no_numbers_available
