"""Benchmark: `migrate_schemas` across many tenant schemas when there is nothing to apply.

Runs on a scratch database of its own (never the one in .env), dropped at the end:

    python bench/migrate_noop.py                                   # 1,000 tenants, baseline on 50
    python bench/migrate_noop.py --tenants 60 --baseline-sample 5  # smoke run

1. Creates --tenants (1,000) tenants: a Tenant row, a schema cloned from the template
   (tenants.schema_template.clone_template_into) and a Domain each; no users or keys.
2. Times our `migrate_schemas` (tenants/management/commands/migrate_schemas.py), the whole command,
   public and tenants, in process: call_command("migrate_schemas", interactive=False, verbosity=1).
   Then once more as an operator runs it (`manage.py migrate_schemas --noinput` in a new process,
   Django start-up included), for context.
3. Baseline: django-tenants' own MigrateSchemasCommand, which runs `migrate` in every schema. It is
   timed on --baseline-sample (50) schemas spread over the tenants, one schema per call (what it does
   for each schema, minus process start-up), plus once for public, and extrapolated to all tenants.

Each clone runs on a new database connection (see _scratch.fresh_session), and as this PostgreSQL
server may run with autovacuum off, the system catalogs are vacuumed and analyzed as autovacuum would
(--no-vacuum to skip). Prints the figures as it goes and ends with one JSON line.
"""

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _scratch  # noqa: E402
from _scratch import REPO_ROOT, Progress, p50, p90, say, verdict  # noqa: E402

SCRATCH_DB = "switchboard_bench_migrate_noop"
TARGET_SECONDS = 60.0
TARGET_TENANTS = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=TARGET_TENANTS, help="tenant schemas to create (1000)")
    parser.add_argument("--baseline-sample", type=int, default=50, help="schemas to time the original command on (50)")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="do not VACUUM ANALYZE the system catalogs each time the schema count grew by 10%% and before "
        "timing (as autovacuum would on a server that has it on)",
    )
    parser.add_argument("--skip-cli", action="store_true", help="do not also time `manage.py migrate_schemas`")
    args = parser.parse_args()
    if args.tenants < 1 or args.baseline_sample < 1:
        parser.error("--tenants and --baseline-sample must be positive")
    return args


def main() -> None:
    args = parse_args()
    _scratch.run_and_report(SCRATCH_DB, lambda: run(args))


