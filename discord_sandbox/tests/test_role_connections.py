"""Linked roles: the app's metadata records and each user's role connection, refused as Discord refuses them."""

from typing import NamedTuple

import pytest

from discord_sandbox import APPLICATION_ID
from discord_sandbox.tests.helpers import form_error

METADATA = f"/applications/{APPLICATION_ID}/role-connections/metadata"
CONNECTION = f"/users/@me/applications/{APPLICATION_ID}/role-connection"
CONNECTION_ROUTE = "/users/@me/applications/{application_id}/role-connection"
UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}
EMPTY = {"platform_name": None, "platform_username": None, "metadata": {}}


def record(**overrides) -> dict:
    return {"type": 2, "key": "credits", "name": "Credits", "description": "Credits earned", **overrides}


# One record per kind of type: integer, datetime, boolean.
REGISTERED = [
    record(),
    record(type=6, key="member_since", name="Member since", description="Days since joining"),
    record(type=7, key="verified", name="Verified", description="Has a verified account"),
]


def bad_length(low: int, high: int) -> tuple[str, str]:
    return "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."


def too_long(limit: int) -> tuple[str, str]:
    return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


NOT_A_DICT = ("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType.")
NOT_A_STRING = ("BASE_TYPE_STRING", "This field must be a string.")
REQUIRED = ("BASE_TYPE_REQUIRED", "This field is required")
NOT_A_TYPE = ("BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6, 7, 8).")
REGEX = ("STRING_TYPE_REGEX", "String value did not match validation regex.")


class Holder(NamedTuple):
    """A user who granted the app a bearer token, and the headers that send it."""

    user_id: str
    headers: dict


@pytest.fixture
def bearer(fake_discord):
    """``bearer(scope=...)``: a new user holding an access token with ``scope``."""

    def holder(scope: str = "identify role_connections.write") -> Holder:
        user = fake_discord.add_user()
        tokens = fake_discord.grant_tokens(user_id=user["id"], scope=scope)
        return Holder(user["id"], {"Authorization": f"Bearer {tokens['access_token']}"})

    return holder


@pytest.fixture
def registered(api):
    assert api("PUT", METADATA, json=REGISTERED).status_code == 200


# --- the app's metadata records ---------------------------------------------------------------------
def test_the_metadata_records_are_stored_and_listed(api, fake_discord):
    records = [
        *REGISTERED,
        record(
            type=3,
            key="tier",
            name="Tier",
            description="Plan tier",
            name_localizations={"fr": "Niveau"},
            description_localizations={"fr": "Niveau du plan", "de": None},
        ),
        record(type=8, key="banned", name="Not banned", description="Has no ban"),
    ]

    put = api("PUT", METADATA, json=records)

    assert (put.status_code, put.json()) == (200, records)
    assert api("GET", METADATA).json() == records
    assert fake_discord.role_connection_metadata == records


def test_the_metadata_records_at_the_documented_limits_are_stored(api):
    body = [
        record(
            key="a" * 50,
            name="n" * 100,
            description="d" * 200,
            name_localizations={"fr": "n" * 100},
            description_localizations={"fr": "d" * 200},
        ),
        record(key="b_0", name_localizations=None, description_localizations=None),
    ]

    assert api("PUT", METADATA, json=body).status_code == 200
    assert api("PUT", METADATA, json=[]).json() == []


