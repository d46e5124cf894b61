"""Celery tasks of the Discord integration that came before the outbox.

Messages queued under these names before the outbox was deployed still arrive: each is written to the
outbox as the entry of its event (the same key the receivers use, so never twice) and delivered from there.
"""

from celery import shared_task

from dealscale import outbox
from discordbot import deliveries


@shared_task(name="discordbot.tasks.post_credit_request_to_moderators", ignore_result=True)
def post_credit_request_to_moderators(request_id: int) -> None:
    """Write the moderators' post of request `request_id` to the outbox."""
    outbox.add(
        deliveries.MODERATION_POST,
        {"credit_request_id": request_id},
        key=deliveries.moderation_post_key(request_id),
    )


@shared_task(name="discordbot.tasks.update_moderation_message", ignore_result=True)
def update_moderation_message(request_id: int) -> None:
    """Write the edit of request `request_id`'s moderators' message to the outbox."""
    outbox.add(
        deliveries.MODERATION_EDIT,
        {"credit_request_id": request_id},
        key=deliveries.moderation_edit_key(request_id),
    )


# The name of its first home in the credits app.
@shared_task(name="credits.tasks.notify_decision", ignore_result=True)
def notify_decision(request_id: int) -> None:
    """Write the decision DM of request `request_id` to the outbox."""
    outbox.add(
        deliveries.DECISION_DM,
        {"credit_request_id": request_id},
        key=deliveries.decision_dm_key(request_id),
    )
