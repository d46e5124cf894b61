"""factory_boy factories of the credits tests."""

import factory

from accounts.tests.factories import StaffFactory, UserFactory, grant_permissions
from credits.models import CreditRequest


class ModeratorFactory(StaffFactory):
    """Staff with `credits.moderate_creditrequest` (and view rights on the credits admin)."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"moderator{n}")

    @factory.post_generation
    def permissions(user, create, extracted, **kwargs):
        if create:
            grant_permissions(
                user,
                app_label="credits",
                codenames=[
                    "moderate_creditrequest",
                    "view_creditrequest",
                    "view_ledgerentry",
                    "view_creditaccount",
                ],
            )


class CreditRequestFactory(factory.django.DjangoModelFactory):
    """A pending request filed on the web; use the services to decide it."""

    class Meta:
        model = CreditRequest

    user = factory.SubFactory(UserFactory)
    amount = 500
    reason = "Ran the community tournament this week"
    source = CreditRequest.Source.WEB
