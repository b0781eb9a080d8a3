"""``python -m sandbox.twilio``: run the Twilio sandbox until interrupted."""

from __future__ import annotations

import argparse
import os
import sys

from sandbox.control import StopSignal

from .server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.twilio", description="A local Twilio REST API sandbox.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099, help="0 picks a free port")
    parser.add_argument("--account-sid", default=os.environ.get("SANDBOX_ACCOUNT_SID", DEFAULT_ACCOUNT_SID))
    parser.add_argument("--auth-token", default=os.environ.get("SANDBOX_AUTH_TOKEN", DEFAULT_AUTH_TOKEN))
    parser.add_argument(
        "--step-ms", type=float, default=None, help="every lifecycle step this long (default: built-in timings)"
    )
    parser.add_argument(
        "--record-responses", action="store_true", help="keep every API response for GET /sandbox/responses"
    )
    parser.add_argument("--callback-workers", type=int, default=8)
    parser.add_argument(
        "--callback-timeout", type=float, default=15.0, help="seconds before a webhook request gives up"
    )
    parser.add_argument("--journal-limit", type=int, default=200_000, help="entries kept per /sandbox/ log")
    args = parser.parse_args(argv)

    stopped = StopSignal()
    sandbox = SandboxServer(
        args.host,
        args.port,
        args.account_sid,
        args.auth_token,
        timing=None if args.step_ms is None else args.step_ms / 1000,
        record_responses=args.record_responses,
        callback_workers=args.callback_workers,
        callback_timeout=args.callback_timeout,
        journal_limit=args.journal_limit,
    ).start()
    print(f"Twilio sandbox listening on {sandbox.base_url}", flush=True)
    print(f"  master account {sandbox.account_sid}  auth token {sandbox.auth_token}", flush=True)
    print(f"  control API    {sandbox.base_url}/sandbox/", flush=True)

    stopped.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
