"""End to end against the fake Discord: a recalculation pushes the members whose values changed, and only
those; tokens are refreshed; a refused token waits for a relink; unlinking clears the connection."""

from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent, DiscordToken
from accounts.services import unlink_discord
from credits.services import approve_request
from credits.tests.factories import CreditRequestFactory, ModeratorFactory
from dealscale.models import OutboxEntry
from leaderboard.services import recalculate_leaderboard
from leaderboard.tests.factories import give
from linkedroles import metadata, selectors, services
from linkedroles.models import RoleConnection

pytestmark = pytest.mark.django_db

ROLE_CONNECTION = "/users/@me/applications/{application_id}/role-connection"


def ours(outcomes: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(kind, outcome) for kind, outcome in outcomes if kind.startswith("linkedroles.")]


def puts(fake) -> list:
    return fake.requests_to("PUT", ROLE_CONNECTION)


def test_a_recalculation_pushes_each_linked_members_values_and_a_second_one_makes_no_call(
    registered, link, run_outbox
):
    fake = registered
    alice, alice_discord, _ = link("alice", display_name="Alice A")
    bob, bob_discord, _ = link("bob")
    give(alice, 300)
    give(bob, 100)

    recalculate_leaderboard()
    assert [kind for kind, _ in run_outbox()] == [services.PUSH_CHANGED]

    assert fake.role_connection_of(alice_discord) == {
        "platform_name": "DealScale",
        "platform_username": "Alice A",
        "metadata": {
            "rank_all_time": "1",
            "points_all_time": "300",
            "rank_this_month": "1",
            "credits_earned": "0",
            "linked_since": alice.socialaccount_set.get()
            .date_joined.astimezone(UTC)
            .isoformat(timespec="seconds"),
        },
    }
    assert fake.role_connection_of(bob_discord)["metadata"]["rank_all_time"] == "2"
    assert fake.role_connection_of(bob_discord)["platform_username"] == "bob"
    first = len(puts(fake))
    assert first == 2

    # New points for Bob only: he overtakes Alice, so both ranks change; a third member does not exist.
    give(bob, 500)
    recalculate_leaderboard()
    run_outbox()
    assert len(puts(fake)) == first + 2
    assert fake.role_connection_of(bob_discord)["metadata"]["rank_all_time"] == "1"
    assert fake.role_connection_of(alice_discord)["metadata"]["rank_all_time"] == "2"

    # Nothing changed: a forced recalculation publishes again, and no member gets a call.
    recalculate_leaderboard(force=True)
    run_outbox()
    assert len(puts(fake)) == first + 2
    assert RoleConnection.objects.get(user=alice).push_count == 2


def test_only_the_member_whose_values_changed_gets_a_call(registered, link, run_outbox):
    fake = registered
    members = [link(f"member{n}") for n in range(5)]
    for n, (user, _, _) in enumerate(members):
        give(user, 100 * (5 - n))  # distinct ranks 1..5
    recalculate_leaderboard()
    run_outbox()
    before = len(puts(fake))

    last, last_discord, _ = members[-1]
    give(last, 1)  # 101 points: still fifth
    recalculate_leaderboard()
    run_outbox()

    calls = puts(fake)[before:]
    assert len(calls) == 1
    assert fake.role_connection_of(last_discord)["metadata"]["points_all_time"] == "101"


def test_an_approved_grant_pushes_the_members_credits_earned(registered, link, run_outbox):
    fake = registered
    alice, alice_discord, _ = link("alice")
    credit_request = CreditRequestFactory(user=alice, amount=250)

    approve_request(credit_request.pk, actor=ModeratorFactory(), source=AuditEvent.Source.ADMIN)
    run_outbox()

    assert fake.role_connection_of(alice_discord)["metadata"]["credits_earned"] == "250"


def test_an_expired_access_token_is_refreshed_before_the_push(registered, link, run_outbox):
    fake = registered
    alice, alice_discord, tokens = link("alice", expires_in=timedelta(seconds=10))
    fake.expire_access_token(tokens["access_token"])
    give(alice, 50)

    recalculate_leaderboard()
    run_outbox()

    assert len(fake.requests_to("POST", "/oauth2/token")) == 1
    stored = DiscordToken.objects.get(social_account__user=alice)
    assert stored.access_token_encrypted != tokens["access_token"]
    assert fake.role_connection_of(alice_discord)["metadata"]["points_all_time"] == "50"
    [put] = puts(fake)
    assert put.headers["Authorization"] == f"Bearer {stored.access_token_encrypted}"


