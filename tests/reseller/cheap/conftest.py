"""Fixtures of the cheap-number tests: a caller of cheap_handler.php (GET, POST with a form
body, POST with the query string only) and cheap servers on the sandbox upstream."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from reseller.cheap.servers import cheap_server_add
from reseller.models import Activation, CheapServer
from reseller.tasks import sync_statuses
from upstream.models import Country, SandboxActivation, Service

PATH = "/stubs/cheap_handler.php"
METHODS = ["get", "post_form", "post_query"]


def send(client, method: str, params: dict):
    if method == "get":
        return client.get(PATH, params)
    if method == "post_form":
        return client.post(PATH, params)
    return client.post(f"{PATH}?{urlencode(params)}", data="", content_type="application/x-www-form-urlencoded")


@pytest.fixture
def cheap(client, django_capture_on_commit_callbacks):
    """cheap(key, action, method="get", **params) -> the response; on-commit work (the
    forwarding tasks) runs as after a real commit."""

    def call(key: str, action: str, method: str = "get", **params):
        with django_capture_on_commit_callbacks(execute=True):
            return send(client, method, {"api_key": key, "action": action, **params})

    return call


@pytest.fixture
def cheap_text(cheap):
    """cheap_text(key, action, **params) -> the body as text (HTTP 200 checked)."""

    def call(key: str, action: str, **params) -> str:
        response = cheap(key, action, **params)
        assert response.status_code == 200
        return response.content.decode()

    return call


def order_of(reply: str) -> Activation:
    """The cheap order a buyNumber reply `ORD_<id>,<phone>,900` names."""
    order_id, phone, lifetime = reply.split(",")
    assert order_id.startswith("ORD_") and lifetime == "900", reply
    order = Activation.objects.get(pk=int(order_id.removeprefix("ORD_")))
    assert order.kind == "cheap" and order.phone == phone and phone.isdigit()
    return order


def server_on(provider, *, service="tg", country: int | None = 22, price=None, type=1, name="Server") -> CheapServer:
    return cheap_server_add(
        type=type,
        name=name,
        provider=provider,
        services=[Service.objects.get(code=service)],
        country=Country.objects.get(pk=country) if country is not None else None,
        price=price,
    )


def sms_through_sync(order: Activation) -> None:
    """Make the sandbox's SMS due now and run the beat's status sync (Celery, eager here)."""
    SandboxActivation.objects.filter(pk=int(order.upstream_id)).update(sms_due_at=timezone.now() - timedelta(seconds=1))
    sync_statuses.delay()
    order.refresh_from_db()
