"""The routing version's trigger on upstream_provider watches exactly the configuration columns
(migration upstream.0011_routing_version): each column of Provider is either configuration (a
change drops every process's routing cache), health (read live per request by routing_state), or
what the machine keeps and routing never reads from its cache. A new column must be put in one."""

import importlib

import pytest
from django.db import connection

from upstream.models import Provider
from upstream.routing_state import HEALTH_FIELDS, _read_state

pytestmark = pytest.mark.django_db

WATCHED = importlib.import_module("upstream.migrations.0011_routing_version").WATCHED["upstream_provider"]
# Written by the machine (balance and catalogue syncs, SMS outcomes, webhooks), never routing input.
KEPT = {
    "id",
    "balance",
    "balance_checked_at",
    "sms_rate",
    "sms_outcomes_seen",
    "last_sync_at",
    "last_sync_error",
    "last_sync_error_at",
    "last_balance_error",
    "last_balance_error_at",
    "webhook_secret",
    "created_at",
}


def test_every_provider_column_is_configuration_health_or_kept():
    columns = {f.column for f in Provider._meta.concrete_fields}
    groups = [set(WATCHED), set(HEALTH_FIELDS), KEPT]
    assert sum(len(g) for g in groups) == len(set().union(*groups)), "a column is in two groups"
    assert columns == set().union(*groups)


def test_the_installed_trigger_watches_those_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_trigger t
            JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr)
            WHERE t.tgrelid = 'upstream_provider'::regclass AND t.tgname = 'routing_version_bump'
            """
        )
        assert {row[0] for row in cursor.fetchall()} == set(WATCHED)


def test_configuration_bumps_the_version_health_does_not():
    provider = Provider.objects.create(slot=1, protocol="sandbox")
    before = _read_state().version
    Provider.objects.filter(pk=provider.pk).update(success_rate=0.5, consecutive_failures=2, balance=10)
    assert _read_state().version == before
    Provider.objects.filter(pk=provider.pk).update(priority=5)
    assert _read_state().version != before
