"""The fake refuses, with Discord's error body, every documented limit on what the project sends."""

import pytest

from discord_sandbox import APPLICATION_ID, DEFAULT_CHANNEL_ID, GUILD_ID
from discord_sandbox.tests.helpers import form_error

MESSAGES = f"/channels/{DEFAULT_CHANNEL_ID}/messages"
COMMANDS = f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"


def too_long(limit: int) -> tuple[str, str]:
    return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


def row(*buttons: dict) -> dict:
    return {"type": 1, "components": list(buttons)}


def button(custom_id: str = "b", label: str = "OK") -> dict:
    return {"type": 2, "style": 1, "label": label, "custom_id": custom_id}


def field(name: str = "n", value: str = "v") -> dict:
    return {"name": name, "value": value}


# (body, path of the error, code, message): one case per documented limit, just over it.
OVER_THE_LIMIT = [
    ({"content": "x" * 2001}, ("content",), *too_long(2000)),
    ({"embeds": [{"title": "t"}] * 11}, ("embeds",), *too_long(10)),
    ({"embeds": [{"title": "x" * 257}]}, ("embeds", 0, "title"), *too_long(256)),
    ({"embeds": [{"description": "x" * 4097}]}, ("embeds", 0, "description"), *too_long(4096)),
    ({"embeds": [{"fields": [field()] * 26}]}, ("embeds", 0, "fields"), *too_long(25)),
    ({"embeds": [{"fields": [field(name="x" * 257)]}]}, ("embeds", 0, "fields", 0, "name"), *too_long(256)),
    (
        {"embeds": [{"fields": [field(), field(value="x" * 1025)]}]},
        ("embeds", 0, "fields", 1, "value"),
        *too_long(1024),
    ),
    ({"embeds": [{"footer": {"text": "x" * 2049}}]}, ("embeds", 0, "footer", "text"), *too_long(2048)),
    ({"embeds": [{"author": {"name": "x" * 257}}]}, ("embeds", 0, "author", "name"), *too_long(256)),
    (
        {"embeds": [{"description": "x" * 4000}, {"description": "y" * 1990, "title": "z" * 11}]},
        ("embeds",),
        "MAX_EMBED_SIZE_EXCEEDED",
        "Embed size exceeds maximum size of 6000",
    ),
    (
        {"embeds": [{"fields": [{"name": "n"}]}]},
        ("embeds", 0, "fields", 0, "value"),
        "BASE_TYPE_REQUIRED",
        "This field is required",
    ),
    ({"content": "c", "components": [row(button())] * 6}, ("components",), *too_long(5)),
    (
        {"content": "c", "components": [row(*(button(f"b{n}") for n in range(6)))]},
        ("components", 0, "components"),
        "BASE_TYPE_BAD_LENGTH",
        "Must be between 1 and 5 in length.",
    ),
    (
        {"content": "c", "components": [row(button("x" * 101))]},
        ("components", 0, "components", 0, "custom_id"),
        "BASE_TYPE_BAD_LENGTH",
        "Must be between 1 and 100 in length.",
    ),
    (
        {"content": "c", "components": [row(button(""))]},
        ("components", 0, "components", 0, "custom_id"),
        "BASE_TYPE_BAD_LENGTH",
        "Must be between 1 and 100 in length.",
    ),
    (
        {"content": "c", "components": [row(button(label="x" * 81))]},
        ("components", 0, "components", 0, "label"),
        *too_long(80),
    ),
    (
        {"content": "c", "nonce": "n" * 26},
        ("nonce",),
        "NONCE_TYPE_TOO_LONG",
        "Must be 25 or fewer characters long.",
    ),
    (
        {"content": "c", "nonce": True},
        ("nonce",),
        "NONCE_TYPE_INVALID_TYPE",
        "This field must be a string or integer.",
    ),
]

