"""`make bench`: every benchmark of bench/, then the mixed load, and ONE table of the figures beside the targets.

    python bench/run_all.py [--quick] [--only NAME ...] [--json FILE]

Each benchmark runs as its own process with a time limit (TIME_LIMIT seconds; the whole run stays
under 20 minutes), its output printed as it comes. The benchmarks that migrate the database they are
given get a scratch database of their own (ds_bench_run, dropped at the end; BENCH_PG names the
server) and the Redis database of BENCH_REDIS_URL (default redis://127.0.0.1:6379/2, emptied by the
mixed load). The closing table takes each figure from the output of the script that measured it:
the mixed load's endpoints (1 gunicorn, then the scale-out), its bare Django view, the OAuth
callback, the bot commands (handlers in process, and end to end through the gateway of the
scale-out run), with the seed's targets: leaderboard < 200 ms p95, OAuth callback < 1 s p95, bot
commands < 2 s p95. `--quick` shrinks every size to check the harness in a minute or two.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
RUN_DB = "ds_bench_run"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
TIME_LIMIT = 120
MIXED_TIME_LIMIT = 480
TARGETS_MS = {"leaderboard": 200, "oauth": 1000, "bot": 2000}
LATENCY_LINE = re.compile(
    r"^(?P<name>.+?)\s+n=(?P<n>\d+)\s+p50=\s*(?P<p50>[\d.]+) ms\s+p95=\s*(?P<p95>[\d.]+) ms"
)
BOT_LINE = re.compile(
    r"^(?P<name>/\S+(?: \d+)?)\s+runs=\s*(?P<n>\d+)\s+p50=\s*(?P<p50>[\d.]+) ms\s+p95=\s*(?P<p95>[\d.]+) ms"
)


def benchmarks(quick: bool) -> list[tuple[str, list[str], dict]]:
    """(name, arguments, extra environment) of every benchmark but the mixed load, in run order."""
    scratch = {"DATABASE_URL": f"{PG}/{RUN_DB}", "REDIS_URL": REDIS_URL}
    users = "20000" if quick else "100000"
    return [
        ("leaderboard_recalc", ["--users", users, "--runs", "1" if quick else "3"], {}),
        ("leaderboard_api", ["--users", users, "--duration", "3" if quick else "4"], {}),
        ("oauth_callback", ["--rounds", "20" if quick else "200"], scratch),
        ("bot_handlers", ["--members", users, "--runs", "30" if quick else "300", "--no-cleanup"], scratch),
        (
            "credits_ledger",
            # Sizes that keep it under its 2 minutes on the shared 2 cores (its own defaults run longer).
            ["--rounds", "2", "--per-thread", "20", "--accounts", "2000"]
            if quick
            else ["--rounds", "5", "--per-thread", "60", "--accounts", "10000"],
            scratch,
        ),
        ("discord_governor", ["--requests", "300" if quick else "3000"], scratch),
        # Its planning figure seeds members through the ORM: 50 000 fit in the 2 minutes, 100 000 do not here.
        (
            "role_sync",
            ["--members", "1000", "--plan-members", "10000"] if quick else ["--plan-members", "50000"],
            scratch,
        ),
        # 100 000 members took 114 s here (set-up 76 s), too close to the 2 minutes; 50 000 took 48 s.
        (
            "role_connections",
            ["--members", "5000" if quick else "50000"],
            scratch,
        ),
        (
            "ops_dashboard",
            ["--commands", "20000" if quick else "100000", "--rounds", "2" if quick else "5"],
            scratch,
        ),
    ]


def run_benchmark(name: str, arguments: list[str], env: dict, *, limit: float) -> tuple[str, str]:
    """Run one script, echoing its output; returns (status, output)."""
    print(f"\n##### {name} {' '.join(arguments)}", flush=True)
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / f"{name}.py"), *arguments],
        cwd=BENCH_DIR,
        # Their figures, not their logs: the governor alone logs every wait at INFO.
        env={**os.environ, "BENCH_REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []

    def echo() -> None:
        for line in process.stdout:
            print(line, end="", flush=True)
            output.append(line)

    reader = threading.Thread(target=echo, daemon=True)
    started = time.monotonic()
    reader.start()
    try:
        process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        # SIGINT first: KeyboardInterrupt runs the script's `finally` (servers stopped, databases dropped).
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(5)
        print(f"##### {name}: stopped after {limit:.0f} s", flush=True)
        return "timed out", "".join(output)
    reader.join(5)
    status = "ok" if process.returncode == 0 else f"failed ({process.returncode})"
    print(f"##### {name}: {status} in {time.monotonic() - started:.0f} s", flush=True)
    return status, "".join(output)


def scratch_database(action: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)')
        if action == "create":
            conn.execute(f'CREATE DATABASE "{RUN_DB}"')


def rows_from_outputs(outputs: dict[str, str]) -> list[dict]:
    rows = []
    for line in outputs.get("oauth_callback", "").splitlines():
        match = LATENCY_LINE.match(line.strip())
        if match and match["name"].strip() == "all callbacks":
            rows.append(
                row(
                    "OAuth callback (allauth + fake Discord)",
                    p50=match["p50"],
                    p95=match["p95"],
                    target="oauth",
                )
            )
    for line in outputs.get("bot_handlers", "").splitlines():
        match = BOT_LINE.match(line.strip())
        if match:
            rows.append(
                row(
                    f"bot {match['name']} (handler, in process)",
                    p50=match["p50"],
                    p95=match["p95"],
                    target="bot",
                )
            )
    return rows


def row(name, *, p50=None, p95=None, p99=None, rps=None, errors=None, target=None) -> dict:
    def number(value):
        return None if value is None else float(value)

    return {
        "name": name,
        "p50": number(p50),
        "p95": number(p95),
        "p99": number(p99),
        "rps": number(rps),
        "errors": errors,
        "target": target,
    }


def rows_from_mixed(mixed: dict) -> list[dict]:
    rows = []
    for config, label in (("single", "1x"), ("scale_out", "2x")):
        if config not in mixed:
            continue
        steady = mixed[config]["steady"]
        for name, e in steady["endpoints"].items():
            rows.append(
                row(
                    f"{label} {name}",
                    p50=e["p50"],
                    p95=e["p95"],
                    p99=e["p99"],
                    rps=e["rps"],
                    errors=e["errors"],
                    target="leaderboard" if name == "leaderboard" else None,
                )
            )
        capacity = mixed[config]["capacity"]
        rows.append(
            row(
                f"{label} all (closed loop, max)",
                rps=capacity["rps"],
                errors=capacity["socket_errors"]
                + capacity["timeouts"]
                + sum(e["errors"] for e in capacity["endpoints"].values()),
            )
        )
        bot = mixed[config]["checks"].get("discord", {}).get("bot")
        if bot and bot["p50"] is not None:
            rows.append(
                row(
                    f"{label} bot commands (dispatch to answer)",
                    p50=bot["p50"],
                    p95=bot["p95"],
                    p99=bot["p99"],
                    rps=bot["rps"],
                    errors=bot["unanswered"] + bot["refused_callbacks"],
                    target="bot",
                )
            )
    return rows


def verdict(value: float | None, target: str | None) -> str:
    if target is None:
        return ""
    limit = TARGETS_MS[target]
    if value is None:
        return f"< {limit} ms: no figure"
    return f"< {limit} ms: {'met' if value < limit else 'NOT met'}"


def print_table(rows: list[dict], statuses: dict[str, str], mixed: dict | None) -> None:
    def cell(value, spec):
        width = int(spec.split(".")[0].rstrip("d"))
        return format(value, spec) if value is not None else "—".rjust(width)

    print("\n" + "=" * 110)
    print(
        f"DealScale benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if mixed:
        print(
            f"mixed load: {mixed['users']:,} members, {mixed['callers']:,} callers with their own tokens, "
            "default settings; 1x = 1 gunicorn (3 sync workers); 2x = 2 gunicorn, 2 Celery workers, 2 bot shards; "
            "figures at a steady rate"
        )
    print(f"{'what':<44}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}{'errors':>8}  target (p95)")
    for r in rows:
        print(
            f"{r['name']:<44}{cell(r['p50'], '9.1f')}{cell(r['p95'], '9.1f')}{cell(r['p99'], '9.1f')}"
            f"{cell(r['rps'], '9.1f')}{cell(r['errors'], '8d')}  {verdict(r['p95'], r['target'])}"
        )
    if mixed:
        for config, label in (("single", "1x"), ("scale_out", "2x")):
            if config not in mixed:
                continue
            checks = mixed[config]["checks"]
            line = (
                f"{label} checks: {checks['verify_ledger']}; requests granted twice: {checks['requests_granted_twice']}; "
                f"5xx: {checks['server_errors']}; approvals {checks['approved_in_run']}"
            )
            discord = checks.get("discord")
            if discord:
                line += (
                    f"; DMs {discord['dm_channels_opened']} (one per approval); Discord global limit "
                    f"{discord['global_limit']}/s: busiest second {discord['busiest_second']}, seconds over "
                    f"{discord['seconds_over_limit']}, global 429s {discord['global_429s']}, "
                    f"{discord['counted_requests']} counted requests in {discord['active_seconds']} s"
                )
            print(line + f"; load average {mixed[config]['load_average']:.2f}")
    print("benchmarks: " + ", ".join(f"{name} {status}" for name, status in statuses.items()))
    print("=" * 110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: check the harness, not the figures"
    )
    parser.add_argument("--only", nargs="*", help="benchmark names to run (mixed_load included by name)")
    parser.add_argument("--json", help="write the table's rows and the mixed load's figures to this file")
    args = parser.parse_args()
    started = time.monotonic()
    outputs, statuses = {}, {}
    scratch_database("create")
    try:
        for name, arguments, env in benchmarks(args.quick):
            if args.only and name not in args.only:
                continue
            statuses[name], outputs[name] = run_benchmark(name, arguments, env, limit=TIME_LIMIT)
    finally:
        scratch_database("drop")
    mixed = None
    if not args.only or "mixed_load" in args.only:
        figures = Path(tempfile.mkstemp(prefix="mixed-load-", suffix=".json")[1])
        arguments = ["--json", str(figures)]
        if args.quick:
            arguments += [
                "--users",
                "20000",
                "--callers",
                "1000",
                "--capacity-seconds",
                "4",
                "--seconds",
                "8",
                "--pending",
                "300",
            ]
        statuses["mixed_load"], _ = run_benchmark("mixed_load", arguments, {}, limit=MIXED_TIME_LIMIT)
        if figures.stat().st_size:
            mixed = json.loads(figures.read_text())
        figures.unlink()
    rows = rows_from_mixed(mixed or {}) + rows_from_outputs(outputs)
    print_table(rows, statuses, mixed)
    print(f"make bench took {(time.monotonic() - started) / 60:.1f} minutes")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "statuses": statuses, "mixed": mixed}, indent=1))
    if any(status != "ok" for status in statuses.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
