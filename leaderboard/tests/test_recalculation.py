"""The recalculation: competition ranks, tie-break order, calendar periods, previous ranks, skipping,
daily history and retiring old generations."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from accounts.tests.factories import UserFactory
from leaderboard import selectors, services
from leaderboard.models import LeaderboardSnapshot, RankHistory, SnapshotGeneration
from leaderboard.tests.factories import give

pytestmark = pytest.mark.django_db

WEDNESDAY = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)  # the 1st of a month, in the middle of an ISO week


def standings(period="all"):
    return [(e.user.username, e.rank, e.score) for e in selectors.top_entries(period=period, limit=100)]


def test_equal_scores_share_a_rank_and_the_next_rank_skips():
    a, b, c, d = (UserFactory(username=name) for name in "abcd")
    give(a, 30)
    give(b, 20)
    give(c, 20)
    give(d, 10)
    services.recalculate_leaderboard()
    assert [rank for _, rank, _ in standings()] == [1, 2, 2, 4]


def test_on_equal_scores_whoever_reached_the_score_first_is_listed_first_then_the_lower_user_id():
    early, late, twin_low, twin_high = (
        UserFactory(username=name) for name in ["early", "late", "twin1", "twin2"]
    )
    give(late, 50, at=WEDNESDAY - timedelta(hours=1))
    give(early, 50, at=WEDNESDAY - timedelta(hours=2))
    moment = WEDNESDAY - timedelta(hours=3)
    give(twin_high, 10, at=moment)
    give(twin_low, 10, at=moment)
    with time_machine.travel(WEDNESDAY, tick=False):
        services.recalculate_leaderboard()
        assert standings() == [("early", 1, 50), ("late", 1, 50), ("twin1", 3, 10), ("twin2", 3, 10)]


def test_negative_points_lower_the_score():
    user = UserFactory()
    give(user, 40)
    give(user, -15)
    services.recalculate_leaderboard()
    assert selectors.entry_for(user).score == 25


def test_week_and_month_count_only_events_of_the_current_calendar_bucket_in_utc():
    user = UserFactory(username="u")
    give(user, 1, at=datetime(2026, 3, 29, 23, 59, tzinfo=UTC))  # Sunday: the week before, March
    give(user, 10, at=datetime(2026, 3, 31, 23, 59, tzinfo=UTC))  # Tuesday: this week, but March
    give(user, 100, at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC))  # Wednesday the 1st: this week and April
    with time_machine.travel(WEDNESDAY, tick=False):
        services.recalculate_leaderboard()
        assert standings("all") == [("u", 1, 111)]
        assert standings("week") == [("u", 1, 110)]
        assert standings("month") == [("u", 1, 100)]


def test_a_new_week_starts_empty_on_monday_at_midnight_utc_while_all_time_is_skipped():
    user = UserFactory(username="u")
    give(user, 5, at=datetime(2026, 4, 5, 23, 0, tzinfo=UTC))  # Sunday
    with time_machine.travel(datetime(2026, 4, 5, 23, 59, 59, tzinfo=UTC), tick=False):
        services.recalculate_leaderboard()
        assert standings("week") == [("u", 1, 5)]
    with time_machine.travel(datetime(2026, 4, 6, 0, 0, 1, tzinfo=UTC), tick=False):
        outcomes = {o.period: o for o in services.recalculate_leaderboard()}
        assert outcomes["all"].skipped and outcomes["month"].skipped
        assert not outcomes["week"].skipped
        assert standings("week") == []
        assert standings("all") == [("u", 1, 5)]


def test_previous_rank_is_the_rank_in_the_generation_before():
    first, second = UserFactory(username="first"), UserFactory(username="second")
    give(first, 20)
    give(second, 10)
    services.recalculate_leaderboard()
    assert selectors.entry_for(second).previous_rank is None
    give(second, 15)
    services.recalculate_leaderboard()
    entry = selectors.entry_for(second)
    assert (entry.rank, entry.previous_rank) == (1, 2)
    assert (selectors.entry_for(first).rank, selectors.entry_for(first).previous_rank) == (2, 1)


def test_a_run_with_no_new_event_does_no_work():
    give(UserFactory(), 5)
    assert not any(o.skipped for o in services.recalculate_leaderboard())
    generations = SnapshotGeneration.objects.count()
    assert all(o.skipped for o in services.recalculate_leaderboard())
    assert SnapshotGeneration.objects.count() == generations


def test_the_first_run_publishes_an_empty_leaderboard_so_readers_know_it_was_computed():
    services.recalculate_leaderboard()
    assert selectors.live_generation("all").row_count == 0
    assert all(o.skipped for o in services.recalculate_leaderboard())


def test_the_closing_standings_of_each_day_go_to_the_history_and_quiet_days_carry_forward():
    user = UserFactory()
    rival = UserFactory()
    day1 = datetime(2026, 4, 1, 10, tzinfo=UTC)
    with time_machine.travel(day1, tick=False):
        give(user, 10)
        give(rival, 20)
        services.recalculate_leaderboard()
    with time_machine.travel(day1 + timedelta(days=1), tick=False):
        give(user, 15)
        services.recalculate_leaderboard()
    assert list(RankHistory.objects.filter(user=user, period="all").values_list("day", "rank", "score")) == [
        (date(2026, 4, 1), 2, 10)
    ]
    with time_machine.travel(day1 + timedelta(days=3), tick=False):
        assert all(o.skipped for o in services.recalculate_leaderboard())
        points = selectors.history_for(user, days=5)
    # The first run after midnight archives the day before even when it has nothing to recompute.
    assert RankHistory.objects.filter(user=user, period="all").count() == 2
    assert [(p.day, p.rank, p.score) for p in points] == [
        (date(2026, 4, 1), 2, 10),
        (date(2026, 4, 2), 1, 25),
        (date(2026, 4, 3), 1, 25),
        (date(2026, 4, 4), 1, 25),
    ]


def test_only_the_live_and_the_previous_generation_are_kept():
    user = UserFactory()
    for points in range(4):
        give(user, points + 1)
        services.recalculate_leaderboard()
    kept = list(SnapshotGeneration.objects.filter(period="all").values_list("id", flat=True))
    assert len(kept) == 2
    assert set(
        LeaderboardSnapshot.objects.filter(generation__period="all").values_list("generation_id", flat=True)
    ) == set(kept)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'leaderboard_snapshots'::regclass")
        assert cursor.fetchone()[0] == 6


def test_latest_snapshot_rows_streams_every_ranked_user():
    users = UserFactory.create_batch(3)
    for points, user in enumerate(users, start=1):
        give(user, points)
    services.recalculate_leaderboard()
    rows = {(row.user_id, row.rank, row.score) for row in selectors.latest_snapshot_rows("all")}
    assert rows == {(users[2].pk, 1, 3), (users[1].pk, 2, 2), (users[0].pk, 3, 1)}


def test_after_midnight_each_run_archives_one_closed_day_so_no_run_grows_too_long():
    user = UserFactory()
    with time_machine.travel(WEDNESDAY, tick=False):
        give(user, 10)
        services.recalculate_leaderboard()
    with time_machine.travel(WEDNESDAY + timedelta(days=1), tick=False):
        archived_periods = []
        for _ in range(4):
            services.recalculate_leaderboard()
            archived_periods.append(sorted(set(RankHistory.objects.values_list("period", flat=True))))
    assert archived_periods == [["all"], ["all", "month"], ["all", "month", "week"], ["all", "month", "week"]]


def test_a_recalculation_inside_a_callers_transaction_leaves_its_planner_settings_as_it_found_them():
    # The test itself runs in one transaction, as a caller wrapping the recalculation in atomic() would.
    give(UserFactory(), 10)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '8MB'")
        services.recalculate_leaderboard()
        cursor.execute("SELECT current_setting('enable_nestloop'), current_setting('work_mem')")
        assert cursor.fetchone() == ("on", "8MB")
