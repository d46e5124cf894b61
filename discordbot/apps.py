from django.apps import AppConfig
from django.db.models.signals import post_save

from dealscale.queueing import enqueue_on_commit


def mirror_credit_request(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """Once committed, post a new credit request to the moderators' channel, or show a decision there."""
    if raw:
        return
    from discordbot.tasks import post_credit_request_to_moderators, update_moderation_message

    if created:
        task = post_credit_request_to_moderators
    elif instance.status != instance.Status.PENDING:
        task = update_moderation_message
    else:
        return
    enqueue_on_commit(task, instance.pk)


class DiscordbotConfig(AppConfig):
    name = "discordbot"

    def ready(self) -> None:
        # Listening to the model keeps the credits app free of any Discord knowledge.
        post_save.connect(
            mirror_credit_request,
            sender="credits.CreditRequest",
            dispatch_uid="discordbot.mirror_credit_request",
        )
