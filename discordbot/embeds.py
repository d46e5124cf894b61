"""The bot's replies as embeds: one builder per answer, plain values in, `nextcord.Embed` out.

Phones show embeds about 40 characters wide and collapse inline fields into one column, so lists are
one short line per item (no tables), and numbers carry thousands separators.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import nextcord

from discordbot.limits import NAME_IN_LIST, fit_embed, truncate

BRAND = nextcord.Colour(0x5865F2)
SUCCESS = nextcord.Colour(0x2ECC71)
WARNING = nextcord.Colour(0xF1C40F)
DANGER = nextcord.Colour(0xE74C3C)
MUTED = nextcord.Colour(0x95A5A6)
FOOTER = "DealScale"

PERIOD_TITLES = {"all": "All time", "week": "This week", "month": "This month"}
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    name: str
    score: int | Decimal


@dataclass(frozen=True)
class RankCard:
    name: str
    rank: int
    previous_rank: int | None
    score: int | Decimal
    generated_at: datetime | None


@dataclass(frozen=True)
class Milestone:
    name: str
    # What it takes, in words: "reach rank 10 (you are #14)", "250 more points this week".
    needed: str


@dataclass(frozen=True)
class PendingRequestRow:
    id: int
    amount: int
    created_at: datetime


def within_limits[**P](builder: Callable[P, nextcord.Embed]) -> Callable[P, nextcord.Embed]:
    """Pass the built embed through `limits.fit_embed`: member data of any length still makes a message
    Discord accepts (names and texts cut with an ellipsis, the whole under 6000 characters)."""

    @functools.wraps(builder)
    def build(*args: P.args, **kwargs: P.kwargs) -> nextcord.Embed:
        return fit_embed(builder(*args, **kwargs))

    return build


def number(value: int | Decimal) -> str:
    return f"{value:,}"


def movement(*, rank: int, previous_rank: int | None) -> str:
    """ "▲ 3", "▼ 2", "no change" or "new" — lower rank numbers are better."""
    if previous_rank is None:
        return "🆕 new"
    if previous_rank > rank:
        return f"▲ {number(previous_rank - rank)}"
    if previous_rank < rank:
        return f"▼ {number(rank - previous_rank)}"
    return "no change"


def _embed(*, title: str, colour: nextcord.Colour, description: str | None = None) -> nextcord.Embed:
    embed = nextcord.Embed(title=title, colour=colour, description=description)
    embed.set_footer(text=FOOTER)
    return embed


def _updated_footer(embed: nextcord.Embed, generated_at: datetime | None) -> None:
    if generated_at is not None:
        embed.set_footer(text=f"{FOOTER} · updated {generated_at:%Y-%m-%d %H:%M} UTC")


def _row_line(row: LeaderboardRow, *, bold: bool = False) -> str:
    badge = MEDALS.get(row.rank, f"`#{row.rank}`")
    # Cut before formatting, so the ellipsis never lands inside the bold markers.
    name = truncate(row.name, NAME_IN_LIST)
    name = f"**{name}**" if bold else name
    return f"{badge} {name} — {number(row.score)} pts"


@within_limits
def leaderboard(
    *,
    period: str,
    rows: list[LeaderboardRow],
    own_row: LeaderboardRow | None,
    caller_linked: bool,
    link_url: str,
    generated_at: datetime | None,
) -> nextcord.Embed:
    title = f"🏆 Leaderboard · {PERIOD_TITLES[period]}"
    if not rows:
        return _embed(title=title, colour=BRAND, description="No ranked players yet for this period.")
    embed = _embed(title=title, colour=BRAND, description="\n".join(_row_line(row) for row in rows))
    if own_row is not None:
        embed.add_field(name="Your position", value=_row_line(own_row, bold=True), inline=False)
    elif not caller_linked:
        embed.add_field(name="Your position", value=f"[Link your Discord account]({link_url}) to be ranked.")
    _updated_footer(embed, generated_at)
    return embed


@within_limits
def rank(card: RankCard, *, milestone: Milestone | None) -> nextcord.Embed:
    embed = _embed(title=f"📈 {card.name}", colour=BRAND)
    embed.add_field(name="Rank", value=f"#{number(card.rank)}")
    embed.add_field(name="Score", value=f"{number(card.score)} pts")
    embed.add_field(name="Movement", value=movement(rank=card.rank, previous_rank=card.previous_rank))
    if milestone is not None:
        embed.add_field(
            name="Next milestone",
            value=f"**{milestone.name}**: {milestone.needed}",
            inline=False,
        )
    else:
        embed.add_field(
            name="Next milestone", value="Top of the ladder — nothing left to reach! 🎉", inline=False
        )
    _updated_footer(embed, card.generated_at)
    return embed


@within_limits
def unranked(*, name: str, period: str) -> nextcord.Embed:
    return _embed(
        title=f"📈 {name}",
        colour=WARNING,
        description=(
            f"Not ranked yet ({PERIOD_TITLES[period].lower()}). "
            "Scores are ranked a few minutes after they land."
        ),
    )


@within_limits
def credits(*, balance: int, pending: list[PendingRequestRow], pending_total: int) -> nextcord.Embed:
    embed = _embed(title="💳 Your credits", colour=BRAND)
    embed.add_field(name="Balance", value=f"**{number(balance)}** credits", inline=False)
    if pending:
        lines = [
            f"`#{row.id}` · {number(row.amount)} credits · <t:{int(row.created_at.timestamp())}:R>"
            for row in pending
        ]
        if pending_total > len(pending):
            lines.append(f"…and {number(pending_total - len(pending))} more")
        embed.add_field(
            name=f"Pending requests ({number(pending_total)})", value="\n".join(lines), inline=False
        )
    else:
        embed.add_field(
            name="Pending requests", value="None — use `/request-credits` to ask for more.", inline=False
        )
    return embed


@within_limits
def request_filed(*, request_id: int, amount: int, status: str, reason: str) -> nextcord.Embed:
    embed = _embed(title=f"📨 Credit request #{request_id}", colour=SUCCESS)
    embed.add_field(name="Amount", value=f"{number(amount)} credits")
    embed.add_field(name="Status", value=status.capitalize())
    embed.add_field(name="Reason", value=reason, inline=False)
    embed.description = "A moderator will review it soon. Check `/credits` for its status."
    return embed


@within_limits
def link_status(*, discord_name: str, username: str | None, link_url: str) -> nextcord.Embed:
    if username is not None:
        embed = _embed(title="🔗 Account linked", colour=SUCCESS)
        embed.description = f"**{discord_name}** is linked to the DealScale account **{username}**."
        embed.add_field(name="Manage", value=f"[Your profile]({link_url})")
        return embed
    return not_linked(link_url=link_url)


@within_limits
def not_linked(*, link_url: str) -> nextcord.Embed:
    return _embed(
        title="🔗 Link your account",
        colour=WARNING,
        description=(
            "Your Discord account is not linked to DealScale yet.\n"
            f"**[Connect it here]({link_url})**, then try again."
        ),
    )


@within_limits
def problem(message: str, *, title: str = "Can't do that") -> nextcord.Embed:
    return _embed(title=f"⚠️ {title}", colour=DANGER, description=message)


@within_limits
def moderation_request(
    *, request_id: int, member: str, discord_id: str | None, amount: int, reason: str, source: str
) -> nextcord.Embed:
    embed = _embed(title=f"Credit request #{request_id}", colour=WARNING)
    embed.add_field(name="Member", value=f"<@{discord_id}> ({member})" if discord_id else member)
    embed.add_field(name="Amount", value=f"{number(amount)} credits")
    embed.add_field(name="Source", value=source)
    embed.add_field(name="Reason", value=reason, inline=False)
    embed.add_field(name="Status", value="Pending", inline=False)
    return embed


@within_limits
def moderation_decided(
    *, request_id: int, member: str, amount: int, reason: str, status: str, moderator: str, note: str
) -> nextcord.Embed:
    approved = status == "approved"
    embed = _embed(title=f"Credit request #{request_id}", colour=SUCCESS if approved else DANGER)
    embed.add_field(name="Member", value=member)
    embed.add_field(name="Amount", value=f"{number(amount)} credits")
    embed.add_field(name="Reason", value=reason, inline=False)
    embed.add_field(
        name="Status",
        value=f"{'✅' if approved else '❌'} {status.capitalize()} by {moderator}",
        inline=False,
    )
    if note:
        embed.add_field(name="Note", value=note, inline=False)
    return embed


DECISION_DM = {
    "approved": ("Credit request approved", SUCCESS),
    "denied": ("Credit request denied", DANGER),
    "cancelled": ("Credit request cancelled", MUTED),
}


@within_limits
def decision_dm(
    *, request_id: int, amount: int, reason: str, status: str, note: str, decided_at: datetime | None
) -> nextcord.Embed:
    """The DM telling a member the decision on their request."""
    title, colour = DECISION_DM[status]
    embed = _embed(title=title, colour=colour, description=reason)
    embed.add_field(name="Amount", value=f"{number(amount)} credits")
    embed.add_field(name="Request", value=f"#{request_id}")
    if note:
        embed.add_field(name="Note", value=note, inline=False)
    embed.timestamp = decided_at
    return embed


ANNOUNCEMENT_TITLE_PREFIX = "📢 "


@within_limits
def announcement(*, title: str, text: str) -> nextcord.Embed:
    return _embed(title=f"{ANNOUNCEMENT_TITLE_PREFIX}{title}", colour=BRAND, description=text)
