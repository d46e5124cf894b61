"""Demo points for `seed_demo`: two weeks of events for the demo members and their daily rank history."""

import random
from datetime import UTC, timedelta

from django.utils import timezone

from leaderboard import services
from leaderboard.models import RankHistory
from leaderboard.periods import Period

DEMO_DAYS = 14
DEMO_KINDS = ["deal_closed", "review_posted", "referral", "event_attended"]


def seed_demo_scores(members) -> None:
    """Record demo events (idempotent: their external ids repeat) and the history they imply."""
    rng = random.Random(2026)
    now = timezone.now()
    events = []
    for day in range(DEMO_DAYS, -1, -1):
        for member in members:
            for n in range(rng.randint(0, 3)):
                events.append(
                    {
                        "external_id": f"demo-{member.username}-{day}-{n}",
                        "user_id": member.pk,
                        "points": rng.choice([5, 10, 10, 25, 50]),
                        "kind": rng.choice(DEMO_KINDS),
                        "occurred_at": now - timedelta(days=day, minutes=rng.randint(1, 600)),
                    }
                )
    services.record_score_events(origin="demo", events=events)

    # The closing all-time standings of each past day, as the daily recalculations would have archived them.
    for day in range(DEMO_DAYS, 0, -1):
        closing = (now - timedelta(days=day)).astimezone(UTC).date()
        totals = {member.pk: 0 for member in members}
        for event in events:
            if event["occurred_at"].astimezone(UTC).date() <= closing:
                totals[event["user_id"]] += event["points"]
        ordered = sorted(totals.values(), reverse=True)
        for user_id, score in totals.items():
            RankHistory.objects.update_or_create(
                user_id=user_id,
                period=Period.ALL,
                day=closing,
                defaults={"rank": ordered.index(score) + 1, "score": score},
            )
    services.recalculate_leaderboard()
