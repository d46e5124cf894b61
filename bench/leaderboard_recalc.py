"""Benchmark of the leaderboard recalculation against a bare PostgreSQL rank() over the same rows.

    python bench/leaderboard_recalc.py [--users 100000] [--users 1000000] [--runs 3]

Creates the database ds_bench_leaderboard (BENCH_DB), seeds members and per-period totals with
generate_series (all members all-time, 40 % this month, 15 % this week), and drops it at the end.
For each size it prints, per period and in total (median of --runs runs, each after a change of
the ledger so nothing is skipped):
- ours: the full recalculation (rank + position + previous rank into a new generation, attach,
  retire the oldest generation), as the beat task runs it;
- bare: `CREATE TEMP TABLE … AS SELECT user_id, score, rank() OVER (ORDER BY score DESC)` over the
  same rows — the same window materialised, without the display order, previous ranks or indexes;
- the once-a-day archive of a generation into the rank history (run on the first change of a day).
"""

import argparse
import statistics
from time import perf_counter

import leaderboard_common as common


def bare_rank(period: str, period_start) -> float:
    from django.db import connection, transaction

    started = perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bare_rank ON COMMIT DROP AS SELECT user_id, score, "
            "rank() OVER (ORDER BY score DESC) AS rank FROM leaderboard_score_totals "
            "WHERE period = %s AND period_start = %s",
            [period, period_start],
        )
    return perf_counter() - started


def measure(users: int, runs: int) -> None:
    from datetime import UTC, datetime

    from leaderboard import ranking, services
    from leaderboard.models import ScoreTotal
    from leaderboard.periods import Period, period_start

    started = perf_counter()
    common.seed(users)
    print(f"\n== {users:,} ranked users (seeded in {perf_counter() - started:.1f} s)")
    counts = {p: ScoreTotal.objects.filter(period=p).count() for p in Period.values}
    print("rows per period: " + ", ".join(f"{p} {n:,}" for p, n in counts.items()))
    services.recalculate_leaderboard(force=True)  # the first generation: nothing to compare with yet

    ours = {p: [] for p in Period.values}
    ours["total"] = []
    for _ in range(runs):
        common.bump_ledger()
        t0 = perf_counter()
        outcomes = services.recalculate_leaderboard()
        ours["total"].append(perf_counter() - t0)
        for outcome in outcomes:
            ours[outcome.period].append(outcome.seconds)

    now = datetime.now(UTC)
    bare = {p: [] for p in Period.values}
    bare["total"] = []
    for _ in range(runs):
        total = 0.0
        for period in Period.values:
            seconds = bare_rank(period, period_start(period, now))
            bare[period].append(seconds)
            total += seconds
        bare["total"].append(total)

    print(f"{'':<8}{'ours (ms)':>12}{'bare rank() (ms)':>18}{'ratio':>8}")
    for key in [*Period.values, "total"]:
        mine, base = statistics.median(ours[key]), statistics.median(bare[key])
        print(f"{key:<8}{mine * 1000:>12.0f}{base * 1000:>18.0f}{mine / base:>8.1f}")
    print(f"(ours 'total' also covers retiring old generations and writing the cached pages; runs: {runs})")

    from leaderboard.selectors import live_generation

    t0 = perf_counter()
    generation = live_generation(Period.ALL)
    ranking.archive_generation(generation_id=generation.pk, period=Period.ALL, day=now.date())
    print(f"daily archive of the all-time generation into the history: {(perf_counter() - t0) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, action="append", help="ranked users (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    common.create_database()
    try:
        common.setup_django()
        for users in args.users or [100_000]:
            measure(users, args.runs)
    finally:
        common.drop_database()


if __name__ == "__main__":
    main()
