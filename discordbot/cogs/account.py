"""/link: the caller's link status and where to connect their account."""

import nextcord

from accounts.selectors import user_for_discord_id
from discordbot import embeds
from discordbot.asyncdb import database_sync_to_async
from discordbot.cogs.base import BotCog, private_answer, reply
from discordbot.replies import link_url


def linked_username(*, discord_id: int) -> str | None:
    """The DealScale username linked to this Discord id, or None."""
    user = user_for_discord_id(str(discord_id))
    return user.get_username() if user is not None else None


class AccountCog(BotCog):
    @nextcord.slash_command(name="link", description="Link your Discord account to DealScale")
    @private_answer
    async def link(self, interaction: nextcord.Interaction) -> None:
        username = await database_sync_to_async(linked_username)(discord_id=interaction.user.id)
        embed = embeds.link_status(
            discord_name=interaction.user.display_name, username=username, link_url=link_url()
        )
        await reply(interaction, embed, ephemeral=True)
