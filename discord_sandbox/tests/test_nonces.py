"""``nonce`` + ``enforce_nonce`` on message creation, as Discord documents them (``message.mdx``)."""

from discord_sandbox import DEFAULT_CHANNEL_ID, GUILD_ID

MESSAGES = f"/channels/{DEFAULT_CHANNEL_ID}/messages"


def test_an_enforced_nonce_sent_twice_returns_the_first_message(api, fake_discord):
    body = {"content": "Credit request #7 approved", "nonce": "credits-7-approved", "enforce_nonce": True}

    first = api("POST", MESSAGES, json=body)
    second = api("POST", MESSAGES, json=body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["id"] == first.json()["id"]
    assert first.json()["nonce"] == "credits-7-approved"
    assert len(fake_discord.created_messages) == 1


def test_an_integer_nonce_is_enforced_too(api, fake_discord):
    body = {"content": "hi", "nonce": 1234567890123, "enforce_nonce": True}

    ids = {api("POST", MESSAGES, json=body).json()["id"] for _ in range(3)}

    assert len(ids) == 1 and len(fake_discord.created_messages) == 1


def test_without_enforce_nonce_a_repeated_nonce_creates_another_message(api, fake_discord):
    body = {"content": "hi", "nonce": "same"}

    api("POST", MESSAGES, json=body)
    api("POST", MESSAGES, json=body)

    assert len(fake_discord.sent_messages(DEFAULT_CHANNEL_ID)) == 2


def test_a_nonce_is_unique_per_channel(api, fake_discord):
    other = fake_discord.add_channel(GUILD_ID, name="announcements")
    body = {"content": "hi", "nonce": "same", "enforce_nonce": True}

    here = api("POST", MESSAGES, json=body).json()
    there = api("POST", f"/channels/{other['id']}/messages", json=body).json()

    assert here["id"] != there["id"]
    assert len(fake_discord.created_messages) == 2


def test_a_nonce_is_enforced_for_a_few_minutes_only(api, fake_discord):
    fake_discord.freeze_clock()
    body = {"content": "hi", "nonce": "same", "enforce_nonce": True}

    first = api("POST", MESSAGES, json=body).json()
    fake_discord.advance_clock(4 * 60)
    within = api("POST", MESSAGES, json=body).json()
    fake_discord.advance_clock(2 * 60)
    after = api("POST", MESSAGES, json=body).json()

    assert within["id"] == first["id"]
    assert after["id"] != first["id"]


def test_created_messages_keep_count_of_deleted_ones(api, fake_discord):
    message = api("POST", MESSAGES, json={"content": "hi"}).json()
    api("DELETE", f"{MESSAGES}/{message['id']}")

    assert fake_discord.sent_messages() == []
    assert [m["id"] for m in fake_discord.created_messages] == [message["id"]]
