"""Hooks that keep members' role connections in step with their facts.

Each writes an outbox entry (a pass, or one member's push), except the unlink hook: the member's token
is about to be revoked, so their connection is cleared at Discord now, while the token still works.
"""

from django.dispatch import receiver

from accounts.signals import discord_linked, discord_unlinked, discord_unlinking, member_deactivated
from credits.models import CreditRequest
from credits.selectors import requester
from credits.signals import credit_request_decided
from leaderboard.signals import leaderboard_recalculated
from linkedroles import selectors, services
from linkedroles.models import RoleConnection


@receiver(leaderboard_recalculated, dispatch_uid="linkedroles_after_recalculation")
def push_after_recalculation(sender, generations, **kwargs) -> None:
    services.queue_push(trigger="recalculation")


@receiver(discord_linked, dispatch_uid="linkedroles_after_link")
def push_after_link(sender, user, discord_id, **kwargs) -> None:
    # Inside the link's transaction: the link and its push commit together.
    if selectors.granted_linked_roles(user):
        services.queue_member_push(user_id=user.pk, trigger="link")


@receiver(credit_request_decided, dispatch_uid="linkedroles_after_grant")
def push_after_grant(sender, credit_request_id, status, **kwargs) -> None:
    if status != CreditRequest.Status.APPROVED:
        return
    user = requester(credit_request_id)
    if user is not None and selectors.linked_roles_enabled() and selectors.granted_linked_roles(user):
        services.queue_member_push(user_id=user.pk, trigger="grant")


@receiver(discord_unlinking, dispatch_uid="linkedroles_before_unlink")
def clear_before_unlink(sender, user, discord_id, **kwargs) -> None:
    services.clear_connection(user)


@receiver(discord_unlinked, dispatch_uid="linkedroles_after_unlink")
def forget_after_unlink(sender, user, discord_id, **kwargs) -> None:
    # A relink later starts from nothing pushed, so its first pass pushes everything.
    RoleConnection.objects.filter(user=user).delete()


@receiver(member_deactivated, dispatch_uid="linkedroles_on_user_deactivated")
def clear_after_deactivation(sender, user, **kwargs) -> None:
    # A deactivated member keeps their link and token, but no Linked Role may keep matching them.
    services.queue_clear(user_id=user.pk)
