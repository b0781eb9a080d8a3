"""Benchmark: tenant onboarding time, and how it holds up as the number of tenants grows.

Runs on a scratch database of its own (never the one in .env), dropped at the end:

    python bench/onboarding.py                      # 10 -> 500 existing tenants, 20 samples each, 5 default-way
    python bench/onboarding.py --existing-large 60 --samples 5 --default-samples 2   # smoke run

1. With --existing-small (10) tenants, onboards --samples (20) more through tenants.services.tenant_onboard
   (no admin password, as the staff API does by default), timing each.
2. Grows to --existing-large (500) tenants (with tenant_onboard too), then times --samples more.
3. "The default way" of django-tenants, at that same size: what TenantMixin.create_schema does, CREATE
   SCHEMA and every tenant migration run for it (migrate_schemas --tenant --schema). It runs tenant_onboard
   itself with only its schema step swapped for that, so the Tenant row, domain, first admin, API key and
   anything else the service does are the same as in step 2.

When the code has a schema pool (tenants.schema_template.refill_schema_pool: onboarding renames a schema
cloned ahead of time by a worker, and clones on the spot only when the pool is empty), steps 1 and 2 time
both cases, alternating: "pool ready" (the benchmark refills the pool before each onboarding, untimed, as
the worker would) and "pool empty" (the benchmark empties it first, untimed). The headline figures
(p50_s_at_10, p50_s_at_500) are the pool-ready ones, which is what onboarding costs while the worker keeps up.

Each onboarding gets a new database connection (untimed), as a web worker's short-lived connection
would (--same-session to keep one, as a bulk script does). This PostgreSQL server may run with autovacuum
off, so the benchmark vacuums and analyzes the system catalogs (untimed) as autovacuum would
(--no-vacuum to skip). Prints the figures as it goes and ends with one JSON line.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _scratch  # noqa: E402
from _scratch import Progress, p50, p90, say, verdict  # noqa: E402

SCRATCH_DB = "switchboard_bench_onboarding"
TARGET_P50_AT_LARGE_S = 0.5
TARGET_RATIO = 1.5
TARGET_SPEEDUP = 5.0
READY, EMPTY = "pool ready", "pool empty"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--existing-small", type=int, default=10, help="tenants before the first samples (10)")
    parser.add_argument("--existing-large", type=int, default=500, help="tenants before the second samples (500)")
    parser.add_argument("--samples", type=int, default=20, help="timed onboardings at each size, per case (20)")
    parser.add_argument("--default-samples", type=int, default=5, help="timed default-way onboardings (5)")
    parser.add_argument(
        "--same-session",
        action="store_true",
        help="onboard every tenant on one database connection, as a bulk script would, instead of reconnecting "
        "(untimed) before each onboarding as a web worker's short-lived connection does",
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="do not VACUUM ANALYZE the system catalogs before each timed phase and each time the schema count "
        "grew by 10%% (as autovacuum would on a server that has it on)",
    )
    args = parser.parse_args()
    if args.existing_large < args.existing_small + 2 * args.samples:
        parser.error("--existing-large must be at least --existing-small + 2 * --samples")
    if min(args.samples, args.default_samples) < 1 or args.existing_small < 0:
        parser.error("sample counts must be positive")
    return args


def main() -> None:
    args = parse_args()
    _scratch.run_and_report(SCRATCH_DB, lambda: run(args))


def run(args: argparse.Namespace) -> dict:
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth.hashers import get_hasher, make_password
    from django.core.management import call_command
    from django_tenants.utils import get_public_schema_name

    from tenants import schema_template, services
    from tenants.db import connection
    from tenants.models import Tenant

    say(f"scratch database: {connection.settings_dict['NAME']} (the development database is not touched)")
    version = _scratch.code_version()
    say(f"code: {version}; load average {_scratch.load_average()} ({os.cpu_count()} CPUs)")
    loads = [_scratch.load_average()]
    started = time.perf_counter()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    say(f"migrate_schemas --shared: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    call_command("setup_platform", stdout=_Discard())
    say(f"setup_platform (builds the tenant template): {time.perf_counter() - started:.1f} s")

    # The schema step tenant_onboard calls, whatever this version of the code names it.
    schema_step = next(name for name in ("create_tenant_schema", "clone_template_into") if hasattr(services, name))
    has_pool = hasattr(schema_template, "refill_schema_pool")
    cases = [READY, EMPTY] if has_pool else [READY]
    pool_size = getattr(settings, "TENANT_SCHEMA_POOL_SIZE", 0) if has_pool else 0
    say(
        f"schema step: tenants.services.{schema_step}; "
        + (
            f"schema pool: yes (size {pool_size}); timing both '{READY}' and '{EMPTY}', alternating"
            if has_pool
            else "schema pool: none in this version (every onboarding clones)"
        )
    )

    autovacuum = _scratch.autovacuum_is_on()
    say(
        f"server autovacuum: {'on' if autovacuum else 'OFF'}; catalog VACUUM ANALYZE by this benchmark: "
        f"{'no (--no-vacuum)' if args.no_vacuum else 'before each timed phase and each time the schema count grew by 10%'}"
    )
    say(
        "database connection: "
        + (
            "one for all onboardings (--same-session)"
            if args.same_session
            else "a new one before each onboarding (untimed)"
        )
    )

    public = get_public_schema_name()
    counter = iter(range(1, 10**6))

    def schema_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_namespace")
            return cursor.fetchone()[0]

    def relation_count(schema_name: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace", [schema_name])
            return cursor.fetchone()[0]

    def tenant_count() -> int:
        return Tenant.objects.exclude(schema_name=public).count()

    upkeep = _scratch.CatalogUpkeep(enabled=not args.no_vacuum, schemas_now=schema_count())

    def maintain(label: str) -> None:
        if upkeep.enabled:
            say(f"  VACUUM ANALYZE of the system catalogs ({label}): {upkeep.now(schema_count()):.1f} s")

    def new_session() -> None:
        if not args.same_session:
            _scratch.fresh_session()

    def prepare_pool(case: str) -> None:
        """Untimed: what the worker would have done (refill), or an empty pool."""
        if not has_pool:
            return
        if case == READY:
            schema_template.refill_schema_pool(size=1)  # one is all the next onboarding takes
        else:
            from tenants.models import PooledSchema

            for name in schema_template.pooled_schema_names():
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(name)} CASCADE")
            PooledSchema.objects.all().delete()

    def onboard_one(prefix: str, case: str | None = None) -> float:
        slug = f"{prefix}-{next(counter):04d}"
        if case is not None:
            new_session()
            prepare_pool(case)
        new_session()
        t0 = time.perf_counter()
        services.tenant_onboard(name=f"Bench {slug}", slug=slug, admin_email=f"admin@{slug}.example.com")
        return time.perf_counter() - t0

    def fill_to(count: int) -> None:
        missing = count - tenant_count()
        if missing <= 0:
            return
        say(
            f"creating {missing} filler tenants with tenant_onboard (to {count} existing)"
            + ("; the pool is not refilled for them, so most clone on the spot" if has_pool else "")
        )
        progress = Progress("filler tenants", missing, every=max(10, missing // 10))
        for done in range(1, missing + 1):
            onboard_one("fill")
            progress.tick(done)
            upkeep.created(schema_count())

    def sample(label: str, count: int) -> dict[str, list[float]]:
        maintain("before timing")
        say(f"onboarding {count * len(cases)} tenants with tenant_onboard, {label}:")
        times: dict[str, list[float]] = {case: [] for case in cases}
        for i in range(1, count + 1):
            line = []
            for case in cases:
                times[case].append(onboard_one("sample", case))
                line.append(f"{case} {times[case][-1]:.3f} s")
                upkeep.created(schema_count())  # between samples, untimed, as autovacuum would
            say(f"  {i:3d}/{count}: " + ", ".join(line))
        for case in cases:
            t = times[case]
            say(
                f"  -> {case}: p50 {p50(t):.3f} s, p90 {p90(t):.3f} s, min {min(t):.3f} s, max {max(t):.3f} s"
                if has_pool
                else f"  -> p50 {p50(t):.3f} s, p90 {p90(t):.3f} s, min {min(t):.3f} s, max {max(t):.3f} s"
            )
        return times

    say()
    fill_to(args.existing_small)
    small_existing = tenant_count()
    small = sample(f"{small_existing} existing", args.samples)

    say()
    fill_to(args.existing_large)
    large_existing = tenant_count()
    large = sample(f"{large_existing} existing", args.samples)

    say()
    say(
        f"the default way (django-tenants' TenantMixin.create_schema: CREATE SCHEMA + migrate_schemas --tenant "
        f"--schema), {args.default_samples} tenants at {tenant_count()} existing:"
    )
    say(f"  (tenant_onboard itself, with only its {schema_step} swapped for that, so all else is the same)")

    def migrate_into(schema_name: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(schema_name)}")
        call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0)
        connection.set_schema_to_public()

    maintain("before timing")
    default = []
    with mock.patch.object(services, schema_step, migrate_into):
        for i in range(1, args.default_samples + 1):
            default.append(onboard_one("default"))
            say(f"  {i:3d}/{args.default_samples}: {default[-1]:.3f} s")
            upkeep.created(schema_count())
    say(f"  -> p50 {p50(default):.3f} s, p90 {p90(default):.3f} s, min {min(default):.3f} s, max {max(default):.3f} s")
    made = {
        kind: relation_count(Tenant.objects.filter(slug__startswith=prefix).latest("pk").schema_name)
        for kind, prefix in [("onboarded", "sample-"), ("migrated", "default-")]
    }
    made["template"] = relation_count(schema_template.template_schema_name())
    say(
        f"  check: relations in an onboarded schema {made['onboarded']}, a migrated one {made['migrated']}, "
        f"the template {made['template']}"
    )

    total = tenant_count()
    s10, s500 = small[READY], large[READY]
    ratio = p50(s500) / p50(s10)
    speedup = p50(default) / p50(s500)
    hasher = get_hasher()
    t0 = time.perf_counter()
    make_password("a-password-to-time-the-hasher")
    hash_seconds = time.perf_counter() - t0

    loads.append(_scratch.load_average())
    say()
    say(f"load average at the end: {loads[-1]}")
    say("summary" + (f" (headline: {READY})" if has_pool else ""))
    say(f"  p50 at {small_existing} existing:  {p50(s10):.3f} s   (p90 {p90(s10):.3f} s)")
    say(f"  p50 at {large_existing} existing: {p50(s500):.3f} s   (p90 {p90(s500):.3f} s)")
    say(f"  p50 the default way:   {p50(default):.3f} s   (p90 {p90(default):.3f} s)")
    say(f"  ratio p50({large_existing})/p50({small_existing}): {ratio:.2f}")
    say(f"  speedup p50(default)/p50({large_existing}): {speedup:.1f}x")
    if has_pool:
        e10, e500 = small[EMPTY], large[EMPTY]
        say(
            f"  {EMPTY} (clone on the spot): p50 {p50(e10):.3f} s at {small_existing}, {p50(e500):.3f} s at "
            f"{large_existing} (ratio {p50(e500) / p50(e10):.2f}); default way / {EMPTY} at {large_existing}: "
            f"{p50(default) / p50(e500):.1f}x"
        )
    say(
        f"  {verdict(p50(s500) <= TARGET_P50_AT_LARGE_S)}  p50 <= {TARGET_P50_AT_LARGE_S} s at "
        f"{large_existing} tenants" + ("" if large_existing >= 500 else " (smoke run: fewer than 500 tenants)")
    )
    say(f"  {verdict(ratio <= TARGET_RATIO)}  p50({large_existing})/p50({small_existing}) <= {TARGET_RATIO}")
    say(f"  {verdict(speedup >= TARGET_SPEEDUP)}  the default way >= {TARGET_SPEEDUP:.0f}x slower")
    say(
        f"  note: no admin password was given (as the staff API does by default). With one, onboarding also pays "
        f"for one hash with the configured hasher ({hasher.algorithm}"
        + (f", {hasher.iterations} iterations" if hasattr(hasher, "iterations") else "")
        + f"): {hash_seconds:.3f} s here."
    )
    say(f"  note: DEBUG={settings.DEBUG}; the default-way samples ran at the larger size, after the second samples.")
    say(
        "  note: "
        + (
            "all onboardings shared one database connection (--same-session)."
            if args.same_session
            else "each onboarding started on a new database connection (untimed)."
        )
    )
    say(
        f"  note: server autovacuum is {'on' if autovacuum else 'OFF'}; "
        + (
            "catalogs were not vacuumed (--no-vacuum)."
            if args.no_vacuum
            else f"the benchmark vacuumed and analyzed the catalogs (untimed, {upkeep.runs} times) before each "
            "timed phase and whenever the schema count had grown by 10%, as autovacuum would."
        )
    )
    result = {
        "benchmark": "onboarding",
        "code": version,
        "load_avg_start": loads[0],
        "load_avg_end": loads[-1],
        "p50_s_at_10": round(p50(s10), 4),
        "p90_s_at_10": round(p90(s10), 4),
        "p50_s_at_500": round(p50(s500), 4),
        "p90_s_at_500": round(p90(s500), 4),
        "p50_s_default": round(p50(default), 4),
        "p90_s_default": round(p90(default), 4),
        "ratio_p50_500_vs_10": round(ratio, 3),
        "speedup_default_vs_500": round(speedup, 2),
        "schema_pool": has_pool,
    }
    if has_pool:
        e10, e500 = small[EMPTY], large[EMPTY]
        result.update(
            {
                "pool_empty_p50_s_at_10": round(p50(e10), 4),
                "pool_empty_p90_s_at_10": round(p90(e10), 4),
                "pool_empty_p50_s_at_500": round(p50(e500), 4),
                "pool_empty_p90_s_at_500": round(p90(e500), 4),
                "pool_empty_ratio_p50_500_vs_10": round(p50(e500) / p50(e10), 3),
                "pool_empty_speedup_default_vs_500": round(p50(default) / p50(e500), 2),
                "pool_size": pool_size,
            }
        )
    result.update(
        {
            "existing_small": small_existing,
            "existing_large": large_existing,
            "samples": args.samples,
            "default_samples": args.default_samples,
            "tenants_total": total,
            "server_autovacuum": autovacuum,
            "catalog_vacuum": not args.no_vacuum,
            "same_session": args.same_session,
            "password_hash_s": round(hash_seconds, 4),
            "pass_p50_at_500": p50(s500) <= TARGET_P50_AT_LARGE_S,
            "pass_ratio": ratio <= TARGET_RATIO,
            "pass_speedup": speedup >= TARGET_SPEEDUP,
        }
    )
    return result


class _Discard:
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass


if __name__ == "__main__":
    main()
