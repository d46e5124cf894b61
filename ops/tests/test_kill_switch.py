"""The kill switch across the three doors: the bot (real runbot process), role sync and the web.

Transactional: waffle forgets its cached copy of a flag only when the change commits, and the bot
runs in other threads and processes that only see committed rows.
"""

import pytest
from waffle.models import Flag

from accounts.discord_integration import set_discord_integration
from accounts.tests.factories import StaffFactory, UserFactory
from credits.tests.factories import CreditRequestFactory, ModeratorFactory
from discord_sandbox import DEFAULT_CHANNEL_ID
from discordbot import components
from discordbot.models import BotHeartbeat, CommandInvocation
from discordbot.tests.test_e2e_runbot import EPHEMERAL, answer_of, embed_of, linked_member, slash, start_bot
from rolesync.models import RoleSyncRun
from rolesync.selectors import role_sync_enabled
from rolesync.services import create_full_run, execute_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def integration_flag():
    """The flag as its data migration creates it (transactional tests empty the tables after each test)."""
    Flag.objects.get_or_create(
        name="discord_integration",
        defaults={"everyone": None, "percent": 0, "staff": True, "superusers": True},
    )


def test_switched_off_the_bot_answers_every_command_temporarily_disabled_and_on_again_it_serves(
    fake_discord, tmp_path
):
    set_discord_integration(mode="off")
    _, member_discord_id = linked_member(fake_discord, username="erin")
    bot = start_bot(fake_discord, tmp_path)
    try:
        fake_discord.wait_until(
            lambda: BotHeartbeat.objects.exists() or bot.process.poll() is not None, timeout=30
        )
        assert bot.process.poll() is None, bot.log()

        for command in ("credits", "link"):
            answer = answer_of(fake_discord, slash(fake_discord, command, user_id=member_discord_id))
            assert answer["data"]["flags"] == EPHEMERAL
            assert "Temporarily disabled" in embed_of(answer)["title"]
            assert "temporarily disabled" in embed_of(answer)["description"]

        # The moderation buttons are switched off too.
        _, moderator_discord_id = linked_member(fake_discord, username="mod", factory=ModeratorFactory)
        request = CreditRequestFactory(amount=300)
        message = fake_discord.make_message(
            DEFAULT_CHANNEL_ID,
            {"embeds": [{"title": "request"}], "components": components.moderation_buttons(1)},
        )
        click = fake_discord.push_interaction(
            user_id=moderator_discord_id,
            interaction_type=3,
            data={"custom_id": components.custom_id("approve", request.pk), "component_type": 2},
            message=message,
        )
        answer = answer_of(fake_discord, click)
        assert answer["data"]["flags"] == EPHEMERAL
        assert "Temporarily disabled" in embed_of(answer)["title"]
        request.refresh_from_db()
        assert request.status == "pending"

        fake_discord.wait_until(lambda: CommandInvocation.objects.count() >= 3)
        assert set(CommandInvocation.objects.values_list("outcome", flat=True)) == {"refused"}

        set_discord_integration(mode="on")
        served = answer_of(fake_discord, slash(fake_discord, "credits", user_id=member_discord_id))
        assert "Balance" in {field["name"] for field in embed_of(served)["fields"]}
    finally:
        assert bot.stop() == 0, bot.log()


def test_switched_off_role_sync_runs_are_recorded_as_paused_and_resume_when_switched_on():
    set_discord_integration(mode="off")
    assert role_sync_enabled() is False
    run = execute_run(run_id=create_full_run().pk)
    assert run.status == RoleSyncRun.Status.PAUSED

    set_discord_integration(mode="rollout", percent=10)
    assert role_sync_enabled() is True
    set_discord_integration(mode="on")
    assert role_sync_enabled() is True


def test_switched_off_the_web_refuses_discord_connect_even_to_staff(client, settings):
    settings.DISCORD_CLIENT_ID, settings.DISCORD_CLIENT_SECRET = "1234", "secret"
    settings.SOCIALACCOUNT_PROVIDERS = {
        "discord": {
            **settings.SOCIALACCOUNT_PROVIDERS["discord"],
            "APPS": [{"client_id": "1234", "secret": "secret", "key": ""}],
        }
    }
    member, staff = UserFactory(), StaffFactory()

    set_discord_integration(mode="on")
    client.force_login(member)
    assert b"Connect Discord" in client.get("/profile/").content

    set_discord_integration(mode="off")
    for user in (member, staff):
        client.force_login(user)
        page = client.get("/profile/")
        assert page.context["discord_enabled"] is False
        assert b"Connect Discord" not in page.content
        assert client.post("/accounts/discord/login/", {"process": "connect"}).status_code == 403

    assert Flag.objects.get(name="discord_integration").everyone is False
