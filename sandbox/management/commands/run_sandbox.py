from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sandbox.twilio.__main__ import main as sandbox_main


class Command(BaseCommand):
    help = "Runs the Twilio sandbox where TWILIO_SANDBOX_URL points, with the platform's master credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (0.0.0.0 in a container).")

    def handle(self, *args: Any, **options: Any) -> None:
        port = urlsplit(settings.TWILIO_SANDBOX_URL).port or 8099
        sandbox_main(
            [
                "--host",
                options["host"],
                "--port",
                str(port),
                "--account-sid",
                settings.TWILIO_ACCOUNT_SID,
                "--auth-token",
                settings.TWILIO_AUTH_TOKEN,
            ]
        )