AT_THE_LIMIT = [
    {"content": "x" * 2000},
    {"embeds": [{"title": "t"}] * 10},
    {
        "embeds": [
            {
                "title": "x" * 256,
                "description": "x" * 3000,
                "fields": [field("n" * 100, "v" * 100)] * 10,
                "footer": {"text": "f" * 488},
                "author": {"name": "a" * 256},
            }
        ]
    },
    {"embeds": [{"description": "x" * 4000}, {"description": "y" * 2000}]},
    {
        "content": "c",
        "components": [row(*(button(f"b{r}{n}", "x" * 80) for n in range(5))) for r in range(5)],
    },
    # A link button has no custom_id; Components V2 messages may hold up to 40 components, in containers.
    {"content": "c", "components": [row({"type": 2, "style": 5, "label": "Site", "url": "https://x.io"})]},
    {"flags": 1 << 15, "components": [{"type": 10, "content": "t"}] * 40},
    {"content": "c", "nonce": "n" * 25},
    {"content": "c", "nonce": 2**62},
]


@pytest.mark.parametrize(("body", "path", "code", "message"), OVER_THE_LIMIT)
def test_a_message_over_a_documented_limit_is_refused_with_the_field_path(
    api, fake_discord, body, path, code, message
):
    response = api("POST", MESSAGES, json=body)

    assert response.status_code == 400
    assert response.json() == form_error(path, code, message)
    assert fake_discord.sent_messages() == []


@pytest.mark.parametrize("body", AT_THE_LIMIT)
def test_a_message_at_the_limits_is_sent(api, body):
    assert api("POST", MESSAGES, json=body).status_code == 200


def test_every_bad_field_is_reported_at_once(api):
    body = {"content": "x" * 2001, "embeds": [{"title": "x" * 257}, {"description": "ok"}]}

    errors = api("POST", MESSAGES, json=body).json()["errors"]

    assert set(errors) == {"content", "embeds"}
    assert list(errors["embeds"]) == ["0"]


def test_more_than_forty_components_v2_are_refused(api):
    body = {
        "flags": 1 << 15,
        "components": [{"type": 17, "components": [{"type": 10, "content": "t"}] * 20}] * 2,
    }

    response = api("POST", MESSAGES, json=body)

    assert response.json() == form_error(("components",), *too_long(40))


@pytest.mark.parametrize(
    "body",
    [None, {}, {"content": ""}, {"content": "   "}, {"embeds": [], "components": []}, {"tts": True}],
)
def test_an_empty_message_answers_50006(api, body):
    response = api("POST", MESSAGES, json=body)

    assert (response.status_code, response.json()) == (
        400,
        {"message": "Cannot send an empty message", "code": 50006},
    )


# --- the same validator behind every route that takes a message --------------------------------------
@pytest.fixture(
    params=[
        "channel message",
        "DM",
        "message edit",
        "interaction response",
        "component update",
        "follow-up",
        "original edit",
    ]
)
def door(request, api, fake_discord):
    """(send(body) -> response, where the message sits in the request body) for one message route."""
    user = fake_discord.add_user()
    name = request.param
    if name == "channel message":
        return (lambda body: api("POST", MESSAGES, json=body)), ()
    if name == "DM":
        channel = api("POST", "/users/@me/channels", json={"recipient_id": user["id"]}).json()
        return (lambda body: api("POST", f"/channels/{channel['id']}/messages", json=body)), ()
    if name == "message edit":
        message = fake_discord.make_message(DEFAULT_CHANNEL_ID, {"content": "before"})
        return (lambda body: api("PATCH", f"{MESSAGES}/{message['id']}", json=body)), ()
    if name in ("interaction response", "component update"):
        kind = 4 if name == "interaction response" else 7
        message = fake_discord.make_message(DEFAULT_CHANNEL_ID, {"content": "before"})
        payload = fake_discord.create_interaction(
            user_id=user["id"],
            interaction_type=3,
            data={"custom_id": "c", "component_type": 2},
            message=message,
        )
        path = f"/interactions/{payload['id']}/{payload['token']}/callback"
        return (lambda body: api("POST", path, headers={}, json={"type": kind, "data": body})), ("data",)
    payload = fake_discord.create_interaction(user_id=user["id"])
    api("POST", f"/interactions/{payload['id']}/{payload['token']}/callback", headers={}, json={"type": 5})
    webhook = f"/webhooks/{APPLICATION_ID}/{payload['token']}"
    if name == "follow-up":
        return (lambda body: api("POST", webhook, headers={}, json=body)), ()
    return (lambda body: api("PATCH", f"{webhook}/messages/@original", headers={}, json=body)), ()


