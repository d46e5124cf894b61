"""A guild with milestone roles in the fake Discord, linked members, and the leaderboard standings."""

from dataclasses import dataclass, field

import pytest

from accounts.tests.factories import DiscordAccountFactory
from discord_sandbox import GUILD_ID
from rolesync import selectors
from rolesync.planner import Standing
from rolesync.tests.factories import MilestoneFactory, TrackFactory, UserFactory

MEMBER_ROLES = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"


@dataclass
class Guild:
    """The fake guild of a test: role ids by name, plus helpers to add members and set their standing."""

    fake: object
    roles: dict[str, str]
    standings: dict[str, dict[int, Standing]] = field(
        default_factory=lambda: {"all": {}, "week": {}, "month": {}}
    )

    def linked_member(
        self, username: str, *, roles=(), rank: int | None = None, score: int = 0, in_guild=True
    ):
        account = DiscordAccountFactory(user=UserFactory(username=username))
        self.fake.add_user(account.uid, username=username)
        if in_guild:
            self.fake.add_member(GUILD_ID, account.uid, roles=[self.roles[r] for r in roles])
        if rank is not None:
            self.standings["all"][account.user_id] = Standing(rank, score)
        return account

    def unlinked_member(self, username: str, *, roles=()) -> str:
        user = self.fake.add_user(username=username)
        self.fake.add_member(GUILD_ID, user["id"], roles=[self.roles[r] for r in roles])
        return user["id"]

    def role_names_of(self, discord_id: str) -> set[str]:
        names = {role_id: name for name, role_id in self.roles.items()}
        return {names.get(role_id, role_id) for role_id in self.fake.member_roles(GUILD_ID, discord_id)}

    def mutating_requests(self):
        return [r for r in self.fake.requests if r.method in ("PUT", "DELETE", "PATCH", "POST")]


@pytest.fixture
def leaderboard_guild(fake_discord, settings):
    """Milestones "Top 10" / "Top 100" (exclusive) and "1k club" (cumulative) on roles below the bot,
    read from the real leaderboard snapshots."""
    settings.ROLE_SYNC_BRAKE_MIN_CHANGES = 25
    settings.ROLE_SYNC_BRAKE_SHARE = 0.10
    roles = {
        name: fake_discord.add_role(name=name, position=position)["id"]
        for name, position in [("Top 10", 5), ("Top 100", 4), ("1k club", 3), ("VIP", 2)]
    }
    ranks = TrackFactory(name="Rank tiers", exclusive=True)
    MilestoneFactory(track=ranks, name="Top 10", discord_role_id=roles["Top 10"], max_rank=10)
    MilestoneFactory(track=ranks, name="Top 100", discord_role_id=roles["Top 100"], max_rank=100)
    MilestoneFactory(
        track=TrackFactory(name="Score", exclusive=False),
        name="1k club",
        discord_role_id=roles["1k club"],
        max_rank=None,
        min_score=1000,
    )
    return Guild(fake=fake_discord, roles=roles)


@pytest.fixture
def guild(leaderboard_guild, monkeypatch):
    """The same guild with standings set directly by each test (`linked_member(rank=..., score=...)`)."""
    monkeypatch.setattr(selectors, "standings_by_period", lambda periods: leaderboard_guild.standings)
    return leaderboard_guild


@pytest.fixture
def requested_syncs():
    """The role syncs the code under test asked for: (outbox kind, payload) of their entries, in order."""
    from dealscale.models import OutboxEntry

    def read() -> list[tuple[str, dict]]:
        entries = OutboxEntry.objects.filter(kind__startswith="rolesync.").order_by("pk")
        return [(entry.kind, entry.payload) for entry in entries]

    return read
