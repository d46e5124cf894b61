"""The API's mixed traffic against gunicorn on PostgreSQL + Redis, then the same on two of every process.

    python bench/mixed_load.py [--users 100000] [--callers 5000] [--connections 24] [--rate 200]
                               [--capacity-seconds 15] [--seconds 30] [--no-scale-out] [--json FILE]

Seeds a throwaway database (ds_bench_mixed, BENCH_DB) with `--users` ranked members (half linked to
Discord), API tokens for `--callers` of them and 20 moderators, 10 score-webhook service keys, and
pending credit requests for the moderators to approve. Everything runs with the default settings
(throttles 120/min per user and 300/min per IP included: the callers are many, as in production,
and each request comes from a random client address in X-Forwarded-For, API_NUM_PROXIES=1) and
gunicorn as the Dockerfile starts it (3 sync workers).

The mix (bench/mixed_load.lua, one random request at a time per connection): leaderboard page, the
bare view of bench/leaderboard_bench_urls.py (same JSON from memory, the floor of Django + gunicorn),
/api/me, a member's rank history, balance, new credit requests, moderators' approvals of pending
requests (several moderators race for the same ones), and signed score-webhook batches of 10 events.
Each configuration runs twice: closed-loop (`--capacity-seconds`, the most it serves) and at a steady
~`--rate` requests/s (random think times), whose latencies are the ones to compare with the targets.

Scale-out (unless --no-scale-out): 2 gunicorn instances (wrk loads each with half the connections),
2 Celery workers, 2 bot shard processes (`runbot --shards 2 --shard-ids N`) and the fake Discord in a
process of its own (bench/fake_discord_process.py) pushing slash commands to the shards. Checks after
each run: verify_ledger clean, no credit request granted twice, no 5xx; after the scale-out run
also the Discord side: every approval's DM sent once, and the bot token's requests per wall-clock
second at the fake never above Discord's global 50/s although the two workers and two shards share it.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("BENCH_DB", "ds_bench_mixed")

import leaderboard_common as common  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
PORTS = (8652, 8653)
REDIS_URL = os.environ["REDIS_URL"]
# Production's processes share one Redis for the cache, the locks, the governor and the broker.
os.environ.update(
    {
        "CELERY_BROKER_URL": REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
)
EXPECTED = {
    "leaderboard": {200},
    "bare_view": {200},
    "me": {200},
    "history": {200},
    "balance": {200},
    # 400: the member already has a pending request (CREDITS_MAX_PENDING) or reached the daily cap.
    "credit_request": {201, 400},
    # 409: another moderator decided it first.
    "approve": {200, 409},
    "score_events": {200},
}
TARGETS = {"leaderboard": 200.0}
MODERATORS = 20
SERVICE_KEYS = 10


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


class Processes:
    """Started subprocesses, each in its own session, stopped together (SIGTERM, then SIGKILL)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict, **kwargs) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("w")
        process = subprocess.Popen(
            command,
            env=env,
            cwd=common.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
        self.running.append((name, process))
        return process

    def stop_all(self) -> None:
        for _, process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in self.running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.clear()

    def check_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                log = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"{name} exited with {process.returncode}:\n{log}")


def web_env(prometheus_dir: Path, discord: dict | None) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leaderboard_bench_settings",
        "PROMETHEUS_MULTIPROC_DIR": str(prometheus_dir),
    }
    if discord:
        env.update(discord)
    return env


def start_gunicorn(processes: Processes, port: int, env: dict) -> None:
    processes.start(
        f"gunicorn-{port}",
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "dealscale.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--pythonpath",
            f"{BENCH_DIR},{common.ROOT}",
            "--forwarded-allow-ips",
            "*",
        ],
        env,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except OSError:
            processes.check_alive()
            time.sleep(0.2)
    raise SystemExit(f"gunicorn on port {port} did not start")


# --- seeding -----------------------------------------------------------------------------------


