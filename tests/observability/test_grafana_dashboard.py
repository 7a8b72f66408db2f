"""docs/grafana-dashboard.json is an importable Grafana dashboard (its Prometheus data source an
input, `${DS_PROMETHEUS}`), every query in it names a metric the service really exposes, and
every family the service exposes has a panel."""

import json
import re
from pathlib import Path

import pytest
from django.test import override_settings

from billing.verify import ledger_verify
from tests.observability.scrape import TOKEN, scrape
from tests.reseller.celery_procs import given_broker_url

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
NAME = re.compile(r"\breseller_[a-z0-9_]+")


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels() -> list[dict]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def exprs() -> list[str]:
    return [t["expr"] for p in panels() for t in p["targets"]]


def test_it_is_an_importable_dashboard():
    board = dashboard()
    assert board["__inputs"] == [
        {
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": "",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }
    ]
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE and target["expr"].strip() and target["refId"]
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0


@pytest.mark.django_db
def test_every_query_names_an_exposed_family_and_every_family_has_a_panel(client):
    assert ledger_verify().ok  # so its gauges exist
    with override_settings(METRICS_TOKEN=TOKEN, CELERY_BROKER_URL=given_broker_url()):  # the queue families
        families = scrape(client)
    exposed = {
        f"{family.name}{suffix}": family.name
        for family in families.values()
        for suffix in SUFFIXES.get(family.type, ("",))
        if family.name.startswith("reseller_")
    }
    named = {name for expr in exprs() for name in NAME.findall(expr)}
    assert named, "no query names a reseller_ metric"
    assert named <= exposed.keys(), sorted(named - exposed.keys())
    assert {exposed[name] for name in named} == {name for name in families if name.startswith("reseller_")}
