import pytest
from django.core.management import call_command

from credits.demo import seed_demo_credits
from credits.models import CreditRequest, LedgerEntry
from credits.selectors import balance_for
from credits.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_credits_cover_every_state_and_can_be_seeded_twice(capsys):
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    members = [UserFactory(username=name) for name in ("alice", "bob", "carol", "dave", "erin")]

    seed_demo_credits(members)
    seed_demo_credits(members)

    assert set(CreditRequest.objects.values_list("status", flat=True)) == {
        "pending",
        "approved",
        "denied",
        "cancelled",
    }
    assert CreditRequest.objects.count() == 6
    assert LedgerEntry.objects.count() == 7
    assert [balance_for(member) for member in members] == [600, 100, 100, 1_600, 100]
    call_command("verify_ledger")
    assert "Ledger OK: 5 accounts verified" in capsys.readouterr().out
