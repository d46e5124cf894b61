"""Interactions keep Discord's timeline: 3 s for the one initial response, 15 minutes for the webhook.

The fake's clock is frozen and moved by the tests (``freeze_clock`` / ``advance_clock``): nothing here sleeps
or reads the wall clock.
"""

import pytest

from discord_sandbox import APPLICATION_ID, DEFAULT_CHANNEL_ID

UNKNOWN_INTERACTION = (404, {"message": "Unknown interaction", "code": 10062})
UNKNOWN_WEBHOOK = (404, {"message": "Unknown Webhook", "code": 10015})
INVALID_WEBHOOK_TOKEN = (401, {"message": "Invalid Webhook Token", "code": 50027})


@pytest.fixture
def interaction(fake_discord):
    fake_discord.freeze_clock()
    return fake_discord.create_interaction(name="balance", user_id=fake_discord.add_user()["id"])


@pytest.fixture
def respond(api, interaction):
    def call(body: dict):
        path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
        return api("POST", path, headers={}, json=body)

    return call


@pytest.fixture
def webhook(api, interaction):
    def call(method: str, suffix: str = "", **kwargs):
        return api(method, f"/webhooks/{APPLICATION_ID}/{interaction['token']}{suffix}", headers={}, **kwargs)

    return call


def answer(response) -> tuple[int, dict | None]:
    return response.status_code, response.json() if response.content else None


def test_the_initial_response_is_accepted_until_3_seconds_after_the_dispatch(fake_discord, respond):
    fake_discord.advance_clock(3.0)

    assert respond({"type": 4, "data": {"content": "100 credits"}}).status_code == 204


def test_an_initial_response_after_3_seconds_answers_unknown_interaction(fake_discord, respond, webhook):
    fake_discord.advance_clock(3.01)

    late = respond({"type": 4, "data": {"content": "100 credits"}})
    followup = webhook("POST", json={"content": "anyway"})

    assert answer(late) == UNKNOWN_INTERACTION
    assert answer(followup) == UNKNOWN_WEBHOOK
    assert fake_discord.sent_messages() == []


def test_the_3_seconds_start_when_the_interaction_is_dispatched(fake_discord, interaction, respond):
    fake_discord.advance_clock(60)
    fake_discord.push_event("INTERACTION_CREATE", interaction)
    fake_discord.advance_clock(2)

    assert respond({"type": 5}).status_code == 204


def test_a_second_initial_response_is_refused(respond):
    first = respond({"type": 5})
    second = respond({"type": 4, "data": {"content": "again"}})

    assert first.status_code == 204
    assert answer(second) == (400, {"message": "Interaction has already been acknowledged.", "code": 40060})


def test_a_refused_response_body_does_not_acknowledge(respond):
    refused = respond({"type": 4, "data": {"content": ""}})
    accepted = respond({"type": 4, "data": {"content": "ok"}})

    assert refused.status_code == 400
    assert accepted.status_code == 204


def test_follow_ups_and_the_original_wait_for_the_acknowledgement(respond, webhook):
    before = [
        webhook("POST", json={"content": "early"}),
        webhook("GET", "/messages/@original"),
        webhook("PATCH", "/messages/@original", json={"content": "early"}),
        webhook("DELETE", "/messages/@original"),
    ]
    respond({"type": 5, "data": {"flags": 64}})
    edited = webhook("PATCH", "/messages/@original", json={"content": "100 credits"})
    followup = webhook("POST", json={"content": "and more"})

    assert [answer(response) for response in before] == [UNKNOWN_WEBHOOK] * 4
    assert edited.status_code == 200 and edited.json()["content"] == "100 credits"
    assert edited.json()["flags"] == 64  # ephemeral kept, "thinking…" over
    assert followup.status_code == 200


def test_a_deferred_update_acknowledges_a_component_interaction(api, fake_discord):
    fake_discord.freeze_clock()
    message = fake_discord.make_message(DEFAULT_CHANNEL_ID, {"content": "pending"})
    payload = fake_discord.create_interaction(
        user_id=fake_discord.add_user()["id"], interaction_type=3, data={"custom_id": "c"}, message=message
    )
    webhook = f"/webhooks/{APPLICATION_ID}/{payload['token']}/messages/@original"

    deferred = api(
        "POST", f"/interactions/{payload['id']}/{payload['token']}/callback", headers={}, json={"type": 6}
    )
    edited = api("PATCH", webhook, headers={}, json={"content": "approved"})

    assert deferred.status_code == 204
    assert edited.status_code == 200
    assert message["content"] == "approved"


def test_an_update_message_edits_the_message_the_component_is_on(api, fake_discord):
    message = fake_discord.make_message(
        DEFAULT_CHANNEL_ID, {"content": "pending", "components": [{"type": 1}]}
    )
    payload = fake_discord.create_interaction(
        user_id=fake_discord.add_user()["id"], interaction_type=3, data={"custom_id": "c"}
    )
    # As a gateway dispatch carries it: the interaction learns its message when dispatched.
    fake_discord.push_event("INTERACTION_CREATE", dict(payload, message=message))

    response = api(
        "POST",
        f"/interactions/{payload['id']}/{payload['token']}/callback",
        headers={},
        json={"type": 7, "data": {"content": "approved", "components": []}},
    )

    assert response.status_code == 204
    assert (message["content"], message["components"]) == ("approved", [])


def test_the_webhook_works_for_15_minutes_after_the_interaction(fake_discord, respond, webhook):
    respond({"type": 4, "data": {"content": "100 credits"}})
    fake_discord.advance_clock(15 * 60)

    assert webhook("GET", "/messages/@original").status_code == 200
    followup = webhook("POST", json={"content": "still here"})
    assert followup.status_code == 200

    fake_discord.advance_clock(0.01)
    assert [
        answer(webhook("GET", "/messages/@original")),
        answer(webhook("PATCH", "/messages/@original", json={"content": "late"})),
        answer(webhook("DELETE", "/messages/@original")),
        answer(webhook("POST", json={"content": "late"})),
        answer(webhook("PATCH", f"/messages/{followup.json()['id']}", json={"content": "late"})),
    ] == [INVALID_WEBHOOK_TOKEN] * 5


def test_an_unknown_webhook_token_answers_unknown_webhook(api):
    response = api("POST", f"/webhooks/{APPLICATION_ID}/nope", headers={}, json={"content": "hi"})

    assert answer(response) == UNKNOWN_WEBHOOK