@pytest.mark.parametrize(
    ("body", "path", "code", "message"),
    [OVER_THE_LIMIT[0], OVER_THE_LIMIT[2], OVER_THE_LIMIT[9], OVER_THE_LIMIT[12]],
    ids=["content", "embed title", "embeds total", "buttons per row"],
)
def test_every_message_route_enforces_the_same_limits(door, body, path, code, message):
    send, prefix = door

    response = send(body)

    assert response.status_code == 400
    assert response.json() == form_error(prefix + path, code, message)


def test_every_message_route_accepts_a_message_at_the_limits(door):
    send, _ = door

    response = send({"content": "x" * 2000, "embeds": [{"description": "x" * 4000}]})

    assert response.status_code in (200, 204)


def test_every_message_route_refuses_to_leave_a_message_empty(door):
    send, _ = door

    response = send({"content": "", "embeds": []})

    assert (response.status_code, response.json()["code"]) == (400, 50006)


def test_an_edit_may_change_one_field_of_a_message_that_keeps_others(api, fake_discord):
    message = fake_discord.make_message(DEFAULT_CHANNEL_ID, {"content": "hi", "embeds": [{"title": "t"}]})

    cleared = api("PATCH", f"{MESSAGES}/{message['id']}", json={"content": None})
    emptied = api("PATCH", f"{MESSAGES}/{message['id']}", json={"embeds": []})

    assert cleared.status_code == 200 and cleared.json()["content"] == ""
    assert (emptied.status_code, emptied.json()["code"]) == (400, 50006)


def test_another_users_message_cannot_be_edited(api, fake_discord):
    author = fake_discord.add_user()
    message = fake_discord.make_message(DEFAULT_CHANNEL_ID, {"content": "mine"}, author=author)

    response = api("PATCH", f"{MESSAGES}/{message['id']}", json={"content": "yours"})

    assert (response.status_code, response.json()["code"]) == (403, 50005)
    assert message["content"] == "mine"


# --- modals -----------------------------------------------------------------------------------------
def text_input(custom_id: str = "note", label: str | None = "Note") -> dict:
    component = {"type": 4, "custom_id": custom_id, "style": 2}
    if label is not None:
        component["label"] = label
    return component


def modal(**overrides) -> dict:
    return {"custom_id": "deny", "title": "Deny", "components": [row(text_input())], **overrides}


