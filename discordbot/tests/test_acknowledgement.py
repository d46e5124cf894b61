"""The first response within Discord's 3 seconds, and how each answer then reaches the member.

End to end with slowed services: test_e2e_runbot.py (test_a_slowed_*).
"""

import asyncio
from unittest.mock import AsyncMock, MagicMock

import nextcord
import pytest

from discordbot.bot import ComponentRoute, DealScaleBot
from discordbot.cogs.base import (
    Acknowledgement,
    BotCog,
    InteractionRun,
    Refusal,
    acknowledge,
    answers_privately,
    current_run,
    open_modal_in_time,
    reply,
    update_message,
)
from discordbot.cogs.credits import CreditsCog
from discordbot.cogs.leaderboard import LeaderboardCog
from discordbot.replies import IntegrationDisabled


def embed(title: str) -> nextcord.Embed:
    return nextcord.Embed(title=title)


class Recorder:
    """A stand-in interaction that records, in order, what the bot sent for it."""

    def __init__(self, interaction_type=nextcord.InteractionType.application_command):
        self.calls: list[tuple] = []
        self.done = False
        interaction = MagicMock()
        interaction.id = 1
        interaction.type = interaction_type
        interaction.response.is_done = lambda: self.done
        interaction.response.defer = AsyncMock(side_effect=self._record("defer", responds=True))
        interaction.response.send_message = AsyncMock(side_effect=self._record("send_message", responds=True))
        interaction.response.edit_message = AsyncMock(side_effect=self._record("edit_message", responds=True))
        interaction.response.send_modal = AsyncMock(side_effect=self._record("send_modal", responds=True))
        interaction.edit_original_message = AsyncMock(side_effect=self._record("edit_original"))
        interaction.delete_original_message = AsyncMock(side_effect=self._record("delete_original"))
        interaction.followup.send = AsyncMock(side_effect=self._record("followup"))
        self.interaction = interaction

    def _record(self, name: str, *, responds: bool = False):
        async def record(*args, **kwargs):
            if responds:
                self.done = True
            self.calls.append((name, kwargs))

        return record

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def run():
    run = InteractionRun(command="test", discord_user_id=1)
    token = current_run.set(run)
    yield run
    current_run.reset(token)


def test_commands_answering_privately_are_marked_and_the_others_are_not():
    assert answers_privately(CreditsCog.credits) and answers_privately(CreditsCog.request_credits)
    assert not answers_privately(LeaderboardCog.leaderboard) and not answers_privately(LeaderboardCog.rank)


async def test_a_private_command_is_deferred_ephemerally_and_answered_by_editing_the_loading_message(run):
    recorder = Recorder()

    assert await acknowledge(recorder.interaction, Acknowledgement.PRIVATE)
    await reply(recorder.interaction, embed("Balance"), ephemeral=True)

    assert recorder.calls[0] == ("defer", {"ephemeral": True, "with_message": True})
    assert recorder.calls[1] == ("edit_original", {"embed": recorder.calls[1][1]["embed"]})
    assert recorder.calls[1][1]["embed"].title == "Balance"
    assert run.answered


async def test_a_public_command_is_answered_in_public_by_editing_the_loading_message(run):
    recorder = Recorder()

    await acknowledge(recorder.interaction, Acknowledgement.PUBLIC)
    await reply(recorder.interaction, embed("Leaderboard"), ephemeral=False)

    assert recorder.calls[0] == ("defer", {"ephemeral": False, "with_message": True})
    assert recorder.names() == ["defer", "edit_original"]


async def test_a_refusal_after_a_public_deferral_deletes_the_loading_message_and_follows_up_privately(run):
    recorder = Recorder()

    await acknowledge(recorder.interaction, Acknowledgement.PUBLIC)
    await reply(recorder.interaction, embed("Not linked"), ephemeral=True)

    assert recorder.names() == ["defer", "delete_original", "followup"]
    assert recorder.calls[2][1]["ephemeral"] is True


async def test_a_loading_message_already_gone_does_not_stop_the_private_answer(run):
    recorder = Recorder()
    recorder.interaction.delete_original_message.side_effect = nextcord.NotFound(
        MagicMock(status=404), {"code": 10008, "message": "Unknown Message"}
    )

    await acknowledge(recorder.interaction, Acknowledgement.PUBLIC)
    await reply(recorder.interaction, embed("Slow down"), ephemeral=True)

    assert recorder.interaction.followup.send.await_args.kwargs["ephemeral"] is True


async def test_a_button_is_deferred_as_an_update_and_answered_by_editing_its_message(run):
    recorder = Recorder(nextcord.InteractionType.component)

    await acknowledge(recorder.interaction, Acknowledgement.UPDATE)
    await update_message(recorder.interaction, embed("Approved"))

    assert recorder.calls[0] == ("defer", {})
    assert recorder.names() == ["defer", "edit_original"]
    assert recorder.calls[1][1]["view"] is None


