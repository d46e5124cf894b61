"""Consent and the Verification URL, through allauth's real views and the fake Discord's OAuth:
linking asks for role_connections.write; members linked before see a one-click prompt; refusing keeps
the link; /discord/linked-roles takes a member from Discord's role picker to "shared" in one flow."""

from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.models import DiscordToken, User
from dealscale.models import OutboxEntry
from linkedroles import services
from linkedroles.models import RoleConnection

pytestmark = pytest.mark.django_db

PAGE = "/discord/linked-roles"


def scopes_asked(authorize_url: str) -> set[str]:
    return set(parse_qs(urlsplit(authorize_url).query)["scope"][0].split())


def test_linking_asks_for_the_linked_roles_scope_and_pushes_at_once(
    flow, client, member, discord_user, registered, run_outbox
):
    client.force_login(member)
    authorize = flow.start(process="connect")
    assert scopes_asked(authorize) == {"identify", "email", "role_connections.write"}

    flow.callback(flow.consent(authorize))
    run_outbox()

    assert set(DiscordToken.objects.get().scope.split()) == {"identify", "email", "role_connections.write"}
    connection = flow.fake.role_connection_of(discord_user["id"])
    assert connection["platform_name"] == "DealScale" and connection["metadata"]["points_all_time"] == "0"
    assert "linked-roles-prompt" not in client.get("/profile/").content.decode()


def test_the_scopes_stored_are_those_discord_granted(flow, client, member, discord_user, settings):
    provider = settings.SOCIALACCOUNT_PROVIDERS["discord"]
    settings.SOCIALACCOUNT_PROVIDERS = {"discord": {**provider, "SCOPE": ["identify", "email"]}}
    client.force_login(member)
    flow.run(process="connect")
    assert set(DiscordToken.objects.get().scope.split()) == {"identify", "email"}


@pytest.fixture
def linked_before(link, client, flow):
    """A member linked before Linked Roles existed (no role_connections.write), signed in."""
    user, discord_id, _ = link("old", scope="identify email")
    flow.fake.state.oauth_consent_user_id = discord_id
    client.force_login(user)
    return user, discord_id


def test_a_member_linked_before_sees_the_prompt_and_one_click_updates_the_connection(
    linked_before, client, flow, registered, run_outbox
):
    user, discord_id = linked_before
    profile = client.get("/profile/").content.decode()
    assert 'id="linked-roles-prompt"' in profile and "Update your Discord connection" in profile

    authorize = flow.start(process="connect", next_url=PAGE)
    assert "role_connections.write" in scopes_asked(authorize)
    landed = flow.callback(flow.consent(authorize))
    assert landed.status_code == 302 and landed["Location"] == PAGE

    page = client.get(PAGE).content.decode()
    assert "Shared with Discord" in page and "on their way to Discord" in page
    run_outbox()
    assert flow.fake.role_connection_of(discord_id)["metadata"]["credits_earned"] == "0"
    assert "linked-roles-prompt" not in client.get("/profile/").content.decode()
    page = client.get(PAGE).content.decode()
    assert "Discord has these facts since" in page


def test_not_now_hides_the_prompt_and_the_link_keeps_working(linked_before, client):
    user, _ = linked_before
    response = client.post("/discord/linked-roles/not-now")
    assert response.status_code == 302 and response["Location"] == "/profile/"

    profile = client.get("/profile/").content.decode()
    assert "linked-roles-prompt" not in profile
    assert "keeps working without Linked Roles" in profile
    token = DiscordToken.objects.get(social_account__user=user)
    assert not token.needs_relink and token.scope == "identify email"


def test_refusing_on_discord_keeps_the_link_without_linked_roles(linked_before, client, flow):
    user, _ = linked_before
    flow.fake.state.oauth_deny = True

    flow.run(process="connect", next_url=PAGE)

    token = DiscordToken.objects.get(social_account__user=user)
    assert not token.needs_relink and token.scope == "identify email"
    assert "Update your Discord connection" in client.get(PAGE).content.decode()


def test_a_visitor_from_discords_role_picker_signs_up_links_and_shares_in_one_flow(
    flow, client, discord_user, registered, run_outbox
):
    page = client.get(PAGE).content.decode()
    assert "Continue with Discord" in page and "next=%2Fdiscord%2Flinked-roles" in page

    landed = flow.run(process="login", next_url=PAGE)
    assert landed.status_code == 302 and landed["Location"] == PAGE

    [user] = User.objects.all()
    page = client.get(PAGE).content.decode()
    assert "Shared with Discord" in page
    for name in ("All-time rank", "Points (all time)", "Rank this month", "Credits earned", "Linked since"):
        assert name in page
    run_outbox()
    assert flow.fake.role_connection_of(discord_user["id"])["metadata"]["points_all_time"] == "0"
    assert RoleConnection.objects.get(user=user).pushed_at is not None


def test_a_signed_in_member_without_discord_is_asked_to_link(client, member, discord_oauth):
    client.force_login(member)
    page = client.get(PAGE).content.decode()
    assert "Link your Discord account" in page


def test_the_page_says_when_sharing_is_paused(linked_before, client, set_flag, registered):
    user, _ = linked_before
    DiscordToken.objects.filter(social_account__user=user).update(
        scope="identify email role_connections.write"
    )
    set_flag(everyone=False)
    page = client.get(PAGE).content.decode()
    assert "Sharing is paused" in page
    assert not OutboxEntry.objects.filter(kind=services.PUSH_MEMBER).exists()