def test_a_token_discord_refuses_marks_the_link_for_relinking_and_is_not_retried(
    registered, link, run_outbox
):
    fake = registered
    alice, _, tokens = link("alice")
    fake.expire_access_token(tokens["access_token"])  # Discord answers 401 although it has not expired here
    give(alice, 50)

    recalculate_leaderboard()
    run_outbox()

    assert DiscordToken.objects.get(social_account__user=alice).needs_relink
    assert RoleConnection.objects.get(user=alice).pushed_at is None
    assert selectors.changed_connections() == []  # the link waits for a relink, not for another pass
    recalculate_leaderboard(force=True)
    run_outbox()
    assert len(puts(fake)) == 1


def test_a_discord_outage_is_retried_by_the_outbox_and_pushes_once(registered, link, run_outbox, settings):
    fake = registered
    settings.OUTBOX_FIRST_BACKOFF_SECONDS = 0
    alice, alice_discord, _ = link("alice")
    give(alice, 50)
    fake.fail_next("PUT", ROLE_CONNECTION, status=503, times=5)  # more than the client's own retries

    recalculate_leaderboard()
    outcomes = run_outbox()

    assert outcomes[0] == (services.PUSH_CHANGED, "pending")
    assert outcomes[-1] == (services.PUSH_CHANGED, "delivered")
    assert fake.role_connection_of(alice_discord)["metadata"]["points_all_time"] == "50"
    assert RoleConnection.objects.get(user=alice).push_count == 1
    assert RoleConnection.objects.get(user=alice).last_error == ""


def test_a_full_batch_hands_the_rest_to_a_continuation(registered, link, run_outbox, settings):
    fake = registered
    settings.LINKED_ROLES_PUSH_BATCH = 2
    members = [link(f"member{n}") for n in range(5)]
    for user, _, _ in members:
        give(user, 10)

    recalculate_leaderboard()
    outcomes = run_outbox()

    assert outcomes == [(services.PUSH_CHANGED, "delivered")] * 3
    assert len(puts(fake)) == 5
    assert all(fake.role_connection_of(discord_id) for _, discord_id, _ in members)


def test_the_kill_switch_pauses_pushes_and_the_next_pass_catches_up(registered, link, run_outbox, set_flag):
    fake = registered
    alice, alice_discord, _ = link("alice")
    give(alice, 50)
    set_flag(everyone=False)

    recalculate_leaderboard()
    run_outbox()
    assert puts(fake) == []
    with pytest.raises(CommandError, match="paused"):
        call_command("push_role_connections")

    set_flag(everyone=True)
    call_command("push_role_connections")
    assert fake.role_connection_of(alice_discord)["metadata"]["points_all_time"] == "50"


def test_members_without_the_scope_get_no_call(registered, link, run_outbox):
    fake = registered
    old, _, _ = link("old", scope="identify email")
    give(old, 50)

    recalculate_leaderboard()
    run_outbox()

    assert puts(fake) == []
    assert selectors.needs_consent(old) and selectors.show_consent_prompt(old)


def test_unlinking_clears_the_connection_at_discord_before_revoking(registered, link, run_outbox):
    fake = registered
    alice, alice_discord, tokens = link("alice")
    alice.set_password("a-long-test-password-42")
    alice.save()
    give(alice, 50)
    recalculate_leaderboard()
    run_outbox()
    assert fake.role_connection_of(alice_discord)["metadata"]

    unlink_discord(user=alice, actor=alice, source=AuditEvent.Source.WEB)

    clear = puts(fake)[-1]
    assert clear.json == {"platform_name": "DealScale", "platform_username": None, "metadata": {}}
    assert fake.role_connection_of(alice_discord)["metadata"] == {}
    revoke = fake.requests_to("POST", "/oauth2/token/revoke")
    assert len(revoke) == 1 and fake.requests.index(clear) < fake.requests.index(revoke[0])
    assert not RoleConnection.objects.filter(user=alice).exists()


