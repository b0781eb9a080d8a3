"""``python -m sandbox.llm``: run the fake LLM until interrupted."""

from __future__ import annotations

import argparse
import sys

from sandbox.control import StopSignal

from .server import FakeLLMServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.llm", description="A local fake LLM provider.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8098, help="0 picks a free port")
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds before a reply's first token")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between tokens")
    parser.add_argument("--tokens-per-chunk", type=int, default=1, help="tokens per streamed text event")
    args = parser.parse_args(argv)

    # Before the first line is printed: whoever reads it may stop the server at once.
    stopped = StopSignal()
    fake = FakeLLMServer(
        args.host,
        args.port,
        first_token_delay=args.first_token_delay,
        token_delay=args.token_delay,
        tokens_per_chunk=args.tokens_per_chunk,
    ).start()
    print(f"Fake LLM listening on {fake.base_url}", flush=True)
    print(f"  OpenAI         {fake.openai_base_url}  (OpenRouter {fake.openrouter_base_url})", flush=True)
    print(f"  Azure OpenAI   {fake.azure_endpoint}", flush=True)
    print(f"  Anthropic      {fake.anthropic_base_url}", flush=True)
    print(f"  control API    {fake.base_url}/control/", flush=True)
    stopped.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
