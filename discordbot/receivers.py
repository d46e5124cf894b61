"""The Discord side of the domain events: each event queues its deliveries (connected in apps.py).

The events are sent after the commit that caused them, so the tasks are queued at once; a broker
outage is logged by `enqueue_on_commit` and never reaches the member or moderator who acted.
"""

from django.dispatch import receiver

from credits.signals import credit_request_created, credit_request_decided
from dealscale.queueing import enqueue_on_commit
from discordbot import tasks


@receiver(credit_request_created, dispatch_uid="discordbot.credit_request_created")
def on_credit_request_created(sender, credit_request_id: int, **kwargs) -> None:
    enqueue_on_commit(tasks.post_credit_request_to_moderators, credit_request_id)


@receiver(credit_request_decided, dispatch_uid="discordbot.credit_request_decided")
def on_credit_request_decided(sender, credit_request_id: int, status: str, **kwargs) -> None:
    enqueue_on_commit(tasks.update_moderation_message, credit_request_id)
    enqueue_on_commit(tasks.notify_decision, credit_request_id)
