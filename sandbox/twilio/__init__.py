"""Switchboard's built-in Twilio sandbox: a local HTTP server speaking Twilio's 2010 REST API.

It keeps state, runs message and call lifecycles on a clock, sends signed status callbacks and TwiML
fetches like Twilio, answers in Twilio's JSON shapes (checked against the vendored OpenAPI spec), and
can inject the failures a gateway must survive. No Django: it runs standalone.

Run it::

    python -m sandbox.twilio --port 8099 --account-sid AC... --auth-token ...

or in-process::

    with SandboxServer(port=0, timing=0.01) as sandbox:
        client = sandbox_client(sandbox.base_url, sandbox.account_sid, sandbox.auth_token)

It also plays the other end of the line: ``POST /sandbox/inbound-calls`` rings a number an account
owns and runs its VoiceUrl TwiML verb by verb (Say, Play, Pause, Gather, Record with real WAV
recordings, Dial, Redirect, Hangup, Reject, Connect), and ``POST /sandbox/inbound-messages`` texts
it and sends back the <Message> replies (see control.py for the JSON, simulator/ for the behaviour).

Module map: server (HTTP, SandboxServer), rest/ (Twilio endpoints: accounts, messages, calls,
recordings, phone_numbers, router), state (models, store, paging, journals), behaviour (Timing,
lifecycles, callbacks), scheduler (the clock), twiml (judging TwiML answers), webhooks (signing,
outgoing HTTP), simulator/ (inbound calls and messages), faults (fault injection), control
(/sandbox/ API), twilio_format (JSON shapes), numbers (validation, numbers for sale), magic (magic
numbers), errors (Twilio's error body), client (SandboxHttpClient; the only module that needs
twilio-python).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .behaviour import Timing
from .faults import FaultConfig
from .server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SandboxServer

if TYPE_CHECKING:
    from .client import SandboxHttpClient, sandbox_client

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "FaultConfig",
    "SandboxHttpClient",
    "SandboxServer",
    "Timing",
    "sandbox_client",
]


def __getattr__(name: str) -> Any:
    # The client needs twilio-python; the server must not, so it is imported only when asked for.
    if name in ("SandboxHttpClient", "sandbox_client"):
        from . import client

        return getattr(client, name)
    raise AttributeError(name)
