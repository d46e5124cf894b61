"""Properties of what the bot reads from members: button and modal ids, /request-credits, /leaderboard.

For any input: a button's custom_id is parsed back to what the bot wrote or refused, never a crash;
/request-credits files exactly the amounts and reasons the credits rules allow and refuses the rest
field by field, and the deny modal decides with exactly the notes they allow (never a database error
instead: NUL and lone surrogates were one, issue 13); /leaderboard refuses any period or limit outside its
choices and passes the others on unchanged.
"""

import asyncio
import itertools
from unittest.mock import AsyncMock, MagicMock, patch

import pytest
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as django_settings
from django.db import transaction
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from waffle.models import Flag

from accounts.tests.factories import UserFactory
from credits.errors import CreditsValidationError
from credits.services import NOTE_MAX_LENGTH, REASON_MAX_LENGTH, REASON_MIN_LENGTH
from credits.tests.factories import CreditRequestFactory, ModeratorFactory
from discordbot import components
from discordbot.cogs.base import Refusal
from discordbot.cogs.credits import file_request
from discordbot.cogs.leaderboard import MAX_LIMIT, PERIOD_CHOICES, LeaderboardCog
from discordbot.cogs.moderation import ModerationCog, decide

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    # The member fixture and its database transaction are meant to last for the whole test.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
ACTIONS = [components.APPROVE, components.DENY, components.DENY_NOTE]


def route(custom_id: str) -> list[str] | None:
    """The handler's arguments of a custom_id, split as the bot's dispatcher splits them (bot.py)."""
    prefix, _, rest = custom_id.partition(":")
    return (rest.split(":") if rest else []) if prefix == components.PREFIX else None


# --- Buttons and modals ----------------------------------------------------------------------------------


@PROPERTIES
@given(action=st.sampled_from(ACTIONS), request_id=st.integers(1, components.REQUEST_ID_MAX))
def test_every_custom_id_the_bot_writes_parses_back_to_its_action_and_request(action, request_id):
    written = components.custom_id(action, request_id)

    assert len(written) <= 100  # Discord's limit on a custom_id
    assert components.parse_arguments(route(written)) == (action, request_id)


@PROPERTIES
@given(args=st.lists(st.text(max_size=30), max_size=4))
@example(args=["approve", "²"])
@example(args=["approve", "١٢"])
@example(args=["approve", "1" * 5000])
@example(args=["approve", str(2**63)])
@example(args=["approve", "007"])
@example(args=["approve", " 7"])
def test_any_other_arguments_are_refused_or_name_exactly_what_the_bot_would_have_written(args):
    parsed = components.parse_arguments(args)

    if parsed is not None:
        assert route(components.custom_id(*parsed)) == args


@PROPERTIES
@given(args=st.lists(st.text(max_size=30), max_size=4))
@example(args=["approve", "²"])
def test_a_click_on_a_button_the_bot_never_wrote_is_refused_before_any_lookup(args):
    assume(components.parse_arguments(args) is None)

    with pytest.raises(Refusal, match="not recognised"):
        asyncio.run(ModerationCog(MagicMock()).handle(MagicMock(), args))


text_inputs = st.builds(
    lambda custom_id, value: {"type": 4, "custom_id": custom_id, "value": value},
    st.sampled_from(["reason", "other"]),
    st.text(max_size=20),
)


def containers(children):
    rows = st.lists(children, max_size=3).map(lambda items: {"type": 1, "components": items})
    labels = children.map(lambda item: {"type": 18, "component": item})
    return st.one_of(rows, labels)


@PROPERTIES
@given(
    before=st.lists(st.recursive(text_inputs, containers, max_leaves=5), max_size=3),
    after=st.lists(st.recursive(text_inputs, containers, max_leaves=5), max_size=3),
    note=st.text(max_size=50),
    depth=st.integers(0, 3),
)
def test_the_modal_note_is_found_wherever_discord_nests_it(before, after, note, depth):
    field = {"type": 4, "custom_id": components.NOTE_FIELD, "value": note}
    for level in range(depth):
        field = {"type": 1, "components": [field]} if level % 2 else {"type": 18, "component": field}

    assert components.submitted_value([*before, field, *after], components.NOTE_FIELD) == note
    assert components.submitted_value([*before, *after], components.NOTE_FIELD) is None


# --- /request-credits --------------------------------------------------------------------------------

DISCORD_ID = 424242
interaction_ids = itertools.count(1)
reasons = st.one_of(
    st.text(max_size=REASON_MAX_LENGTH + 20),
    st.text(alphabet=st.sampled_from(" \t\n\u3000ab\x00"), max_size=REASON_MIN_LENGTH + 5),
    # Discord hands over JSON strings, which may hold a lone surrogate ("\ud800").
    st.text(alphabet=st.characters(categories=["Cs", "Ll"]), min_size=REASON_MIN_LENGTH, max_size=20),
)