def seed(*, users: int, callers: int, data_dir: Path) -> dict:
    from django.contrib.auth.models import Permission
    from django.db import connection
    from waffle.models import Flag

    from accounts.models import APIToken, User
    from leaderboard import services

    common.seed(users)
    services.recalculate_leaderboard(force=True)
    Flag.objects.update_or_create(name="discord_integration", defaults={"everyone": True})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.id, s.uid FROM accounts_user u JOIN socialaccount_socialaccount s ON s.user_id = u.id "
            "ORDER BY u.id"
        )
        linked = cursor.fetchall()
    rng = random.Random(13)
    rng.shuffle(linked)
    member_ids = [user_id for user_id, _ in linked[:callers]]
    moderators = [
        User.objects.create(username=f"bench-moderator-{n}", is_staff=True, password="!")
        for n in range(MODERATORS)
    ]
    permission = Permission.objects.get(codename="moderate_creditrequest")
    for moderator in moderators:
        moderator.user_permissions.add(permission)

    def tokens_for(user_ids: list[int]) -> list[str]:
        keys = [APIToken.generate_key() for _ in user_ids]
        APIToken.objects.bulk_create(
            [
                APIToken(user_id=user_id, name="bench", prefix=key[:12], key_hash=APIToken.hash_key(key))
                for user_id, key in zip(user_ids, keys, strict=True)
            ],
            batch_size=2000,
        )
        return keys

    (data_dir / "member_tokens.txt").write_text("\n".join(tokens_for(member_ids)) + "\n")
    (data_dir / "moderator_tokens.txt").write_text("\n".join(tokens_for([m.pk for m in moderators])) + "\n")
    (data_dir / "user_ids.txt").write_text("\n".join(str(user_id) for user_id, _ in linked[:20000]) + "\n")
    (data_dir / "discord_ids.txt").write_text("\n".join(uid for _, uid in linked[: callers + 20000]) + "\n")
    return {"linked": linked, "callers": member_ids}


def add_pending_requests(
    *, linked: list[tuple[int, str]], start: int, count: int, data_dir: Path
) -> list[int]:
    """`count` pending requests of members who make no API calls themselves, for the moderators to approve."""
    from credits.models import CreditRequest

    requests = CreditRequest.objects.bulk_create(
        [
            CreditRequest(user_id=user_id, amount=100, reason="Hosted a bench load session", source="api")
            for user_id, _ in linked[start : start + count]
        ],
        batch_size=2000,
    )
    ids = [request.pk for request in requests]
    (data_dir / "pending_ids.txt").write_text("\n".join(map(str, ids)) + "\n")
    return ids


def write_webhooks(*, data_dir: Path, user_ids: list[int], batches: int, keys: list[tuple[str, str]]) -> None:
    """Signed score-webhook batches of 10 events each, signed now (a signature is good for 5 minutes)."""
    from django.utils import timezone

    from leaderboard.signing import sign

    run_id = int(time.time() * 1000)
    occurred_at = timezone.now().isoformat()
    rng = random.Random(run_id)
    lines = []
    for batch in range(batches):
        events = [
            {
                "external_id": f"bench-{run_id}-{batch}-{n}",
                "user_id": rng.choice(user_ids),
                "points": rng.randint(1, 50),
                "kind": "deal_closed",
                "occurred_at": occurred_at,
            }
            for n in range(10)
        ]
        body = json.dumps({"events": events}, separators=(",", ":"))
        key, secret = keys[batch % len(keys)]
        lines.append(f"{key}\t{sign(secret=secret, body=body.encode())}\t{body}")
    (data_dir / "webhooks.txt").write_text("\n".join(lines) + "\n")


# --- load --------------------------------------------------------------------------------------


