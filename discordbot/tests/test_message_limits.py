"""Every message the bot builds stays within Discord's documented limits, whatever the member data.

Limits: discord-api-docs docs/resources/message.mdx "Embed Limits" and "Create Message" (see discordbot.limits).
"""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from credits.tests.factories import UserFactory
from discord_sandbox import DEFAULT_CHANNEL_ID
from discordbot import components, embeds, limits
from discordbot.cogs.leaderboard import leaderboard_page
from discordbot.cogs.moderation import DenyNoteModal
from leaderboard.models import ScoreTotal
from leaderboard.periods import ALL_TIME_START
from leaderboard.services import recalculate_leaderboard

LONG = "x" * 5000
NOW = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
MESSAGES = "/channels/{channel_id}/messages"


def valid(embed) -> dict:
    data = embed.to_dict()
    assert limits.embed_problems(data) == []
    return data


def test_text_that_fits_is_kept_and_longer_text_is_cut_with_an_ellipsis_at_the_limit():
    assert limits.truncate("short", 10) == "short"
    assert limits.truncate("x" * 10, 10) == "x" * 10
    cut = limits.truncate("word " * 100, 20)
    assert cut.endswith("…") and limits.length(cut) <= 20
    assert limits.truncate("abcdef", 4) == "abc…"


def test_an_emoji_counts_as_one_character_as_discord_counts_code_points():
    assert limits.length("🏆") == 1
    cut = limits.truncate("🏆" * 10, 4)
    assert cut == "🏆🏆🏆…" and limits.length(cut) == 4


def test_an_embed_that_fits_is_left_as_it_is():
    embed = embeds.problem("Nope", title="Can't do that")
    assert embed.description == "Nope"
    assert embed.title == "⚠️ Can't do that"


def test_the_limits_checker_names_each_broken_limit():
    broken = {
        "title": "t" * 257,
        "description": "d" * 4097,
        "fields": [{"name": "", "value": "v" * 1025}] + [{"name": "n", "value": "v"}] * 25,
        "footer": {"text": "f" * 2049},
        "author": {"name": "a" * 257},
    }
    problems = limits.embed_problems(broken)
    assert "title is 257 characters (at most 256)" in problems
    assert "description is 4097 characters (at most 4096)" in problems
    assert "26 fields (at most 25)" in problems
    assert "fields[0].name is empty" in problems
    assert "fields[0].value is 1025 characters (at most 1024)" in problems
    assert "footer.text is 2049 characters (at most 2048)" in problems
    assert "author.name is 257 characters (at most 256)" in problems
    assert any(problem.startswith("the embed totals") for problem in problems)


def test_fitting_keeps_the_whole_embed_under_6000_characters():
    embed = embeds.moderation_decided(
        request_id=1,
        member=LONG,
        amount=10,
        reason=LONG,
        status="denied",
        moderator=LONG,
        note=LONG,
    )
    data = valid(embed)
    assert limits.embed_size(data) <= limits.EMBED_TOTAL
    assert all(
        field["value"].endswith("…") for field in data["fields"] if field["name"] in ("Reason", "Note")
    )


