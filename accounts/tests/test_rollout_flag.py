"""The `discord_integration` rollout flag: who sees Discord linking, on the web and for the bot."""

from decimal import Decimal

import pytest
from waffle.models import Flag

from accounts.models import User
from accounts.selectors import (
    DISCORD_INTEGRATION_FLAG,
    discord_integration_enabled_for_user,
    rollout_bucket,
)
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_migration_creates_the_flag_closed_to_members_and_open_to_staff():
    flag = Flag.objects.get(name=DISCORD_INTEGRATION_FLAG)
    assert (flag.everyone, flag.percent, flag.staff, flag.superusers) == (None, 0, True, True)
    assert not discord_integration_enabled_for_user(UserFactory())
    assert discord_integration_enabled_for_user(UserFactory(is_staff=True))


def test_with_the_flag_off_the_connect_button_is_hidden_and_the_endpoint_refuses(
    discord_oauth, set_flag, client, member
):
    set_flag(everyone=False)
    client.force_login(member)

    profile = client.get("/profile/")
    refused = client.post("/accounts/discord/login/", {"process": "connect"})

    assert "Connect Discord" not in profile.content.decode()
    assert "not available for your account yet" in profile.content.decode()
    assert refused.status_code == 403
    assert "not available yet" in refused.content.decode()
    assert not discord_oauth.requests_to()


def test_with_the_flag_off_sign_in_with_discord_is_hidden_and_refused(discord_oauth, set_flag, client):
    set_flag(everyone=False)
    assert "Log in with Discord" not in client.get("/accounts/login/").content.decode()
    assert client.post("/accounts/discord/login/", {"process": "login"}).status_code == 403


def test_with_the_flag_on_the_connect_button_shows_and_the_endpoint_redirects_to_discord(
    discord_oauth, client, member
):
    client.force_login(member)
    assert "Connect Discord" in client.get("/profile/").content.decode()
    assert "Log in with Discord" not in client.get("/accounts/login/").content.decode()  # already signed in
    response = client.post("/accounts/discord/login/", {"process": "connect"})
    assert response.status_code == 302
    assert response["Location"].startswith(discord_oauth.base_url)


def test_a_percentage_rollout_lets_in_the_members_whose_bucket_is_below_it(set_flag):
    members = [UserFactory() for _ in range(60)]
    set_flag(percent=Decimal("50"))

    inside = [m for m in members if discord_integration_enabled_for_user(m)]

    assert inside == [m for m in members if rollout_bucket(m.pk) < 50]
    assert 10 < len(inside) < 50


def test_raising_the_percentage_only_ever_adds_members(set_flag):
    members = [UserFactory() for _ in range(40)]
    seen: set[int] = set()
    for percent in ("10", "50", "99.9"):
        set_flag(percent=Decimal(percent))
        now = {m.pk for m in members if discord_integration_enabled_for_user(m)}
        assert seen <= now
        seen = now
    assert seen == {m.pk for m in members if rollout_bucket(m.pk) < Decimal("99.9")}
    assert len(seen) >= 35


def test_the_10_50_100_rollout_is_an_admin_change_only(set_flag, admin_client):
    members = [UserFactory() for _ in range(20)]
    flag = set_flag()
    for percent, everyone in (("10", ""), ("50", ""), ("", "2")):
        response = admin_client.post(
            f"/admin/waffle/flag/{flag.pk}/change/",
            {
                "name": flag.name,
                "everyone": everyone or "1",
                "percent": percent,
                "staff": "on",
                "superusers": "on",
                "note": flag.note,
                "languages": "",
                "created_0": "2026-01-01",
                "created_1": "00:00:00",
                "modified_0": "2026-01-01",
                "modified_1": "00:00:00",
            },
        )
        assert response.status_code == 302, response.content[:2000]
        flag.refresh_from_db()
        flag.flush()
        inside = sum(discord_integration_enabled_for_user(m) for m in members)
        if everyone == "2":
            assert inside == 20
        else:
            assert inside == sum(rollout_bucket(m.pk) < Decimal(percent) for m in members)


def test_the_web_and_the_bot_agree_for_a_signed_in_member(discord_oauth, set_flag, client):
    set_flag(everyone=None, percent=Decimal("50"))
    members = [UserFactory() for _ in range(12)]
    for member in members:
        client.force_login(member)
        web_offers = "Connect Discord" in client.get("/profile/").content.decode()
        assert web_offers == discord_integration_enabled_for_user(member)


def test_everyone_no_is_the_kill_switch_even_for_staff(set_flag):
    set_flag(everyone=False)
    assert not discord_integration_enabled_for_user(UserFactory(is_staff=True, is_superuser=True))


def test_outside_the_rollout_a_linked_member_still_signs_in_with_discord(
    flow, set_flag, client, discord_user
):
    flow.run()  # joined with Discord while the rollout was open: no password
    member = User.objects.get(socialaccount__uid=discord_user["id"])
    client.logout()
    set_flag(everyone=None, percent=0, staff=False, superusers=False)

    assert "Log in with Discord" in client.get("/accounts/login/").content.decode()
    response = flow.run()

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == member.pk


def test_outside_the_rollout_a_first_discord_sign_in_creates_no_account(flow, set_flag, client, discord_user):
    set_flag(everyone=None, percent=0)

    assert "Sign up with Discord" not in client.get("/accounts/signup/").content.decode()
    response = flow.run()

    assert response.status_code == 403
    assert "not available yet" in response.content.decode()
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session