def wrk(port: int, *, connections: int, seconds: int, data_dir: Path, out: Path, mean_delay_ms: float | None):
    env = {**os.environ, "BENCH_DATA_DIR": str(data_dir), "BENCH_OUT": str(out)}
    if mean_delay_ms is not None:
        env["BENCH_MEAN_DELAY_MS"] = f"{mean_delay_ms:.2f}"
    return subprocess.Popen(
        [
            "wrk",
            f"-t{connections}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH_DIR / "mixed_load.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def load(
    ports, *, connections: int, seconds: int, data_dir: Path, mean_delay_ms: float | None = None
) -> dict:
    """Run the mix against every port at once (the connections split between them); figures per endpoint."""
    sample_dir = Path(tempfile.mkdtemp(prefix="samples-", dir=data_dir))
    per_port = max(1, connections // len(ports))
    started = [
        wrk(
            port,
            connections=per_port,
            seconds=seconds,
            data_dir=data_dir,
            out=sample_dir / f"port{port}",
            mean_delay_ms=mean_delay_ms,
        )
        for port in ports
    ]
    socket_errors = timeouts = 0
    durations = []
    for process in started:
        stdout, stderr = process.communicate(timeout=seconds + 60)
        if process.returncode != 0 or "RESULT" not in stdout:
            raise SystemExit(f"wrk failed ({process.returncode}):\n{stdout}\n{stderr}")
        fields = dict(item.split("=") for item in stdout.split("RESULT ")[1].split())
        socket_errors += int(fields["socket_errors"])
        timeouts += int(fields["timeouts"])
        durations.append(float(fields["seconds"]))
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter] = defaultdict(Counter)
    for path in sample_dir.iterdir():
        for line in path.read_text().splitlines():
            endpoint, status, micros = line.split()
            latencies[endpoint].append(float(micros) / 1000)
            statuses[endpoint][int(status)] += 1
    shutil.rmtree(sample_dir)
    seconds_run = max(durations)
    endpoints = {}
    for endpoint in EXPECTED:
        samples = sorted(latencies.get(endpoint, []))
        if not samples:
            continue
        counted = statuses[endpoint]
        endpoints[endpoint] = {
            "requests": len(samples),
            "rps": len(samples) / seconds_run,
            "p50": percentile(samples, 0.50),
            "p95": percentile(samples, 0.95),
            "p99": percentile(samples, 0.99),
            "errors": sum(n for status, n in counted.items() if status not in EXPECTED[endpoint]),
            "server_errors": sum(n for status, n in counted.items() if status >= 500),
            "statuses": dict(sorted(counted.items())),
        }
    total = sum(e["requests"] for e in endpoints.values())
    return {
        "endpoints": endpoints,
        "rps": total / seconds_run,
        "socket_errors": socket_errors,
        "timeouts": timeouts,
        "seconds": seconds_run,
        "connections": per_port * len(ports),
    }


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def steady(ports, *, rate: int, connections: int, seconds: int, data_dir: Path, capacity: float) -> dict:
    """The mix at about `rate` requests/s: a think time per connection sized from the capacity run's latency."""
    rate = min(rate, int(capacity * 0.8))
    # A connection's cycle is its think time plus its response time (about connections / capacity at full
    # speed, much less when the server is not saturated): a quarter of that is a fair first guess.
    response_ms = connections * 1000 / capacity / 4
    think = max(connections * 1000 / rate - response_ms, 1.0)
    result = load(ports, connections=connections, seconds=seconds, data_dir=data_dir, mean_delay_ms=think)
    result["target_rate"] = rate
    return result


# --- checks ------------------------------------------------------------------------------------


def approved_count() -> int:
    from credits.models import CreditRequest

    return CreditRequest.objects.filter(status="approved").count()


def correctness(result: dict, *, approved_before: int) -> dict:
    from io import StringIO

    from django.core.management import CommandError, call_command
    from django.db import connection

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_ledger", stdout=out, stderr=err)
        ledger = out.getvalue().strip()
    except CommandError as error:
        ledger = f"FAILED: {error} {err.getvalue().strip()[:500]}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT request_id FROM credits_ledgerentry WHERE kind = 'grant' "
            "AND request_id IS NOT NULL GROUP BY request_id HAVING count(*) > 1) doubled"
        )
        doubled = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM credits_ledgerentry WHERE kind = 'grant' AND request_id IS NOT NULL"
        )
        grants = cursor.fetchone()[0]
    server_errors = sum(e["server_errors"] for e in result["endpoints"].values())
    return {
        "verify_ledger": ledger,
        "ledger_ok": ledger.startswith("Ledger OK"),
        "requests_granted_twice": doubled,
        "approved_in_run": approved_count() - approved_before,
        "grants": grants,
        "server_errors": server_errors,
    }


# --- the two configurations ----------------------------------------------------------------------


