"""Who may read the metrics path (observability.access, docs/metrics.md "Access"): the bearer
token when one is configured, else loopback callers without forwarding headers; everyone else
gets the same plain 404 as any unknown path, and never a metric."""

import pytest
from django.test import override_settings

from observability.access import bearer_matches, metrics_allowed
from tests.observability.scrape import TOKEN, parse

pytestmark = pytest.mark.django_db


def get(client, **headers):
    return client.get("/metrics", **headers)


def refused(response) -> bool:
    return response.status_code == 404 and b"reseller_" not in response.content


@override_settings(METRICS_TOKEN=TOKEN)
def test_with_a_token_only_the_token_opens_it(client):
    assert refused(get(client))  # loopback (the test client's 127.0.0.1) is not enough once a token is set
    assert refused(get(client, HTTP_AUTHORIZATION="Bearer wrong-token-of-some-length"))
    assert refused(get(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}x"))
    assert refused(get(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}"))
    assert refused(get(client, HTTP_AUTHORIZATION=f"Basic {TOKEN}"))
    assert refused(get(client, HTTP_AUTHORIZATION=TOKEN))
    assert refused(get(client, QUERY_STRING=f"token={TOKEN}"))
    ok = get(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="203.0.113.7")  # from anywhere
    assert ok.status_code == 200 and ok["Cache-Control"] == "no-store"
    assert "reseller_holds_open" in parse(ok.content.decode())
    assert get(client, HTTP_AUTHORIZATION=f"bearer {TOKEN}").status_code == 200  # the scheme in any case


@override_settings(METRICS_TOKEN="")
def test_without_a_token_only_loopback_without_a_proxy_opens_it(client):
    assert get(client, REMOTE_ADDR="127.0.0.1").status_code == 200
    assert get(client, REMOTE_ADDR="::1").status_code == 200
    assert refused(get(client, REMOTE_ADDR="203.0.113.7"))
    assert refused(get(client, REMOTE_ADDR="10.1.2.3"))
    # A reverse proxy on the same host: every outside caller would look local.
    assert refused(get(client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7"))
    assert refused(get(client, REMOTE_ADDR="127.0.0.1", HTTP_FORWARDED="for=203.0.113.7"))
    assert refused(get(client, REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.7"))
    assert refused(get(client, REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer anything-at-all-here"))


def test_a_refusal_looks_like_any_unknown_path(client):
    with override_settings(METRICS_TOKEN=TOKEN):
        refusal = get(client)
    unknown = client.get("/no-such-page")
    assert refusal.status_code == unknown.status_code == 404


def test_the_rule_itself():
    assert bearer_matches(f"Bearer {TOKEN}", TOKEN)
    assert bearer_matches(f"BEARER   {TOKEN} ", TOKEN)
    assert not bearer_matches(f"Bearer {TOKEN}", "")  # no token configured: no bearer opens it
    assert not bearer_matches("", TOKEN) and not bearer_matches(None, TOKEN)
    assert not bearer_matches(f"Token {TOKEN}", TOKEN)
    assert metrics_allowed({"REMOTE_ADDR": "127.0.0.5"}, "")
    assert not metrics_allowed({"REMOTE_ADDR": "not an address"}, "")
    assert not metrics_allowed({}, "")
    assert not metrics_allowed({"REMOTE_ADDR": "127.0.0.1"}, TOKEN)
