"""Approve / Deny buttons under credit requests in the moderators' channel: adapters over credits.services.

Only a member whose Discord account is linked to a staff user with the `credits.moderate_creditrequest`
permission may decide; the service checks the permission again and decides exactly once (audit-logged).
"""

import nextcord

from accounts.models import AuditEvent
from accounts.selectors import user_for_discord_id
from credits.selectors import can_moderate
from credits.services import NOTE_MAX_LENGTH, approve_request, deny_request
from discordbot import components, embeds, limits
from discordbot.asyncdb import database_sync_to_async
from discordbot.cogs.base import (
    BotCog,
    Refusal,
    note_user,
    open_modal_in_time,
    refuse_when_switched_off,
    update_message,
)


def moderator_for(discord_id: int):
    """The moderator (credits.selectors.can_moderate) linked to this Discord id. Raises Refusal for anyone else."""
    user = user_for_discord_id(str(discord_id))
    if user is None or not can_moderate(user):
        raise Refusal("Only moderators can decide credit requests.", title="Not allowed")
    note_user(user)
    return user


def decide(*, discord_id: int, request_id: int, approve: bool, note: str = "") -> nextcord.Embed:
    """Approve or deny the request as the clicking moderator; the moderators' message after the decision.

    Raises Refusal (not a moderator) and the credits service's errors (RequestNotFound, AlreadyDecided,
    CreditsValidationError for the note), which the cog's error handler answers.
    """
    moderator = moderator_for(discord_id)
    if approve:
        credit_request = approve_request(request_id, actor=moderator, source=AuditEvent.Source.DISCORD)
    else:
        credit_request = deny_request(
            request_id, actor=moderator, note=note, source=AuditEvent.Source.DISCORD
        )
    return embeds.moderation_decided(
        request_id=credit_request.pk,
        member=str(credit_request.user),
        amount=credit_request.amount,
        reason=credit_request.reason,
        status=credit_request.status,
        moderator=f"{moderator} (<@{discord_id}>)",
        note=credit_request.decision_note,
    )


class DenyNoteModal(nextcord.ui.Modal):
    """Asks the moderator why; the submit is handled by the component route, not by this object.

    It may be submitted after a restart, when this object is gone: so the modal only carries its custom_id.
    """

    def __init__(self, request_id: int):
        super().__init__(
            title=limits.truncate(f"Deny request #{request_id}", limits.MODAL_TITLE),
            custom_id=components.custom_id(components.DENY_NOTE, request_id),
            timeout=15 * 60,
            auto_defer=False,
        )
        self.add_item(
            nextcord.ui.TextInput(
                label="Reason (sent to the member)",
                custom_id=components.NOTE_FIELD,
                style=nextcord.TextInputStyle.paragraph,
                min_length=3,
                max_length=NOTE_MAX_LENGTH,
                required=True,
            )
        )


class ModerationCog(BotCog):
    def __init__(self, bot):
        super().__init__(bot)
        bot.register_component_handler(components.PREFIX, self.handle, modal_actions=[components.DENY])

    async def handle(self, interaction: nextcord.Interaction, args: list[str]) -> None:
        parsed = components.parse_arguments(args)
        if parsed is None:
            raise Refusal("This button is not recognised any more.", title="Unknown action")
        action, request_id = parsed
        if action == components.APPROVE:
            embed = await database_sync_to_async(decide)(
                discord_id=interaction.user.id, request_id=request_id, approve=True
            )
            await update_message(interaction, embed)
        elif action == components.DENY:

            async def checks() -> None:
                await refuse_when_switched_off()
                await database_sync_to_async(moderator_for)(interaction.user.id)

            await open_modal_in_time(interaction, DenyNoteModal(request_id), checks=checks)
        elif action == components.DENY_NOTE:
            note = (
                components.submitted_value(interaction.data.get("components", []), components.NOTE_FIELD)
                or ""
            )
            embed = await database_sync_to_async(decide)(
                discord_id=interaction.user.id, request_id=request_id, approve=False, note=note
            )
            await update_message(interaction, embed)
        else:
            raise Refusal("This button is not recognised any more.", title="Unknown action")