def test_an_unlink_goes_through_when_discord_fails_to_clear(registered, link, run_outbox):
    fake = registered
    alice, _, _ = link("alice")
    alice.set_password("a-long-test-password-42")
    alice.save()
    fake.fail_next("PUT", ROLE_CONNECTION, status=503, times=10)

    unlink_discord(user=alice, actor=alice, source=AuditEvent.Source.WEB)

    assert not DiscordToken.objects.filter(social_account__user=alice).exists()
    assert len(fake.requests_to("POST", "/oauth2/token/revoke")) == 1


def test_the_command_dry_run_prints_the_plan_and_sends_nothing(registered, link, capsys):
    fake = registered
    alice, _, _ = link("alice")
    bob, _, _ = link("bob")
    give(alice, 70)
    recalculate_leaderboard()
    OutboxEntry.objects.all().delete()

    call_command("push_role_connections", "--dry-run", "--user", str(alice.pk))

    out = capsys.readouterr().out
    assert f"user {alice.pk} (alice, never pushed)" in out and "points_all_time=70" in out
    assert f"user {bob.pk}" not in out
    assert "1 changed, would push 1" in out
    assert puts(fake) == []

    call_command("push_role_connections", "--user", str(alice.pk))
    assert len(puts(fake)) == 1
    with pytest.raises(CommandError, match="No user with id 999999"):
        call_command("push_role_connections", "--user", "999999")


def test_values_stay_within_discords_limits(link, registered):
    user, _, _ = link("x" * 150, display_name="")
    [push] = selectors.desired_connections()
    assert len(push.platform_username) == metadata.PLATFORM_USERNAME_MAX
    assert all(1 <= len(value) <= metadata.VALUE_MAX for value in push.metadata.values())


def test_values_discord_refuses_are_not_sent_again_until_the_schema_is_registered(
    fake_discord, link, run_outbox
):
    alice, alice_discord, _ = link("alice")  # no metadata registered yet: Discord knows none of the keys
    give(alice, 50)

    recalculate_leaderboard()
    assert run_outbox() == [(services.PUSH_CHANGED, "delivered")]  # a refusal is not retried
    assert len(puts(fake_discord)) == 1 and puts(fake_discord)[0].status == 400
    assert "Discord refused the values" in RoleConnection.objects.get(user=alice).last_error
    recalculate_leaderboard(force=True)
    run_outbox()
    assert len(puts(fake_discord)) == 1  # the same values are not sent again

    services.register_metadata()
    call_command("push_role_connections")

    assert len(puts(fake_discord)) == 2
    assert fake_discord.role_connection_of(alice_discord)["metadata"]["points_all_time"] == "50"
    connection = RoleConnection.objects.get(user=alice)
    assert connection.rejected_metadata is None and connection.last_error == ""


def test_deactivating_a_member_clears_their_connection_and_reactivating_pushes_it_again(
    registered, link, run_outbox
):
    fake = registered
    alice, alice_discord, _ = link("alice")
    give(alice, 50)
    recalculate_leaderboard()
    run_outbox()

    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert ours(run_outbox()) == [(services.CLEAR_MEMBER, "delivered")]  # role sync's own entry aside
    assert fake.role_connection_of(alice_discord)["metadata"] == {}
    assert not RoleConnection.objects.filter(user=alice).exists()
    call_command("push_role_connections")
    assert fake.role_connection_of(alice_discord)["metadata"] == {}  # inactive: not pushed

    alice.is_active = True
    alice.save(update_fields=["is_active"])
    call_command("push_role_connections")
    assert fake.role_connection_of(alice_discord)["metadata"]["points_all_time"] == "50"


def test_a_failed_clear_is_retried_by_the_outbox(registered, link, run_outbox, settings):
    fake = registered
    settings.OUTBOX_FIRST_BACKOFF_SECONDS = 0
    alice, alice_discord, _ = link("alice")
    give(alice, 50)
    recalculate_leaderboard()
    run_outbox()
    fake.fail_next("PUT", ROLE_CONNECTION, status=503, times=5)

    alice.is_active = False
    alice.save()
    outcomes = ours(run_outbox())

    assert outcomes[0] == (services.CLEAR_MEMBER, "pending") and outcomes[-1] == (
        services.CLEAR_MEMBER,
        "delivered",
    )
    assert fake.role_connection_of(alice_discord)["metadata"] == {}


def test_deactivating_a_member_nothing_was_pushed_for_queues_nothing(link, run_outbox):
    alice, _, _ = link("alice")
    alice.is_active = False
    alice.save()
    assert not OutboxEntry.objects.filter(kind=services.CLEAR_MEMBER).exists()
