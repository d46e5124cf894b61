"""The bot's command groups, one module each; `load_cogs` adds them all to a bot."""

import nextcord


def load_cogs(bot: nextcord.Client) -> None:
    from discordbot.cogs.account import AccountCog
    from discordbot.cogs.credits import CreditsCog
    from discordbot.cogs.leaderboard import LeaderboardCog
    from discordbot.cogs.moderation import ModerationCog

    for cog in (LeaderboardCog, CreditsCog, AccountCog, ModerationCog):
        bot.add_cog(cog(bot))
