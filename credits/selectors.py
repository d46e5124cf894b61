"""Reads of the credits app: balances, requests, the moderation queue and the ledger check."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from credits.models import CreditAccount, CreditRequest, LedgerEntry
from dealscale.timeseries import per_bucket

MODERATE_PERMISSION = "credits.moderate_creditrequest"


def can_moderate(user) -> bool:
    """True when `user` is active staff with the moderation permission (superusers implicitly)."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(MODERATE_PERMISSION)
    )


def balance_for(user) -> int:
    """The member's current balance (0 before their first ledger entry)."""
    balance = CreditAccount.objects.filter(pk=user.pk).values_list("balance", flat=True).first()
    return balance or 0


def requests_for(user) -> QuerySet[CreditRequest]:
    """Every credit request of `user`, newest first."""
    return CreditRequest.objects.filter(user=user).order_by("-created_at", "-id")


def pending_requests_for(user) -> QuerySet[CreditRequest]:
    """The pending credit requests of `user`, newest first."""
    return requests_for(user).filter(status=CreditRequest.Status.PENDING)


def ledger_for(user) -> QuerySet[LedgerEntry]:
    """The ledger entries of `user`, newest first."""
    return LedgerEntry.objects.filter(user=user).select_related("request").order_by("-created_at", "-id")


def credit_requests(*, status: str | None = None) -> QuerySet[CreditRequest]:
    """All credit requests for moderators, newest first, optionally of one status."""
    requests = CreditRequest.objects.select_related("user", "decided_by").order_by("-created_at", "-id")
    if status:
        requests = requests.filter(status=status)
    return requests


def with_user_figures(requests: QuerySet[CreditRequest]) -> QuerySet[CreditRequest]:
    """Annotate each request with its user's `user_balance` and `user_pending_count` in the same query."""
    pending = (
        CreditRequest.objects.filter(user=OuterRef("user"), status=CreditRequest.Status.PENDING)
        .order_by()
        .values("user")
        .annotate(count=Count("pk"))
        .values("count")
    )
    balance = CreditAccount.objects.filter(pk=OuterRef("user")).values("balance")
    # Subqueries, not joins: the admin's COUNT(*) and date queries then stay on the requests table alone,
    # and PostgreSQL evaluates them only for the rows of the page.
    return requests.annotate(
        user_balance=Coalesce(Subquery(balance, output_field=BigIntegerField()), Value(0)),
        user_pending_count=Coalesce(Subquery(pending, output_field=IntegerField()), Value(0)),
    )


def requested_today_total(user, *, since) -> int:
    """The sum of the amounts `user` requested since `since`, cancelled requests excepted."""
    total = (
        CreditRequest.objects.filter(user=user, created_at__gte=since)
        .exclude(status=CreditRequest.Status.CANCELLED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or 0


@dataclass(frozen=True)
class LedgerDrift:
    user_id: int
    cached_balance: int | None  # None: ledger entries exist but the account row is missing
    ledger_total: int


# One pass over both tables: every user with an account or an entry, where the two disagree.
# UNION ALL + GROUP BY rather than a FULL OUTER JOIN so SQLite (development) runs it too.
_DRIFT_SQL = f"""
SELECT user_id, MAX(has_account), SUM(cached), SUM(ledger)
FROM (
    SELECT user_id, 1 AS has_account, balance AS cached, 0 AS ledger FROM {CreditAccount._meta.db_table}
    UNION ALL
    SELECT user_id, 0, 0, amount FROM {LedgerEntry._meta.db_table}
) AS figures
GROUP BY user_id
HAVING SUM(cached) <> SUM(ledger) OR MAX(has_account) = 0
ORDER BY user_id
"""


def ledger_drift() -> list[LedgerDrift]:
    """Every user whose cached balance differs from the sum of their ledger entries (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_DRIFT_SQL)
        rows = cursor.fetchall()
    return [
        LedgerDrift(
            user_id=user_id, cached_balance=int(cached) if has_account else None, ledger_total=int(ledger)
        )
        for user_id, has_account, cached, ledger in rows
    ]


def credit_account_count() -> int:
    """How many members have a credit account."""
    return CreditAccount.objects.count()


def pending_request_count() -> int:
    """How many credit requests wait for a moderator."""
    return CreditRequest.objects.filter(status=CreditRequest.Status.PENDING).count()


def credit_request_stats(*, since: datetime, until: datetime) -> dict[str, int]:
    """Credit requests `created` in [since, until), and those `approved` or `denied` in it (cancelled
    ones are the member's own choice, not a decision)."""
    created = CreditRequest.objects.filter(created_at__gte=since, created_at__lt=until).count()
    decided = CreditRequest.objects.filter(decided_at__gte=since, decided_at__lt=until).aggregate(
        approved=Count("id", filter=Q(status=CreditRequest.Status.APPROVED)),
        denied=Count("id", filter=Q(status=CreditRequest.Status.DENIED)),
    )
    return {"created": created, **decided}


def credit_requests_created_per_bucket(*, since: datetime, until: datetime, kind: str) -> dict[datetime, int]:
    """Credit requests created per "hour" or "day" bucket of [since, until) (empty buckets absent)."""
    rows = per_bucket(
        CreditRequest.objects.all(),
        field="created_at",
        since=since,
        until=until,
        kind=kind,
        count=Count("id"),
    )
    return {start: row["count"] for start, row in rows.items()}


def credit_decisions_per_bucket(
    *, since: datetime, until: datetime, kind: str
) -> dict[datetime, dict[str, Any]]:
    """Moderator decisions per "hour" or "day" bucket of [since, until): `decided` (approved or denied)
    and `approved` (empty buckets absent)."""
    return per_bucket(
        CreditRequest.objects.filter(status__in=[CreditRequest.Status.APPROVED, CreditRequest.Status.DENIED]),
        field="decided_at",
        since=since,
        until=until,
        kind=kind,
        decided=Count("id"),
        approved=Count("id", filter=Q(status=CreditRequest.Status.APPROVED)),
    )


def credits_earned_by_user(*, user_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Credits granted in total (approved requests' grants; spending and corrections aside), by user id;
    members with none are absent."""
    grants = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.GRANT)
    if user_ids is not None:
        grants = grants.filter(user_id__in=list(user_ids))
    return dict(grants.values("user_id").annotate(total=Sum("amount")).values_list("user_id", "total"))


def requester(credit_request_id: int):
    """The member who filed the request, or None if there is no such request."""
    found = CreditRequest.objects.select_related("user").filter(pk=credit_request_id).first()
    return found.user if found else None
