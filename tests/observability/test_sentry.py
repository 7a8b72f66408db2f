"""Sentry (observability/sentry.py): initialised only with SENTRY_DSN; a failing view's and a failing
task's events reach the transport (a recording one here: nothing leaves the machine) with every key
masked and the request id as a tag."""

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from observability.sentry import before_send, init_sentry
from reseller.celery import app as celery_app
from tests.observability.error_urls import UPSTREAM_KEY
from tests.reseller.test_gunicorn_edges import ROOT
from tests.subprocess_env import production_env

CUSTOMER_KEY = "CustomerKey9876543210zyxwvutsrqpo"
DSN = "http://public@127.0.0.1:9/1"  # nothing listens there: only the recording transport is used


class Recording(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        return [e.get_event() for e in self.envelopes if e.get_event() is not None]

    def text(self) -> str:
        return "".join(e.serialize().decode("utf-8", "replace") for e in self.envelopes)


@pytest.fixture
def sentry_events():
    transport = Recording()
    assert init_sentry(DSN, environment="test", transport=transport)
    try:
        yield transport
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


@celery_app.task(name="tests.observability.failing_task")
def failing_task(account: str) -> None:
    raise ValueError(f"upstream refused GET https://up.example/x?api_key={account}&action=getStatus")


def test_no_dsn_no_sentry():
    assert init_sentry("") is False
    assert not sentry_sdk.get_client().is_active()


@pytest.mark.django_db
@pytest.mark.parametrize("dsn", ["", DSN])
def test_settings_initialise_sentry_only_with_a_dsn(dsn):
    code = "import sentry_sdk; print('active' if sentry_sdk.get_client().is_active() else 'off')"
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=production_env(SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="staging"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert out.splitlines()[-1] == ("active" if dsn else "off")


@pytest.mark.django_db
@pytest.mark.urls("tests.observability.error_urls")
def test_a_failing_view_reaches_sentry_masked(live_server, sentry_events):
    """Through a real WSGI server (Sentry's Django integration wraps Django's WSGI handler)."""
    request = urllib.request.Request(
        f"{live_server.url}/tests/boom?api_key={CUSTOMER_KEY}&action=getNumber",
        headers={"Referer": f"http://x/?key={CUSTOMER_KEY}", "Cookie": f"sessionid={CUSTOMER_KEY}"},
    )
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(request, timeout=10)
    assert failed.value.code == 500
    request_id = failed.value.headers["X-Request-ID"]
    sentry_sdk.flush()
    (event,) = [e for e in sentry_events.events() if e.get("exception")]
    text = sentry_events.text()
    assert CUSTOMER_KEY not in text and UPSTREAM_KEY not in text
    assert (
        event["exception"]["values"][-1]["value"]
        == "upstream said no: GET https://mail.example/api?token=***&type=JSON"
    )
    assert event["request"]["query_string"] == "api_key=***&action=getNumber"
    assert event["request"]["url"].endswith("/tests/boom")
    assert event["request"]["headers"]["Referer"] == "http://x/?key=***"
    assert event["tags"]["request_id"] == request_id
    assert event["environment"] == "test"
    crumbs = [c.get("message", "") for c in event["breadcrumbs"]["values"]]
    assert any("?api_key=***&action=getNumber" in c for c in crumbs), crumbs
    # No personal data: no cookies, no user, no frame variables.
    assert "cookies" not in event["request"] and not event.get("user")
    assert event["request"]["headers"].get("Cookie") in (None, "[Filtered]", "***"), event["request"]["headers"]
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames and not any("vars" in frame for frame in frames)


def test_a_failing_task_reaches_sentry_masked(sentry_events):
    with pytest.raises(ValueError):
        failing_task.delay(CUSTOMER_KEY)  # eager here (tests/settings.py): the worker's tracer all the same
    sentry_sdk.flush()
    events = [e for e in sentry_events.events() if e.get("exception")]
    assert events and CUSTOMER_KEY not in sentry_events.text()
    assert events[0]["exception"]["values"][-1]["value"] == (
        "upstream refused GET https://up.example/x?api_key=***&action=getStatus"
    )
    assert events[0]["tags"]["request_id"]  # the task's own id (no request queued it)


def test_before_send_masks_every_string():
    event = {
        "request": {"url": f"http://h/stubs/handler_api.php?api_key={CUSTOMER_KEY}", "query_string": "a=1"},
        "logentry": {"message": "GET %s", "params": [f"/x?userkey={CUSTOMER_KEY}"]},
        "exception": {
            "values": [
                {
                    "value": f"token={UPSTREAM_KEY}",
                    "stacktrace": {"frames": [{"vars": {"api_key": f"'{UPSTREAM_KEY}'"}}]},
                }
            ]
        },
    }
    assert CUSTOMER_KEY not in json.dumps(before_send(event)) and UPSTREAM_KEY not in json.dumps(before_send(event))
