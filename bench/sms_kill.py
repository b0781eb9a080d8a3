"""SMS delivery under worker crashes: 10,000 messages, a worker process SIGKILLed three times mid-run.

    python bench/sms_kill.py [--messages 10000] [--workers 2] [--concurrency 3] [--kills 3]
                             [--kill-targets child,main,child] [--recovery sweeper|visibility]

The rig of sms_throughput.py (bench/_sms_rig.py: scratch database, Redis database 13, the sandbox, one tenant,
many long-code senders, `celery -A config worker` processes with the prefork pool). While the messages drain,
at 20%, 45% and 70% of arrivals it sends SIGKILL to one worker process: `child` kills one pool process, one
that is running a task when there is one (the worker stays up and forks a replacement), `main` kills a worker's
main process (its pool processes exit after it; a new worker is started at once). Before a child kill the
sandbox holds message creates for --hold-ms (400 ms; its fault injection), so the kill lands while the pool
process waits for Twilio's answer to a request Twilio will act on: the hard case, an item left `dispatching`
whose message did go out, which the next attempt must find by reconciling with Twilio instead of resending. At the end every message must have reached the sandbox exactly once:
0 duplicates (a body marker seen twice), 0 lost (never seen), and every Communication must hold the sid of the
message Twilio got. It reports the time to drain (first enqueue until every message arrived and none is still
pending or dispatching) and what the recovery did. The last line is JSON.

Recovery. Tasks are acked late and rejected (requeued) when a pool process dies, so a killed pool process's task
comes back at once. A killed main process's tasks stay in Redis's unacked set until the broker's visibility
timeout (1 hour by default; config/settings.py sets no CELERY_BROKER_TRANSPORT_OPTIONS), and nothing in the
platform re-queues items left pending or dispatching. So the benchmark supplies the recovery:
  sweeper     (default) a stand-in for the periodic job the platform lacks: when the broker queue is empty and
              nothing has changed for --quiet seconds, re-queue (scheduling.queue_now) every Communication still
              pending, or dispatching past its attempt's lease. A second task for an item is harmless: the claim
              (FOR UPDATE SKIP LOCKED, status check, lease) lets one attempt through and reconciles a dispatching
              one with Twilio.
  visibility  the workers get CELERY_BROKER_TRANSPORT_OPTIONS with a short visibility timeout (--visibility-timeout,
              restored every 5 s) through bench/_sms_rig.py's settings wrapper: Redis redelivers the dead
              worker's unacked tasks. Only safe when the timeout is longer than any countdown a task is held for.
  none        nothing: shows what the platform does today (gives up after --give-up-after quiet seconds).
"""

import argparse
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sms_rig import (  # noqa: E402
    ACTIVE_STATUSES,
    REDIS_URL,
    Rig,
    RigOptions,
    SandboxLog,
    add_rig_arguments,
    descendants,
    extra_settings_from,
    http_json,
    say,
    settings_label,
)


