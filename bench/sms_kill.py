"""SMS delivery under worker crashes: 10,000 messages, a worker process SIGKILLed three times mid-run.

    python bench/sms_kill.py [--messages 10000] [--workers 2] [--concurrency 3] [--kills 3]
                             [--kill-targets child,main,child]

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

Recovery is the platform's own, as deployed, with `celery beat` running beside the workers. Tasks are acked late
and rejected (requeued) when a pool process dies, so a killed pool process's task comes back at once, and its
item, left `dispatching`, is reconciled with Twilio once the attempt's lease is over. A killed main process's
tasks stay in Redis's unacked set until the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT, 180 s by
default), after which Redis hands them to another worker; behind that, beat's stalled-item sweep (every minute,
for items untouched for delivery.STALLED_AFTER) queues anything still without a task. So expect the run to end
a few minutes after a main-process kill.
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
    Rig,
    RigOptions,
    SandboxLog,
    add_rig_arguments,
    descendants,
    extra_settings_from,
    http_json,
    proc_text,
    say,
    settings_label,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rig_arguments(parser, workers=2, concurrency=3, pool="prefork")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--kill-at", default="0.2,0.45,0.7", help="fractions of arrivals at which to kill")
    parser.add_argument("--kill-targets", default="child,main,child", help="main or child, one per kill (cycled)")
    parser.add_argument(
        "--hold-ms",
        type=int,
        default=400,
        help="for a child kill, hold message creates at the sandbox this long first, so the kill lands mid-request "
        "(0: kill whenever)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="give up draining after this many seconds")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if args.pool != "prefork" and "child" in args.kill_targets:
        parser.error("child kills need --pool prefork")
    rng = random.Random(args.seed)
    extra = extra_settings_from(args)
    options = RigOptions(
        messages=args.messages,
        workers=args.workers,
        concurrency=args.concurrency,
        pool=args.pool,
        senders=args.senders,
        sender_rate=args.sender_rate,
        callbacks=args.callbacks,
        web_workers=args.web_workers,
        create=args.create,
        queue=args.queue,
        keep_logs=args.keep_logs,
        extra_settings=extra,
    )
    fractions = [float(f) for f in args.kill_at.split(",")]
    targets = args.kill_targets.split(",")
    plan = [(fractions[i % len(fractions)], targets[i % len(targets)]) for i in range(args.kills)]

    rig = Rig(options)
    try:
        rig.setup()
        workers = [rig.start_worker() for _ in range(options.workers)]
        rig.start_beat()
        rig.wait_workers_ready(workers)
        say(
            f"workers: {options.workers} x celery worker --pool {options.pool} --concurrency {options.concurrency}; "
            f"settings: {settings_label(options)}; celery beat running; kills planned: "
            + ", ".join(f"{t} at {f:.0%}" for f, t in plan)
        )
        log = SandboxLog(rig.sandbox_url)
        log.poll()

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
                detail = (
                    f"SIGKILL main process {worker.pid} of {worker.name} ({len(children)} pool processes went "
                    f"with it{', ' + str(len(lingering)) + ' killed by the bench' if lingering else ''}); "
                    f"started {replacement.name}"
                )
            else:
                if args.hold_ms:
                    # Hold message creates at the sandbox for a moment, so that the pool process is killed with its
                    # request sent: Twilio gets the message, the worker never hears back, the item stays dispatching.
                    http_json(
                        f"{rig.sandbox_url}/sandbox/faults",
                        {"delay_ms": args.hold_ms, "methods": ["POST"], "path_contains": "/Messages"},
                    )
                    time.sleep(args.hold_ms / 2000)
                # Prefer a pool process that is running a task (an idle one waits on its pipe from the main process).
                children = descendants(worker.pid)
                busy = [pid for pid in children if proc_text(pid, "wchan") != "anon_pipe_read"]
                victim = rng.choice(busy or children)
                os.kill(victim, signal.SIGKILL)
                if args.hold_ms:
                    http_json(f"{rig.sandbox_url}/sandbox/faults", {})
                detail = (
                    f"SIGKILL pool process {victim} of {worker.name} ({'running a task' if busy else 'idle'}); "
                    "its main process forks a replacement"
                )
            kills.append({"at_s": round(elapsed, 2), "arrived": log.distinct, "target": target, "detail": detail})
            say(f"  kill {len(kills)} at {elapsed:.1f} s ({log.distinct}/{options.messages} arrived): {detail}")

        started = rig.enqueue_all()
        say(f"queued {options.messages} in {rig.enqueued_at - started:.2f} s")
        deadline = started + args.timeout
        last_report = last_count = 0.0
        counts: dict[str, int] = {}
        active = options.messages
        drained = False
        while time.monotonic() < deadline:
            log.poll()
            while len(kills) < len(plan) and log.distinct >= plan[len(kills)][0] * options.messages:
                kill(plan[len(kills)][1], started)
            now = time.monotonic()
            if now - last_count >= 1.0 or log.distinct >= options.messages:
                counts = rig.db_counts()
                active = sum(counts.get(status, 0) for status in ACTIVE_STATUSES)
                last_count = now
            if log.distinct >= options.messages and not active and len(kills) == len(plan):
                drained = True
                break
            if now - last_report >= 5.0:
                say(
                    f"  {now - started:6.1f} s: {log.distinct}/{options.messages} at the sandbox, "
                    f"{active} pending or dispatching"
                )
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
        say()
        say(f"senders: {rig.senders_description()}")
        say(f"kills: {len(kills)}; recovery by the platform (acks late, visibility timeout, beat's sweep)")
        say(f"statuses at the end: {counts}; attempts per message: {attempts}; sid checks: {checks}")
        say(
            f"drained in {seconds:.1f} s (first enqueue -> every message at the sandbox and none pending or "
            f"dispatching){'' if drained else ' -- TIMED OUT'}; last arrival at {last_arrival - started:.1f} s; "
            f"{last_arrival - started - (kills[-1]['at_s'] if kills else 0):.1f} s after the last kill"
        )
        say(f"smallest gap between two sends of one sender: {spacing['min_gap_x_interval']} x 1/rate")
        ok = (
            duplicates == 0 and lost == 0 and drained and not checks["without_sid"] and not checks["sid_not_at_sandbox"]
        )
        say(f"duplicates: {duplicates}, lost: {lost}: {'PASS' if ok else 'FAIL'}")
        print(
            json.dumps(
                {
                    "duplicates": duplicates,
                    "lost": lost,
                    "kills": len(kills),
                    "messages": options.messages,
                    "seconds": round(seconds, 2),
                    "drained": drained,
                    "last_arrival_s": round(last_arrival - started, 2),
                    "kill_log": [{k: v for k, v in item.items() if k != "detail"} for item in kills],
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
                }
            ),
            flush=True,
        )
    finally:
        rig.teardown()


if __name__ == "__main__":
    main()
