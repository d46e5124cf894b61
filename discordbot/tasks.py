"""Celery tasks of the Discord integration: each takes an id, calls one service, and retries what Discord
refused for now (`discord_rest.retry`)."""

from celery import shared_task

from discord_rest.retry import retry_transient_failures
from discordbot import services

MAX_RETRIES = 5


@shared_task(
    bind=True,
    name="discordbot.tasks.post_credit_request_to_moderators",
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def post_credit_request_to_moderators(self, request_id: int) -> None:
    """Post a new credit request to the moderators' channel with Approve / Deny buttons, once."""
    with retry_transient_failures(self):
        services.post_moderation_request(request_id)


@shared_task(
    bind=True, name="discordbot.tasks.update_moderation_message", max_retries=MAX_RETRIES, ignore_result=True
)
def update_moderation_message(self, request_id: int) -> None:
    """Show the decision on a request's moderators' message and remove its buttons."""
    with retry_transient_failures(self):
        services.show_decision_on_moderation_message(request_id)


# The name of its first home in the credits app: messages queued before the move stay valid.
@shared_task(bind=True, name="credits.tasks.notify_decision", max_retries=MAX_RETRIES, ignore_result=True)
def notify_decision(self, request_id: int) -> None:
    """DM the member the decision on request `request_id` when their Discord account is linked.

    Retried on Discord 429/5xx (after the client's own retries); any other refusal is logged and given up.
    """
    with retry_transient_failures(self):
        services.dm_decision(request_id)
