"""Create Message with a nonce, as Discord documents it, and responses lost after the work is done.

discord-api-docs developers/resources/message.mdx, Create Message: `nonce` is an integer or a string of
up to 25 characters; with `enforce_nonce` it "will be checked for uniqueness in the past few minutes. If
another message was created by the same author with the same nonce, that message will be returned and
no new message will be created."
"""

import pytest
import requests

from discord_sandbox import BOT_TOKEN, DEFAULT_CHANNEL_ID

BOT = {"Authorization": f"Bot {BOT_TOKEN}"}
MESSAGES = "/channels/{channel_id}/messages"


@pytest.fixture
def post(fake_discord):
    def call(body, *, timeout=5.0):
        return requests.post(
            f"{fake_discord.base_url}/channels/{DEFAULT_CHANNEL_ID}/messages",
            json=body,
            headers=BOT,
            timeout=timeout,
        )

    return call


def test_an_enforced_nonce_returns_the_first_message_instead_of_a_second(post, fake_discord):
    first = post({"content": "once", "nonce": "event-1", "enforce_nonce": True})
    again = post({"content": "once", "nonce": "event-1", "enforce_nonce": True})

    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["nonce"] == "event-1"
    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 1


def test_a_nonce_without_enforce_nonce_and_an_expired_nonce_create_new_messages(post, fake_discord):
    post({"content": "a", "nonce": "event-2"})
    post({"content": "a", "nonce": "event-2"})
    post({"content": "b", "nonce": "event-3", "enforce_nonce": True})
    fake_discord.expire_nonces()
    post({"content": "b", "nonce": "event-3", "enforce_nonce": True})

    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 4


def test_a_nonce_longer_than_25_characters_is_refused(post, fake_discord):
    response = post({"content": "x", "nonce": "n" * 26, "enforce_nonce": True})

    assert response.status_code == 400
    assert response.json()["code"] == 50035
    assert "nonce" in response.json()["errors"]
    assert fake_discord.sent_messages(DEFAULT_CHANNEL_ID) == []


def test_a_dropped_response_after_the_work_leaves_the_message_created(post, fake_discord):
    fake_discord.drop_next("POST", MESSAGES, handled=True)

    with pytest.raises(requests.ConnectionError):
        post({"content": "lost answer", "nonce": "event-4", "enforce_nonce": True})

    [message] = fake_discord.sent_messages(DEFAULT_CHANNEL_ID)
    assert (
        post({"content": "lost answer", "nonce": "event-4", "enforce_nonce": True}).json()["id"]
        == message["id"]
    )


def test_a_hung_call_times_out_and_does_nothing(post, fake_discord):
    fake_discord.drop_next("POST", MESSAGES, handled=False, hang_seconds=1.0)

    with pytest.raises(requests.Timeout):
        post({"content": "never"}, timeout=0.2)

    assert fake_discord.sent_messages(DEFAULT_CHANNEL_ID) == []
    assert fake_discord.requests_to("POST", MESSAGES)[0].status == 0


def test_a_slowed_route_answers_late_but_answers(post, fake_discord):
    fake_discord.slow_down("POST", MESSAGES, seconds=0.3)

    with pytest.raises(requests.Timeout):
        post({"content": "slow"}, timeout=0.1)
    assert post({"content": "slow"}, timeout=5).status_code == 200
