"""Benchmark of GET /api/leaderboard?limit=10 under 32 concurrent clients, against a bare Django view.

    python bench/leaderboard_api.py [--users 100000] [--duration 10] [--workers 4] [--threads 1]
                                    [--worker-class gthread|sync] [--rate 1000] [--connections 32]

Seeds a throwaway database (ds_bench_leaderboard) with ranked members, recalculates, starts
gunicorn (gthread) on 127.0.0.1:8642 with the production settings (DEBUG off) plus one bench-only
URL, `/bench/bare-leaderboard` (bench/leaderboard_bench_urls.py): a plain Django view returning the
same JSON bytes from memory through the same middleware. It then loads each endpoint with wrk
(`apt-get install wrk`: a C load generator, so the client costs little of the 2 shared cores —
a Python tool like locust would need a core of its own to reach 1 000 requests/s) with 32
connections, twice alternately, and prints p50/p95/p99 and requests/s of the better round of each
(the most each can serve: closed-loop clients queue, so latency there is throughput-bound). Then
the latency at a steady ~1 000 req/s (--rate): the same 32 connections, each waiting a random
(exponential) think time before each request, tuned until the rate is reached, so the server is
not saturated and the figures show service time plus queueing at that load.
Everything is stopped and dropped at the end.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# 32 clients at 1 000 requests/s is ~1 900 requests/min each: the limits are raised to let that through,
# but still counted (bench/mixed_load.py keeps the default limits, with thousands of callers instead).
os.environ.update({"API_THROTTLE_USER_RATE": "1000000/minute", "API_THROTTLE_IP_RATE": "1000000/minute"})

import leaderboard_common as common  # noqa: E402

PORT = 8642
BENCH_DIR = Path(__file__).resolve().parent
RESULT = re.compile(r"RESULT (.*)")


def start_gunicorn(*, workers: int, threads: int, worker_class: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "leaderboard_bench_settings"}
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "dealscale.wsgi:application",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--threads",
        str(threads),
        "--pythonpath",
        f"{BENCH_DIR},{common.ROOT}",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env, cwd=common.ROOT, start_new_session=True)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit("gunicorn did not start")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


def fetch(path: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def load(
    path: str, *, tokens_file: str, duration: int, connections: int = 32, mean_delay_ms: float | None = None
) -> dict:
    """wrk's figures at full speed, or with a random think time of `mean_delay_ms` before each request."""
    env = {**os.environ, "BENCH_TOKENS_FILE": tokens_file}
    if mean_delay_ms is not None:
        env["BENCH_MEAN_DELAY_MS"] = f"{mean_delay_ms:.3f}"
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "5s",
            "-s",
            str(BENCH_DIR / "leaderboard_latency.lua"),
            f"http://127.0.0.1:{PORT}{path}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = dict(item.split("=") for item in RESULT.search(output).group(1).split())
    return {key: float(value) for key, value in fields.items()}


def steady(path: str, *, tokens_file: str, duration: int, connections: int, rate: int) -> dict:
    """wrk's figures at about `rate` requests/s: think times are tuned until the rate is reached.

    A connection's cycle is its think time plus the response time, so the think time that gives
    `rate` depends on the latency under that very load: measure, correct, measure again.
    """
    cycle_ms = connections * 1000 / rate
    think = cycle_ms - 1
    for _ in range(3):
        result = load(
            path, tokens_file=tokens_file, duration=duration, connections=connections, mean_delay_ms=think
        )
        # Far below the rate with the think time already short: this machine cannot serve it (a loaded
        # machine), and more rounds would only stretch the run.
        if result["rps"] >= rate * 0.97 or think == 0 or result["rps"] < rate * 0.5:
            break
        latency = connections * 1000 / result["rps"] - think
        think = max(cycle_ms - latency, 0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per round and endpoint")
    # Single-threaded gthread workers measured best here: threads of one process queue on the GIL.
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rate", type=int, default=1000, help="target requests/s of the steady-load (latency) run"
    )
    parser.add_argument("--members", type=int, default=32, help="distinct callers (tokens) of our endpoint")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install -y wrk")

    common.create_database()
    server = tokens_file = None
    try:
        common.setup_django()
        common.seed(args.users)
        from accounts.models import User
        from accounts.services import create_api_token
        from leaderboard import services

        services.recalculate_leaderboard(force=True)
        members = User.objects.order_by("pk")[: args.members]
        tokens = [create_api_token(user=member, name="bench")[1] for member in members]
        tokens_file = Path(tempfile.mkstemp(prefix="leaderboard-bench-tokens-")[1])
        tokens_file.write_text("\n".join(tokens) + "\n")
        token = tokens[0]
        server = start_gunicorn(workers=args.workers, threads=args.threads, worker_class=args.worker_class)

        ours_path, bare_path = "/api/leaderboard?limit=10", "/bench/bare-leaderboard"
        status, ours_body = fetch(ours_path, token)
        _, bare_body = fetch(bare_path)
        assert status == 200 and ours_body == bare_body, "the two endpoints must answer the same JSON"
        for _ in range(50):  # warm every worker's connections and the bare view's memory copy
            fetch(ours_path, token), fetch(bare_path)

        rounds = {"ours": [], "bare": []}
        for _ in range(2):
            rounds["bare"].append(
                load(bare_path, tokens_file="", duration=args.duration, connections=args.connections)
            )
            rounds["ours"].append(
                load(
                    ours_path,
                    tokens_file=str(tokens_file),
                    duration=args.duration,
                    connections=args.connections,
                )
            )
        best = {name: max(results, key=lambda r: r["rps"]) for name, results in rounds.items()}

        print(
            f"\n== GET /api/leaderboard?limit=10, {args.users:,} ranked users, {args.members:,} callers "
            f"(tokens, random client IPs, throttled), wrk {args.connections} connections, "
            f"gunicorn {args.workers} workers x {args.threads} threads ({args.worker_class}), "
            f"{args.duration} s per round"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores, shared)")
        print(f"{'':<34}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
        labels = {"ours": "ours (token, throttles, cache)", "bare": "bare view (same JSON, memory)"}
        for name in ("ours", "bare"):
            r = best[name]
            print(
                f"{labels[name]:<34}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                f"{r['errors'] + r['non2xx']:>8.0f}"
            )
        print(f"ours / bare requests/s: {best['ours']['rps'] / best['bare']['rps']:.2f}")

        pace = {"duration": args.duration, "connections": args.connections, "rate": args.rate}
        fixed = {
            "bare": steady(bare_path, tokens_file="", **pace),
            "ours": steady(ours_path, tokens_file=str(tokens_file), **pace),
        }
        print(f"\nat about {args.rate} req/s ({args.connections} connections with random think times):")
        print(f"{'':<34}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name in ("ours", "bare"):
            r = fixed[name]
            print(
                f"{labels[name]:<34}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                f"{r['errors'] + r['non2xx']:>8.0f}"
            )
        print(
            "all rounds (req/s): "
            + ", ".join(
                f"{name} {' / '.join(f'{r["rps"]:.0f}' for r in results)}" for name, results in rounds.items()
            )
        )
    finally:
        if server is not None:
            stop(server)
        if tokens_file is not None:
            tokens_file.unlink()
        common.drop_database()


if __name__ == "__main__":
    main()
