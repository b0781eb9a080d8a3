"""``python -m sandbox.stripe``: run the Stripe double until interrupted."""

from __future__ import annotations

import argparse
import os
import sys

from sandbox.control import StopSignal

from .server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.stripe", description="A local Stripe API double.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8097, help="0 picks a free port")
    parser.add_argument("--api-key", default=os.environ.get("STRIPE_SECRET_KEY", DEFAULT_API_KEY))
    parser.add_argument("--webhook-url", default="http://localhost:8000/webhooks/stripe/")
    parser.add_argument("--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", DEFAULT_WEBHOOK_SECRET))
    parser.add_argument("--public-url", default="", help="where browsers reach its pages (default: where it listens)")
    args = parser.parse_args(argv)

    stopped = StopSignal()
    double = StripeSandbox(
        args.host,
        args.port,
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        public_url=args.public_url,
    ).start()
    print(f"Stripe sandbox listening on {double.base_url}, sending events to {args.webhook_url}", flush=True)
    stopped.wait()
    double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
