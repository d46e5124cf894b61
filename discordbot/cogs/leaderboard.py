"""/leaderboard and /rank: adapters over the leaderboard page cache and selectors, and milestones."""

import json
from dataclasses import dataclass
from datetime import datetime

import nextcord
from django.utils.dateparse import parse_datetime
from nextcord import SlashOption

from accounts.selectors import user_for_discord_id
from discordbot import embeds
from discordbot.asyncdb import database_sync_to_async
from discordbot.cogs.base import BotCog, Refusal, member_for, note_user, reply
from discordbot.replies import link_url
from leaderboard import page_cache
from leaderboard import selectors as leaderboard_selectors
from rolesync.selectors import next_milestone_for

PERIOD_CHOICES = {"All time": "all", "This week": "week", "This month": "month"}
DEFAULT_LIMIT = 10
MAX_LIMIT = 25


@dataclass(frozen=True)
class LeaderboardPage:
    rows: list[embeds.LeaderboardRow]
    own_row: embeds.LeaderboardRow | None
    caller_linked: bool
    generated_at: datetime | None


def _row(entry: leaderboard_selectors.LeaderboardEntry) -> embeds.LeaderboardRow:
    return embeds.LeaderboardRow(rank=entry.rank, name=entry.display_name, score=entry.score)


def leaderboard_page(*, discord_id: int, period: str, limit: int) -> LeaderboardPage:
    """The top `limit` of `period`, plus the caller's row when they are ranked below it.

    The top comes from the leaderboard's page cache (the same JSON the API serves, one Redis round trip
    when warm); only a caller outside it costs database reads.
    """
    document = json.loads(page_cache.read_page(period=period, limit=limit, offset=0))
    results = document["results"]
    rows = [
        embeds.LeaderboardRow(rank=result["rank"], name=result["user"]["display_name"], score=result["score"])
        for result in results
    ]
    generated_at = parse_datetime(document["generated_at"]) if document["generated_at"] else None
    if any(result["user"]["discord_id"] == str(discord_id) for result in results):
        return LeaderboardPage(rows=rows, own_row=None, caller_linked=True, generated_at=generated_at)
    try:
        caller = member_for(discord_id)
    except Refusal:
        return LeaderboardPage(rows=rows, own_row=None, caller_linked=False, generated_at=generated_at)
    note_user(caller)
    own = leaderboard_selectors.entry_for(caller, period=period)
    own_row = _row(own) if own is not None and own.position > limit else None
    return LeaderboardPage(rows=rows, own_row=own_row, caller_linked=True, generated_at=generated_at)


@dataclass(frozen=True)
class RankView:
    name: str
    card: embeds.RankCard | None
    milestone: embeds.Milestone | None


def rank_view(*, caller_discord_id: int, member_discord_id: int | None, member_name: str | None) -> RankView:
    """The rank card (None when unranked) and next milestone of the caller, or of another member.

    Raises NotLinked (caller) or Refusal (the other member is not linked).
    """
    if member_discord_id is None or member_discord_id == caller_discord_id:
        user = member_for(caller_discord_id)
        note_user(user)
    else:
        user = user_for_discord_id(str(member_discord_id))
        if user is None:
            raise Refusal(f"{member_name} hasn't linked a DealScale account yet.", title="Not linked")
    entry = leaderboard_selectors.entry_for(user, period="all")
    found = next_milestone_for(user)
    milestone = embeds.Milestone(name=found[0].name, needed=found[1]) if found else None
    if entry is None:
        return RankView(name=str(user), card=None, milestone=milestone)
    card = embeds.RankCard(
        name=entry.display_name,
        rank=entry.rank,
        previous_rank=entry.previous_rank,
        score=entry.score,
        generated_at=entry.generated_at,
    )
    return RankView(name=entry.display_name, card=card, milestone=milestone)


class LeaderboardCog(BotCog):
    @nextcord.slash_command(name="leaderboard", description="The top DealScale players")
    async def leaderboard(
        self,
        interaction: nextcord.Interaction,
        period: str = SlashOption(
            description="Which ranking", choices=PERIOD_CHOICES, required=False, default="all"
        ),
        limit: int = SlashOption(
            description=f"How many players (1–{MAX_LIMIT})",
            min_value=1,
            max_value=MAX_LIMIT,
            required=False,
            default=DEFAULT_LIMIT,
        ),
    ) -> None:
        # Discord enforces choices and bounds, but a stale client or a hand-made request may not.
        if period not in PERIOD_CHOICES.values():
            raise Refusal("The period must be one of: all, week, month.", title="Unknown period")
        if not 1 <= limit <= MAX_LIMIT:
            raise Refusal(f"The limit must be between 1 and {MAX_LIMIT}.", title="Bad limit")
        page = await database_sync_to_async(leaderboard_page)(
            discord_id=interaction.user.id, period=period, limit=limit
        )
        embed = embeds.leaderboard(
            period=period,
            rows=page.rows,
            own_row=page.own_row,
            caller_linked=page.caller_linked,
            link_url=link_url(),
            generated_at=page.generated_at,
        )
        await reply(interaction, embed, ephemeral=False)

    @nextcord.slash_command(
        name="rank", description="Your rank, score and next milestone — or another member's"
    )
    async def rank(
        self,
        interaction: nextcord.Interaction,
        member: nextcord.Member = SlashOption(
            description="Whose rank (default: yours)", required=False, default=None
        ),
    ) -> None:
        view = await database_sync_to_async(rank_view)(
            caller_discord_id=interaction.user.id,
            member_discord_id=member.id if member is not None else None,
            member_name=member.display_name if member is not None else None,
        )
        if view.card is None:
            await reply(interaction, embeds.unranked(name=view.name, period="all"), ephemeral=True)
            return
        await reply(interaction, embeds.rank(view.card, milestone=view.milestone), ephemeral=False)
