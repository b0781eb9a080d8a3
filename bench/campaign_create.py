"""Creating a campaign: how long `POST /api/v1/campaigns/` takes for a large recipient list.

    .venv/bin/python bench/campaign_create.py [--recipients 10000] [--rounds 3] [--opt-outs 20000]

In a scratch database (see _scratch.py), one tenant with a verified sender and --opt-outs numbers on its
opt-out list, 1% of them among the recipients. Each round posts the same list twice through the API (Django's
test client, whole request: parsing, validation, every policy, the rows written, the groups queued on commit to
Redis database 14, where no worker listens): as JSON with a variable per row, and as a CSV upload. Side by side
in the same run, it times the destination checks alone done two ways over the same list: per row, as a single
send checks (one opt-out query each), and as campaign_create checks a list (numbers first, then the opt-outs
in one query per 5,000). The Twilio account is marked active directly: creating a campaign never calls Twilio.
The last line is JSON.
"""

import argparse
import csv
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scratch  # noqa: E402
from _scratch import say  # noqa: E402

SCRATCH_DB = "switchboard_bench_campaign"
SENDER = "+14155550100"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="the median round is reported")
    parser.add_argument("--opt-outs", type=int, default=20_000, help="numbers on the tenant's opt-out list")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    _scratch.run_and_report(SCRATCH_DB, lambda: run(args))


def run(args: argparse.Namespace) -> dict:
    import django

    django.setup()

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context
    from rest_framework.test import APIClient

    from telephony import policies
    from telephony.models import Campaign, Communication, OptOut, SenderNumber
    from telephony.registry.models import TwilioAccount
    from tenants.services import tenant_onboard

    say(
        f"scratch database: {connection.settings_dict['NAME']}; code {_scratch.code_version()}; load average {_scratch.load_average()}"
    )
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    call_command("setup_platform", stdout=io.StringIO())
    onboarded = tenant_onboard(name="Campaign bench", slug="campaignbench", admin_email="bench@example.com")
    tenant = onboarded.tenant
    tenant.max_messages_per_day = 10 * args.recipients * args.rounds
    tenant.save()
    TwilioAccount.objects.filter(tenant=tenant).update(
        status=TwilioAccount.Status.ACTIVE, account_sid="AC" + "b" * 32, status_detail="marked active by the benchmark"
    )

    count = args.recipients
    recipients = [f"+1415{2_000_000 + n:07d}" for n in range(count)]
    opted_out = {recipients[n] for n in range(0, count, 100)}
    with tenant_context(tenant):
        SenderNumber.objects.create(phone_number=SENDER, is_default=True, status=SenderNumber.Status.VERIFIED)
        filler = [f"+1212{3_000_000 + n:07d}" for n in range(max(0, args.opt_outs - len(opted_out)))]
        OptOut.objects.bulk_create(
            [OptOut(phone_number=number, source=OptOut.Source.STOP_REPLY) for number in [*opted_out, *filler]],
            batch_size=5000,
        )
    say(
        f"tenant {tenant.schema_name}: {count} recipients per campaign, {len(opted_out)} of them opted out, "
        f"{args.opt_outs} numbers on the opt-out list"
    )

    client = APIClient(HTTP_HOST=onboarded.domain, HTTP_AUTHORIZATION=f"Bearer {onboarded.api_key}")
    rows = [{"to": number, "variables": {"first_name": f"Name{n}"}} for n, number in enumerate(recipients)]
    csv_text = io.StringIO()
    writer = csv.writer(csv_text)
    writer.writerow(["to", "first_name"])
    writer.writerows([number, f"Name{n}"] for n, number in enumerate(recipients))
    body = "Hello, our spring sale starts Monday. Reply STOP to opt out."

    def post_json() -> dict:
        payload = {"name": "Bench JSON", "channel": "sms", "body": body, "recipients": rows}
        return client.post("/api/v1/campaigns/", payload, format="json").json()

    def post_csv() -> dict:
        upload = SimpleUploadedFile("list.csv", csv_text.getvalue().encode(), content_type="text/csv")
        return client.post(
            "/api/v1/campaigns/",
            {"name": "Bench CSV", "channel": "sms", "body": body, "file": upload},
            format="multipart",
        ).json()

    def per_row_checks() -> None:
        for number in recipients:
            try:
                policies.destination_checked(tenant=tenant, to=number, channel="sms")
            except policies.PolicyError:
                pass

    def list_checks() -> None:
        allowed = [policies.destination_allowed(tenant=tenant, to=number) for number in recipients]
        policies.opted_out_among(numbers=allowed)

    timings: dict[str, list[float]] = {"json": [], "csv": [], "per_row_checks": [], "list_checks": []}
    for round_number in range(1, args.rounds + 1):
        for label, step in (("json", post_json), ("csv", post_csv)):
            started = time.perf_counter()
            answer = step()
            timings[label].append(time.perf_counter() - started)
            progress = answer.get("progress", {})
            if progress.get("total") != count - len(opted_out) or progress.get("invalid") != len(opted_out):
                raise SystemExit(f"unexpected answer for {label}: {str(answer)[:300]}")
        with tenant_context(tenant):
            for label, check in (("per_row_checks", per_row_checks), ("list_checks", list_checks)):
                started = time.perf_counter()
                check()
                timings[label].append(time.perf_counter() - started)
        say(
            f"round {round_number}/{args.rounds}: "
            + ", ".join(f"{label} {values[-1]:.2f} s" for label, values in timings.items())
        )

    with tenant_context(tenant):
        written = Communication.objects.count()
        campaigns = Campaign.objects.count()
    if written != campaigns * (count - len(opted_out)):
        raise SystemExit(f"{written} rows written for {campaigns} campaigns")
    median = {label: statistics.median(values) for label, values in timings.items()}
    say(
        f"POST /api/v1/campaigns/ with {count} recipients: JSON {median['json']:.2f} s ({count / median['json']:.0f} recipients/s), "
        f"CSV {median['csv']:.2f} s ({count / median['csv']:.0f} recipients/s)"
    )
    say(
        f"destination checks alone: per row {median['per_row_checks']:.2f} s, as a list {median['list_checks']:.2f} s "
        f"({median['per_row_checks'] / median['list_checks']:.1f}x)"
    )
    return {
        "benchmark": "campaign_create",
        "commit": _scratch.code_version(),
        "load_average": _scratch.load_average(),
        "recipients": count,
        "json_seconds": round(median["json"], 3),
        "csv_seconds": round(median["csv"], 3),
        "recipients_per_s": round(count / median["json"]),
        "per_row_checks_seconds": round(median["per_row_checks"], 3),
        "list_checks_seconds": round(median["list_checks"], 3),
    }


if __name__ == "__main__":
    main()
