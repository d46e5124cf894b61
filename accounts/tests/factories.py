"""The user factory every app's tests share (app-specific factories stay in their apps)."""

import factory
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import Permission

from accounts.models import User

PASSWORD = "a-long-test-password-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)


class DiscordAccountFactory(factory.django.DjangoModelFactory):
    """A user's linked Discord account (allauth's SocialAccount, provider "discord")."""

    class Meta:
        model = SocialAccount

    user = factory.SubFactory(UserFactory)
    provider = "discord"
    uid = factory.Sequence(lambda n: str(400_000_000_000_000_000 + n))
    extra_data = factory.LazyAttribute(
        lambda account: {
            "id": account.uid,
            "username": account.user.username,
            "avatar": "a1b2c3",
            "global_name": None,
        }
    )


class StaffFactory(UserFactory):
    """A staff member; apps add their permissions with `grant_permissions` in a post-generation hook."""

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


def grant_permissions(user: User, *, app_label: str, codenames: list[str]) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )
