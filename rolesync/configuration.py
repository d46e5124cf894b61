"""The milestones file moved between environments: its format, validation that reports every error, and
writing a valid one over the tables (`services.import_milestones` calls both, in one transaction).

    {"tracks": [{"name": "Rank tiers", "exclusive": true, "milestones": [
        {"name": "Top 10", "discord_role_id": "123…", "period": "all", "max_rank": 10}, …]}, …]}

Each milestone has exactly one of `max_rank` (an integer ≥ 1) and `min_score` (an integer ≥ 0:
leaderboard scores are whole points).
Errors carry the JSON path of the value at fault, e.g. `$.tracks[0].milestones[2].max_rank`.
"""

import re
from dataclasses import dataclass
from typing import Any

from rolesync.errors import InvalidConfiguration
from rolesync.models import Milestone, MilestoneTrack, Period

SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
TRACK_KEYS = {"name", "exclusive", "milestones"}
MILESTONE_KEYS = {"name", "discord_role_id", "period", "max_rank", "min_score"}
NAME_MAX_LENGTH = 100
# The ranges of the model's PositiveIntegerField / PositiveBigIntegerField on PostgreSQL: a bigger number
# would only fail as a DataError mid-import.
MAX_RANK_MAX = 2**31 - 1
MIN_SCORE_MAX = 2**63 - 1


@dataclass(frozen=True)
class MilestoneSpec:
    name: str
    discord_role_id: str
    period: str
    max_rank: int | None
    min_score: int | None


@dataclass(frozen=True)
class TrackSpec:
    name: str
    exclusive: bool
    milestones: tuple[MilestoneSpec, ...]


def parse_configuration(data: Any) -> list[TrackSpec]:
    """The tracks described by `data` (decoded JSON). Raises InvalidConfiguration listing every error."""
    errors: list[str] = []
    tracks: list[TrackSpec] = []
    if not isinstance(data, dict):
        raise InvalidConfiguration(['$: expected an object like {"tracks": [...]}'])
    _unknown_keys(data, {"tracks"}, "$", errors)
    raw_tracks = data.get("tracks")
    if not isinstance(raw_tracks, list):
        raise InvalidConfiguration(errors + ["$.tracks: expected a list of tracks"])
    track_names: dict[str, str] = {}
    role_ids: dict[str, str] = {}
    for t, raw_track in enumerate(raw_tracks):
        path = f"$.tracks[{t}]"
        if not isinstance(raw_track, dict):
            errors.append(f"{path}: expected an object")
            continue
        _unknown_keys(raw_track, TRACK_KEYS, path, errors)
        name = _name(raw_track, path, errors)
        if name is not None:
            if name in track_names:
                errors.append(f'{path}.name: "{name}" is already the name of {track_names[name]}')
            track_names.setdefault(name, path)
        exclusive = raw_track.get("exclusive")
        if not isinstance(exclusive, bool):
            errors.append(f"{path}.exclusive: expected true or false")
        raw_milestones = raw_track.get("milestones")
        if not isinstance(raw_milestones, list):
            errors.append(f"{path}.milestones: expected a list of milestones")
            continue
        milestones = []
        for m, raw in enumerate(raw_milestones):
            spec = _milestone(raw, f"{path}.milestones[{m}]", errors, role_ids)
            if spec is not None:
                milestones.append(spec)
        if name is not None and isinstance(exclusive, bool):
            tracks.append(TrackSpec(name=name, exclusive=exclusive, milestones=tuple(milestones)))
    if errors:
        raise InvalidConfiguration(errors)
    return tracks


def _milestone(raw: Any, path: str, errors: list[str], role_ids: dict[str, str]) -> MilestoneSpec | None:
    if not isinstance(raw, dict):
        errors.append(f"{path}: expected an object")
        return None
    before = len(errors)
    _unknown_keys(raw, MILESTONE_KEYS, path, errors)
    name = _name(raw, path, errors)
    role_id = raw.get("discord_role_id")
    if not isinstance(role_id, str) or not SNOWFLAKE.match(role_id):
        errors.append(f"{path}.discord_role_id: expected a Discord id as a string of 15 to 21 digits")
    elif role_id in role_ids:
        errors.append(f"{path}.discord_role_id: {role_id} is already the role of {role_ids[role_id]}")
    else:
        role_ids[role_id] = path
    period = raw.get("period")
    if period not in Period.values:
        errors.append(f"{path}.period: expected one of {', '.join(Period.values)}")
    has_rank, has_score = "max_rank" in raw, "min_score" in raw
    max_rank = min_score = None
    if has_rank == has_score:
        errors.append(f"{path}: expected exactly one of max_rank and min_score")
    elif has_rank:
        max_rank = raw["max_rank"]
        if isinstance(max_rank, bool) or not isinstance(max_rank, int) or not 1 <= max_rank <= MAX_RANK_MAX:
            errors.append(f"{path}.max_rank: expected an integer from 1 to {MAX_RANK_MAX}")
    else:
        min_score = _score(raw["min_score"], f"{path}.min_score", errors)
    # A missing or mistyped name, role id or period has recorded an error too.
    if len(errors) > before or name is None or not isinstance(role_id, str) or not isinstance(period, str):
        return None
    return MilestoneSpec(
        name=name, discord_role_id=role_id, period=period, max_rank=max_rank, min_score=min_score
    )


def _score(value: Any, path: str, errors: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MIN_SCORE_MAX:
        errors.append(f"{path}: expected a whole number of points from 0 to {MIN_SCORE_MAX}")
        return None
    return value


def _name(raw: dict, path: str, errors: list[str]) -> str | None:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX_LENGTH:
        errors.append(f"{path}.name: expected a non-empty text of at most {NAME_MAX_LENGTH} characters")
        return None
    return name.strip()


def _unknown_keys(raw: dict, allowed: set[str], path: str, errors: list[str]) -> None:
    for key in sorted(set(raw) - allowed):
        errors.append(f"{path}.{key}: unknown field (expected {', '.join(sorted(allowed))})")


def replace_milestones(specs: list[TrackSpec]) -> list[MilestoneTrack]:
    """Delete every track and milestone and create those of `specs`; the caller holds the transaction."""
    # Deleting first frees the unique role ids and track names that the new rows may reuse.
    Milestone.objects.all().delete()
    MilestoneTrack.objects.all().delete()
    tracks = []
    for position, spec in enumerate(specs):
        track = MilestoneTrack.objects.create(name=spec.name, exclusive=spec.exclusive, position=position)
        Milestone.objects.bulk_create(
            Milestone(
                track=track,
                name=m.name,
                discord_role_id=m.discord_role_id,
                period=m.period,
                max_rank=m.max_rank,
                min_score=m.min_score,
                position=index,
            )
            for index, m in enumerate(spec.milestones)
        )
        tracks.append(track)
    return tracks
