"""manage.py sandbox_call --from +14155550100 --to +1... [--digits 1 --digits 42#] [--dial no-answer]

Asks the running Twilio sandbox to place a simulated inbound call (POST /sandbox/inbound-calls) and
prints what happened: each TwiML verb, what the caller heard, and every webhook request.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ._control import add_sandbox_url, post, requests_lines, sandbox_url

DIAL_OUTCOMES = ("answer", "no-answer", "busy", "failed")


class Command(BaseCommand):
    help = "Places a simulated inbound call to a number an account owns in the running Twilio sandbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from_", required=True, help="the caller's number (or client:name)")
        parser.add_argument("--to", required=True, help="a number an account owns in the sandbox")
        parser.add_argument("--digits", action="append", default=[], help="keys for the next <Gather> (repeatable)")
        parser.add_argument("--speech", action="append", default=[], help="words for the next <Gather input=speech>")
        parser.add_argument("--dial", action="append", choices=DIAL_OUTCOMES, help="what a <Dial>ed party does")
        parser.add_argument("--dial-seconds", type=int, default=None, help="how long an answered <Dial> talks")
        parser.add_argument(
            "--dial-hangup", choices=("caller", "callee"), default=None, help="who ends an answered <Dial>"
        )
        parser.add_argument("--record-seconds", type=int, action="append", help="length of the next <Record>")
        parser.add_argument("--record-end", choices=("key", "hangup", "timeout"), default=None)
        parser.add_argument("--transcription", default=None, help="the text of <Record transcribe> transcriptions")
        parser.add_argument(
            "--say", action="append", default=[], help="what the caller says to an AI agent, one turn each (repeatable)"
        )
        parser.add_argument("--no-wait", action="store_true", help="answer at once; see GET /sandbox/inbound-calls")
        add_sandbox_url(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        body: dict[str, Any] = {"from": options["from_"], "to": options["to"], "wait": not options["no_wait"]}
        for option, field in (
            ("digits", "digits"),
            ("speech", "speech"),
            ("dial", "dial"),
            ("record_seconds", "record_seconds"),
        ):
            if options[option]:
                body[field] = options[option]
        if options["say"]:
            body["conversation"] = [{"say": words} for words in options["say"]]
        for option in ("dial_seconds", "dial_hangup", "record_end", "transcription"):
            if options[option] is not None:
                body[option] = options[option]
        result = post(sandbox_url(options["sandbox_url"]), "/sandbox/inbound-calls", body)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        if options["no_wait"]:
            self.stdout.write(f"Call {result['sid']} is ringing (see GET /sandbox/inbound-calls for how it went)")
            return
        self.stdout.write("\n".join(describe(result)))


def describe(result: dict[str, Any]) -> list[str]:
    price = f", {result['price']} {result['price_unit']}" if result.get("price") else ""
    lines = [
        f"Call {result['sid']} from {result['from']} to {result['to']}: {result['status']}, "
        f"{result['duration']} s{price} (ended: {result['end_reason']})",
        "Transcript:",
    ]
    lines += [f"  {verb_line(entry)}" for entry in result["transcript"]]
    if result["heard"]:
        lines.append("Heard:")
        lines += [f"  {text!r}" for text in result["heard"]]
    lines.append("Requests:")
    lines += requests_lines(result["requests"])
    lines += [f"Note: {note}" for note in result["notes"]]
    if result.get("error"):
        lines.append(f"Error: {result['error'].get('code')} {result['error'].get('message')}")
    return lines


def verb_line(entry: dict[str, Any]) -> str:
    verb = entry["verb"]
    inside = "  (in Gather)" if entry.get("in") else ""
    if entry.get("ignored"):
        return f"{verb:<8} ignored"
    if verb == "Say":
        details = ", ".join(str(v) for v in (entry.get("voice"), entry.get("language")) if v)
        return f"Say      {entry['text']!r}" + (f" ({details})" if details else "") + inside
    if verb == "Play":
        return f"Play     {entry.get('url') or 'digits ' + str(entry.get('digits'))}" + inside
    if verb == "Pause":
        return f"Pause    {entry['length']} s" + inside
    if verb == "Gather":
        got = entry.get("digits") or entry.get("speech")
        return f"Gather   {entry['input']}: {got!r}" if got else f"Gather   {entry['input']}: nothing (timed out)"
    if verb == "Record":
        if entry.get("empty"):
            return "Record   nothing (empty recording)"
        return f"Record   {entry['recording_sid']} {entry['duration']} s, ended by {entry['ended_by']}: {entry['recording_url']}"
    if verb == "Dial":
        return f"Dial     {entry.get('number')} (caller ID {entry.get('caller_id')}): {entry['outcome']}"
    if verb == "Connect":
        nouns = ", ".join(
            f"{child['noun']} {' '.join(f'{k}={v}' for k, v in child['attributes'].items())}".strip()
            for child in entry["children"]
        )
        return f"Connect  {nouns}"
    if verb in ("Redirect", "(REST redirect)"):
        return f"{verb} {entry.get('method')} {entry.get('url')}"
    if verb == "Reject":
        return f"Reject   {entry.get('reason')}"
    return verb
