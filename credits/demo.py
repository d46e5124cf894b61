"""Demo credit activity for `manage.py seed_demo`: a few requests in every state and a welcome bonus.

Safe to run again: requests are filed with idempotency keys and decided only while still pending.
"""

from accounts.models import AuditEvent, User
from credits import services
from credits.models import CreditRequest, LedgerEntry

# (amount, reason, decision, note) per member, in the order they are filed.
DEMO_REQUESTS = [
    [
        (500, "Hosted the weekly community quiz", "approve", "Thanks for hosting!"),
        (200, "Prizes for next week's quiz night", None, ""),
    ],
    [(1_000, "Designed the new server banner", "deny", "The banner contest has not started yet")],
    [(300, "Wrote the beginners' guide to the leaderboard", None, "")],
    [(1_500, "Ran the autumn tournament bracket", "approve", "Great tournament")],
    [(50, "Testing the request form", "cancel", "")],
]
WELCOME_BONUS = 100


def seed_demo_credits(members: list[User]) -> None:
    """File, decide and fund the demo members' credits, decided by the first superuser."""
    moderator = User.objects.filter(is_superuser=True).order_by("pk").first()
    for member, requests in zip(members, DEMO_REQUESTS, strict=False):
        if not LedgerEntry.objects.filter(user=member, kind=LedgerEntry.Kind.ADJUSTMENT).exists():
            services.adjust_balance(
                user=member,
                amount=WELCOME_BONUS,
                reason="Welcome bonus",
                actor=moderator,
                source=AuditEvent.Source.CLI,
            )
        for number, (amount, reason, decision, note) in enumerate(requests, start=1):
            credit_request = services.request_credits(
                user=member,
                amount=amount,
                reason=reason,
                origin=CreditRequest.Source.WEB,
                idempotency_key=f"demo-{member.username}-{number}",
            )
            if not credit_request.is_pending or decision is None:
                continue
            if decision == "approve":
                services.approve_request(
                    credit_request.pk, actor=moderator, note=note, source=AuditEvent.Source.CLI
                )
            elif decision == "deny":
                services.deny_request(
                    credit_request.pk, actor=moderator, note=note, source=AuditEvent.Source.CLI
                )
            else:
                services.cancel_request(credit_request.pk, actor=member, source=AuditEvent.Source.WEB)
