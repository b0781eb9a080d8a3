"""Template rendering speed: a 20-variable template with SSML and two audio parts, rendered to TwiML.

    python bench/render.py [--renders 10000]

Renders with the same function the API and call tasks use (voice.templating.render) and prints
microseconds per render; the last line is JSON. Target: <= 200 us per render on this machine.
Audio URLs are passed in as the selector would resolve them, so no database is involved.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voice.templating import parse, render  # noqa: E402  (pure Python: no Django setup or database needed)

SSML_KINDS = ["currency", "number", "digits", "phone", "date", "time"]
TARGET_US = 200


def build_template() -> tuple[str, dict[str, str], dict[str, str]]:
    parts, values = [], {}
    for index in range(20):
        name = f"var_{index}"
        kind = SSML_KINDS[index % len(SSML_KINDS)] if index % 2 else None
        parts.append(f"Item {index} is {{{name}}}" + (f"~SSML~{kind}" if kind else "") + ".")
        values[name] = f"<value & {index}>" if kind is None else str(1000 + index)
        if index in (6, 13):
            parts.append(f"{{MP3~clip_{index}}}")
    audio_urls = {f"clip_{index}": f"https://demo.example.com/voice-files/token{index}/" for index in (6, 13)}
    return " ".join(parts), values, audio_urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the median round is reported")
    args = parser.parse_args()

    template, values, audio_urls = build_template()
    parse(template)  # warm the parse cache, as a long-running worker would have it

    def run_once() -> str:
        return render(
            template, values, voice="Polly.Joanna-Neural", language="en-US", rate="slow", audio_urls=audio_urls
        ).twiml

    sample = run_once()
    per_round = []
    for round_number in range(1, args.rounds + 1):
        started = time.perf_counter()
        for _ in range(args.renders):
            run_once()
        elapsed = time.perf_counter() - started
        per_round.append(elapsed / args.renders * 1e6)
        print(f"round {round_number}/{args.rounds}: {per_round[-1]:.1f} us per render ({args.renders} renders)")

    us = statistics.median(per_round)
    print(f"template: {len(template)} chars, 20 variables (10 with SSML), 2 audio parts; TwiML {len(sample)} bytes")
    print(f"median: {us:.1f} us per render (target <= {TARGET_US} us): {'PASS' if us <= TARGET_US else 'FAIL'}")
    print(
        json.dumps(
            {
                "us_per_render": round(us, 1),
                "renders": args.renders,
                "rounds": args.rounds,
                "min_us": round(min(per_round), 1),
                "max_us": round(max(per_round), 1),
                "target_us": TARGET_US,
            }
        )
    )


if __name__ == "__main__":
    main()
