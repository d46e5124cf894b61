"""Demo Discord links for `seed_demo`: each demo member linked to a Discord account of the sandbox.

Linked as a Discord sign-in would link them (a SocialAccount with the Discord user as its extra data, an
audit event, `discord_linked` after commit), without the OAuth round trip: the sandbox's users exist
before anyone signs in. No tokens are stored; the bot token is all role sync and DMs need.
"""

from allauth.socialaccount.models import SocialAccount

from accounts.models import AuditEvent, User
from accounts.services import record_discord_link


def link_demo_discord_account(*, user: User, discord_user: dict) -> SocialAccount | None:
    """Link `user` to the Discord user `discord_user` ({"id", "username", ...}); None if that Discord user is
    someone else's.

    A user linked before (e.g. through the sandbox's consent page) keeps the link they have.
    """
    account = SocialAccount.objects.filter(user=user, provider="discord").first()
    if account is not None:
        return account
    if SocialAccount.objects.filter(provider="discord", uid=discord_user["id"]).exists():
        return None
    account = SocialAccount.objects.create(
        user=user, provider="discord", uid=discord_user["id"], extra_data=discord_user
    )
    record_discord_link(user=user, social_account=account, source=AuditEvent.Source.CLI)
    return account


def linked_discord_accounts() -> list[tuple[User, dict]]:
    """Every user with a linked Discord account, and that account's Discord user as last seen."""
    accounts = SocialAccount.objects.filter(provider="discord").select_related("user").order_by("pk")
    return [(account.user, dict(account.extra_data, id=account.uid)) for account in accounts]