def single(args, data_dir: Path, log_dir: Path, keys, seeded) -> dict:
    approved_before = approved_count()
    processes = Processes(log_dir)
    prometheus = Path(tempfile.mkdtemp(prefix="prometheus-", dir=data_dir))
    try:
        start_gunicorn(processes, PORTS[0], web_env(prometheus, None))
        warm_up([PORTS[0]], data_dir)
        write_webhooks(data_dir=data_dir, user_ids=seeded["callers"], batches=3000, keys=keys)
        capacity = load(
            [PORTS[0]], connections=args.connections, seconds=args.capacity_seconds, data_dir=data_dir
        )
        loads = machine_load()
        paced = steady(
            [PORTS[0]],
            rate=args.rate,
            connections=args.connections,
            seconds=args.seconds,
            data_dir=data_dir,
            capacity=capacity["rps"],
        )
        loads = max(loads, machine_load())
        processes.check_alive()
    finally:
        processes.stop_all()
    checks = correctness(paced, approved_before=approved_before)
    checks["server_errors"] += sum(e["server_errors"] for e in capacity["endpoints"].values())
    # No worker in this configuration: the side effects it wrote down are dropped, not left to the next one.
    from dealscale.models import OutboxEntry
    from dealscale.redis_client import get_redis

    checks["side_effects_left_undelivered"] = OutboxEntry.objects.exclude(status="delivered").delete()[0]
    get_redis().delete("celery")
    return {"capacity": capacity, "steady": paced, "checks": checks, "load_average": loads}


def scale_out(args, data_dir: Path, log_dir: Path, keys, seeded, pending_ids: list[int]) -> dict:
    approved_before = approved_count()
    processes = Processes(log_dir)
    prometheus = Path(tempfile.mkdtemp(prefix="prometheus-", dir=data_dir))
    fake = subprocess.Popen(
        [
            sys.executable,
            str(BENCH_DIR / "fake_discord_process.py"),
            "--users-file",
            str(data_dir / "discord_ids.txt"),
            "--global-limit",
            str(args.discord_global_limit),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(log_dir / "fake-discord.log").open("w"),
        text=True,
        start_new_session=True,
    )

    def ask(command: dict) -> dict:
        fake.stdin.write(json.dumps(command) + "\n")
        fake.stdin.flush()
        return json.loads(fake.stdout.readline())

    try:
        hello = json.loads(fake.stdout.readline())
        from cryptography.fernet import Fernet

        from discord_sandbox import APPLICATION_ID, BOT_TOKEN, CLIENT_SECRET, GUILD_ID

        discord = {
            "DISCORD_API_BASE_URL": hello["base_url"],
            "DISCORD_BOT_TOKEN": BOT_TOKEN,
            "DISCORD_CLIENT_ID": APPLICATION_ID,
            "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
            "DISCORD_GUILD_ID": GUILD_ID,
            "DISCORD_MOD_CHANNEL_ID": hello["moderation_channel_id"],
            "DISCORD_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            # The governor's idea of the limit and the fake's are the same number, as in production.
            "DISCORD_GLOBAL_RATE_LIMIT": str(args.discord_global_limit),
        }
        env = web_env(prometheus, discord)
        for port in PORTS:
            start_gunicorn(processes, port, env)
        # The bench settings (sandbox check silenced) for every process; gunicorn finds them by --pythonpath.
        worker_env = {**env, "PYTHONPATH": f"{BENCH_DIR}:{common.ROOT}"}
        for n in (1, 2):
            processes.start(
                f"celery-{n}",
                [
                    str(Path(sys.executable).with_name("celery")),
                    "-A",
                    "dealscale",
                    "worker",
                    "--loglevel",
                    "WARNING",
                    "--concurrency",
                    "4",
                    "--pool",
                    "threads",
                    "-n",
                    f"bench{n}@%h",
                ],
                worker_env,
            )
        # Beat runs the outbox relay (and the leaderboard's recalculation), as in production.
        processes.start(
            "celery-beat",
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "dealscale",
                "beat",
                "--loglevel",
                "WARNING",
            ],
            worker_env,
        )
        for shard in (0, 1):
            processes.start(
                f"bot-shard-{shard}",
                [sys.executable, "manage.py", "runbot", "--shards", "2", "--shard-ids", str(shard)],
                worker_env,
            )
        ready = ask({"cmd": "wait_shards", "count": 2, "timeout": 90})
        if not ready["ok"]:
            processes.check_alive()
            raise SystemExit(f"the bot shards did not connect: {ready}")
        warm_up(PORTS, data_dir)
        write_webhooks(data_dir=data_dir, user_ids=seeded["callers"], batches=3000, keys=keys)
        capacity = load(PORTS, connections=args.connections, seconds=args.capacity_seconds, data_dir=data_dir)
        loads = machine_load()
        # Demand well over Discord's global limit: the pending requests, seeded in bulk, are posted to the
        # moderators' channel now (as their creation would have), while the approvals and commands go on.
        from dealscale.celery import app

        for request_id in pending_ids:
            app.send_task("discordbot.tasks.post_credit_request_to_moderators", args=[request_id])
        ask(
            {
                "cmd": "interactions",
                "rate": args.bot_rate,
                "seconds": args.seconds,
                "names": ["credits", "leaderboard", "rank"],
            }
        )
        paced = steady(
            PORTS,
            rate=args.rate,
            connections=args.connections,
            seconds=args.seconds,
            data_dir=data_dir,
            capacity=capacity["rps"],
        )
        loads = max(loads, machine_load())
        drained = drain_queue(timeout=60)
        processes.check_alive()
        discord_stats = ask({"cmd": "stats"})
    finally:
        processes.stop_all()
        if fake.poll() is None:
            try:
                fake.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
                fake.stdin.flush()
                fake.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(fake.pid, signal.SIGKILL)
    checks = correctness(paced, approved_before=approved_before)
    checks["server_errors"] += sum(e["server_errors"] for e in capacity["endpoints"].values())
    checks["queue_drained_seconds"] = drained
    checks["moderation_posts_queued"] = len(pending_ids)
    from django.db.models import Count

    from dealscale.models import OutboxEntry

    checks["outbox"] = dict(OutboxEntry.objects.values_list("status").annotate(n=Count("id")).order_by())
    checks["discord"] = discord_summary(
        discord_stats, approved=checks["approved_in_run"], seconds=args.seconds
    )
    return {"capacity": capacity, "steady": paced, "checks": checks, "load_average": loads}


