"""/credits and /request-credits: adapters over credits.selectors and credits.services."""

from dataclasses import dataclass

import nextcord
from nextcord import SlashOption

from credits.models import CreditRequest
from credits.selectors import balance_for, pending_requests_for
from credits.services import REASON_MAX_LENGTH, REASON_MIN_LENGTH, request_credits
from discordbot import embeds
from discordbot.asyncdb import database_sync_to_async
from discordbot.cogs.base import BotCog, member_for, note_user, private_answer, reply

PENDING_SHOWN = 5


@dataclass(frozen=True)
class CreditsOverview:
    balance: int
    pending: list[embeds.PendingRequestRow]
    pending_total: int


def credits_overview(*, discord_id: int) -> CreditsOverview:
    """The caller's balance and newest pending requests. Raises NotLinked/Refusal (member_for)."""
    user = member_for(discord_id)
    note_user(user)
    pending = pending_requests_for(user)
    shown = [
        embeds.PendingRequestRow(id=request.pk, amount=request.amount, created_at=request.created_at)
        for request in pending[:PENDING_SHOWN]
    ]
    total = len(shown) if len(shown) < PENDING_SHOWN else pending.count()
    return CreditsOverview(balance=balance_for(user), pending=shown, pending_total=total)


def file_request(*, discord_id: int, amount: int, reason: str, interaction_id: int) -> CreditRequest:
    """File the caller's credit request; a retried interaction returns the request it filed first.

    Raises NotLinked/Refusal, and the credits service's CreditsValidationError and LimitExceeded.
    """
    user = member_for(discord_id)
    note_user(user)
    return request_credits(
        user=user,
        amount=amount,
        reason=reason,
        origin=CreditRequest.Source.DISCORD,
        idempotency_key=f"discord-interaction:{interaction_id}",
    )


class CreditsCog(BotCog):
    @nextcord.slash_command(name="credits", description="Your credit balance and pending requests")
    @private_answer
    async def credits(self, interaction: nextcord.Interaction) -> None:
        overview = await database_sync_to_async(credits_overview)(discord_id=interaction.user.id)
        embed = embeds.credits(
            balance=overview.balance, pending=overview.pending, pending_total=overview.pending_total
        )
        await reply(interaction, embed, ephemeral=True)

    @nextcord.slash_command(name="request-credits", description="Ask the moderators for credits")
    @private_answer
    async def request_credits(
        self,
        interaction: nextcord.Interaction,
        amount: int = SlashOption(description="How many credits", min_value=1, required=True),
        reason: str = SlashOption(
            description="Why you need them (a moderator reads this)",
            min_length=REASON_MIN_LENGTH,
            max_length=REASON_MAX_LENGTH,
            required=True,
        ),
    ) -> None:
        credit_request = await database_sync_to_async(file_request)(
            discord_id=interaction.user.id, amount=amount, reason=reason, interaction_id=interaction.id
        )
        embed = embeds.request_filed(
            request_id=credit_request.pk,
            amount=credit_request.amount,
            status=credit_request.status,
            reason=credit_request.reason,
        )
        await reply(interaction, embed, ephemeral=True)