@pytest.mark.parametrize(
    ("body", "path", "code", "message"),
    [
        ([record(key=f"k{n}") for n in range(6)], (), *too_long(5)),
        (record(), (), "BASE_TYPE_ARRAY", "Must be an array."),
        (["credits"], (0,), *NOT_A_DICT),
        ([record(type=0)], (0, "type"), *NOT_A_TYPE),
        ([record(type=9)], (0, "type"), *NOT_A_TYPE),
        ([record(type="2")], (0, "type"), *NOT_A_TYPE),
        ([record(type=2.5)], (0, "type"), *NOT_A_TYPE),
        ([record(type=True)], (0, "type"), *NOT_A_TYPE),
        ([{"key": "credits", "name": "Credits", "description": "d"}], (0, "type"), *REQUIRED),
        ([record(key="Credits")], (0, "key"), *REGEX),
        ([record(key="credits-earned")], (0, "key"), *REGEX),
        ([record(key="crédits")], (0, "key"), *REGEX),
        ([record(key="k" * 51)], (0, "key"), *bad_length(1, 50)),
        ([record(key="")], (0, "key"), *bad_length(1, 50)),
        ([record(key=7)], (0, "key"), *NOT_A_STRING),
        ([{"type": 2, "name": "Credits", "description": "d"}], (0, "key"), *REQUIRED),
        ([record(), record(name="Again")], (1, "key"), "DUPLICATE_KEY", "Metadata keys must be unique."),
        ([record(name="")], (0, "name"), *bad_length(1, 100)),
        ([record(name="n" * 101)], (0, "name"), *bad_length(1, 100)),
        ([{"type": 2, "key": "credits", "description": "d"}], (0, "name"), *REQUIRED),
        ([record(description="")], (0, "description"), *bad_length(1, 200)),
        ([record(description="d" * 201)], (0, "description"), *bad_length(1, 200)),
        ([{"type": 2, "key": "credits", "name": "Credits"}], (0, "description"), *REQUIRED),
        ([record(name_localizations="Crédits")], (0, "name_localizations"), *NOT_A_DICT),
        (
            [record(name_localizations={"fr": "n" * 101})],
            (0, "name_localizations", "fr"),
            *bad_length(1, 100),
        ),
        ([record(name_localizations={"fr": ""})], (0, "name_localizations", "fr"), *bad_length(1, 100)),
        (
            [record(description_localizations={"de": "d" * 201})],
            (0, "description_localizations", "de"),
            *bad_length(1, 200),
        ),
        (
            [record(description_localizations={"de": 5})],
            (0, "description_localizations", "de"),
            *NOT_A_STRING,
        ),
    ],
)
def test_metadata_records_breaking_a_rule_are_refused_at_the_field(
    api, fake_discord, registered, body, path, code, message
):
    response = api("PUT", METADATA, json=body)

    assert response.status_code == 400
    assert response.json() == form_error(path, code, message)
    assert fake_discord.role_connection_metadata == REGISTERED


def test_another_applications_metadata_is_out_of_reach(api):
    other = "/applications/1100000000000000999/role-connections/metadata"

    for response in (api("GET", other), api("PUT", other, json=[record()])):
        assert (response.status_code, response.json()["code"]) == (403, 50001)


def test_the_metadata_needs_the_bot_token(api, bearer):
    assert api("PUT", METADATA, json=[record()], headers=bearer().headers).json() == UNAUTHORIZED


# --- a user's role connection ------------------------------------------------------------------------
def test_a_role_connection_is_stored_with_string_values_and_read_back(api, fake_discord, registered, bearer):
    alice = bearer()
    body = {
        "platform_name": "DealScale",
        "platform_username": "alice",
        "metadata": {"credits": 120, "member_since": "2024-05-01T12:00:00+00:00", "verified": True},
    }
    stored = {
        **body,
        "metadata": {"credits": "120", "member_since": "2024-05-01T12:00:00+00:00", "verified": "1"},
    }

    put = api("PUT", CONNECTION, json=body, headers=alice.headers)

    assert (put.status_code, put.json()) == (200, stored)
    assert api("GET", CONNECTION, headers=alice.headers).json() == stored
    assert fake_discord.role_connection_of(alice.user_id) == stored
    assert fake_discord.role_connection_puts == {alice.user_id: 1}
    assert [r.json for r in fake_discord.requests_to("PUT", CONNECTION_ROUTE)] == [body]


def test_a_user_without_a_role_connection_reads_an_empty_one(api, fake_discord, bearer):
    alice = bearer()

    assert api("GET", CONNECTION, headers=alice.headers).json() == EMPTY
    assert fake_discord.role_connection_of(alice.user_id) is None


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("credits", "120", "120"),
        ("credits", "-3", "-3"),
        ("credits", 120, "120"),
        ("credits", 120.0, "120"),
        ("member_since", "2024-05-01", "2024-05-01"),
        ("member_since", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
        ("verified", "1", "1"),
        ("verified", "0", "0"),
        ("verified", 0, "0"),
        ("verified", False, "0"),
    ],
)
def test_a_metadata_value_in_its_types_format_is_stored_as_a_string(
    api, fake_discord, registered, bearer, key, value, stored
):
    alice = bearer()

    response = api("PUT", CONNECTION, json={"metadata": {key: value}}, headers=alice.headers)

    assert response.json()["metadata"] == {key: stored}
    assert fake_discord.role_connection_of(alice.user_id)["metadata"] == {key: stored}


