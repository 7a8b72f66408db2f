"""Upstream webhooks are hints: a valid one makes the code visible at once; a forged one changes nothing."""

import json

import pytest

from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from upstream.services import catalogue_sync, provider_add, provider_webhook_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream():
    with FakeSmsActivate(api_key="k") as fake:
        fake.set_offer(22, "tg", "2.00", 10)
        provider = provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key="k", currency="PKR")
        catalogue_sync(provider=provider)
        yield fake, provider


def post(client, provider, secret, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            f"/upstream/webhook/{provider.pk}/{secret}", data=json.dumps(body), content_type="application/json"
        )


def bought(api, key) -> Activation:
    reply = api(key, "getNumber", service="tg", country="22")
    return Activation.objects.get(pk=int(reply.split(":")[1]))


def test_valid_webhook_makes_the_code_visible(
    upstream, api, client, customer_with_key, django_capture_on_commit_callbacks
):
    fake, provider = upstream
    _, key = customer_with_key(balance="50")
    a = bought(api, key)
    fake.deliver_sms(a.upstream_id, "777111", "code 777111")
    assert api(key, "getStatus", id=a.pk) == "STATUS_WAIT_CODE"  # no sync cycle has run
    body = {
        "activationId": int(a.upstream_id),
        "service": "tg",
        "text": "code 777111",
        "code": "777111",
        "country": 22,
        "receivedAt": "2026-11-22 06:00:00",
    }
    response = post(
        client, provider, provider_webhook_secret(provider=provider), body, django_capture_on_commit_callbacks
    )
    assert (response.status_code, response.content) == (200, b"OK")
    assert api(key, "getStatus", id=a.pk) == "STATUS_OK:777111"


def test_forged_webhooks_change_nothing(upstream, api, client, customer_with_key, django_capture_on_commit_callbacks):
    fake, provider = upstream
    _, key = customer_with_key(balance="50")
    a = bought(api, key)
    secret = provider_webhook_secret(provider=provider)
    forged = {"activationId": int(a.upstream_id), "code": "000000", "text": "code 000000"}
    # Right URL, fake code: the upstream is asked and says it is still waiting.
    assert post(client, provider, secret, forged, django_capture_on_commit_callbacks).status_code == 200
    assert api(key, "getStatus", id=a.pk) == "STATUS_WAIT_CODE"
    # Wrong secret: refused, the upstream is not even asked.
    calls = len(fake.calls)
    response = post(client, provider, "x" * len(secret), forged, django_capture_on_commit_callbacks)
    assert response.status_code == 404 and len(fake.calls) == calls
    assert client.get(f"/upstream/webhook/{provider.pk}/{secret}").status_code == 405
    for junk in ("not json", {"activationId": "abc"}, {"activationId": 999999}, [1, 2]):
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(
                f"/upstream/webhook/{provider.pk}/{secret}",
                data=junk if isinstance(junk, str) else json.dumps(junk),
                content_type="application/json",
            )
        assert r.status_code == 200
    a.refresh_from_db()
    assert a.state == "active" and a.code == ""
