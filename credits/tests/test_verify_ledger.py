from unittest import mock

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from credits import services
from credits.models import CreditAccount, LedgerEntry
from credits.tasks import check_ledger
from credits.tests.factories import CreditRequestFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    return ModeratorFactory()


def fund(user, amount, moderator):
    return services.adjust_balance(
        user=user, amount=amount, reason="Opening balance", actor=moderator, source="cli"
    )


def test_a_consistent_ledger_is_reported_ok(moderator, capsys):
    members = [UserFactory() for _ in range(3)]
    for member in members:
        fund(member, 100, moderator)
    services.approve_request(CreditRequestFactory(user=members[0]).pk, actor=moderator, source="admin")
    services.spend_credits(user=members[1], amount=60, reason="Raffle ticket")
    services.request_credits(user=UserFactory(), amount=5, reason="A request, nothing granted", origin="web")
    call_command("verify_ledger")
    assert capsys.readouterr().out.strip() == "Ledger OK: 4 accounts verified"


def test_the_comparison_is_one_query_whatever_the_number_of_accounts(moderator):
    for _ in range(5):
        fund(UserFactory(), 10, moderator)
    with CaptureQueriesContext(connection) as captured:
        call_command("verify_ledger")
    assert len(captured) == 2  # the GROUP BY comparison and the account count


def test_a_cached_balance_that_drifted_is_printed_and_fails(moderator, capsys):
    honest, drifted = UserFactory(username="honest"), UserFactory(username="drifted")
    fund(honest, 100, moderator)
    fund(drifted, 100, moderator)
    CreditAccount.objects.filter(pk=drifted.pk).update(balance=F("balance") + 25)
    with pytest.raises(CommandError, match="Ledger drift on 1 account"):
        call_command("verify_ledger")
    err = capsys.readouterr().err
    assert f"DRIFT user {drifted.pk} (drifted): cached balance 125 != ledger sum 100 (off by +25)" in err
    assert "honest" not in err


def test_ledger_entries_without_an_account_are_drift(moderator, capsys):
    member = UserFactory(username="orphan")
    fund(member, 40, moderator)
    CreditAccount.objects.filter(pk=member.pk).delete()
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    assert f"DRIFT user {member.pk} (orphan): ledger sum 40 but no credit account" in capsys.readouterr().err
    assert LedgerEntry.objects.filter(user=member).count() == 1


def test_drift_makes_the_command_exit_with_status_1(moderator):
    member = UserFactory()
    fund(member, 10, moderator)
    CreditAccount.objects.filter(pk=member.pk).update(balance=0)
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "verify_ledger"]).execute()
    assert exit_info.value.code == 1


def test_the_scheduled_check_logs_each_drift_at_error_level(moderator):
    member = UserFactory()
    fund(member, 30, moderator)
    assert check_ledger() == 0

    CreditAccount.objects.filter(pk=member.pk).update(balance=F("balance") - 5)
    with mock.patch("credits.tasks.logger") as logger:
        assert check_ledger() == 1
    logger.error.assert_called_once_with(
        "credit_ledger_drift", user_id=member.pk, cached_balance=25, ledger_total=30
    )
    assert PeriodicTask.objects.get(name="credits-check-ledger").task == "credits.tasks.check_ledger"
