"""Request ids in one process (observability/request_id.py): X-Request-ID in and out, the id on
every line of the request, cleared after it, and carried into a task run eagerly (the embedded run)."""

import io
import json
import logging
import re

import pytest

from observability.logs import JsonFormatter, filters
from observability.request_id import current_request_id
from reseller.models import Activation
from tests.reseller.conftest import HANDLER, sandbox  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """The JSON lines the settings' console handler would write, from every logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    for f in filters():
        handler.addFilter(f)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("django.request", "django.server"):
        logging.getLogger(name).addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name in ("django.request", "django.server"):
            logging.getLogger(name).removeHandler(handler)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (None, False),
        ("abc.DEF-1_2", True),
        ("0" * 64, True),
        ("0" * 65, False),
        ("a b", False),
        ("a\u00e9", False),
        ("", False),
    ],
)
def test_x_request_id_in_and_out(client, sent, kept):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    response = client.get("/healthz", **headers)
    got = response["X-Request-ID"]
    if kept:
        assert got == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", got)
    assert current_request_id() is None  # cleared when the request finished


def test_two_requests_get_two_ids(client):
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


@pytest.mark.django_db(transaction=True)  # the forward is sent when the view's transaction commits, as in production
def test_request_and_its_eager_task_share_the_id(client, customer_with_key, sandbox, json_log, settings):  # noqa: F811
    settings.CANCEL_GRACE_SECONDS = 0
    _, key = customer_with_key(balance="100.00")
    body = client.get(HANDLER, {"api_key": key, "action": "getNumber", "service": "tg", "country": "22"})
    activation = int(body.content.split(b":")[1])
    response = client.get(
        HANDLER, {"api_key": key, "action": "setStatus", "id": activation, "status": "8"}, HTTP_X_REQUEST_ID="r-1"
    )
    assert response.content == b"ACCESS_CANCEL" and response["X-Request-ID"] == "r-1"
    assert Activation.objects.get(pk=activation).upstream_pending == ""  # the forward ran, in-process
    lines = json_log()
    task_lines = [line for line in lines if line["task_name"] == "reseller.forward_status"]
    assert task_lines, lines
    assert {line["request_id"] for line in task_lines} == {"r-1"}
    assert all(key not in json.dumps(line) for line in lines)
    assert current_request_id() is None
