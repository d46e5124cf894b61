"""The server-rendered pages: /leaderboard with period tabs and the viewer's row, and a member's chart."""

import pytest
from django.template.loader import render_to_string

from accounts.tests.factories import UserFactory
from leaderboard import services, views
from leaderboard.tests.factories import give

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


def test_the_leaderboard_page_highlights_the_viewers_own_row(signed_in, member):
    give(UserFactory(username="top", display_name="Top Dog"), 50)
    give(member, 10)
    services.recalculate_leaderboard()
    give(member, 100)
    services.recalculate_leaderboard()
    html = signed_in.get("/leaderboard").content.decode()
    assert 'class="highlight"' in html
    highlighted = html.split('class="highlight"')[1].split("</tr>")[0]
    assert "The Viewer" in highlighted and "▲ 1" in highlighted
    assert "Top Dog" in html and "▼ 1" in html
    assert 'aria-current="page">All time' in html


def test_a_viewer_below_the_shown_rows_sees_their_own_row_under_the_table(signed_in, member, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for points in (50, 40, 30):
        give(UserFactory(), points)
    give(member, 1)
    services.recalculate_leaderboard()
    html = signed_in.get("/leaderboard?period=week").content.decode()
    assert html.count("<tr") == 1 + 2 + 2  # header, two entries, the gap and the viewer's row
    assert 'class="own-row"' in html and "The Viewer" in html.split('class="own-row"')[1]


def test_the_period_tabs_select_the_period_and_unknown_periods_fall_back_to_all_time(signed_in):
    services.recalculate_leaderboard()
    assert 'aria-current="page">This month' in signed_in.get("/leaderboard?period=month").content.decode()
    assert 'aria-current="page">All time' in signed_in.get("/leaderboard?period=year").content.decode()


def test_the_leaderboard_page_asks_visitors_to_sign_in(client):
    response = client.get("/leaderboard")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_members_page_shows_their_standings_and_the_rank_history_chart(signed_in, member):
    give(member, 20)
    services.recalculate_leaderboard()
    html = signed_in.get(f"/leaderboard/users/{member.pk}").content.decode()
    assert "<svg" in html and "<polyline" in html and "#1 · 20 points" in html


def test_a_member_without_history_gets_a_clear_note(signed_in, member):
    html = signed_in.get(f"/leaderboard/users/{member.pk}").content.decode()
    assert "No rank history yet." in html and "Not ranked." in html


def test_the_chart_partial_included_without_arguments_shows_the_signed_in_users_history(rf, member):
    give(member, 20)
    services.recalculate_leaderboard()
    request = rf.get("/profile/")
    request.user = member
    html = render_to_string("leaderboard/_rank_history_chart.html", {"user": member}, request=request)
    assert "<polyline" in html and "The Viewer" in html
