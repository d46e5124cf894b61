"""On PostgreSQL, turn leaderboard_snapshots into a table partitioned by generation.

Each recalculation then builds a generation as a standalone table (bulk insert, indexes built
once by sorting) and attaches it; retiring a generation is a DROP instead of a million-row DELETE.
Other databases (SQLite in `make run`) keep the plain table created by 0001.
"""

from django.db import migrations

PARTITIONED = """
DROP TABLE leaderboard_snapshots;
CREATE TABLE leaderboard_snapshots (
    generation_id bigint NOT NULL,
    user_id bigint NOT NULL,
    period varchar(5) NOT NULL,
    rank integer NOT NULL,
    position integer NOT NULL,
    score bigint NOT NULL,
    previous_rank integer NULL,
    generated_at timestamp with time zone NOT NULL,
    PRIMARY KEY (generation_id, user_id)
) PARTITION BY LIST (generation_id);
CREATE INDEX leaderboard_snapshot_position ON leaderboard_snapshots (generation_id, position);
"""

PLAIN = """
DROP TABLE leaderboard_snapshots;
CREATE TABLE leaderboard_snapshots (
    generation_id bigint NOT NULL,
    user_id bigint NOT NULL,
    period varchar(5) NOT NULL,
    rank integer NOT NULL,
    position integer NOT NULL,
    score bigint NOT NULL,
    previous_rank integer NULL,
    generated_at timestamp with time zone NOT NULL,
    PRIMARY KEY (generation_id, user_id)
);
CREATE INDEX leaderboard_snapshot_position ON leaderboard_snapshots (generation_id, position);
"""


def partition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PARTITIONED)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PLAIN)


class Migration(migrations.Migration):
    dependencies = [("leaderboard", "0001_initial")]

    operations = [migrations.RunPython(partition, unpartition)]
