"""Role sync and the next milestone read the real leaderboard snapshots."""

import pytest

from leaderboard import services as leaderboard_services
from leaderboard.tests.factories import give
from rolesync import services
from rolesync.selectors import next_milestone_for

pytestmark = pytest.mark.django_db


def test_a_sync_reads_the_latest_snapshot(leaderboard_guild):
    champion = leaderboard_guild.linked_member("champion")
    runner_up = leaderboard_guild.linked_member("runner-up", roles=["1k club"])
    give(champion.user, 1500)
    give(runner_up.user, 900)
    leaderboard_services.recalculate_leaderboard()

    run = services.execute_run(run_id=services.create_full_run().pk)

    assert run.status == "succeeded"
    assert leaderboard_guild.role_names_of(champion.uid) == {"Top 10", "1k club"}
    assert leaderboard_guild.role_names_of(runner_up.uid) == {"Top 10"}


def test_the_next_milestone_is_the_closest_one_not_reached(leaderboard_guild):
    others = [leaderboard_guild.linked_member(f"ahead{n}").user for n in range(13)]
    for n, user in enumerate(others):
        give(user, 2000 - n)
    member = leaderboard_guild.linked_member("member").user
    give(member, 400)
    newcomer = leaderboard_guild.linked_member("newcomer").user
    leaderboard_services.recalculate_leaderboard()

    milestone, needed = next_milestone_for(member)
    assert (milestone.name, needed) == ("Top 10", "reach rank 10 (you are #14)")

    milestone, needed = next_milestone_for(newcomer)
    assert (milestone.name, needed) == ("Top 100", "get ranked and reach rank 100")

    assert next_milestone_for(others[0]) is None