@pytest.mark.parametrize(
    ("body", "path", "code", "message"),
    [
        (
            {"metadata": {"credits": "4.5"}},
            ("metadata", "credits"),
            "NUMBER_TYPE_COERCE",
            'Value "4.5" is not int.',
        ),
        (
            {"metadata": {"credits": 4.5}},
            ("metadata", "credits"),
            "NUMBER_TYPE_COERCE",
            'Value "4.5" is not int.',
        ),
        (
            {"metadata": {"credits": "many"}},
            ("metadata", "credits"),
            "NUMBER_TYPE_COERCE",
            'Value "many" is not int.',
        ),
        (
            {"metadata": {"credits": True}},
            ("metadata", "credits"),
            "NUMBER_TYPE_COERCE",
            'Value "true" is not int.',
        ),
        (
            {"metadata": {"member_since": "last May"}},
            ("metadata", "member_since"),
            "DATE_TYPE_PARSE",
            'Could not parse "last May". Should be ISO8601.',
        ),
        (
            {"metadata": {"member_since": 20240501}},
            ("metadata", "member_since"),
            "DATE_TYPE_PARSE",
            'Could not parse "20240501". Should be ISO8601.',
        ),
        (
            {"metadata": {"verified": "true"}},
            ("metadata", "verified"),
            "BOOLEAN_TYPE_COERCE",
            'Value "true" is not a boolean (1 or 0).',
        ),
        (
            {"metadata": {"verified": 2}},
            ("metadata", "verified"),
            "BOOLEAN_TYPE_COERCE",
            'Value "2" is not a boolean (1 or 0).',
        ),
        (
            {"metadata": {"rank": "1"}},
            ("metadata", "rank"),
            "METADATA_KEY_UNKNOWN",
            "Not a metadata key the application has registered.",
        ),
        ({"metadata": {"credits": ""}}, ("metadata", "credits"), *bad_length(1, 100)),
        ({"metadata": {"credits": "1" * 101}}, ("metadata", "credits"), *bad_length(1, 100)),
        (
            {"metadata": {"credits": [1]}},
            ("metadata", "credits"),
            "BASE_TYPE_STRING",
            "This field must be a string or a number.",
        ),
        (
            {"metadata": {"credits": None}},
            ("metadata", "credits"),
            "BASE_TYPE_STRING",
            "This field must be a string or a number.",
        ),
        ({"metadata": "credits=1"}, ("metadata",), *NOT_A_DICT),
        ({"platform_name": "p" * 51}, ("platform_name",), *too_long(50)),
        ({"platform_name": 5}, ("platform_name",), *NOT_A_STRING),
        ({"platform_username": "u" * 101}, ("platform_username",), *too_long(100)),
        ([{"metadata": {}}], (), *NOT_A_DICT),
    ],
)
def test_a_role_connection_breaking_a_rule_is_refused_at_the_field(
    api, fake_discord, registered, bearer, body, path, code, message
):
    alice = bearer()

    response = api("PUT", CONNECTION, json=body, headers=alice.headers)

    assert response.status_code == 400
    assert response.json() == form_error(path, code, message)
    assert fake_discord.role_connection_of(alice.user_id) is None
    assert fake_discord.role_connection_puts == {}


def test_a_role_connection_at_the_limits_is_stored(api, fake_discord, bearer):
    keys = [f"k{n}" for n in range(5)]
    api("PUT", METADATA, json=[record(key=key) for key in keys])
    body = {
        "platform_name": "p" * 50,
        "platform_username": "u" * 100,
        "metadata": dict.fromkeys(keys, "9" * 100),
    }

    assert api("PUT", CONNECTION, json=body, headers=bearer().headers).json() == body


def test_more_than_five_metadata_values_are_refused(api, bearer):
    metadata = {f"k{n}": "1" for n in range(6)}

    response = api("PUT", CONNECTION, json={"metadata": metadata}, headers=bearer().headers)

    assert response.status_code == 400
    assert response.json()["errors"]["metadata"]["_errors"] == [
        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 5 or fewer in length."}
    ]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_token_without_the_role_connections_scope_is_unauthorized(
    api, fake_discord, registered, bearer, method
):
    alice = bearer(scope="identify email")

    response = api(method, CONNECTION, json={"metadata": {"credits": "1"}}, headers=alice.headers)

    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert fake_discord.role_connection_of(alice.user_id) is None