def discord_summary(stats: dict, *, approved: int, seconds: int) -> dict:
    per_second = [count for _, count in stats["counted_per_second"]]
    interactions = stats["interactions"]
    latencies = sorted(s * 1000 for s in interactions["latencies"])
    routes = stats["routes"]
    dms = sum(n for key, n in routes.items() if key.startswith("POST /users/@me/channels "))
    sent = sum(n for key, n in routes.items() if key.startswith("POST /channels/{channel_id}/messages 200"))
    return {
        "global_limit": stats["global_limit"],
        "busiest_second": max(per_second, default=0),
        "seconds_over_limit": sum(1 for count in per_second if count > stats["global_limit"]),
        "counted_requests": sum(per_second),
        "active_seconds": len(per_second),
        "global_429s": stats["global_429s"],
        "dm_channels_opened": dms,
        "messages_sent": sent,
        "approved": approved,
        "routes": routes,
        "bot": {
            "pushed": interactions["pushed"],
            "answered_by_shard": interactions["answered_by_shard"],
            "unanswered": interactions["unanswered"],
            "refused_callbacks": interactions["refused_callbacks"],
            "p50": percentile(latencies, 0.5) if latencies else None,
            "p95": percentile(latencies, 0.95) if latencies else None,
            "p99": percentile(latencies, 0.99) if latencies else None,
            "rps": len(latencies) / seconds,
            "acknowledged_p95": percentile(sorted(s * 1000 for s in interactions["acknowledged"]), 0.95)
            if interactions["acknowledged"]
            else None,
        },
    }


def drain_queue(*, timeout: float, quiet_seconds: float = 5.0) -> float | None:
    """Seconds until the workers delivered every outbox entry, or None when they did not within `timeout`.

    Nothing due for `quiet_seconds` in a row: an entry being retried comes back, so one look is not the end.
    """
    from dealscale.models import OutboxEntry

    started = time.monotonic()
    empty_since = None
    while time.monotonic() - started < timeout:
        # The outbox, not the broker's queue: beat keeps queueing its periodic tasks, and every side effect
        # is an outbox entry first.
        if not OutboxEntry.objects.filter(status__in=["pending", "delivering"]).exists():
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= quiet_seconds:
                return empty_since - started
        else:
            empty_since = None
        time.sleep(0.5)
    return None


