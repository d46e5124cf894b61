"""Readers on other connections see whole generations only, and concurrent replays store an event once."""

import threading

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from leaderboard import selectors, services
from leaderboard.models import LeaderboardSnapshot, ScoreEvent
from leaderboard.tests.factories import give

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reader_during_recalculations_sees_either_the_old_or_the_new_generation_whole():
    users = UserFactory.create_batch(300)
    for points, user in enumerate(users):
        give(user, points)
    services.recalculate_leaderboard()
    stop = threading.Event()
    observations, problems = [], []

    def read():
        try:
            while not stop.is_set():
                generation = selectors.live_generation("all")
                positions = sorted(
                    LeaderboardSnapshot.objects.filter(generation_id=generation.pk).values_list(
                        "position", flat=True
                    )
                )
                observations.append(generation.pk)
                # A half-written generation would miss rows: its positions must be exactly 1..row_count.
                if positions != list(range(1, generation.row_count + 1)):
                    problems.append((generation.pk, len(positions), generation.row_count))
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for round_ in range(6):
            give(users[round_], 1000 + round_)
            services.recalculate_leaderboard()
    finally:
        stop.set()
        reader.join()
    assert problems == []
    assert len(set(observations)) >= 2  # the reader really saw generations being replaced


def test_the_same_event_posted_twice_at_once_is_stored_once():
    user = UserFactory()
    event = {"external_id": "race", "user_id": user.pk, "points": 5, "kind": "k"}
    results, barrier = [], threading.Barrier(2)

    def post():
        from django.utils import timezone

        try:
            barrier.wait()
            results.append(
                services.record_score_events(origin="p", events=[{**event, "occurred_at": timezone.now()}])
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 1), (1, 0)]
    assert ScoreEvent.objects.count() == 1
    services.recalculate_leaderboard()
    assert selectors.entry_for(user).score == 5
