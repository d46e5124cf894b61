from functools import partial

from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_save


def post_new_credit_request(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """Queue the moderators' channel post of a new credit request once it is committed."""
    if not created or raw:
        return
    from discordbot.tasks import post_credit_request_to_moderators

    # robust: a broker outage must not turn the member's committed request into an error.
    transaction.on_commit(partial(post_credit_request_to_moderators.delay, instance.pk), robust=True)


class DiscordbotConfig(AppConfig):
    name = "discordbot"

    def ready(self) -> None:
        # Listening to the model keeps the credits app free of any Discord knowledge.
        post_save.connect(
            post_new_credit_request, sender="credits.CreditRequest", dispatch_uid="discordbot.post_new_credit_request"
        )
