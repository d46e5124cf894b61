"""The kill switch, read in one place: switched off for everyone, and what that leaves of sign-in."""

import pytest
from waffle.models import Flag

from accounts.discord_integration import discord_integration_switched_off, discord_sign_in_open
from accounts.selectors import DISCORD_INTEGRATION_FLAG

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("everyone", "switched_off", "sign_in_open"),
    [(False, True, False), (True, False, True), (None, False, True)],
)
def test_only_off_for_everyone_is_the_kill_switch(set_flag, everyone, switched_off, sign_in_open):
    set_flag(everyone=everyone, percent=0)
    assert discord_integration_switched_off() is switched_off
    assert discord_sign_in_open() is sign_in_open


def test_a_missing_flag_is_not_a_kill_switch_but_keeps_sign_in_closed():
    Flag.objects.filter(name=DISCORD_INTEGRATION_FLAG).delete()
    Flag(name=DISCORD_INTEGRATION_FLAG).flush()
    assert discord_integration_switched_off() is False
    assert discord_sign_in_open() is False
