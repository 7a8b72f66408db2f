"""The routing version (upstream/routing_state.py): one row, bumped by a statement-level trigger
on every table routing caches, so each process knows when its cached routing inputs are stale.

PostgreSQL only: elsewhere (the embedded SQLite run) routing reads its inputs per request, uncached.
"""

from django.db import migrations

# The tables whose rows routing caches per process, with the columns that matter where the table
# also holds what the machine keeps (a provider's health and balance are read live, per request).
WATCHED = {
    "upstream_offer": None,
    "upstream_service": None,
    "upstream_country": None,
    "upstream_servicemapping": None,
    "upstream_countrymapping": None,
    "billing_markuprule": None,
    "upstream_provider": [
        "slot",
        "name",
        "protocol",
        "base_url",
        "api_key",
        "currency",
        "rate_to_pkr",
        "enabled",
        "priority",
        "config",
        "low_balance_threshold",
    ],
}

CREATE = """
CREATE SEQUENCE IF NOT EXISTS upstream_routing_version_seq;
CREATE TABLE IF NOT EXISTS upstream_routing_version (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO upstream_routing_version (id, version) VALUES (1, nextval('upstream_routing_version_seq'))
    ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION upstream_routing_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A fresh number from the sequence, written in the writer's transaction: readers see it exactly
    -- when they see the change, and a number is never seen twice (not even after a rollback).
    INSERT INTO upstream_routing_version (id, version) VALUES (1, nextval('upstream_routing_version_seq'))
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END $$;
"""


def _triggers():
    for table, columns in WATCHED.items():
        update = "UPDATE OF " + ", ".join(columns) if columns else "UPDATE"
        yield (
            f"DROP TRIGGER IF EXISTS routing_version_bump ON {table};"
            f"CREATE TRIGGER routing_version_bump AFTER INSERT OR {update} OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION upstream_routing_version_bump();"
            f"DROP TRIGGER IF EXISTS routing_version_bump_truncate ON {table};"
            f"CREATE TRIGGER routing_version_bump_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION upstream_routing_version_bump();"
        )


# A customer rule's label names its customer: a rename is a change too (a new customer is not).
CUSTOMER_TRIGGER = (
    "DROP TRIGGER IF EXISTS routing_version_bump ON accounts_customer;"
    "CREATE TRIGGER routing_version_bump AFTER UPDATE OF username ON accounts_customer "
    "FOR EACH STATEMENT EXECUTE FUNCTION upstream_routing_version_bump();"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE)
    for sql in _triggers():
        schema_editor.execute(sql)
    schema_editor.execute(CUSTOMER_TRIGGER)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in [*WATCHED, "accounts_customer"]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS routing_version_bump ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS routing_version_bump_truncate ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS upstream_routing_version_bump()")
    schema_editor.execute("DROP TABLE IF EXISTS upstream_routing_version")
    schema_editor.execute("DROP SEQUENCE IF EXISTS upstream_routing_version_seq")


class Migration(migrations.Migration):
    dependencies = [
        ("upstream", "0010_service_country_enabled"),
        ("billing", "0009_staff_wallets"),
        ("accounts", "0002_actor_label"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
