"""Real concurrency: threads, each on its own PostgreSQL connection, released together by a barrier."""

import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from credits import services
from credits.errors import CreditsError
from credits.models import CreditAccount, CreditRequest, LedgerEntry
from credits.signals import credit_request_created, credit_request_decided
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(count: int, work) -> list[tuple[str, object]]:
    """Run work(i) in `count` threads started at the same instant; ("ok", result) or ("error", exception)."""
    barrier = threading.Barrier(count)
    outcomes: list[tuple[str, object] | None] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            outcomes[index] = ("ok", work(index))
        except Exception as error:  # noqa: BLE001 - collected: the test asserts on every outcome
            outcomes[index] = ("error", error)
        finally:
            connection.close()  # Django opened a connection for this thread; give it back

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not t.is_alive() for t in threads), "a worker thread hung"
    return outcomes


@contextmanager
def announcements() -> Iterator[dict[str, list]]:
    """The credits events received from every thread: created ids and (id, status) decisions."""
    received: dict[str, list] = {"created": [], "decided": []}

    def on_created(sender, credit_request_id, **kwargs):
        received["created"].append(credit_request_id)

    def on_decided(sender, credit_request_id, status, **kwargs):
        received["decided"].append((credit_request_id, status))

    credit_request_created.connect(on_created)
    credit_request_decided.connect(on_decided)
    try:
        yield received
    finally:
        credit_request_created.disconnect(on_created)
        credit_request_decided.disconnect(on_decided)


def errors_of(outcomes) -> Counter:
    return Counter(type(value).__name__ for kind, value in outcomes if kind == "error")


def test_fifty_concurrent_approvals_grant_a_request_exactly_once():
    moderators = [ModeratorFactory() for _ in range(5)]
    credit_request = CreditRequestFactory(amount=1_000)

    with announcements() as announced:
        outcomes = run_concurrently(
            50,
            lambda i: services.approve_request(
                credit_request.pk, actor=moderators[i % 5], note=f"approval {i}", source="api"
            ),
        )

    assert sum(kind == "ok" for kind, _ in outcomes) == 1
    assert errors_of(outcomes) == Counter({"AlreadyDecided": 49})
    assert all("already approved" in value.message for kind, value in outcomes if kind == "error")
    assert LedgerEntry.objects.filter(request=credit_request, kind="grant").count() == 1
    assert CreditAccount.objects.get(pk=credit_request.user_id).balance == 1_000
    assert announced["decided"] == [(credit_request.pk, "approved")]


def test_concurrent_approve_deny_and_cancel_of_one_request_leave_exactly_one_decision():
    moderator = ModeratorFactory()
    credit_request = CreditRequestFactory(amount=300)
    owner = credit_request.user
    actions = [
        lambda: services.approve_request(credit_request.pk, actor=moderator, source="api"),
        lambda: services.deny_request(credit_request.pk, actor=moderator, note="Not now", source="api"),
        lambda: services.cancel_request(credit_request.pk, actor=owner, source="web"),
    ]
    with announcements() as announced:
        outcomes = run_concurrently(30, lambda i: actions[i % 3]())

    assert sum(kind == "ok" for kind, _ in outcomes) == 1
    assert errors_of(outcomes) == Counter({"AlreadyDecided": 29})
    credit_request.refresh_from_db()
    granted = LedgerEntry.objects.filter(request=credit_request).count()
    assert granted == (1 if credit_request.status == "approved" else 0)
    assert announced["decided"] == [(credit_request.pk, credit_request.status)]


def test_two_concurrent_requests_with_max_pending_1_file_only_one(settings):
    settings.CREDITS_MAX_PENDING = 1
    member = UserFactory()
    outcomes = run_concurrently(
        2,
        lambda i: services.request_credits(
            user=member, amount=100, reason="Race for the pending slot", origin="api"
        ),
    )
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"]
    assert errors_of(outcomes) == Counter({"LimitExceeded": 1})
    assert CreditRequest.objects.filter(user=member).count() == 1


def test_the_daily_cap_holds_under_a_burst_of_requests(settings):
    settings.CREDITS_MAX_PENDING = 20
    settings.CREDITS_DAILY_CAP = 1_000
    member = UserFactory()
    outcomes = run_concurrently(
        12,
        lambda i: services.request_credits(user=member, amount=300, reason="Burst of requests", origin="api"),
    )
    assert sum(kind == "ok" for kind, _ in outcomes) == 3
    assert {value.rule for kind, value in outcomes if kind == "error"} == {"CREDITS_DAILY_CAP"}
    assert CreditRequest.objects.filter(user=member).aggregate(total=Sum("amount"))["total"] == 900


