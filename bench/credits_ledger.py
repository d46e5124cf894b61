"""Benchmark of the credits ledger under concurrency, verify_ledger at scale and the moderation list.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \\
        DEBUG=true python bench/credits_ledger.py [--rounds 10] [--threads 8] [--accounts 20000]

Ledger rows are immutable (PostgreSQL refuses to delete them), so the bench creates a scratch database
next to the one given, migrates it, and drops it at the end. It prints:
1. contention: 50 threads approving one request at once, per round — wall time, and the proof that each
   round granted once;
2. throughput: `--threads` threads running a mix of requests, approvals, denials, cancels, adjustments
   and spends over 100 members through the services (own connections) — operations/s and latencies;
3. verify_ledger's one GROUP BY query over `--accounts` accounts with 10 entries each;
4. the admin's credit request list (first page, pending first, balances annotated) over the same data.
"""

import argparse
import os
import random
import threading
import time
from collections import defaultdict

from common import ScratchDatabase, latency_line, setup_django

SCRATCH = ScratchDatabase("bench_credits")
setup_django(LOG_LEVEL="WARNING", CELERY_BROKER_URL="memory://")

from unittest import mock  # noqa: E402

from django.contrib.auth.models import Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from accounts.models import User  # noqa: E402
from credits import selectors, services  # noqa: E402
from credits.errors import AlreadyDecided, CreditsError  # noqa: E402
from credits.models import CreditAccount, CreditRequest, LedgerEntry  # noqa: E402


def in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def make_moderator() -> User:
    moderator = User.objects.create_user("bench-moderator", is_staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="moderate_creditrequest"))
    return User.objects.get(pk=moderator.pk)  # fresh permission cache


def approve(request_id: int, moderator: User) -> str:
    try:
        services.approve_request(request_id, actor=moderator, source="api")
    except AlreadyDecided:
        return "already decided"
    return "granted"


def contention(moderator: User, rounds: int) -> None:
    print(f"\n1. Contention: 50 threads approve the same request at once, {rounds} rounds")
    walls = []
    for number in range(rounds):
        member = User.objects.create_user(f"bench-contention-{number}")
        credit_request = services.request_credits(
            user=member, amount=100, reason="Contention benchmark round", origin="api"
        )

        began = time.perf_counter()
        outcomes = in_threads(50, lambda _index, request_id=credit_request.pk: approve(request_id, moderator))
        walls.append(time.perf_counter() - began)
        assert outcomes.count("granted") == 1 and outcomes.count("already decided") == 49, outcomes
        assert LedgerEntry.objects.filter(request=credit_request).count() == 1
    print(latency_line("round wall time", walls))
    print(f"{'':<26} every round: 1 grant, 49 'already decided', 1 ledger entry")


def throughput(moderator: User, threads: int, per_thread: int) -> None:
    print(f"\n2. Mixed workload: {threads} threads x {per_thread} operations over 100 members")
    members = [User.objects.create_user(f"bench-member-{n}") for n in range(100)]
    for member in members:
        services.adjust_balance(
            user=member, amount=1_000, reason="Bench opening", actor=moderator, source="cli"
        )
    latencies: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()

    def work(index: int) -> None:
        rng = random.Random(index)
        for _ in range(per_thread):
            member = rng.choice(members)
            operation = rng.choice(["request", "request", "approve", "deny", "cancel", "adjust", "spend"])
            pending = list(CreditRequest.objects.filter(status="pending").values_list("pk", flat=True)[:50])
            began = time.perf_counter()
            try:
                if operation == "request":
                    services.request_credits(
                        user=member, amount=rng.randint(1, 500), reason="Bench request", origin="api"
                    )
                elif operation in ("approve", "deny", "cancel") and pending:
                    request_id = rng.choice(pending)
                    if operation == "approve":
                        services.approve_request(request_id, actor=moderator, source="api")
                    elif operation == "deny":
                        services.deny_request(request_id, actor=moderator, note="Bench denial", source="api")
                    else:
                        services.cancel_request(request_id, actor=moderator, source="api")
                elif operation == "adjust":
                    services.adjust_balance(
                        user=member,
                        amount=rng.randint(-200, 200) or 1,
                        reason="Bench",
                        actor=moderator,
                        source="api",
                    )
                elif operation == "spend":
                    services.spend_credits(user=member, amount=rng.randint(1, 200), reason="Bench spend")
                else:
                    continue
                outcome = operation
            except CreditsError as refusal:
                outcome = f"{operation} ({type(refusal).__name__})"
            with lock:
                latencies[outcome].append(time.perf_counter() - began)

    began = time.perf_counter()
    in_threads(threads, work)
    wall = time.perf_counter() - began
    total = sum(len(v) for v in latencies.values())
    print(f"{total} operations in {wall:.2f} s: {total / wall:.0f} operations/s")
    for name in sorted(latencies):
        print(latency_line(name, latencies[name]))
    drift = selectors.ledger_drift()
    print(f"{'':<26} ledger drift after the workload: {len(drift)} accounts")
    assert not drift


def verify_at_scale(accounts: int) -> None:
    print(f"\n3. verify_ledger over {accounts:,} accounts with 10 ledger entries each")
    started = time.perf_counter()
    users = User.objects.bulk_create(
        [User(username=f"bench-scale-{n}") for n in range(accounts)], batch_size=5000
    )
    CreditAccount.objects.bulk_create([CreditAccount(user=u, balance=55) for u in users], batch_size=5000)
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                user=u, amount=step, kind="adjustment", reason="Bench", balance_after=step * (step + 1) // 2
            )
            for u in users
            for step in range(1, 11)
        ],
        batch_size=10000,
    )
    requests = [CreditRequest(user=u, amount=10, reason="Bench listing", source="api") for u in users]
    CreditRequest.objects.bulk_create(requests, batch_size=5000)
    print(f"{'':<26} seeded in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    samples = []
    for _ in range(5):
        began = time.perf_counter()
        drift = selectors.ledger_drift()
        samples.append(time.perf_counter() - began)
        assert not drift
    print(latency_line("ledger_drift()", samples))


def admin_list() -> None:
    print("\n4. Admin credit request list, first page (100 rows), as a moderator")
    superuser = User.objects.create_superuser("bench-admin", "bench@example.com", "bench-password-1")
    client = Client()
    client.force_login(superuser)
    samples = []
    for _ in range(10):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = client.get("/admin/credits/creditrequest/")
            samples.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
    total = CreditRequest.objects.count()
    print(latency_line("list page", samples) + f"  ({len(queries)} queries, {total:,} requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=150)
    parser.add_argument("--accounts", type=int, default=20_000)
    args = parser.parse_args()

    with SCRATCH.created():
        setup_test_environment()
        call_command("migrate", verbosity=0)
        print(
            f"Credits ledger benchmark on PostgreSQL (scratch database {SCRATCH.name}), {os.cpu_count()} CPUs"
        )
        # Writing a decision's outbox entries is part of the measure (same transaction); handing them to a
        # broker after the commit is not.
        with mock.patch("dealscale.outbox.kick"):
            moderator = make_moderator()
            contention(moderator, args.rounds)
            throughput(moderator, args.threads, args.per_thread)
        verify_at_scale(args.accounts)
        admin_list()


if __name__ == "__main__":
    main()
