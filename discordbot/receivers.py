"""The Discord side of the domain events: each event writes its deliveries to the outbox (connected in apps.py).

The credits events are sent inside the transaction that causes them, so these entries commit with the
decision or not at all; the messages themselves go out from a worker after the commit
(`discordbot.deliveries`). One entry per effect and event: a second send of the same event adds nothing.
"""

from django.dispatch import receiver

from credits.signals import credit_request_created, credit_request_decided
from dealscale import outbox
from discordbot import deliveries


@receiver(credit_request_created, dispatch_uid="discordbot.credit_request_created")
def on_credit_request_created(sender, credit_request_id: int, **kwargs) -> None:
    outbox.add(
        deliveries.MODERATION_POST,
        {"credit_request_id": credit_request_id},
        key=deliveries.moderation_post_key(credit_request_id),
    )


@receiver(credit_request_decided, dispatch_uid="discordbot.credit_request_decided")
def on_credit_request_decided(sender, credit_request_id: int, status: str, **kwargs) -> None:
    outbox.add(
        deliveries.MODERATION_EDIT,
        {"credit_request_id": credit_request_id},
        key=deliveries.moderation_edit_key(credit_request_id),
    )
    outbox.add(
        deliveries.DECISION_DM,
        {"credit_request_id": credit_request_id},
        key=deliveries.decision_dm_key(credit_request_id),
    )