def rows(count: int, name_length: int) -> list[embeds.LeaderboardRow]:
    return [
        embeds.LeaderboardRow(rank=n, name=f"{n:02d}" + "n" * (name_length - 2), score=10**12 - n)
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("name_length", [32, 150])
def test_a_25_row_leaderboard_of_long_names_is_a_valid_message(name_length):
    own = embeds.LeaderboardRow(rank=1_000_000, name="o" * 150, score=1)

    data = valid(
        embeds.leaderboard(
            period="all",
            rows=rows(25, name_length),
            own_row=own,
            caller_linked=True,
            link_url="https://dealscale.example/profile/",
            generated_at=NOW,
        )
    )

    lines = data["description"].splitlines()
    assert len(lines) == 25
    if name_length > limits.NAME_IN_LIST:
        # 25 rows of 150-character usernames passed the 4096-character description before the cut.
        assert all("…" in line for line in lines)
        assert sum(len(row.name) + 30 for row in rows(25, name_length)) > limits.EMBED_DESCRIPTION
    else:
        assert lines[0] == f"🥇 01{'n' * 30} — 999,999,999,999 pts"


@pytest.mark.django_db
def test_the_leaderboard_page_of_25_members_with_32_character_names_builds_a_valid_message(settings):
    members = [UserFactory(username=f"member{n}", display_name=f"{n:02d}" + "N" * 30) for n in range(25)]
    now = timezone.now()
    ScoreTotal.objects.bulk_create(
        ScoreTotal(user=user, period="all", period_start=ALL_TIME_START, score=1000 + n, reached_at=now)
        for n, user in enumerate(members)
    )
    recalculate_leaderboard(force=True)

    page = leaderboard_page(discord_id=1, period="all", limit=25)
    data = valid(
        embeds.leaderboard(
            period="all",
            rows=page.rows,
            own_row=page.own_row,
            caller_linked=page.caller_linked,
            link_url="https://dealscale.example/profile/",
            generated_at=page.generated_at,
        )
    )
    assert len(data["description"].splitlines()) == 25
    assert all(len(row.name) == 32 for row in page.rows)


def test_rank_and_unranked_cards_of_a_long_name_are_valid():
    card = embeds.RankCard(name=LONG, rank=3, previous_rank=9, score=10, generated_at=NOW)
    rank = valid(embeds.rank(card, milestone=embeds.Milestone(name=LONG, needed=LONG)))
    assert rank["title"].startswith("📈 xxx") and rank["title"].endswith("…")
    valid(embeds.unranked(name=LONG, period="week"))


def test_balance_request_and_link_answers_are_valid_for_long_texts():
    pending = [embeds.PendingRequestRow(id=10**18, amount=10**15, created_at=NOW)] * 5
    valid(embeds.credits(balance=10**18, pending=pending, pending_total=10**9))
    valid(embeds.request_filed(request_id=1, amount=5, status="pending", reason=LONG))
    valid(embeds.link_status(discord_name=LONG, username=LONG, link_url="https://dealscale.example/profile/"))
    valid(embeds.problem(LONG, title=LONG))


def test_moderation_posts_and_decision_dms_with_long_reasons_and_notes_are_valid():
    posted = valid(
        embeds.moderation_request(
            request_id=1, member=LONG, discord_id="1" * 20, amount=5, reason=LONG, source="web"
        )
    )
    assert {field["name"] for field in posted["fields"]} >= {"Member", "Reason", "Status"}
    for status in ("approved", "denied", "cancelled"):
        dm = valid(
            embeds.decision_dm(request_id=1, amount=5, reason=LONG, status=status, note=LONG, decided_at=NOW)
        )
        assert dm["description"].endswith("…")


async def test_moderation_components_fit_for_the_largest_request_id():
    # A nextcord modal needs a running loop.
    largest = 2**63 - 1
    for action in (components.APPROVE, components.DENY, components.DENY_NOTE):
        assert len(components.custom_id(action, largest)) <= 100
    assert limits.length(DenyNoteModal(largest).title) <= limits.MODAL_TITLE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--embed", "--title", "T" * 255, "Body"], "The title is 255 characters; Discord allows 254 here"),
        (["--embed", "B" * 4097], "The message is 4097 characters; Discord allows 4096 in an embed"),
        (["C" * 2001], "The message is 2001 characters; Discord allows 2000 in a message"),
        (["   "], "The message is empty"),
    ],
)
def test_announce_refuses_an_over_long_title_or_body_with_exit_code_2_before_calling_discord(
    fake_discord, arguments, message
):
    with pytest.raises(CommandError, match=message) as refused:
        call_command("announce", "--channel", DEFAULT_CHANNEL_ID, *arguments)

    assert refused.value.returncode == 2
    assert "Nothing was sent" in str(refused.value)
    assert fake_discord.requests == []


@pytest.mark.django_db
def test_announce_posts_a_title_and_body_at_the_limits(fake_discord):
    call_command(
        "announce",
        "--channel",
        DEFAULT_CHANNEL_ID,
        "--embed",
        "--title",
        "T" * 254,
        "B" * 4096,
        stdout=StringIO(),
    )

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    [embed] = message["embeds"]
    assert embed["title"] == "📢 " + "T" * 254 and embed["description"] == "B" * 4096
    assert limits.embed_problems(embed) == []
    assert fake_discord.requests_to("POST", MESSAGES)[-1].status == 200


def pathological_embeds() -> dict[str, object]:
    card = embeds.RankCard(name=LONG, rank=3, previous_rank=9, score=10, generated_at=NOW)
    return {
        "leaderboard": embeds.leaderboard(
            period="all",
            rows=rows(25, 150),
            own_row=embeds.LeaderboardRow(rank=10**6, name=LONG, score=1),
            caller_linked=True,
            link_url="https://dealscale.example/profile/",
            generated_at=NOW,
        ),
        "rank": embeds.rank(card, milestone=embeds.Milestone(name=LONG, needed=LONG)),
        "request": embeds.request_filed(request_id=1, amount=5, status="pending", reason=LONG),
        "moderation": embeds.moderation_request(
            request_id=1, member=LONG, discord_id="1", amount=5, reason=LONG, source="web"
        ),
        "decided": embeds.moderation_decided(
            request_id=1, member=LONG, amount=5, reason=LONG, status="denied", moderator=LONG, note=LONG
        ),
        "dm": embeds.decision_dm(
            request_id=1, amount=5, reason=LONG, status="denied", note=LONG, decided_at=NOW
        ),
        "announcement": embeds.announcement(title=LONG, text=LONG),
    }


@pytest.mark.parametrize("name", list(pathological_embeds()))
def test_the_fake_discord_accepts_each_embed_built_from_over_long_data(fake_discord, name):
    from discord_rest.client import DiscordClient

    embed = pathological_embeds()[name]

    message = DiscordClient().send_message(DEFAULT_CHANNEL_ID, embeds=[embed.to_dict()])

    assert message["embeds"][0]["title"] == embed.title
