"""factory_boy factories of the role sync tests."""

import factory

from accounts.tests.factories import StaffFactory as BaseStaffFactory
from accounts.tests.factories import UserFactory, grant_permissions
from rolesync.models import Milestone, MilestoneTrack, SyncExclusion


class StaffFactory(BaseStaffFactory):
    """Staff (who may start role syncs); `permissions=[...]` grants rolesync permissions."""

    class Meta:
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"rs-staff{n}")

    @factory.post_generation
    def permissions(self, create, extracted, **kwargs):
        codenames = extracted or []
        grant_permissions(self, app_label="rolesync", codenames=codenames)


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MilestoneTrack
        django_get_or_create = ("name",)

    name = "Rank tiers"
    exclusive = True


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    track = factory.SubFactory(TrackFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    discord_role_id = factory.Sequence(lambda n: str(1700000000000000000 + n))
    period = "all"
    max_rank = 10
    min_score = None


class SyncExclusionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncExclusion

    user = factory.SubFactory(UserFactory)
    reason = "Community manager: roles set by hand"
