"""The set-based SQL of the recalculation: one INSERT … SELECT with window functions per period.

Ranking: `rank() OVER (ORDER BY score DESC)` is the competition rank (1, 2, 2, 4). The display
order `position` is `row_number() OVER (ORDER BY score DESC, reached_at ASC, user_id ASC)`: on
equal scores whoever reached the score first (earliest latest-event time) comes first, then the
lower user id. Both windows follow the `leaderboard_total_order` index, so PostgreSQL ranks from an
ordered index scan without sorting.

PostgreSQL builds each generation as its own table (`leaderboard_snapshots_g<id>`): rows are bulk
inserted into an index-less table, the two indexes are built once by sorting, and the table is
attached as a partition of `leaderboard_snapshots` inside the publishing transaction — maintaining
a random-order primary key row by row costs several times more. SQLite (`make run`) inserts into
the plain table with the same SELECT.
"""

from datetime import date, datetime

from django.db import OperationalError, connection, transaction

RANKED_TOTALS = """
SELECT user_id, score,
       RANK() OVER (ORDER BY score DESC) AS rank,
       ROW_NUMBER() OVER (ORDER BY score DESC, reached_at ASC, user_id ASC) AS position
FROM leaderboard_score_totals
WHERE period = %(period)s AND period_start = %(period_start)s
"""

COLUMNS = "generation_id, user_id, rank, position, score, previous_rank"


def _select_rows(*, with_previous: bool) -> str:
    if not with_previous:
        return f"""
        SELECT %(generation_id)s, r.user_id, r.rank, r.position, r.score, NULL
        FROM ({RANKED_TOTALS}) r
        """
    return f"""
    SELECT %(generation_id)s, r.user_id, r.rank, r.position, r.score, p.rank
    FROM ({RANKED_TOTALS}) r
    LEFT JOIN leaderboard_snapshots p ON p.generation_id = %(previous_id)s AND p.user_id = r.user_id
    """


def _params(*, generation_id, period, period_start, generated_at, previous_id) -> dict:
    ops = connection.ops
    return {
        "generation_id": generation_id,
        "period": period,
        "period_start": ops.adapt_datefield_value(period_start),
        "generated_at": ops.adapt_datetimefield_value(generated_at),
        "previous_id": previous_id,
    }


def partition_name(generation_id: int) -> str:
    return f"leaderboard_snapshots_g{int(generation_id)}"


def build_generation(
    *, generation_id: int, period: str, period_start: date, generated_at: datetime, previous_id: int | None
) -> int:
    """Write the ranked rows of a generation; returns their count. Call inside the publishing transaction."""
    params = _params(
        generation_id=generation_id,
        period=period,
        period_start=period_start,
        generated_at=generated_at,
        previous_id=previous_id,
    )
    select = _select_rows(with_previous=previous_id is not None)
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(f"INSERT INTO leaderboard_snapshots ({COLUMNS}) {select}", params)
            return cursor.rowcount
        table = partition_name(generation_id)
        # The previous generation's hash table must stay in memory, and a stale row estimate must
        # never turn the join into a nested loop over a million rows.
        cursor.execute("SELECT current_setting('work_mem'), current_setting('enable_nestloop')")
        saved_work_mem, saved_nestloop = cursor.fetchone()
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE leaderboard_snapshots INCLUDING DEFAULTS, "
            f"CHECK (generation_id = {int(generation_id)}))"
        )
        cursor.execute(f"INSERT INTO {table} ({COLUMNS}) {select}", params)
        count = cursor.rowcount
        # SET LOCAL lasts to the end of the outermost transaction, which may be a caller's: put the planner
        # back, or every later join in it is planned without nested loops (found by bench/role_connections.py).
        cursor.execute(
            "SELECT set_config('work_mem', %s, true), set_config('enable_nestloop', %s, true)",
            [saved_work_mem, saved_nestloop],
        )
        cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (generation_id, user_id)")
        cursor.execute(f"CREATE INDEX {table}_position ON {table} (generation_id, position)")
        # The CHECK constraint lets ATTACH skip its validation scan; the matching indexes are adopted.
        cursor.execute(
            f"ALTER TABLE leaderboard_snapshots ATTACH PARTITION {table} FOR VALUES IN ({int(generation_id)})"
        )
        return count


def archive_generation(*, generation_id: int, period: str, day: date) -> int:
    """Copy a generation's standings into the rank history as the closing values of `day`.

    In user order: each user's new row lands next to their earlier days in the unique index, so
    the index is walked once in order instead of being hit at random.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leaderboard_history (user_id, period, day, rank, score)
            SELECT user_id, %s, %s, rank, score FROM leaderboard_snapshots WHERE generation_id = %s
            ORDER BY user_id
            ON CONFLICT (user_id, period, day) DO UPDATE SET rank = excluded.rank, score = excluded.score
            """,
            [period, connection.ops.adapt_datefield_value(day), generation_id],
        )
        return cursor.rowcount


def drop_generation_rows(generation_id: int) -> bool:
    """Remove a retired generation's rows; False when PostgreSQL could not get the lock quickly.

    Dropping a partition locks the parent table exclusively: with a short lock timeout a slow
    reader delays the drop to the next run instead of making every reader queue behind it.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
                cursor.execute(f"DROP TABLE IF EXISTS {partition_name(generation_id)}")
            else:
                cursor.execute("DELETE FROM leaderboard_snapshots WHERE generation_id = %s", [generation_id])
    except OperationalError:
        return False
    return True
