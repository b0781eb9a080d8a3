"""SMS delivery throughput: 10,000 messages through real Celery workers to the Twilio sandbox.

    python bench/sms_throughput.py [--messages 10000] [--workers 2] [--concurrency 4] [--senders 400]
                                   [--pool threads|prefork|solo] [--callbacks sink|web] [--recommended-settings]

Sets up a scratch database, Redis database 13, the sandbox, one tenant with its sandbox subaccount and 400
long-code senders (the per-sender cap of 1 message/s is lifted by spreading over many senders, round robin: no
rate override), and creates the messages with sms_send (see bench/_sms_rig.py; setup is not timed). Then it
starts `celery -A config worker` processes (default: 2 processes with the threads pool, 4 threads each: the
fastest on 2 cores; production runs prefork), waits until they are ready, queues every message as a campaign
does, 50 to a task (tasks.queue_group; --queue single: one task each, as sms_send does) and measures from the first enqueue until the sandbox has received the last one:
messages/s. Worker CPU per message is the user+system CPU of the worker processes (main processes and pool
children) over the timed phase, divided by the number of messages. Duplicates (a message body marker seen
twice at the sandbox) and losses (a marker never seen) are counted once every message has settled, and each
Communication's twilio_sid is checked against what the sandbox received. It also reports when the sandbox had
sent (and the receiver answered) every status callback, the smallest gap between two sends of one sender, and
the CPU of the sandbox, the callback receiver and PostgreSQL per message. The last line is JSON.

Status callbacks (three per message) go by default to a cheap sink, not to the Django app: the figure is the
delivery pipeline's. --callbacks web sends them to the real app under gunicorn on the same cores instead.
The workers run with config/settings.py as it is; --recommended-settings adds the settings this benchmark
found missing (RECOMMENDED_SETTINGS in bench/_sms_rig.py), through a wrapper app `bench._sms_rig:worker_app`.
Target: >= 300 messages/s, 0 duplicates, 0 lost.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sms_rig import (  # noqa: E402
    BackendCpu,
    Rig,
    RigOptions,
    SandboxLog,
    add_rig_arguments,
    callback_summary,
    extra_settings_from,
    host_cpu_ticks,
    http_json,
    postgres_cpu_seconds,
    say,
    settings_label,
    tree_cpu_seconds,
    wait_for_arrivals,
    wait_settled,
)

TARGET_PER_S = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rig_arguments(parser, workers=2, concurrency=4, pool="threads")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up on arrivals after this many seconds")
    args = parser.parse_args()
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
        extra_settings=extra_settings_from(args),
    )
    rig = Rig(options)
    try:
        rig.setup()
        workers = [rig.start_worker() for _ in range(options.workers)]
        rig.wait_workers_ready(workers)
        say(
            f"workers: {options.workers} x celery -A {'bench._sms_rig:worker_app' if options.extra_settings else 'config'} "
            f"worker --pool {options.pool} --concurrency {options.concurrency}; settings: {settings_label(options)}"
        )
        log = SandboxLog(rig.sandbox_url)
        log.poll()

        if rig.sandbox is None or rig.receiver is None:
            raise SystemExit("the rig's setup did not start the sandbox and the callback receiver")
        sandbox_pid, receiver_pid = rig.sandbox.pid, rig.receiver.pid
        worker_pids = rig.live_worker_pids()
        cpu_before = tree_cpu_seconds(worker_pids)
        sandbox_before = tree_cpu_seconds([sandbox_pid])
        receiver_before = tree_cpu_seconds([receiver_pid])
        postgres_before = postgres_cpu_seconds()
        backends = BackendCpu()
        host_before = host_cpu_ticks()
        bench_before = time.process_time()
        started = rig.enqueue_all()
        say(
            f"queued {options.messages} in {rig.enqueued_at - started:.2f} s (this process, sharing the cores with the "
            f"workers: {rig.enqueue_cpu * 1000 / options.messages:.2f} ms CPU per message)"
        )
        complete = wait_for_arrivals(rig, log, timeout=args.timeout, started=started, backends=backends)
        finished = max(log.first_arrival_monotonic.values()) if log.first_arrival_monotonic else time.monotonic()
        cpu_after = tree_cpu_seconds(worker_pids)
        sandbox_after = tree_cpu_seconds([sandbox_pid])
        receiver_after = tree_cpu_seconds([receiver_pid])
        postgres_after = postgres_cpu_seconds()
        backends_ms = backends.seconds() * 1000 / options.messages
        host_after = host_cpu_ticks()
        bench_ms = (time.process_time() - bench_before) * 1000 / options.messages

        # The sandbox sends three status callbacks per message (sending, sent, delivered) from its own queue; when
        # the receiver is slower than the sends, they finish later. Wait for them too, and report that time.
        while not http_json(f"{rig.sandbox_url}/sandbox/idle?timeout=30", timeout=40)["idle"]:
            pass
        callbacks_done = time.monotonic()
        counts = wait_settled(rig, timeout=120.0)
        time.sleep(2.0)  # anything still in flight would show up now
        log.poll()
        checks = rig.db_check(log)
        spacing = log.sender_spacing(options.sender_rate or 1.0)
        callbacks = callback_summary(rig.sandbox_url)

        seconds = finished - started
        per_s = options.messages / seconds if complete else log.distinct / seconds
        cpu_ms = (cpu_after - cpu_before) * 1000 / options.messages
        sandbox_ms = (sandbox_after - sandbox_before) * 1000 / options.messages
        receiver_ms = (receiver_after - receiver_before) * 1000 / options.messages
        postgres_ms = (postgres_after - postgres_before) * 1000 / options.messages
        busy = (host_after[0] - host_before[0]) / max(1, host_after[1] - host_before[1]) * 100
        lost = options.messages - log.distinct
        duplicates = log.duplicates()
        callbacks_mode = (
            "sink: status callbacks go to a minimal asyncio HTTP responder (200, empty TwiML), not the Django app; "
            "their cost to the platform's web tier is NOT included"
            if options.callbacks == "sink"
            else f"web: status callbacks go to the real Django app (gunicorn config.wsgi, {options.web_workers} gthread "
            "workers x 4 threads) on the same 2 cores, signature-checked and applied to the Communications"
        )

        say()
        say(
            f"senders: {rig.senders_description()}; smallest gap between two sends of one sender "
            f"{spacing['min_gap_x_interval']} x 1/rate, {spacing['gaps_under_0_7']} gaps under 0.7 x 1/rate"
        )
        say(f"callbacks: {callbacks_mode}")
        say(
            f"           {callbacks['sent']} sent by the sandbox, {callbacks['ok']} answered 2xx, {callbacks['failed']} failed"
        )
        say(f"statuses after settling: {counts}; sid checks: {checks}")
        say(
            f"{options.messages} messages in {seconds:.2f} s (first enqueue -> last arrival at the sandbox); "
            f"their status callbacks all answered at {callbacks_done - started:.2f} s "
            f"({options.messages / (callbacks_done - started):.0f} messages/s with callbacks)"
        )
        say(
            f"throughput: {per_s:.0f} messages/s (target >= {TARGET_PER_S}): "
            f"{'PASS' if per_s >= TARGET_PER_S and complete else 'FAIL'}"
        )
        say(
            f"worker CPU: {cpu_ms:.2f} ms per message ({cpu_after - cpu_before:.1f} s over {len(worker_pids)} worker trees); "
            f"sandbox {sandbox_ms:.2f} ms, callback receiver {receiver_ms:.2f} ms, this process (enqueue, polling) "
            f"{bench_ms:.2f} ms per message"
        )
        say(
            f"PostgreSQL CPU: {backends_ms:.2f} ms per message in the backends serving the bench database (sampled; "
            f"misses short-lived connections), {postgres_ms:.2f} ms in the whole server (shared with anything else "
            f"running); machine {busy:.0f}% busy"
        )
        say(f"duplicates: {duplicates}, lost: {lost}: {'PASS' if duplicates == 0 and lost == 0 else 'FAIL'}")
        print(
            json.dumps(
                {
                    "messages_per_s": round(per_s, 1),
                    "cpu_ms_per_message": round(cpu_ms, 3),
                    "duplicates": duplicates,
                    "lost": lost,
                    "messages": options.messages,
                    "workers": options.workers,
                    "pool": options.pool,
                    "queue": options.queue,
                    "concurrency": options.concurrency,
                    "senders": options.senders,
                    "sender_rate": options.sender_rate or 1.0,
                    "callbacks_mode": options.callbacks,
                    "settings": "as-is" if not options.extra_settings else options.extra_settings,
                    "seconds": round(seconds, 3),
                    "seconds_incl_callbacks": round(callbacks_done - started, 3),
                    "messages_per_s_incl_callbacks": round(options.messages / (callbacks_done - started), 1),
                    "sandbox_cpu_ms_per_message": round(sandbox_ms, 3),
                    "callback_receiver_cpu_ms_per_message": round(receiver_ms, 3),
                    "bench_process_cpu_ms_per_message": round(bench_ms, 3),
                    "enqueue_seconds": round(rig.enqueued_at - started, 3),
                    "postgres_backends_cpu_ms_per_message": round(backends_ms, 3),
                    "postgres_server_cpu_ms_per_message": round(postgres_ms, 3),
                    "host_busy_pct": round(busy, 1),
                    "callbacks_ok": callbacks["ok"],
                    "callbacks_failed": callbacks["failed"],
                    "without_sid": checks["without_sid"],
                    "sid_not_at_sandbox": checks["sid_not_at_sandbox"],
                    "sender_min_gap_x_interval": spacing["min_gap_x_interval"],
                    "target_per_s": TARGET_PER_S,
                }
            ),
            flush=True,
        )
    finally:
        rig.teardown()


if __name__ == "__main__":
    main()
