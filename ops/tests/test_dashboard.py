from datetime import timedelta

import pytest

from accounts.services import record_audit_event
from accounts.tests.factories import StaffFactory, UserFactory
from credits.tests.factories import CreditRequestFactory
from ops import dashboard
from ops.models import AlertIncident
from ops.tests.conftest import T0
from ops.tests.factories import CommandInvocationFactory, HeartbeatFactory

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(minutes=30)  # 12:30 UTC
MAX_AGE = timedelta(seconds=120)


@pytest.fixture(autouse=True)
def heartbeat_max_age(settings):
    settings.BOT_HEARTBEAT_MAX_AGE_SECONDS = int(MAX_AGE.total_seconds())


def at(clock, moment):
    clock.move_to(moment, tick=False)


def linked(clock, moment):
    at(clock, moment)
    record_audit_event(actor=UserFactory(), action="discord.linked", source="web")


def invocation(clock, moment, **fields):
    at(clock, moment)
    return CommandInvocationFactory(**fields)


def decided(status, *, created, decided_at):
    return CreditRequestFactory(status=status, created_at=created, decided_at=decided_at)


@pytest.fixture
def recorded_events(clock):
    """A known day of activity, ending at 12:30 UTC."""
    linked(clock, NOW - timedelta(hours=1))  # 11:30
    linked(clock, NOW - timedelta(hours=2))  # 10:30
    linked(clock, NOW - timedelta(hours=2, minutes=10))  # 10:20
    linked(clock, NOW - timedelta(hours=25))  # yesterday 11:30: outside 24 h, inside 7 days

    invocation(clock, NOW - timedelta(minutes=5), command="credits", duration_ms=100)
    invocation(clock, NOW - timedelta(minutes=10), command="credits", duration_ms=200)
    invocation(clock, NOW - timedelta(minutes=20), command="leaderboard", duration_ms=100)
    invocation(clock, NOW - timedelta(minutes=25), command="link", duration_ms=200, outcome="refused")
    invocation(
        clock, NOW - timedelta(minutes=40), command="credits", duration_ms=400, outcome="error"
    )  # 11:50
    invocation(clock, NOW - timedelta(hours=3), command="credits", duration_ms=900)  # 09:30: outside 1 h

    at(clock, NOW)
    decided("approved", created=NOW - timedelta(hours=5), decided_at=NOW - timedelta(hours=4))  # 08:30
    decided("approved", created=NOW - timedelta(hours=5), decided_at=NOW - timedelta(hours=1))  # 11:30
    decided(
        "denied", created=NOW - timedelta(hours=30), decided_at=NOW - timedelta(hours=1)
    )  # created 2 days ago
    decided(
        "cancelled", created=NOW - timedelta(hours=2), decided_at=NOW - timedelta(hours=2)
    )  # not a decision
    CreditRequestFactory(created_at=NOW - timedelta(minutes=1))  # pending

    HeartbeatFactory(
        started_at=NOW - timedelta(hours=3, minutes=15), last_seen_at=NOW - timedelta(seconds=10)
    )
    # The bot was offline from 07:00 to 07:30 (a resolved alert incident).
    AlertIncident.objects.create(
        rule="bot_offline",
        severity="critical",
        started_at=T0 - timedelta(hours=5),
        resolved_at=T0 - timedelta(hours=4, minutes=30),
        last_notified_at=T0 - timedelta(hours=5),
        first_value=130,
        peak_value=1800,
        summary="No bot heartbeat",
    )


def figures(range_key="24h"):
    return {f.key: f for f in dashboard.health_figures(range_key=range_key, now=NOW)}


def bucket(figure, hour: int, day_offset: int = 0):
    start = T0.replace(hour=hour) - timedelta(days=day_offset)
    return figure.trend.values[figure.trend.starts.index(start)]