async def test_a_refused_click_follows_up_privately_and_leaves_the_message_alone(run):
    recorder = Recorder(nextcord.InteractionType.component)

    await acknowledge(recorder.interaction, Acknowledgement.UPDATE)
    await reply(recorder.interaction, embed("Only moderators"), ephemeral=True)

    assert recorder.names() == ["defer", "followup"]
    assert recorder.calls[1][1]["ephemeral"] is True


async def test_an_error_after_the_answer_follows_up_instead_of_overwriting_it(run):
    recorder = Recorder()

    await acknowledge(recorder.interaction, Acknowledgement.PRIVATE)
    await reply(recorder.interaction, embed("Balance"))
    await reply(recorder.interaction, embed("Sorry"))

    assert recorder.names() == ["defer", "edit_original", "followup"]


async def test_without_a_deferral_the_answer_is_the_first_response():
    command, click = Recorder(), Recorder(nextcord.InteractionType.component)

    await reply(command.interaction, embed("Unknown command"))
    await update_message(click.interaction, embed("Approved"))

    assert command.names() == ["send_message"]
    assert click.names() == ["edit_message"]


async def test_a_refused_acknowledgement_is_reported_and_stops_the_handler(run):
    recorder = Recorder()
    recorder.interaction.response.defer.side_effect = nextcord.NotFound(
        MagicMock(status=404), {"code": 10062, "message": "Unknown interaction"}
    )

    assert await acknowledge(recorder.interaction, Acknowledgement.PUBLIC) is False
    assert run.outcome == "error" and run.acknowledgement is None


def bot_with_route(handler, *, modal_actions=()) -> DealScaleBot:
    bot = DealScaleBot.__new__(DealScaleBot)
    bot.component_handlers = {"test": ComponentRoute(handler, frozenset(modal_actions))}
    return bot


async def test_a_click_is_deferred_before_the_kill_switch_and_the_handler_run(run, monkeypatch):
    recorder = Recorder(nextcord.InteractionType.component)
    seen = []

    async def switch_check():
        seen.append(("kill switch", recorder.names()))

    async def handler(interaction, args):
        seen.append(("handler", recorder.names()))

    monkeypatch.setattr("discordbot.bot.refuse_when_switched_off", switch_check)
    bot = bot_with_route(handler)

    await bot._guard_component(bot.component_handlers["test"], recorder.interaction, ["go"])

    assert seen == [("kill switch", ["defer"]), ("handler", ["defer"])]


async def test_a_kill_switch_refusal_after_the_deferral_is_a_private_follow_up(run, monkeypatch):
    recorder = Recorder(nextcord.InteractionType.component)

    async def switched_off():
        raise IntegrationDisabled()

    monkeypatch.setattr("discordbot.bot.refuse_when_switched_off", switched_off)
    bot = bot_with_route(AsyncMock())

    await bot._guard_component(bot.component_handlers["test"], recorder.interaction, ["go"])

    assert recorder.names() == ["defer", "followup"]
    assert "temporarily disabled" in recorder.calls[1][1]["embed"].description


async def test_a_modal_action_is_not_deferred(run):
    recorder = Recorder(nextcord.InteractionType.component)

    async def handler(interaction, args):
        await interaction.response.send_modal(object())

    bot = bot_with_route(handler, modal_actions=["ask"])
    await bot._guard_component(bot.component_handlers["test"], recorder.interaction, ["ask", "1"])

    assert recorder.names() == ["send_modal"]


async def test_checks_that_outlast_their_budget_do_not_hold_the_modal_back(run, settings):
    settings.BOT_MODAL_CHECK_BUDGET_SECONDS = 0.01
    recorder = Recorder(nextcord.InteractionType.component)
    release = asyncio.Event()

    async def slow_refusal():
        await release.wait()
        raise Refusal("Only moderators can decide credit requests.")

    await open_modal_in_time(recorder.interaction, object(), checks=slow_refusal)
    assert recorder.names() == ["send_modal"]
    release.set()
    await asyncio.sleep(0)


async def test_a_refusal_within_the_budget_is_raised_and_no_modal_opens(run, settings):
    settings.BOT_MODAL_CHECK_BUDGET_SECONDS = 30
    recorder = Recorder(nextcord.InteractionType.component)

    async def refusal():
        raise Refusal("Only moderators can decide credit requests.")

    with pytest.raises(Refusal):
        await open_modal_in_time(recorder.interaction, object(), checks=refusal)
    assert recorder.names() == []


async def test_a_bug_after_a_public_deferral_is_answered_privately(run):
    recorder = Recorder()
    await acknowledge(recorder.interaction, Acknowledgement.PUBLIC)

    await BotCog(MagicMock()).cog_application_command_error(recorder.interaction, KeyError("boom"))

    assert recorder.names() == ["defer", "delete_original", "followup"]
    assert recorder.calls[2][1]["ephemeral"] is True
    assert recorder.calls[2][1]["embed"].title == "⚠️ Sorry"
    assert run.outcome == "error"
