"""The metadata schema: Discord's rules checked before any call, and registered once per change."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linkedroles import metadata
from linkedroles.metadata import InvalidMetadata, MetadataRecord, MetadataType
from linkedroles.models import MetadataRegistration

METADATA = "/applications/{application_id}/role-connections/metadata"


def record(**changes) -> MetadataRecord:
    fields = {"key": "rank", "name": "Rank", "description": "A rank", "type": MetadataType.INTEGER_EQUAL}
    return MetadataRecord(**{**fields, **changes})


def test_the_projects_records_keep_discords_rules_and_types():
    metadata.validate(metadata.RECORDS)
    types = {entry["key"]: entry["type"] for entry in metadata.payload()}
    assert types == {
        "rank_all_time": 1,
        "points_all_time": 2,
        "rank_this_month": 1,
        "credits_earned": 2,
        "linked_since": 6,
    }


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([record(key=f"k{n}") for n in range(6)], "at most 5 records"),
        ([record(key="Rank")], "a-z, 0-9 and _"),
        ([record(key="")], "a-z, 0-9 and _"),
        ([record(key="k" * 51)], "a-z, 0-9 and _"),
        ([record(), record()], "used twice"),
        ([record(name="")], "a name is 1-100"),
        ([record(name="n" * 101)], "a name is 1-100"),
        ([record(description="d" * 201)], "a description is 1-200"),
        ([record(type=9)], "eight metadata types"),
    ],
)
def test_records_that_break_a_rule_are_refused_before_any_call(records, message):
    with pytest.raises(InvalidMetadata, match=message):
        metadata.validate(records)


def test_the_longest_allowed_values_pass():
    metadata.validate([record(key="k" * 50, name="n" * 100, description="d" * 200)] * 1)


def test_registration_happens_once_and_prints_what_was_registered(fake_discord, db, capsys):
    call_command("register_role_metadata")
    out = capsys.readouterr().out
    assert "Registered 5 role-connection metadata records." in out
    assert "rank_all_time" in out and "INTEGER_LESS_THAN_OR_EQUAL" in out
    assert [entry["key"] for entry in fake_discord.state.role_connection_metadata] == [
        entry["key"] for entry in metadata.payload()
    ]
    assert MetadataRegistration.objects.get().payload_hash == metadata.payload_hash(metadata.payload())

    call_command("register_role_metadata")
    assert "unchanged since the last registration (5 records): skipped" in capsys.readouterr().out
    assert len(fake_discord.requests_to("PUT", METADATA)) == 1

    call_command("register_role_metadata", "--force")
    assert len(fake_discord.requests_to("PUT", METADATA)) == 2


def test_a_changed_schema_is_registered_again(fake_discord, db, monkeypatch):
    call_command("register_role_metadata")
    changed = (*metadata.RECORDS[:4], record(key="streak", name="Streak", description="Days in a row"))
    monkeypatch.setattr(metadata, "RECORDS", changed)

    call_command("register_role_metadata")

    assert len(fake_discord.requests_to("PUT", METADATA)) == 2
    assert fake_discord.state.role_connection_metadata[-1]["key"] == "streak"


def test_an_invalid_schema_is_never_sent(fake_discord, db, monkeypatch):
    monkeypatch.setattr(metadata, "RECORDS", (record(key="Bad Key"),))
    with pytest.raises(CommandError, match="breaks Discord's rules, nothing was sent"):
        call_command("register_role_metadata")
    assert fake_discord.requests_to("PUT", METADATA) == []


def test_discords_refusal_is_a_command_error(fake_discord, db):
    fake_discord.fail_next("PUT", METADATA, status=403, body={"message": "Missing Access", "code": 50001})
    with pytest.raises(CommandError, match="Discord refused the metadata"):
        call_command("register_role_metadata")
    assert not MetadataRegistration.objects.exists()


def test_missing_configuration_is_a_command_error(settings, db):
    settings.DISCORD_CLIENT_ID = ""
    with pytest.raises(CommandError, match="DISCORD_CLIENT_ID"):
        call_command("register_role_metadata")