def warm_up(ports, data_dir: Path) -> None:
    token = (data_dir / "member_tokens.txt").read_text().split()[0]
    for port in ports:
        for _ in range(30):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/leaderboard?limit=10")
            request.add_header("Authorization", f"Bearer {token}")
            urllib.request.urlopen(request, timeout=10).read()


def machine_load() -> float:
    return os.getloadavg()[0]


# --- report ------------------------------------------------------------------------------------


def print_run(title: str, result: dict) -> None:
    print(f"\n== {title}")
    for phase in ("capacity", "steady"):
        r = result[phase]
        label = "closed loop" if phase == "capacity" else f"steady ~{r['target_rate']} req/s"
        print(
            f"-- {label}: {r['rps']:.0f} req/s over {r['seconds']:.0f} s, {r['connections']} connections, "
            f"socket errors {r['socket_errors']}, timeouts {r['timeouts']}"
        )
        print(f"{'endpoint':<16}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}  statuses")
        for name, e in r["endpoints"].items():
            print(
                f"{name:<16}{e['rps']:>8.1f}{e['p50']:>9.1f}{e['p95']:>9.1f}{e['p99']:>9.1f}{e['errors']:>8}  "
                f"{e['statuses']}"
            )
    checks = {k: v for k, v in result["checks"].items() if k != "discord"}
    print(f"checks: {checks}")
    if "discord" in result["checks"]:
        d = {k: v for k, v in result["checks"]["discord"].items() if k != "routes"}
        print(f"discord: {d}")
    print(f"load average (1 min) during the run: {result['load_average']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--callers", type=int, default=5000, help="members calling the API with their own token"
    )
    parser.add_argument("--connections", type=int, default=24)
    parser.add_argument(
        "--rate", type=int, default=200, help="requests/s of the steady runs (at most 80 %% of capacity)"
    )
    parser.add_argument("--capacity-seconds", type=int, default=15)
    parser.add_argument("--seconds", type=int, default=30, help="seconds of the steady runs")
    parser.add_argument("--bot-rate", type=float, default=5, help="slash commands/s pushed to the shards")
    parser.add_argument(
        "--pending", type=int, default=1500, help="pending requests to approve per configuration"
    )
    parser.add_argument("--no-scale-out", action="store_true")
    parser.add_argument("--no-single", action="store_true", help="only the scale-out configuration")
    parser.add_argument(
        "--discord-global-limit",
        type=int,
        default=50,
        help="Discord's global limit at the fake and in the governor (lower it to make it bind on a slow machine)",
    )
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install -y wrk")

    data_dir = Path(tempfile.mkdtemp(prefix="mixed-load-"))
    log_dir = data_dir / "logs"
    log_dir.mkdir()
    common.create_database()
    results = {"users": args.users, "callers": args.callers, "nproc": os.cpu_count()}
    try:
        common.setup_django()
        from dealscale.redis_client import get_redis
        from leaderboard.services import create_service_key

        get_redis().flushdb()
        started = time.monotonic()
        seeded = seed(users=args.users, callers=args.callers, data_dir=data_dir)
        keys = [create_service_key(name=f"bench-{n}")[1:] for n in range(SERVICE_KEYS)]
        offset = args.callers
        add_pending_requests(linked=seeded["linked"], start=offset, count=args.pending, data_dir=data_dir)
        with __import__("psycopg").connect(f"{common.PG}/{common.BENCH_DB}", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(
            f"seeded {args.users:,} members in {time.monotonic() - started:.0f} s; logs in {log_dir}",
            flush=True,
        )

        if not args.no_single:
            results["single"] = single(args, data_dir, log_dir, keys, seeded)
            print_run("1 gunicorn (3 sync workers), PostgreSQL + Redis", results["single"])
        if not args.no_scale_out:
            pending_ids = add_pending_requests(
                linked=seeded["linked"], start=offset + args.pending, count=args.pending, data_dir=data_dir
            )
            results["scale_out"] = scale_out(args, data_dir, log_dir, keys, seeded, pending_ids)
            print_run(
                "2 gunicorn x 3 workers, 2 Celery workers, 2 bot shards, one PostgreSQL + Redis",
                results["scale_out"],
            )
        results["load_average_end"] = os.getloadavg()
    finally:
        common.drop_database()
        redis = __import__("redis").Redis.from_url(REDIS_URL)
        redis.flushdb()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
