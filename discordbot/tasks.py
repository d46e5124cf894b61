"""Celery tasks of the Discord integration."""

import structlog
from celery import shared_task

from dealscale.locks import single_flight

logger = structlog.get_logger(__name__)


@shared_task(
    bind=True, name="discordbot.tasks.post_credit_request_to_moderators", max_retries=5, ignore_result=True
)
def post_credit_request_to_moderators(self, request_id: int) -> None:
    """Post a new credit request to DISCORD_MOD_CHANNEL_ID with Approve / Deny buttons, once.

    Retried on Discord 429/5xx. Skipped when no channel is configured, the request is no longer pending,
    or its message was already posted.
    """
    from django.conf import settings

    from accounts.selectors import discord_id_for
    from credits.models import CreditRequest
    from discord_rest.client import DiscordClient, DiscordRateLimited, DiscordServerError
    from discordbot import components, embeds
    from discordbot.selectors import moderation_message_exists
    from discordbot.services import remember_moderation_message

    channel_id = settings.DISCORD_MOD_CHANNEL_ID
    if not channel_id:
        logger.info("moderation_post_skipped", request_id=request_id, reason="DISCORD_MOD_CHANNEL_ID not set")
        return
    # Two deliveries of this task (a retry racing a redelivery) must not post two messages.
    with single_flight(f"moderation-post-{request_id}", ttl_seconds=120) as acquired:
        if not acquired or moderation_message_exists(credit_request_id=request_id):
            logger.info("moderation_post_skipped", request_id=request_id, reason="already posted")
            return
        credit_request = CreditRequest.objects.select_related("user").filter(pk=request_id).first()
        if credit_request is None or not credit_request.is_pending:
            logger.info("moderation_post_skipped", request_id=request_id, reason="not pending")
            return
        embed = embeds.moderation_request(
            request_id=credit_request.pk,
            member=str(credit_request.user),
            discord_id=discord_id_for(credit_request.user),
            amount=credit_request.amount,
            reason=credit_request.reason,
            source=credit_request.source,
        )
        try:
            message = DiscordClient().send_message(
                channel_id,
                embeds=[embed.to_dict()],
                components=components.moderation_buttons(credit_request.pk),
            )
        except DiscordRateLimited as exc:
            raise self.retry(exc=exc, countdown=max(float(exc.retry_after), 1.0)) from exc
        except DiscordServerError as exc:
            raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 300)) from exc
        remember_moderation_message(
            credit_request_id=credit_request.pk, channel_id=channel_id, message_id=message["id"]
        )
    logger.info("moderation_post_sent", request_id=request_id, message_id=message["id"])


@shared_task(bind=True, name="discordbot.tasks.update_moderation_message", max_retries=5, ignore_result=True)
def update_moderation_message(self, request_id: int) -> None:
    """Show the decision on a request's moderators' message and remove its buttons.

    Covers decisions made on the web, in the admin or by the member cancelling; after a button click the
    message already shows it and this edit is a harmless repeat. Retried on Discord 429/5xx.
    """
    from accounts.selectors import discord_id_for
    from credits.models import CreditRequest
    from discord_rest.client import DiscordClient, DiscordNotFound, DiscordRateLimited, DiscordServerError
    from discordbot import embeds
    from discordbot.models import ModerationMessage

    posted = ModerationMessage.objects.filter(credit_request_id=request_id).first()
    credit_request = CreditRequest.objects.select_related("user", "decided_by").filter(pk=request_id).first()
    if posted is None or credit_request is None or credit_request.is_pending:
        return
    decider = credit_request.decided_by or credit_request.user
    decider_discord_id = discord_id_for(decider)
    embed = embeds.moderation_decided(
        request_id=credit_request.pk,
        member=str(credit_request.user),
        amount=credit_request.amount,
        reason=credit_request.reason,
        status=credit_request.status,
        moderator=f"{decider} (<@{decider_discord_id}>)" if decider_discord_id else str(decider),
        note=credit_request.decision_note,
    )
    try:
        DiscordClient().edit_message(
            posted.channel_id, posted.message_id, embeds=[embed.to_dict()], components=[]
        )
    except DiscordNotFound:
        logger.info("moderation_message_gone", request_id=request_id, message_id=posted.message_id)
        return
    except DiscordRateLimited as exc:
        raise self.retry(exc=exc, countdown=max(float(exc.retry_after), 1.0)) from exc
    except DiscordServerError as exc:
        raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 300)) from exc
    logger.info("moderation_message_updated", request_id=request_id, status=credit_request.status)
