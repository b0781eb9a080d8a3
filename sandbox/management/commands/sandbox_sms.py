"""manage.py sandbox_sms --from +14155550100 --to +1... --body "Hello" [--media-url https://...]

Asks the running Twilio sandbox to deliver a simulated inbound message (POST /sandbox/inbound-messages)
and prints the webhook request and the replies the application's TwiML sent back.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ._control import add_sandbox_url, post, requests_lines, sandbox_url


class Command(BaseCommand):
    help = "Delivers a simulated inbound SMS/MMS to a number an account owns in the running Twilio sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from_", required=True, help="the sender's number")
        parser.add_argument("--to", required=True, help="a number an account owns in the sandbox")
        parser.add_argument("--body", default="", help="the message text")
        parser.add_argument("--media-url", action="append", default=[], help="an attached media URL (repeatable)")
        add_sandbox_url(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        body = {
            "from": options["from_"],
            "to": options["to"],
            "body": options["body"],
            "media_urls": options["media_url"],
        }
        result = post(sandbox_url(options["sandbox_url"]), "/sandbox/inbound-messages", body)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        status = result["status"] if result["status"] is not None else "no webhook"
        lines = [f"Message {result['sid']} from {options['from_']} to {options['to']}: SmsUrl answered {status}"]
        lines.append("Replies:" if result["replies"] else "Replies: none")
        for reply in result["replies"]:
            media = f"  [+ {', '.join(reply['media_urls'])}]" if reply["media_urls"] else ""
            lines.append(f"  {reply['sid']} {reply['from']} -> {reply['to']}: {reply['body']!r}{media}")
        if result["requests"]:
            lines.append("Requests:")
            lines += requests_lines(result["requests"])
        lines += [f"Note: {note}" for note in result["notes"]]
        if result.get("error"):
            lines.append(f"Error: {result['error'].get('code')} {result['error'].get('message')}")
        self.stdout.write("\n".join(lines))