def test_a_token_is_unauthorized_for_another_applications_role_connection(api, bearer):
    other = "/users/@me/applications/1100000000000000999/role-connection"

    response = api("PUT", other, json={}, headers=bearer().headers)

    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_deleting_a_role_connection_removes_only_that_users(api, fake_discord, registered, bearer):
    alice, bob = bearer(), bearer()
    for user in (alice, bob):
        api("PUT", CONNECTION, json={"metadata": {"verified": "1"}}, headers=user.headers)

    deleted = api("DELETE", CONNECTION, headers=alice.headers)

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api("GET", CONNECTION, headers=alice.headers).json() == EMPTY
    assert fake_discord.role_connection_of(alice.user_id) is None
    assert fake_discord.role_connection_of(bob.user_id)["metadata"] == {"verified": "1"}


# --- rate limits and failures ------------------------------------------------------------------------
def test_each_token_has_its_own_role_connection_bucket_of_five(api, fake_discord, bearer):
    alice, bob = bearer(), bearer()

    answers = [api("GET", CONNECTION, headers=alice.headers) for _ in range(6)]
    other = api("GET", CONNECTION, headers=bob.headers)

    assert [r.status_code for r in answers] == [200] * 5 + [429]
    limited = answers[-1]
    assert limited.json()["global"] is False
    assert 0 < limited.json()["retry_after"] <= 5
    assert limited.headers["Retry-After"] in {"1", "2", "3", "4", "5"}
    assert limited.headers["Via"] == "1.1 google"
    assert limited.headers["X-RateLimit-Scope"] == "user"
    assert (limited.headers["X-RateLimit-Limit"], limited.headers["X-RateLimit-Remaining"]) == ("5", "0")
    assert other.status_code == 200
    assert (other.headers["X-RateLimit-Limit"], other.headers["X-RateLimit-Remaining"]) == ("5", "4")
    assert other.headers["X-RateLimit-Bucket"] == limited.headers["X-RateLimit-Bucket"]


def test_a_tests_own_limit_replaces_the_role_connection_default(api, fake_discord, registered, bearer):
    fake_discord.set_rate_limit("PUT", CONNECTION_ROUTE, limit=1, window=5)
    alice = bearer()

    answers = [api("PUT", CONNECTION, json={}, headers=alice.headers) for _ in range(2)]

    assert [r.status_code for r in answers] == [200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "1"
    assert fake_discord.role_connection_puts == {alice.user_id: 1}


def test_a_role_connection_put_can_be_lost_after_its_work(api, fake_discord, registered, bearer):
    fake_discord.fail_next("PUT", CONNECTION_ROUTE, status=502, after_work=True)
    alice = bearer()

    lost = api("PUT", CONNECTION, json={"metadata": {"credits": "3"}}, headers=alice.headers)

    assert lost.status_code == 502
    assert fake_discord.role_connection_of(alice.user_id)["metadata"] == {"credits": "3"}
    assert fake_discord.role_connection_puts == {alice.user_id: 1}
    assert [r.handled for r in fake_discord.requests_to("PUT", CONNECTION_ROUTE)] == [True]


def test_a_role_connection_failure_before_the_work_stores_nothing(api, fake_discord, registered, bearer):
    fake_discord.fail_next("PUT", CONNECTION_ROUTE, status=429, retry_after=0.5)
    fake_discord.fail_next("DELETE", CONNECTION_ROUTE, status=503)
    alice = bearer()

    limited = api("PUT", CONNECTION, json={"metadata": {"credits": "3"}}, headers=alice.headers)

    assert (limited.status_code, limited.json()["retry_after"]) == (429, 0.5)
    assert fake_discord.role_connection_of(alice.user_id) is None
    assert (
        api("PUT", CONNECTION, json={"metadata": {"credits": "3"}}, headers=alice.headers).status_code == 200
    )
    assert api("DELETE", CONNECTION, headers=alice.headers).status_code == 503
    assert fake_discord.role_connection_of(alice.user_id)["metadata"] == {"credits": "3"}