def test_the_figures_count_the_recorded_events_in_their_windows(recorded_events):
    f = figures()
    assert f["links"].value == 3
    assert f["commands"].value == 5
    assert f["commands"].display == "5 (3 distinct)"
    assert f["credit_requests"].value == 4  # two at 07:30, the cancelled one and the pending one
    assert f["approval_rate"].value == pytest.approx(2 / 3)
    assert f["approval_rate"].display == "66.7%"
    assert f["bot_uptime"].value == timedelta(hours=3, minutes=15)
    assert f["bot_uptime"].display == "3 h 15 min"
    assert f["avg_response"].value == pytest.approx((100 + 200 + 100 + 200 + 400) / 5)
    assert f["avg_response"].display == "200 ms"
    assert f["error_rate"].value == pytest.approx(1 / 5)
    assert f["error_rate"].display == "20.0%"


def test_hourly_trends_put_each_event_in_its_hour(recorded_events):
    f = figures()
    assert len(f["links"].trend.values) == 24
    assert f["links"].trend.starts[-1] == T0  # the current hour, 12:00
    assert (bucket(f["links"], 11), bucket(f["links"], 10), bucket(f["links"], 9)) == (1, 2, 0)
    assert bucket(f["commands"], 12) == 4
    assert bucket(f["commands"], 11) == 1
    assert bucket(f["error_rate"], 11) == 1.0
    assert bucket(f["error_rate"], 12) == 0.0
    assert bucket(f["error_rate"], 10) is None  # nothing to measure is not 0 %
    assert bucket(f["avg_response"], 9) == 900
    assert bucket(f["approval_rate"], 11) == pytest.approx(1 / 2)
    assert bucket(f["approval_rate"], 8) == 1.0
    assert bucket(f["credit_requests"], 7) == 2
    assert bucket(f["bot_uptime"], 7) == pytest.approx(0.5)
    assert bucket(f["bot_uptime"], 8) == 1.0


def test_daily_trends_cover_seven_days_ending_today(recorded_events):
    f = figures("7d")
    starts = f["links"].trend.starts
    assert len(starts) == 7
    assert starts[-1] == T0.replace(hour=0)
    assert f["links"].trend.values[-2:] == [1, 3]
    assert f["credit_requests"].trend.values[-2:] == [1, 4]
    assert f["bot_uptime"].trend.values[-1] == pytest.approx(1 - 0.5 / 12.5)


def test_an_empty_system_shows_dashes_and_offline_rather_than_zeros():
    f = figures()
    assert f["approval_rate"].display == "—"
    assert f["error_rate"].display == "—"
    assert f["avg_response"].display == "—"
    assert f["bot_uptime"].display == "offline"
    assert f["links"].display == "0"


def test_the_figures_are_set_based_a_fixed_number_of_queries(recorded_events, django_assert_max_num_queries):
    CommandInvocationFactory.create_batch(30)
    with django_assert_max_num_queries(10):
        figures("24h")


def test_staff_see_the_dashboard_with_figures_charts_and_health_checks(client, recorded_events):
    client.force_login(StaffFactory())
    page = client.get("/admin/discord-health/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Discord Integration Health" in html
    assert 'data-figure="approval_rate">66.7%<' in html
    assert 'data-figure="bot_uptime">3 h 15 min<' in html
    assert html.count('<svg class="sparkline"') == 7
    for check in ("bot_online", "oauth_working", "database_connection", "redis_connection"):
        assert check in html
    weekly = client.get("/admin/discord-health/?range=7d")
    assert weekly.status_code == 200
    assert 'aria-current="page">Last 7 days' in weekly.content.decode()


def test_the_admin_index_links_to_the_dashboard(client):
    client.force_login(StaffFactory(is_superuser=True))
    assert 'href="/admin/discord-health/"' in client.get("/admin/").content.decode()


@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_non_staff_are_sent_to_the_admin_login(client, who):
    if who == "member":
        client.force_login(UserFactory())
    response = client.get("/admin/discord-health/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_unknown_range_falls_back_to_24_hours(client):
    client.force_login(StaffFactory())
    assert client.get("/admin/discord-health/?range=1y").context["range_key"] == "24h"
