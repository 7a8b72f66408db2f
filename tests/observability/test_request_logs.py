"""The acceptance test of the logs (docs/logging.md): real gunicorn (gunicorn.conf.py) and a real
Celery worker on the RabbitMQ the tests are given, both with LOG_FORMAT=json and LOG_LEVEL=DEBUG
(urllib3 then logs every upstream URL, our key in it).

A customer buys a number (getNumber: the web process calls the upstream itself) and cancels it
(setStatus=8 with the client's own X-Request-ID: the cancel is queued for the worker, which sends
it upstream). Every line either process writes is JSON; none holds the customer's key or the
upstream's; each request's lines carry the id its response was sent with, and so do the queued
task's lines in the worker. A task the worker runs without a request (beat's forward_pending)
gets an id of its own, and the forward it queues carries that one.
"""

import json
import re
import secrets

import pytest

from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.celery_procs import (
    activations_with_pending_cancel,
    celery_processes,
    given_broker_url,
    private_prefix,
    wait_for,
)
from tests.reseller.test_gunicorn_edges import HANDLER, gunicorn  # noqa: F401 - the fixture
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db(transaction=True)
UPSTREAM_KEY = "UpstreamKey" + secrets.token_hex(12)
CLIENT_ID = "client-req.42"


# Celery writes its shutdown notice straight to stderr (not through logging): the one line that is
# not JSON (docs/logging.md says so).
CELERY_RAW = re.compile(r"worker: (Warm|Cold) shutdown \(MainProcess\)")


def json_lines(text: str) -> list[dict]:
    """Every non-empty line of `text` parsed as JSON (a line that is not JSON fails the test)."""
    lines = []
    for line in text.splitlines():
        if line.strip() and not CELERY_RAW.fullmatch(line):
            try:
                lines.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"not a JSON line: {line!r}") from None
    return lines


def header(head: bytes, name: str) -> str:
    found = re.search(rb"(?im)^" + name.encode() + rb":\s*(\S+)\s*$", head)
    assert found, head
    return found.group(1).decode()


def test_request_and_queued_task_log_one_request_id(gunicorn, customer_with_key, tmp_path, monkeypatch):  # noqa: F811
    broker_url = given_broker_url()
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    prefix = private_prefix()
    customer, key = customer_with_key(balance="100.00")
    logs = {"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "CELERY_QUEUE_PREFIX": prefix}
    with FakeSmsActivate(api_key=UPSTREAM_KEY) as fake:
        fake.set_offer(22, "tg", "2.00", 10)
        catalogue_sync(
            provider=provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key=UPSTREAM_KEY, currency="PKR")
        )
        with celery_processes(broker_url, prefix, tmp_path, **logs) as procs:
            procs.worker("worker", queues=["forward"])
            server = gunicorn(
                GUNICORN_ACCESS_LOG="1",
                CELERY_BROKER_URL=broker_url,
                CELERY_TASK_ALWAYS_EAGER="0",
                CANCEL_GRACE_SECONDS="0",
                **logs,
            )
            wait_for(lambda: "ready." in procs.log("worker"), 60, "the worker to start")

            # getNumber without an X-Request-ID: the server makes one (uuid4 hex) and sends it back.
            status, head, body = server.get(f"{HANDLER}?api_key={key}&action=getNumber&service=tg&country=22")
            assert status == 200 and body.startswith(b"ACCESS_NUMBER:"), body
            bought_id = header(head, "X-Request-ID")
            assert re.fullmatch(r"[0-9a-f]{32}", bought_id)
            activation = int(body.split(b":")[1])

            # setStatus=8 with the client's own id: kept, sent back, carried into the queued forward.
            status, head, body = server.get(
                f"{HANDLER}?api_key={key}&action=setStatus&id={activation}&status=8", f"X-Request-ID: {CLIENT_ID}\r\n"
            )
            assert (status, body) == (200, b"ACCESS_CANCEL")
            assert header(head, "X-Request-ID") == CLIENT_ID
            upstream_id = Activation.objects.get(pk=activation).upstream_id
            wait_for(lambda: fake.activations[int(upstream_id)].status == "cancelled", 30, "the cancel upstream")

            # A task without a request (beat's sweeper) gets its own id and passes it on.
            (pending,) = activations_with_pending_cancel(fake, customer, 1)
            procs.send("reseller.forward_pending")
            wait_for(
                lambda: not Activation.objects.filter(pk=pending, upstream_pending="cancel").exists(),
                30,
                "the swept forward",
            )
            wait_for(lambda: procs.log("worker").count("succeeded in") >= 3, 30, "the tasks' last lines")
        web_text, worker_text = server.stop(), procs.log("worker")

    for text in (web_text, worker_text):
        assert key not in text and UPSTREAM_KEY not in text
    web, worker = json_lines(web_text), json_lines(worker_text)
    for line in web + worker:
        assert {"timestamp", "level", "logger", "message", "request_id", "task_id", "task_name"} <= line.keys()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", line["timestamp"])

    # The web process: gunicorn's access line of each request carries the id its response had...
    access = {
        re.search(r"action=(\w+)", line["path"]).group(1): line
        for line in web
        if line["logger"] == "gunicorn.access" and line["path"].startswith(HANDLER)
    }
    assert access["getNumber"]["request_id"] == bought_id and access["setStatus"]["request_id"] == CLIENT_ID
    assert access["getNumber"]["path"].startswith(f"{HANDLER}?api_key=***&") and access["getNumber"]["status"] == 200
    # ...and so does the upstream call getNumber made (urllib3's debug line: our upstream key masked).
    upstream_calls = [
        line for line in web if line["logger"] == "urllib3.connectionpool" and "getNumber" in line["message"]
    ]
    assert upstream_calls and all(line["request_id"] == bought_id for line in upstream_calls)
    assert all("api_key=***" in line["message"] for line in upstream_calls), upstream_calls

    # The worker: every line of a task carries one id; the customer's forward carries the client's.
    by_task: dict[str, list[dict]] = {}
    for line in worker:
        if line["task_id"]:
            by_task.setdefault(line["task_id"], []).append(line)
    ids = {task_id: {line["request_id"] for line in lines} for task_id, lines in by_task.items()}
    assert all(len(found) == 1 for found in ids.values()), ids
    names = {task_id: lines[0]["task_name"] for task_id, lines in by_task.items()}
    forwards = [task_id for task_id, name in names.items() if name == "reseller.forward_status"]
    (sweep,) = [task_id for task_id, name in names.items() if name == "reseller.forward_pending"]
    assert len(forwards) == 2
    (sweep_id,) = ids[sweep]
    assert re.fullmatch(r"[0-9a-f]{32}", sweep_id) and sweep_id not in (bought_id, CLIENT_ID)
    assert sorted(next(iter(ids[task_id])) for task_id in forwards) == sorted([CLIENT_ID, sweep_id])
    client_forward = next(task_id for task_id in forwards if ids[task_id] == {CLIENT_ID})
    messages = [line["message"] for line in by_task[client_forward]]
    # The worker's own lines about the task and the upstream call it made, our key masked.
    assert any("succeeded in" in message for message in messages), messages
    sent = [m for m in messages if "setStatus" in m and "api_key=***" in m]
    assert sent, messages
