"""Make ledger entries immutable in PostgreSQL itself, so no code path (raw SQL included) can rewrite them.

SQLite, the embedded development database, relies on the model-level guards only.
"""

from django.db import migrations

CREATE = [
    """
CREATE FUNCTION credits_ledgerentry_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credits_ledgerentry rows are immutable: post a correcting entry instead';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER credits_ledgerentry_immutable
    BEFORE UPDATE OR DELETE ON credits_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION credits_ledgerentry_immutable()
""",
]

DROP = [
    "DROP TRIGGER IF EXISTS credits_ledgerentry_immutable ON credits_ledgerentry",
    "DROP FUNCTION IF EXISTS credits_ledgerentry_immutable()",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
