import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from rolesync.models import Milestone, MilestoneTrack
from rolesync.tests.factories import MilestoneFactory, TrackFactory

pytestmark = pytest.mark.django_db

CONFIG = {
    "tracks": [
        {
            "name": "Rank tiers",
            "exclusive": True,
            "milestones": [
                {"name": "Top 10", "discord_role_id": "111111111111111111", "period": "all", "max_rank": 10},
                {
                    "name": "Top 100",
                    "discord_role_id": "111111111111111112",
                    "period": "all",
                    "max_rank": 100,
                },
            ],
        },
        {
            "name": "Score",
            "exclusive": False,
            "milestones": [
                {
                    "name": "1k club",
                    "discord_role_id": "222222222222222221",
                    "period": "all",
                    "min_score": 1000,
                },
                {
                    "name": "Weekly 50",
                    "discord_role_id": "222222222222222222",
                    "period": "week",
                    "min_score": 50,
                },
            ],
        },
    ]
}


@pytest.fixture
def no_sync_queued(requested_syncs):
    return lambda: [payload for _, payload in requested_syncs()]


def write(tmp_path, data, name="milestones.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def import_file(path):
    call_command("milestones", "import", str(path))


def snapshot():
    return list(
        Milestone.objects.order_by("discord_role_id").values_list(
            "track__name", "name", "discord_role_id", "period", "max_rank", "min_score"
        )
    )


def test_import_replaces_the_whole_configuration_and_queues_one_sync(
    tmp_path, django_capture_on_commit_callbacks, no_sync_queued
):
    MilestoneFactory(name="Old", discord_role_id="333333333333333333")
    with django_capture_on_commit_callbacks(execute=True):
        import_file(write(tmp_path, CONFIG))
    assert list(MilestoneTrack.objects.values_list("name", "exclusive")) == [
        ("Rank tiers", True),
        ("Score", False),
    ]
    assert snapshot() == [
        ("Rank tiers", "Top 10", "111111111111111111", "all", 10, None),
        ("Rank tiers", "Top 100", "111111111111111112", "all", 100, None),
        ("Score", "1k club", "222222222222222221", "all", None, 1000),
        ("Score", "Weekly 50", "222222222222222222", "week", None, 50),
    ]
    assert AuditEvent.objects.filter(action="role_sync.milestones_imported", source="cli").count() == 1
    assert no_sync_queued() == [{"trigger": "milestone_change"}]


def test_export_then_import_round_trips(tmp_path):
    import_file(write(tmp_path, CONFIG))
    exported = tmp_path / "exported.json"
    call_command("milestones", "export", str(exported))
    assert json.loads(exported.read_text()) == CONFIG
    import_file(exported)
    call_command("milestones", "export", str(tmp_path / "again.json"))
    assert (tmp_path / "again.json").read_text() == exported.read_text()


def bad(**changes):
    config = json.loads(json.dumps(CONFIG))
    for path, value in changes.items():
        track, milestone, field = path.split("__")
        target = (
            config["tracks"][int(track)]["milestones"][int(milestone)]
            if milestone
            else config["tracks"][int(track)]
        )
        if value is ...:
            del target[field]
        else:
            target[field] = value
    return config


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            bad(**{"0__0__max_rank": ...}),
            "$.tracks[0].milestones[0]: expected exactly one of max_rank and min_score",
        ),
        (
            bad(**{"0__0__min_score": 5}),
            "$.tracks[0].milestones[0]: expected exactly one of max_rank and min_score",
        ),
        (
            bad(**{"0__0__discord_role_id": 111111111111111111}),
            "$.tracks[0].milestones[0].discord_role_id: expected a Discord id",
        ),
        (
            bad(**{"0__0__discord_role_id": "Top10"}),
            "$.tracks[0].milestones[0].discord_role_id: expected a Discord id",
        ),
        (
            bad(**{"1__0__discord_role_id": "111111111111111111"}),
            "$.tracks[1].milestones[0].discord_role_id: 111111111111111111 is already the role of "
            "$.tracks[0].milestones[0]",
        ),
        (
            bad(**{"1____name": "Rank tiers"}),
            '$.tracks[1].name: "Rank tiers" is already the name of $.tracks[0]',
        ),
        (
            bad(**{"0__1__period": "year"}),
            "$.tracks[0].milestones[1].period: expected one of all, week, month",
        ),
        (
            bad(**{"0__1__max_rank": 0}),
            "$.tracks[0].milestones[1].max_rank: expected an integer from 1 to 2147483647",
        ),
        (
            bad(**{"0__1__max_rank": 2**31}),
            "$.tracks[0].milestones[1].max_rank: expected an integer from 1 to 2147483647",
        ),
        (
            bad(**{"0__1__max_rank": 10**30}),
            "$.tracks[0].milestones[1].max_rank: expected an integer from 1 to 2147483647",
        ),
        (
            bad(**{"1__0__min_score": 2**63}),
            "$.tracks[1].milestones[0].min_score: expected a whole number of points from 0 to 9223372036854775807",
        ),
        (bad(**{"1__0__min_score": -1}), "$.tracks[1].milestones[0].min_score: expected a whole number"),
        (bad(**{"1__0__min_score": "1000"}), "$.tracks[1].milestones[0].min_score: expected a whole number"),
        (bad(**{"1__0__min_score": 10.5}), "$.tracks[1].milestones[0].min_score: expected a whole number"),
        (bad(**{"1____exclusive": "yes"}), "$.tracks[1].exclusive: expected true or false"),
        (bad(**{"0__0__colour": "red"}), "$.tracks[0].milestones[0].colour: unknown field"),
        ({"milestones": []}, "$.milestones: unknown field"),
    ],
)
def test_an_invalid_file_changes_nothing_and_names_the_json_path(tmp_path, capsys, config, expected):
    MilestoneFactory(name="Kept", discord_role_id="333333333333333333")
    before = snapshot()
    with pytest.raises(CommandError, match="Nothing was changed"):
        import_file(write(tmp_path, config))
    assert expected in capsys.readouterr().err
    assert snapshot() == before
    assert not AuditEvent.objects.filter(action="role_sync.milestones_imported").exists()


def test_every_error_of_a_file_is_reported_at_once(tmp_path, capsys):
    config = bad(**{"0__0__period": "year", "0__1__max_rank": -1, "1__1__discord_role_id": "x"})
    with pytest.raises(CommandError, match="3 error"):
        import_file(write(tmp_path, config))
    err = capsys.readouterr().err
    assert "$.tracks[0].milestones[0].period" in err
    assert "$.tracks[0].milestones[1].max_rank" in err
    assert "$.tracks[1].milestones[1].discord_role_id" in err


def test_a_file_that_is_not_json_is_refused(tmp_path):
    TrackFactory()
    with pytest.raises(CommandError, match="is not valid JSON"):
        import_file(write(tmp_path, "{tracks: ["))
    assert MilestoneTrack.objects.count() == 1