def _wait_channel(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/wchan") as handle:
            return handle.read().strip()
    except OSError:
        return ""


class Sweeper:
    """The bench's stand-in for a stalled-delivery sweep: once the system has gone quiet (empty broker queue, no
    arrival and no status change for `quiet` seconds), re-queues the items left pending, and those left
    dispatching whose attempt's lease has run out."""

    def __init__(self, rig: Rig, quiet: float, every: float) -> None:
        import redis

        self.rig, self.quiet, self.every = rig, quiet, every
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.last_change = time.monotonic()
        self.last_state: tuple[int, int] | None = None
        self.requeued_at: dict[int, float] = {}
        self.requeued = 0
        self.sweeps = 0

    def tick(self, arrived: int, active: int) -> None:
        now = time.monotonic()
        if (arrived, active) != self.last_state:
            self.last_state, self.last_change = (arrived, active), now
            return
        if not active or now - self.last_change < self.quiet or self.redis.llen("celery"):
            return
        from django.db.models import Q
        from django.utils import timezone
        from django_tenants.utils import tenant_context

        from telephony import delivery, scheduling
        from telephony.models import Communication
        from telephony.statuses import Status

        with tenant_context(self.rig.tenant):
            # Pending items, and dispatching ones whose attempt's lease is over (within it, a task is still
            # waiting to reconcile, or the attempt is still running).
            lease_over = timezone.now() - delivery.ATTEMPT_LEASE
            stalled = list(
                Communication.objects.filter(
                    Q(status=Status.PENDING) | Q(status=Status.DISPATCHING, attempt_started_at__lt=lease_over)
                ).values_list("pk", flat=True)
            )
            due = [pk for pk in stalled if now - self.requeued_at.get(pk, -1e9) >= self.every]
            for pk in due:
                scheduling.queue_now(communication_id=pk)
                self.requeued_at[pk] = now
        if due:
            self.sweeps += 1
            self.requeued += len(due)
            say(f"  sweeper: queue quiet for {now - self.last_change:.0f} s, re-queued {len(due)} of {len(stalled)} "
                "pending/dispatching items")
        self.last_change = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rig_arguments(parser, workers=2, concurrency=3, pool="prefork")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kill-at", default="0.2,0.45,0.7", help="fractions of arrivals at which to kill")
    parser.add_argument("--kill-targets", default="child,main,child", help="main or child, one per kill (cycled)")
    parser.add_argument(
        "--hold-ms", type=int, default=400,
        help="for a child kill, hold message creates at the sandbox this long first, so the kill lands mid-request "
             "(0: kill whenever)",
    )
    parser.add_argument("--recovery", default="sweeper", choices=["sweeper", "visibility", "none"])
    parser.add_argument("--give-up-after", type=float, default=75.0,
                        help="with --recovery none: stop once nothing has changed for this many seconds")
    parser.add_argument("--quiet", type=float, default=5.0, help="sweeper: seconds without progress before it acts")
    parser.add_argument("--visibility-timeout", type=int, default=60, help="with --recovery visibility")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up draining after this many seconds")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if args.pool != "prefork" and "child" in args.kill_targets:
        parser.error("child kills need --pool prefork")
    rng = random.Random(args.seed)
    extra = extra_settings_from(args)
    if args.recovery == "visibility":
        extra["CELERY_BROKER_TRANSPORT_OPTIONS"] = {
            "visibility_timeout": args.visibility_timeout,
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        }
    options = RigOptions(
        messages=args.messages, workers=args.workers, concurrency=args.concurrency, pool=args.pool,
        senders=args.senders, sender_rate=args.sender_rate, callbacks=args.callbacks, web_workers=args.web_workers,
        create=args.create, keep_logs=args.keep_logs, extra_settings=extra,
    )
    fractions = [float(f) for f in args.kill_at.split(",")]
    targets = args.kill_targets.split(",")
    plan = [(fractions[i % len(fractions)], targets[i % len(targets)]) for i in range(args.kills)]

    rig = Rig(options)
    try:
        rig.setup()
        workers = [rig.start_worker() for _ in range(options.workers)]
        rig.wait_workers_ready(workers)
        say(f"workers: {options.workers} x celery worker --pool {options.pool} --concurrency {options.concurrency}; "
            f"settings: {settings_label(options)}; recovery: {args.recovery}; kills planned: " + ", ".join(f"{t} at {f:.0%}" for f, t in plan))
        log = SandboxLog(rig.sandbox_url)
        log.poll()
        sweeper = Sweeper(rig, quiet=args.quiet, every=max(args.quiet, 10.0)) if args.recovery == "sweeper" else None

        kills: list[dict] = []

        def kill(target: str, started: float) -> None:
            alive = [w for w in rig.workers if w.alive()]
            worker = alive[len(kills) % len(alive)]
            elapsed = time.monotonic() - started
            if target == "main":
                children = descendants(worker.pid)
                os.kill(worker.pid, signal.SIGKILL)
                worker.popen.wait()
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in children):
                    time.sleep(0.1)  # billiard's pool processes exit when their parent is gone
                lingering = [pid for pid in children if os.path.exists(f"/proc/{pid}")]
                for pid in lingering:  # only ever seen if billiard's parent-death check is slow
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                replacement = rig.start_worker()
                detail = (f"SIGKILL main process {worker.pid} of {worker.name} ({len(children)} pool processes went "
                          f"with it{', ' + str(len(lingering)) + ' killed by the bench' if lingering else ''}); "
                          f"started {replacement.name}")
            else:
                if args.hold_ms:
                    # Hold message creates at the sandbox for a moment, so that the pool process is killed with its
                    # request sent: Twilio gets the message, the worker never hears back, the item stays dispatching.
                    http_json(f"{rig.sandbox_url}/sandbox/faults",
                              {"delay_ms": args.hold_ms, "methods": ["POST"], "path_contains": "/Messages"})
                    time.sleep(args.hold_ms / 2000)
                # Prefer a pool process that is running a task (an idle one waits on its pipe from the main process).
                children = descendants(worker.pid)
                busy = [pid for pid in children if _wait_channel(pid) != "anon_pipe_read"]
                victim = rng.choice(busy or children)
                os.kill(victim, signal.SIGKILL)
                if args.hold_ms:
                    http_json(f"{rig.sandbox_url}/sandbox/faults", {})
                detail = (f"SIGKILL pool process {victim} of {worker.name} ({'running a task' if busy else 'idle'}); "
                          "its main process forks a replacement")
            kills.append({"at_s": round(elapsed, 2), "arrived": log.distinct, "target": target, "detail": detail})
            say(f"  kill {len(kills)} at {elapsed:.1f} s ({log.distinct}/{options.messages} arrived): {detail}")

        started = rig.enqueue_all()
        say(f"queued {options.messages} in {rig.enqueued_at - started:.2f} s")
        deadline = started + args.timeout
        last_report = last_count = 0.0
        counts: dict[str, int] = {}
        active = options.messages
        drained = False
        progress, last_progress = (0, active), time.monotonic()
        while time.monotonic() < deadline:
            log.poll()
            while len(kills) < len(plan) and log.distinct >= plan[len(kills)][0] * options.messages:
                kill(plan[len(kills)][1], started)
            now = time.monotonic()
            if now - last_count >= 1.0 or log.distinct >= options.messages:
                counts = rig.db_counts()
                active = sum(counts.get(status, 0) for status in ACTIVE_STATUSES)
                last_count = now
            if sweeper is not None:
                sweeper.tick(log.distinct, active)
            if (log.distinct, active) != progress:
                progress, last_progress = (log.distinct, active), now
            elif args.recovery == "none" and len(kills) == len(plan) and now - last_progress > args.give_up_after:
                say(f"  nothing has changed for {args.give_up_after:.0f} s: giving up (no recovery)")
                break
            if log.distinct >= options.messages and not active and len(kills) == len(plan):
                drained = True
                break
            if now - last_report >= 5.0:
                say(f"  {now - started:6.1f} s: {log.distinct}/{options.messages} at the sandbox, "
                    f"{active} pending or dispatching")
                last_report = now
            time.sleep(0.25)
        finished = time.monotonic()
        last_arrival = max(log.first_arrival_monotonic.values()) if log.first_arrival_monotonic else finished
        time.sleep(3.0)  # a late duplicate would show up now
        log.poll()
        counts = rig.db_counts()
        checks = rig.db_check(log)
        spacing = log.sender_spacing(options.sender_rate or 1.0)
        attempts = rig.attempt_counts()

        duplicates = log.duplicates()
        lost = options.messages - log.distinct
        seconds = finished - started
        recovery = {
            "sweeper": f"sweeper: re-queued {sweeper.requeued if sweeper else 0} items in {sweeper.sweeps if sweeper else 0} sweeps",
            "visibility": f"visibility: CELERY_BROKER_TRANSPORT_OPTIONS visibility_timeout={args.visibility_timeout} s "
                          "(restore every 5 s) given to the workers",
            "none": "none: the platform as it is (Redis visibility timeout 1 hour, no sweep)",
        }[args.recovery]
        say()
        say(f"senders: {rig.senders_description()}")
        say(f"kills: {len(kills)}; recovery: {recovery}")
        say(f"statuses at the end: {counts}; attempts per message: {attempts}; sid checks: {checks}")
        say(f"drained in {seconds:.1f} s (first enqueue -> every message at the sandbox and none pending or "
            f"dispatching){'' if drained else ' -- TIMED OUT'}; last arrival at {last_arrival - started:.1f} s; "
            f"{last_arrival - started - (kills[-1]['at_s'] if kills else 0):.1f} s after the last kill")
        say(f"smallest gap between two sends of one sender: {spacing['min_gap_x_interval']} x 1/rate")
        ok = duplicates == 0 and lost == 0 and drained and not checks["without_sid"] and not checks["sid_not_at_sandbox"]
        say(f"duplicates: {duplicates}, lost: {lost}: {'PASS' if ok else 'FAIL'}")
        print(json.dumps({
            "duplicates": duplicates,
            "lost": lost,
            "kills": len(kills),
            "messages": options.messages,
            "seconds": round(seconds, 2),
            "drained": drained,
            "last_arrival_s": round(last_arrival - started, 2),
            "kill_log": [{k: v for k, v in item.items() if k != "detail"} for item in kills],
            "recovery": args.recovery,
            "requeued_by_sweeper": sweeper.requeued if sweeper is not None else None,
            "stuck": sum(counts.get(status, 0) for status in ACTIVE_STATUSES),
            "reattempted": sum(n for a, n in attempts.items() if a > 1),
            "without_sid": checks["without_sid"],
            "sid_not_at_sandbox": checks["sid_not_at_sandbox"],
            "workers": options.workers,
            "pool": options.pool,
            "concurrency": options.concurrency,
            "senders": options.senders,
            "callbacks_mode": options.callbacks,
            "settings": "as-is" if not options.extra_settings else options.extra_settings,
        }), flush=True)
    finally:
        rig.teardown()


if __name__ == "__main__":
    main()