def test_concurrent_retries_with_one_idempotency_key_file_one_request():
    member = UserFactory()
    outcomes = run_concurrently(
        10,
        lambda i: (
            services.request_credits(
                user=member,
                amount=50,
                reason="Retried by the bot",
                origin="discord",
                idempotency_key="1170001",
            ).pk
        ),
    )
    assert {kind for kind, _ in outcomes} == {"ok"}
    assert len({pk for _, pk in outcomes}) == 1
    assert CreditRequest.objects.filter(user=member).count() == 1


def test_a_mixed_concurrent_workload_keeps_every_balance_equal_to_its_ledger(settings, capsys):
    settings.CREDITS_MAX_PENDING = 3
    settings.CREDITS_DAILY_CAP = 10**9
    moderators = [ModeratorFactory() for _ in range(3)]
    members = [UserFactory() for _ in range(8)]
    for member in members:
        services.adjust_balance(
            user=member, amount=500, reason="Opening balance", actor=moderators[0], source="cli"
        )

    def workload(worker: int) -> Counter:
        rng = random.Random(worker)
        done = Counter()
        for _ in range(40):
            member, moderator = rng.choice(members), rng.choice(moderators)
            pending_ids = list(
                CreditRequest.objects.filter(status="pending").values_list("pk", flat=True)[:20]
            )
            operation = rng.choice(
                ["request", "request", "approve", "approve", "deny", "cancel", "adjust", "spend"]
            )
            try:
                if operation == "request":
                    services.request_credits(
                        user=member, amount=rng.randint(1, 400), reason="Mixed workload request", origin="api"
                    )
                elif operation in ("approve", "deny", "cancel") and pending_ids:
                    request_id = rng.choice(pending_ids)
                    if operation == "approve":
                        services.approve_request(request_id, actor=moderator, source="api")
                    elif operation == "deny":
                        services.deny_request(request_id, actor=moderator, note="Mixed denial", source="api")
                    else:
                        services.cancel_request(request_id, actor=moderator, source="admin")
                elif operation == "adjust":
                    services.adjust_balance(
                        user=member,
                        amount=rng.randint(-300, 300) or 1,
                        reason="Mixed adjustment",
                        actor=moderator,
                        source="admin",
                    )
                elif operation == "spend":
                    services.spend_credits(user=member, amount=rng.randint(1, 300), reason="Mixed spend")
                done[operation] += 1
            except CreditsError as refusal:
                done[type(refusal).__name__] += 1
        return done

    with announcements() as announced:
        outcomes = run_concurrently(12, workload)

    assert {kind for kind, _ in outcomes} == {"ok"}, [v for k, v in outcomes if k == "error"]
    totals = sum((counts for _, counts in outcomes), Counter())
    # The workload really exercised every path, refusals included.
    assert totals["approve"] and totals["deny"] and totals["cancel"] and totals["spend"] and totals["adjust"]
    assert totals["AlreadyDecided"] and totals["InsufficientBalance"] and not totals["NotAllowed"]

    ledger = dict(
        LedgerEntry.objects.values("user").annotate(total=Sum("amount")).values_list("user", "total")
    )
    for account in CreditAccount.objects.all():
        assert account.balance == ledger.get(account.pk, 0) >= 0, account
    assert set(ledger) <= set(CreditAccount.objects.values_list("pk", flat=True))

    grants = LedgerEntry.objects.filter(kind="grant").values("request").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in grants)
    assert {row["request"] for row in grants} == set(
        CreditRequest.objects.filter(status="approved").values_list("pk", flat=True)
    )
    # Every committed request and decision was announced exactly once, refused ones never.
    assert sorted(announced["created"]) == sorted(CreditRequest.objects.values_list("pk", flat=True))
    assert len(announced["created"]) == totals["request"]
    assert sorted(announced["decided"]) == sorted(
        CreditRequest.objects.exclude(status="pending").values_list("pk", "status")
    )
    capsys.readouterr()
    call_command("verify_ledger")
    assert capsys.readouterr().out.startswith(f"Ledger OK: {len(members)} accounts verified")
