"""Transfers are append-only in the database too (PostgreSQL): UPDATE and DELETE
on billing_transfer raise. TRUNCATE (test teardown) is not a row operation and
is unaffected."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION billing_transfer_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'billing_transfer is append-only: post a correcting transfer instead';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS billing_transfer_append_only ON billing_transfer;
CREATE TRIGGER billing_transfer_append_only
    BEFORE UPDATE OR DELETE ON billing_transfer
    FOR EACH ROW EXECUTE FUNCTION billing_transfer_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS billing_transfer_append_only ON billing_transfer;
DROP FUNCTION IF EXISTS billing_transfer_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