@pytest.mark.parametrize(
    ("data", "path", "code", "message"),
    [
        (modal(title="x" * 46), ("title",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length."),
        (
            modal(custom_id="x" * 101),
            ("custom_id",),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ),
        (
            modal(components=[row(text_input(f"n{n}")) for n in range(6)]),
            ("components",),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        ),
        (
            modal(components=[row(text_input(label="x" * 46))]),
            ("components", 0, "components", 0, "label"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 45 in length.",
        ),
        (
            modal(components=[row(text_input(custom_id="x" * 101))]),
            ("components", 0, "components", 0, "custom_id"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ),
        (
            modal(components=[row(text_input(label=None))]),
            ("components", 0, "components", 0, "label"),
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ),
        (
            modal(components=[{"type": 18, "label": "x" * 46, "component": text_input(label=None)}]),
            ("components", 0, "label"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 45 in length.",
        ),
    ],
)
def test_a_modal_over_a_documented_limit_is_refused(api, fake_discord, data, path, code, message):
    user = fake_discord.add_user()
    payload = fake_discord.create_interaction(user_id=user["id"], interaction_type=3, data={"custom_id": "c"})
    callback = f"/interactions/{payload['id']}/{payload['token']}/callback"

    refused = api("POST", callback, headers={}, json={"type": 9, "data": data})
    accepted = api("POST", callback, headers={}, json={"type": 9, "data": modal()})

    assert refused.json() == form_error(("data",) + path, code, message)
    assert accepted.status_code == 204


def test_an_unknown_callback_type_is_refused(api, fake_discord):
    payload = fake_discord.create_interaction(user_id=fake_discord.add_user()["id"])

    response = api(
        "POST", f"/interactions/{payload['id']}/{payload['token']}/callback", headers={}, json={"type": 3}
    )

    assert response.json() == form_error(
        ("type",), "BASE_TYPE_CHOICES", "Value must be one of (1, 4, 5, 6, 7, 8, 9, 10, 12)."
    )
    assert not fake_discord.interactions[payload["token"]].responded


# --- application commands ---------------------------------------------------------------------------
def command(**overrides) -> dict:
    return {"name": "balance", "description": "Your credits", **overrides}


def option(**overrides) -> dict:
    return {"type": 3, "name": "reason", "description": "Why", **overrides}


@pytest.mark.parametrize(
    ("body", "path", "code", "message"),
    [
        (command(name="Balance"), ("name",), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"),
        (
            command(name="my balance"),
            ("name",),
            "STRING_TYPE_REGEX",
            "String value did not match validation regex.",
        ),
        (command(name="x" * 33), ("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."),
        (command(name=""), ("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."),
        ({"description": "d"}, ("name",), "BASE_TYPE_REQUIRED", "This field is required"),
        (
            command(description=""),
            ("description",),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ),
        (
            command(description="x" * 101),
            ("description",),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ),
        (command(options=[option(name=f"o{n}") for n in range(26)]), ("options",), *too_long(25)),
        (
            command(options=[option(name="Reason")]),
            ("options", 0, "name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ),
        (
            command(options=[option(description="")]),
            ("options", 0, "description"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ),
        (
            command(options=[option(choices=[{"name": f"c{n}", "value": f"c{n}"} for n in range(26)])]),
            ("options", 0, "choices"),
            *too_long(25),
        ),
        (
            command(
                options=[{"type": 1, "name": "add", "description": "Add", "options": [option(name="Why?")]}]
            ),
            ("options", 0, "options", 0, "name"),
            "STRING_TYPE_REGEX",
            "String value did not match validation regex.",
        ),
        (
            command(name_localizations={"fr": "Solde"}),
            ("name_localizations", "fr"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ),
    ],
)
def test_a_command_breaking_a_naming_rule_is_refused_by_put_and_post(
    api, fake_discord, body, path, code, message
):
    put = api("PUT", COMMANDS, json=[command(name="top", description="Top"), body])
    post = api("POST", COMMANDS, json=body)

    assert put.json() == form_error((1,) + path, code, message)
    assert post.json() == form_error(path, code, message)
    assert fake_discord.guild_commands[GUILD_ID] == []


@pytest.mark.parametrize(
    "body",
    [
        command(name="request-credits", options=[option(name=f"o_{n}") for n in range(25)]),
        command(name="баланс"),
        command(name="नमस्ते"),
        command(name="สวัสดี"),
        command(name="x" * 32, description="x" * 100),
        # USER and MESSAGE commands may use capitals and spaces, and have no description.
        {"type": 2, "name": "Give Credits", "description": ""},
    ],
)
def test_a_command_within_the_rules_is_registered(api, body):
    assert api("PUT", COMMANDS, json=[body]).status_code == 200


def test_a_bulk_overwrite_holds_at_most_100_slash_commands(api):
    response = api("PUT", COMMANDS, json=[command(name=f"c{n}") for n in range(101)])

    assert response.json() == form_error((), *too_long(100))