@pytest.fixture
def linked_member(db, settings):
    settings.CREDITS_MAX_PENDING = 10**6
    settings.CREDITS_DAILY_CAP = 10**12
    Flag.objects.update_or_create(name="discord_integration", defaults={"everyone": True})
    user = UserFactory()
    SocialAccount.objects.create(user=user, provider="discord", uid=str(DISCORD_ID))
    return user


def allowed_fields(amount: int, reason: str) -> set[str]:
    """The fields the credits rules refuse, as documented (credits.services, CREDITS_MAX_REQUEST)."""
    refused = set()
    if not 1 <= amount <= django_settings.CREDITS_MAX_REQUEST:
        refused.add("amount")
    storable = "\x00" not in reason and not any("\ud800" <= char <= "\udfff" for char in reason)
    if not storable or not REASON_MIN_LENGTH <= len(reason.strip()) <= REASON_MAX_LENGTH:
        refused.add("reason")
    return refused


@PROPERTIES
@given(amount=st.one_of(st.integers(-3, 10_003), st.integers()), reason=reasons)
@example(amount=5, reason="Organised\x00the meetup")
@example(amount=5, reason="Organised the meetup \ud800")
@example(amount=5, reason="         a         ")
def test_request_credits_files_exactly_what_the_rules_allow_and_names_each_refused_field(
    linked_member, amount, reason
):
    with transaction.atomic():
        try:
            filed = file_request(
                discord_id=DISCORD_ID, amount=amount, reason=reason, interaction_id=next(interaction_ids)
            )
        except CreditsValidationError as refusal:
            refused = set(refusal.fields)
        else:
            refused = set()
            filed.refresh_from_db()
            assert (filed.amount, filed.reason) == (amount, reason.strip())
        transaction.set_rollback(True)

    assert refused == allowed_fields(amount, reason)


notes = st.one_of(
    st.text(max_size=NOTE_MAX_LENGTH + 20),
    st.text(alphabet=st.sampled_from(" \t\nab\x00"), max_size=8),
    st.text(alphabet=st.characters(categories=["Cs", "Ll"]), max_size=8),
)


@PROPERTIES
@given(note=notes)
@example(note="No\x00pe")
@example(note="   ")
def test_the_deny_modal_decides_with_exactly_the_notes_the_rules_allow(linked_member, note):
    stripped = note.strip()
    storable = "\x00" not in note and not any("\ud800" <= char <= "\udfff" for char in note)
    allowed = storable and 1 <= len(stripped) <= NOTE_MAX_LENGTH

    with transaction.atomic():
        SocialAccount.objects.create(user=ModeratorFactory(), provider="discord", uid="515151")
        pending = CreditRequestFactory(user=linked_member)
        try:
            decide(discord_id=515151, request_id=pending.pk, approve=False, note=note)
        except CreditsValidationError as refusal:
            assert not allowed and set(refusal.fields) == {"note"}
        else:
            pending.refresh_from_db()
            assert allowed and (pending.status, pending.decision_note) == ("denied", stripped)
        transaction.set_rollback(True)


# --- /leaderboard --------------------------------------------------------------------------------------


@PROPERTIES
@given(
    period=st.one_of(st.sampled_from(list(PERIOD_CHOICES.values())), st.text(max_size=10)),
    limit=st.one_of(st.integers(-2, MAX_LIMIT + 2), st.integers()),
)
def test_leaderboard_refuses_any_period_or_limit_outside_its_choices_and_passes_the_rest_on(period, limit):
    interaction = MagicMock()
    interaction.response.send_message = AsyncMock()
    valid = period in PERIOD_CHOICES.values() and 1 <= limit <= MAX_LIMIT

    with (
        patch("discordbot.cogs.leaderboard.leaderboard_page") as page,
        patch("discordbot.cogs.leaderboard.embeds.leaderboard"),
        # Answering goes through the interaction's acknowledgement record; only the parsing is under test.
        patch("discordbot.cogs.leaderboard.reply", new_callable=AsyncMock),
        # No database here: a connection another test left open would trip pytest-django's blocker in
        # close_old_connections(), so the selector is awaited directly.
        patch("discordbot.cogs.leaderboard.database_sync_to_async", lambda fn: AsyncMock(side_effect=fn)),
    ):
        command = LeaderboardCog.leaderboard.callback(MagicMock(), interaction, period=period, limit=limit)
        if valid:
            asyncio.run(command)
            assert page.call_args.kwargs == {
                "discord_id": interaction.user.id,
                "period": period,
                "limit": limit,
            }
        else:
            with pytest.raises(Refusal):
                asyncio.run(command)
            page.assert_not_called()
