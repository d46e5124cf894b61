"""Hooks that sync the members concerned right away instead of waiting for the 5-minute run.

Each writes its sync request to the outbox (`rolesync.services.queue_member_sync`) inside the
transaction of the change that causes it: accounts sends its link events inside that transaction.
"""

from django.dispatch import receiver

from accounts.signals import discord_linked, discord_unlinked, member_deactivated
from rolesync import selectors, services
from rolesync.models import RoleSyncRun


def _queue_targeted_sync(*, user_ids: list[int], discord_ids: list[str], trigger: str) -> None:
    services.queue_member_sync(trigger=trigger, user_ids=user_ids, discord_ids=discord_ids)


@receiver(discord_linked, dispatch_uid="rolesync_on_discord_linked")
def sync_after_link(sender, user, discord_id, **kwargs) -> None:
    _queue_targeted_sync(user_ids=[user.pk], discord_ids=[str(discord_id)], trigger=RoleSyncRun.Trigger.LINK)


@receiver(discord_unlinked, dispatch_uid="rolesync_on_discord_unlinked")
def sync_after_unlink(sender, user, discord_id, **kwargs) -> None:
    # The account is gone from the user, so the Discord id is what reaches the member whose
    # managed roles must now be removed.
    _queue_targeted_sync(
        user_ids=[user.pk], discord_ids=[str(discord_id)], trigger=RoleSyncRun.Trigger.UNLINK
    )


@receiver(member_deactivated, dispatch_uid="rolesync_on_user_deactivated")
def sync_after_deactivation(sender, user, **kwargs) -> None:
    discord_ids = selectors.discord_ids_of([user.pk])
    if discord_ids:
        _queue_targeted_sync(
            user_ids=[user.pk], discord_ids=discord_ids, trigger=RoleSyncRun.Trigger.DEACTIVATION
        )
