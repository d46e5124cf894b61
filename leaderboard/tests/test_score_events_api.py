"""The webhook's body rules: idempotency per source, atomic batches, and errors that name the bad event."""

import pytest
from django.utils import timezone

from accounts.tests.factories import DiscordAccountFactory, UserFactory
from leaderboard.models import LedgerState, ScoreEvent, ScoreTotal
from leaderboard.services import record_score_events
from leaderboard.tests.factories import event_document

pytestmark = pytest.mark.django_db


def test_events_are_accepted_once_and_reported_as_duplicates_after(post_events):
    user = UserFactory()
    batch = {"events": [event_document("a", user.pk), event_document("b", user.pk, 5)]}
    assert post_events(batch).json() == {"accepted": 2, "duplicates": 0}
    batch["events"].append(event_document("c", user.pk, 1))
    assert post_events(batch).json() == {"accepted": 1, "duplicates": 2}
    assert ScoreTotal.objects.get(user=user, period="all").score == 16


def test_a_repeated_external_id_inside_one_batch_counts_once(post_events):
    user = UserFactory()
    response = post_events({"events": [event_document("same", user.pk), event_document("same", user.pk)]})
    assert response.json() == {"accepted": 1, "duplicates": 1}


def test_the_same_external_id_from_another_source_is_a_different_event():
    user = UserFactory()
    for source in ("platform", "shop"):
        event = {
            "external_id": "x",
            "user_id": user.pk,
            "points": 1,
            "kind": "k",
            "occurred_at": timezone.now(),
        }
        result = record_score_events(origin=source, events=[event])
        assert result.accepted == 1
    assert ScoreEvent.objects.count() == 2


def test_events_can_name_the_member_by_linked_discord_id(post_events):
    account = DiscordAccountFactory()
    response = post_events({"events": [event_document("d", None, 7, discord_id=account.uid)]})
    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert ScoreEvent.objects.get().user == account.user


def test_an_unknown_user_is_named_and_nothing_of_the_batch_is_stored(post_events):
    user = UserFactory()
    events = [event_document(f"e{i}", user.pk) for i in range(3)]
    events.append(event_document("e3", 999_999))
    events.append(event_document("e4", None, discord_id="123"))
    response = post_events({"events": events})
    assert response.status_code == 400
    assert response.json() == {
        "events": {"3": {"user_id": ["Unknown user 999999."]}, "4": {"discord_id": ["Unknown user 123."]}}
    }
    assert not ScoreEvent.objects.exists() and not ScoreTotal.objects.exists()


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"points": "lots"}, "points"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"kind": ""}, "kind"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"discord_id": "123"}, "user_id"),
    ],
)
def test_a_bad_field_is_named_with_its_event_index_and_nothing_is_stored(post_events, bad, field):
    user = UserFactory()
    events = [event_document("ok", user.pk), {**event_document("bad", user.pk), **bad}]
    response = post_events({"events": events})
    assert response.status_code == 400
    assert list(response.json()["events"]) == ["1"]
    assert field in response.json()["events"]["1"]
    assert not ScoreEvent.objects.exists()


@pytest.mark.parametrize("count", [0, 501])
def test_a_batch_must_hold_between_1_and_500_events(post_events, count):
    user = UserFactory()
    response = post_events({"events": [event_document(f"e{i}", user.pk) for i in range(count)]})
    assert response.status_code == 400
    assert "between 1 and 500" in response.json()["events"][0]


def test_a_body_that_is_not_json_is_a_400(post_events):
    assert post_events(None, body=b"{not json").status_code == 400


def test_a_body_nested_deeper_than_the_json_decoder_goes_is_a_400(post_events):
    # json.loads raises RecursionError, not the ValueError DRF's parser turns into a 400.
    response = post_events(None, body=b'{"events": ' + b"[" * 100_000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert not ScoreEvent.objects.exists()


def test_a_batch_of_500_is_stored_and_bumps_the_change_counter_once(post_events):
    users = UserFactory.create_batch(5)
    events = [event_document(f"e{i}", users[i % 5].pk, 1) for i in range(500)]
    assert post_events({"events": events}).json() == {"accepted": 500, "duplicates": 0}
    assert ScoreTotal.objects.filter(period="all").count() == 5
    assert LedgerState.objects.get().change_counter == 1


def test_a_batch_of_only_duplicates_does_not_count_as_a_change(post_events):
    user = UserFactory()
    post_events({"events": [event_document("a", user.pk)]})
    post_events({"events": [event_document("a", user.pk)]})
    assert LedgerState.objects.get().change_counter == 1


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize(
    "bad, field",
    [
        # int() and the regex \d read other scripts' digits; the contract's integers are ASCII.
        (lambda user: {"user_id": str(user.pk).translate(ARABIC_INDIC)}, "user_id"),
        (lambda user: {"points": "١٠"}, "points"),
        (lambda user: {"user_id": None, "discord_id": "١٢٣"}, "discord_id"),
    ],
)
def test_an_id_or_number_in_anything_but_ascii_digits_is_a_400_naming_it(post_events, bad, field):
    user = UserFactory()
    response = post_events({"events": [event_document("bad", **{"user_id": user.pk, **bad(user)})]})
    assert response.status_code == 400
    [message] = response.json()["events"]["0"][field]
    assert not message.startswith("Unknown user")
    assert not ScoreEvent.objects.exists()