def run(args: argparse.Namespace) -> dict:
    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

    from tenants.db import connection
    from tenants.models import Domain, Tenant
    from tenants.schema_template import clone_template_into

    try:
        from tenants.hosts import tenant_domain_for
    except ImportError:  # older code kept it in tenants.services
        from tenants.services import tenant_domain_for
    from tenants.validators import schema_name_for_slug

    say(f"scratch database: {connection.settings_dict['NAME']} (the development database is not touched)")
    version = _scratch.code_version()
    say(f"code: {version}; load average {_scratch.load_average()} ({os.cpu_count()} CPUs)")
    loads = [_scratch.load_average()]
    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    say(f"migrate_schemas --shared: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    call_command("setup_platform", stdout=io.StringIO())
    say(f"setup_platform (builds the tenant template): {time.perf_counter() - started:.1f} s")

    autovacuum = _scratch.autovacuum_is_on()
    say(
        f"server autovacuum: {'on' if autovacuum else 'OFF'}; catalog VACUUM ANALYZE by this benchmark: "
        + ("no (--no-vacuum)" if args.no_vacuum else "each time the schema count grew by 10%, and before timing")
    )
    upkeep = _scratch.CatalogUpkeep(enabled=not args.no_vacuum, schemas_now=1)

    # 1. The tenants.
    say()
    say(f"creating {args.tenants} tenants (Tenant row + clone_template_into + Domain):")
    build_started = time.perf_counter()
    progress = Progress("tenants", args.tenants, every=50 if args.tenants >= 200 else 10)
    schemas: list[str] = []
    clone_times: list[float] = []
    for i in range(1, args.tenants + 1):
        slug = f"noop-{i:05d}"
        schema = schema_name_for_slug(slug)
        _scratch.fresh_session()  # see _scratch.fresh_session: a backend that cloned a lot clones slowly
        started = time.perf_counter()
        with transaction.atomic():
            tenant = Tenant.objects.create(name=f"Bench {slug}", slug=slug, schema_name=schema)
            clone_template_into(schema)
            Domain.objects.create(domain=tenant_domain_for(slug), tenant=tenant, is_primary=True)
        clone_times.append(time.perf_counter() - started)
        schemas.append(schema)
        progress.tick(i)
        upkeep.created(i + 1)
    build_seconds = time.perf_counter() - build_started
    last = clone_times[-50:]
    say(f"  -> {args.tenants} tenants in {build_seconds:.1f} s ({build_seconds / args.tenants:.3f} s each)")
    say(
        f"     one tenant (row + clone + domain): p50 {p50(clone_times[:50]):.3f} s for the first {min(50, len(clone_times))}, "
        f"p50 {p50(last):.3f} s for the last {len(last)}"
    )
    if upkeep.enabled:
        say(f"     (of which {upkeep.seconds:.1f} s in {upkeep.runs} catalog VACUUM ANALYZE runs)")
        say(f"  VACUUM ANALYZE of the system catalogs (before timing): {upkeep.now(len(schemas) + 1):.1f} s")

    # 2. Our command, nothing to apply (on a new connection, as a new process would have).
    connection.close()
    say()
    say("our migrate_schemas, whole command (public + tenants), nothing to apply:")
    output = io.StringIO()
    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=1, stdout=output)
    seconds = time.perf_counter() - started
    connection.set_schema_to_public()
    for line in output.getvalue().splitlines():
        say(f"  | {line}")
    counts = re.search(r"tenant schemas: (\d+), with migrations to apply: (\d+)", output.getvalue())
    schemas_checked, pending = (int(counts.group(1)), int(counts.group(2))) if counts else (None, None)
    if pending:
        say(f"  WARNING: {pending} schemas had migrations to apply, so this was not a no-op run")
    say(f"  -> {seconds:.2f} s for {args.tenants} tenants ({schemas_checked} schemas checked, template included)")

    seconds_cli = None
    if not args.skip_cli:
        say("the same as an operator runs it: manage.py migrate_schemas --noinput (new process, start-up included):")
        connection.close()
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "manage.py", "migrate_schemas", "--noinput"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        )
        seconds_cli = time.perf_counter() - started
        for line in (completed.stdout + completed.stderr).splitlines():
            say(f"  | {line}")
        if completed.returncode:
            say(f"  WARNING: exit code {completed.returncode}")
            seconds_cli = None
        else:
            say(f"  -> {seconds_cli:.2f} s")

    # 3. Baseline: django-tenants' original command, one schema at a time, on a sample.
    say()
    sample_size = min(args.baseline_sample, len(schemas))
    step = len(schemas) / sample_size
    sample = [schemas[int(k * step)] for k in range(sample_size)]
    say(f"baseline: django-tenants' MigrateSchemasCommand, on {sample_size} schemas spread over the {len(schemas)}:")
    started = time.perf_counter()
    call_command(MigrateSchemasCommand(), shared=True, interactive=False, verbosity=0)
    baseline_public = time.perf_counter() - started
    say(f"  public (--shared): {baseline_public:.3f} s")
    per_schema = []
    progress = Progress("baseline schemas", sample_size, every=10)
    for done, schema in enumerate(sample, start=1):
        started = time.perf_counter()
        call_command(MigrateSchemasCommand(), tenant=True, schema_name=schema, interactive=False, verbosity=0)
        per_schema.append(time.perf_counter() - started)
        progress.tick(done)
    connection.set_schema_to_public()
    mean = statistics.fmean(per_schema)
    extrapolated = baseline_public + mean * args.tenants
    say(f"  per schema: mean {mean:.3f} s, p50 {p50(per_schema):.3f} s, p90 {p90(per_schema):.3f} s")
    say(f"  extrapolated to public + {args.tenants} tenants: {extrapolated:.1f} s")

    loads.append(_scratch.load_average())
    say()
    say(f"load average at the end: {loads[-1]}")
    say("summary")
    say(f"  our migrate_schemas, {args.tenants} tenants, nothing to apply: {seconds:.2f} s (in process)")
    if seconds_cli is not None:
        say(f"  the same via manage.py (with Django start-up): {seconds_cli:.2f} s")
    say(f"  django-tenants' original, extrapolated: {extrapolated:.1f} s ({mean:.3f} s per schema)")
    say(f"  speedup: {extrapolated / seconds:.0f}x")
    scaled = args.tenants >= TARGET_TENANTS
    say(
        f"  {verdict(seconds <= TARGET_SECONDS)}  <= {TARGET_SECONDS:.0f} s for {args.tenants} tenants"
        + ("" if scaled else f" (smoke run: the target is for {TARGET_TENANTS})")
    )
    say(f"  note: DEBUG={settings.DEBUG}; server autovacuum {'on' if autovacuum else 'OFF'}")
    return {
        "benchmark": "migrate_noop",
        "code": version,
        "load_avg_start": loads[0],
        "load_avg_end": loads[-1],
        "tenants": args.tenants,
        "seconds": round(seconds, 3),
        "seconds_cli": round(seconds_cli, 3) if seconds_cli is not None else None,
        "schemas_checked": schemas_checked,
        "schemas_with_pending": pending,
        "baseline_sample": sample_size,
        "baseline_public_s": round(baseline_public, 4),
        "baseline_per_schema_s": round(mean, 4),
        "baseline_per_schema_p50_s": round(p50(per_schema), 4),
        "baseline_extrapolated_s": round(extrapolated, 1),
        "speedup_vs_baseline": round(extrapolated / seconds, 1),
        "build_seconds": round(build_seconds, 1),
        "clone_p50_s_first50": round(p50(clone_times[:50]), 4),
        "clone_p50_s_last50": round(p50(last), 4),
        "pass_target": seconds <= TARGET_SECONDS,
        "server_autovacuum": autovacuum,
        "catalog_vacuum": not args.no_vacuum,
    }


if __name__ == "__main__":
    main()
