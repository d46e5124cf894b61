"""The Discord side effects of the credits events, as outbox handlers (registered in apps.py).

`discordbot.receivers` writes one outbox entry per effect inside the transaction of the event; a worker
runs the handler here once that transaction committed, and again after a failure or a lost worker. Each
handler is idempotent: its message carries a nonce derived from the event, the moderators' post is
stored (ModerationMessage) and a DM's message id is kept on its entry before the entry is marked.
"""

from dealscale import outbox
from dealscale.models import OutboxEntry
from discord_rest.retry import retry_transient_failures
from discordbot import services
from discordbot.selectors import moderation_message_for

MODERATION_POST = "discordbot.moderation_post"
MODERATION_EDIT = "discordbot.moderation_edit"
DECISION_DM = "discordbot.decision_dm"


def moderation_post_key(credit_request_id: int) -> str:
    return f"credit_request:{credit_request_id}:moderation_post"


def moderation_edit_key(credit_request_id: int) -> str:
    return f"credit_request:{credit_request_id}:moderation_edit"


def decision_dm_key(credit_request_id: int) -> str:
    return f"credit_request:{credit_request_id}:decision_dm"


@outbox.handler(MODERATION_POST)
def deliver_moderation_post(entry: OutboxEntry) -> outbox.Result:
    """Post a new request to the moderators' channel with its Approve / Deny buttons."""
    with retry_transient_failures(attempt=entry.attempts):
        return services.post_moderation_request(entry.payload["credit_request_id"])


@outbox.handler(MODERATION_EDIT)
def deliver_moderation_edit(entry: OutboxEntry) -> outbox.Result:
    """Show the decision on the request's moderators' message, once that message exists."""
    request_id = entry.payload["credit_request_id"]
    if moderation_message_for(credit_request_id=request_id) is None:
        post = outbox.entry_for(moderation_post_key(request_id))
        if post is not None and post.status in (OutboxEntry.Status.PENDING, OutboxEntry.Status.DELIVERING):
            # Decided before its post went out: editing first would leave the buttons on the post.
            raise outbox.RetryLater("The moderators' post of this request is not delivered yet.")
    with retry_transient_failures(attempt=entry.attempts):
        return services.show_decision_on_moderation_message(request_id)


@outbox.handler(DECISION_DM)
def deliver_decision_dm(entry: OutboxEntry) -> outbox.Result:
    """DM the member the decision on their request."""
    if entry.result and entry.result.get("message_id"):
        # Sent by an attempt whose worker died before marking the entry, maybe beyond the nonce window.
        return entry.result
    with retry_transient_failures(attempt=entry.attempts):
        result = services.dm_decision(entry.payload["credit_request_id"])
    outbox.remember(entry, result)
    return result
