"""End to end: the real `manage.py runbot` recovers from what Discord's gateway does to a connection.

One bot process (starting one costs seconds on a loaded machine) goes through each of Discord's signals in
turn: RECONNECT (op 7), a resumable INVALID_SESSION (op 9, d=true), a zombied connection (no more
HEARTBEAT_ACKs), a non-resumable INVALID_SESSION (op 9, d=false). After each it must RESUME or IDENTIFY
again as `developers/events/gateway.mdx` asks, and still answer a command.
"""

import signal

import pytest
from waffle.models import Flag

from discordbot.models import BotHeartbeat
from discordbot.tests.test_e2e_runbot import (
    DEFERRED_CHANNEL_MESSAGE,
    answer_of,
    embed_of,
    linked_member,
    slash,
    start_bot,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bot_resumes_or_identifies_again_as_each_gateway_signal_asks(fake_discord, tmp_path):
    Flag.objects.update_or_create(name="discord_integration", defaults={"everyone": True})
    _, member_discord_id = linked_member(fake_discord, username="carol")
    gateway = fake_discord.gateway
    # The fake heartbeats every second: 8 s without an ACK (or anything) is a zombie to this bot. Not less:
    # a new IDENTIFY waits 5 s with nothing read, which a shorter timeout would take for a zombie.
    bot = start_bot(fake_discord, tmp_path, BOT_GATEWAY_TIMEOUT_SECONDS="8")

    def resumed(times: int) -> bool:
        return len(gateway.resumes) == times and any(
            s.ws is not None for s in list(gateway.sessions.values())
        )

    def answers_a_command(step: str) -> None:
        answer = answer_of(fake_discord, slash(fake_discord, "link", user_id=member_discord_id))
        assert answer["type"] == DEFERRED_CHANNEL_MESSAGE, step
        assert embed_of(answer)["title"], step

    try:
        fake_discord.wait_until(
            lambda: BotHeartbeat.objects.exists() or bot.process.poll() is not None, timeout=30
        )
        assert bot.process.poll() is None, bot.log()

        assert fake_discord.send_reconnect() == 1
        fake_discord.wait_until(lambda: resumed(1), timeout=30)
        answers_a_command("after RECONNECT")

        assert fake_discord.send_invalid_session(resumable=True) == 1
        fake_discord.wait_until(lambda: resumed(2), timeout=30)
        answers_a_command("after a resumable INVALID_SESSION")

        assert fake_discord.zombie_gateway() == 1
        fake_discord.wait_until(lambda: resumed(3), timeout=30)
        # Closed with a code that keeps the session open for the RESUME (not 1000 or 1001).
        assert gateway.closes[-1] not in (1000, 1001)
        answers_a_command("after a zombied connection")
        assert len(gateway.identifies) == 1

        assert fake_discord.send_invalid_session(resumable=False) == 1
        # nextcord waits the 5 s Discord asks between two IDENTIFYs, so none is refused.
        fake_discord.wait_until(lambda: len(gateway.identifies) == 2 and gateway.sessions, timeout=30)
        assert gateway.refused_identifies == []
        answers_a_command("after a non-resumable INVALID_SESSION")
    finally:
        assert bot.stop(signal.SIGTERM) == 0, bot.log()
