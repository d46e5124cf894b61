"""Small builders of the leaderboard tests: points through the ledger, webhook event documents.

The user and Discord account factories are the shared ones in accounts/tests/factories.py.
"""

from datetime import datetime

from django.utils import timezone

from accounts.models import User
from leaderboard import services

_external_ids = iter(range(1, 10**9))


def give(user: User, points: int, *, at: datetime | None = None, kind: str = "deal_closed") -> None:
    """Record one platform event for `user` through the ledger service."""
    services.record_score_events(
        origin="test",
        events=[
            {
                "external_id": f"evt-{next(_external_ids)}",
                "user_id": user.pk,
                "points": points,
                "kind": kind,
                "occurred_at": at or timezone.now(),
            }
        ],
    )


def event_document(external_id: str, user_id: int | None, points: int = 10, **extra) -> dict:
    """One event of a webhook body as the platform sends it (pass user_id=None with discord_id=...)."""
    document = {
        "external_id": external_id,
        "user_id": user_id,
        "points": points,
        "kind": "deal_closed",
        "occurred_at": timezone.now().isoformat(),
    }
    document.update(extra)
    if document["user_id"] is None:
        del document["user_id"]
    return document
