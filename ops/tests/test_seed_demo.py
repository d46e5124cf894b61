"""seed_demo: the demo data, the admin's password kept out of the log, and the Discord sandbox's community."""

import io
import json
import stat

import pytest
from allauth.socialaccount.models import SocialAccount
from django.core.management import call_command
from waffle.models import Flag

from accounts.discord_integration import discord_integration_state
from accounts.models import User
from ops.demo_community import MODERATOR_ROLE_ID, MODERATORS_CHANNEL_ID
from rolesync.models import Milestone

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def integration_flag():
    """The flag as its data migration creates it (transactional tests empty the tables after each test)."""
    Flag.objects.get_or_create(
        name="discord_integration",
        defaults={"everyone": None, "percent": 0, "staff": True, "superusers": True},
    )


def seed(tmp_path, **options) -> str:
    out = io.StringIO()
    call_command("seed_demo", admin_password_file=tmp_path / "admin-password", stdout=out, **options)
    return out.getvalue()


def test_the_admin_password_goes_to_a_private_file_not_to_the_log(tmp_path):
    output = seed(tmp_path)

    password_file = tmp_path / "admin-password"
    password = password_file.read_text().strip()
    assert User.objects.get(username="admin").check_password(password)
    assert password not in output
    assert str(password_file) in output
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600


def test_the_demo_opens_discord_linking_once_but_respects_a_decided_rollout(tmp_path):
    seed(tmp_path)
    assert discord_integration_state().mode == "on"

    Flag.objects.filter(name="discord_integration").update(everyone=False)
    seed(tmp_path)

    assert discord_integration_state().mode == "off"


def test_without_the_sandbox_nothing_discord_is_seeded(tmp_path):
    seed(tmp_path)

    assert not SocialAccount.objects.exists()
    assert not Milestone.objects.exists()


def test_the_sandbox_seed_links_the_demo_and_describes_its_community(tmp_path):
    community = tmp_path / "sandbox" / "community.json"

    output = seed(tmp_path, discord_sandbox_seed=community)

    data = json.loads(community.read_text())
    assert data["guild"]["name"] == "DealScale Community"
    assert {"id": MODERATORS_CHANNEL_ID, "name": "moderators"} in data["channels"]
    milestones = {m.discord_role_id: m.name for m in Milestone.objects.all()}
    assert len(milestones) == 4 and "Loaded the demo milestones" in output
    roles = {role["id"]: role["name"] for role in data["roles"]}
    assert roles == {MODERATOR_ROLE_ID: "Moderator", **milestones}
    users = {user["username"]: user for user in data["users"]}
    assert set(users) == {"admin", "alice", "bob", "carol", "dave", "erin"}
    assert users["admin"]["roles"] == [MODERATOR_ROLE_ID] and users["alice"]["roles"] == []
    assert users["alice"]["global_name"] == "Alice Moreau"
    alice = SocialAccount.objects.get(user__username="alice", provider="discord")
    assert users["alice"]["id"] == alice.uid


def test_seeding_again_keeps_the_links_and_milestones_and_adds_whoever_linked_since(tmp_path):
    community = tmp_path / "community.json"
    seed(tmp_path, discord_sandbox_seed=community)
    first = json.loads(community.read_text())
    newcomer = User.objects.create_user(username="sam", email="sam@example.com")
    SocialAccount.objects.create(
        user=newcomer, provider="discord", uid="1500000000000000042", extra_data={"username": "samdiscord"}
    )

    output = seed(tmp_path, discord_sandbox_seed=community)

    again = json.loads(community.read_text())
    assert "Loaded the demo milestones" not in output
    assert Milestone.objects.count() == 4
    assert SocialAccount.objects.filter(provider="discord").count() == 7
    assert again["users"][:6] == first["users"]
    assert again["users"][6] == {
        "id": "1500000000000000042",
        "username": "samdiscord",
        "global_name": None,
        "email": None,
        "roles": [],
    }
