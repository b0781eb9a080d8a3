from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sandbox.llm.__main__ import main as fake_llm_main


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # it serves no Django code: starting fast matters more
    help = "Runs the fake LLM server (OpenAI, Azure OpenAI, OpenRouter and Anthropic wire formats) where LLM_FAKE_BASE_URL points."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (0.0.0.0 in a container).")
        parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds before each first token")
        parser.add_argument("--token-delay", type=float, default=0.0, help="seconds between tokens")
        parser.add_argument("--tokens-per-chunk", type=int, default=1, help="tokens per streamed text event")

    def handle(self, *args: Any, **options: Any) -> None:
        port = urlsplit(settings.LLM_FAKE_BASE_URL).port or 8098
        fake_llm_main(
            [
                "--host",
                options["host"],
                "--port",
                str(port),
                "--first-token-delay",
                str(options["first_token_delay"]),
                "--token-delay",
                str(options["token_delay"]),
                "--tokens-per-chunk",
                str(options["tokens_per_chunk"]),
            ]
        )
