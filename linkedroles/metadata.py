"""The role-connection metadata DealScale registers with Discord: five facts a guild can ask for.

Discord allows five records per application (`application-role-connection-metadata.mdx`). Each has a
`key` (a-z, 0-9, _; 1-50 characters), a `name` (1-100), a `description` (1-200) and a comparison
`type`; a guild admin picks a record and a value ("rank ≤ 10"), Discord compares the member's pushed
value. The records are checked here, before any call, with Discord's own rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from enum import IntEnum


class MetadataType(IntEnum):
    """Discord's ApplicationRoleConnectionMetadataType: how a member's value meets a guild's value."""

    INTEGER_LESS_THAN_OR_EQUAL = 1
    INTEGER_GREATER_THAN_OR_EQUAL = 2
    INTEGER_EQUAL = 3
    INTEGER_NOT_EQUAL = 4
    DATETIME_LESS_THAN_OR_EQUAL = 5
    DATETIME_GREATER_THAN_OR_EQUAL = 6
    BOOLEAN_EQUAL = 7
    BOOLEAN_NOT_EQUAL = 8


MAX_RECORDS = 5
KEY_PATTERN = re.compile(r"[a-z0-9_]{1,50}")
NAME_MAX, DESCRIPTION_MAX = 100, 200
# The PUT of a member's connection: platform_name ≤ 50, platform_username ≤ 100, each value ≤ 100.
PLATFORM_NAME = "DealScale"
PLATFORM_USERNAME_MAX = 100
VALUE_MAX = 100


@dataclass(frozen=True)
class MetadataRecord:
    key: str
    name: str
    description: str
    type: MetadataType


# Keys are the contract with every guild that set up a Linked Role: renaming one breaks their roles.
ALL_TIME_RANK = "rank_all_time"
POINTS_ALL_TIME = "points_all_time"
MONTH_RANK = "rank_this_month"
CREDITS_EARNED = "credits_earned"
LINKED_SINCE = "linked_since"

RECORDS: tuple[MetadataRecord, ...] = (
    MetadataRecord(
        key=ALL_TIME_RANK,
        name="All-time rank",
        description="Place on the DealScale all-time leaderboard (1 is the top); at most this rank",
        type=MetadataType.INTEGER_LESS_THAN_OR_EQUAL,
    ),
    MetadataRecord(
        key=POINTS_ALL_TIME,
        name="Points (all time)",
        description="DealScale points earned since joining; at least this many",
        type=MetadataType.INTEGER_GREATER_THAN_OR_EQUAL,
    ),
    MetadataRecord(
        key=MONTH_RANK,
        name="Rank this month",
        description="Place on this month's DealScale leaderboard (1 is the top); at most this rank",
        type=MetadataType.INTEGER_LESS_THAN_OR_EQUAL,
    ),
    MetadataRecord(
        # Earned, not the balance: it never goes down when credits are spent, so roles do not flap.
        key=CREDITS_EARNED,
        name="Credits earned",
        description="DealScale credits granted to the member in total; at least this many",
        type=MetadataType.INTEGER_GREATER_THAN_OR_EQUAL,
    ),
    MetadataRecord(
        key=LINKED_SINCE,
        name="Linked since",
        description="Days since the member linked Discord to DealScale; at least this many days",
        type=MetadataType.DATETIME_GREATER_THAN_OR_EQUAL,
    ),
)


class InvalidMetadata(ValueError):
    """The records break one of Discord's rules; the message names the record and the rule."""


def validate(records: tuple[MetadataRecord, ...] | list[MetadataRecord]) -> None:
    """Check `records` against Discord's rules before sending them. Raises InvalidMetadata."""
    if len(records) > MAX_RECORDS:
        raise InvalidMetadata(f"Discord allows at most {MAX_RECORDS} records, not {len(records)}.")
    seen: set[str] = set()
    for index, record in enumerate(records):
        where = f"record {index} ({record.key!r})"
        if not KEY_PATTERN.fullmatch(record.key):
            raise InvalidMetadata(f"{where}: a key is 1-50 characters of a-z, 0-9 and _.")
        if record.key in seen:
            raise InvalidMetadata(f"{where}: the key is used twice.")
        seen.add(record.key)
        if not 1 <= len(record.name) <= NAME_MAX:
            raise InvalidMetadata(f"{where}: a name is 1-{NAME_MAX} characters.")
        if not 1 <= len(record.description) <= DESCRIPTION_MAX:
            raise InvalidMetadata(f"{where}: a description is 1-{DESCRIPTION_MAX} characters.")
        if not isinstance(record.type, MetadataType):
            raise InvalidMetadata(f"{where}: the type must be one of Discord's eight metadata types.")


def payload(records: tuple[MetadataRecord, ...] | list[MetadataRecord] | None = None) -> list[dict]:
    """The body of `PUT /applications/{id}/role-connections/metadata` (of RECORDS by default)."""
    return [
        {**asdict(record), "type": int(record.type)} for record in (RECORDS if records is None else records)
    ]


def payload_hash(body: list[dict]) -> str:
    """SHA-256 of the canonical JSON of `body`: an unchanged schema gives the same hash."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
