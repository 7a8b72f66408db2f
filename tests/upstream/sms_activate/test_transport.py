"""SmsActivateClient over a misbehaving fake SMS-Activate: garbage bodies, HTTP failures, timeouts, key hygiene."""

import logging
import socket
import threading
import time
from decimal import Decimal

import pytest
import requests

from upstream.providers import http
from upstream.providers.base import (
    BadResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    SetStatus,
    upstream_done,
)

pytestmark = pytest.mark.django_db

from tests.upstream.sms_activate.conftest import KEY, TG_INDIA  # noqa: E402


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/stubs/handler_api.php"


# --- garbage --------------------------------------------------------------------------------------

CALLS = {
    "getBalance": lambda c: c.balance(),
    "getNumberV2": lambda c: c.buy(TG_INDIA),
    "getStatus": lambda c: c.status("1"),
    "setStatus": lambda c: c.set_status("1", SetStatus.CANCEL),
    "getActiveActivations": lambda c: c.active_activations(),
    "getPrices": lambda c: c.prices(),
    "getCountries": lambda c: c.countries(),
    "getServicesList": lambda c: c.services(),
}


@pytest.mark.parametrize("action", CALLS)
@pytest.mark.parametrize(
    "body, status",
    [
        ("<!DOCTYPE html><html><body>Cloudflare</body></html>", 200),
        ("", 200),
        (" \r\n", 200),
        ("Internal Server Error", 500),
        ("<html>502 Bad Gateway</html>", 502),
        ("Not Found", 404),
    ],
)
def test_garbage_is_bad_response(fake, client, action, body, status):
    fake.next_response(action, body, status=status)
    with pytest.raises(BadResponse) as caught:
        CALLS[action](client)
    if status != 200:
        assert caught.value.raw.startswith(f"HTTP {status}: ") and body[:10] in caught.value.raw
    assert caught.value.http_status == (None if status == 200 else status)
    # Done with the request (whatever it did is in its records) unless a gateway lost it.
    assert upstream_done(caught.value) is (status != 502)


@pytest.mark.parametrize("status", [502, 504, 520, 522, 524])
def test_a_gateways_error_leaves_the_request_possibly_in_flight(fake, client, status):
    fake.next_response("getNumberV2", "<html>gateway</html>", status=status)
    with pytest.raises(BadResponse) as caught:
        client.buy(TG_INDIA)
    assert caught.value.http_status == status and not upstream_done(caught.value)


def test_a_redirect_and_a_mangled_success_come_from_an_upstream_done_with_the_request(fake, client):
    fake.next_response("getNumberV2", "", status=302, headers={"Location": "https://example.com/login"})
    with pytest.raises(BadResponse) as caught:
        client.buy(TG_INDIA)
    assert caught.value.http_status == 302 and upstream_done(caught.value)
    fake.next_response("getNumberV2", '{"activationId":1,"phoneNum')
    with pytest.raises(BadResponse) as caught:
        client.buy(TG_INDIA)
    assert caught.value.http_status is None and upstream_done(caught.value)


@pytest.mark.parametrize(
    "action, body",
    [
        ("getNumberV2", '{"activationId":"x1","phoneNumber":"79000000001"}'),
        ("getNumberV2", '{"phoneNumber":"79000000001"}'),
        ("getNumberV2", '{"activationId":1,"phoneNumber":"79000000001","activationCost":"abc"}'),
        ("getNumberV2", '{"activationId":1,"phoneNumber":"79000000001","activationCost":NaN}'),
        ("getNumberV2", '{"activationId":1,"phoneNumber":"+7 900 000"}'),
        ("getNumberV2", "[]"),
        ("getPrices", '{"22":{"tg":{"cost":"abc","count":1}}}'),
        ("getPrices", '{"22":{"tg":{"cost":1,"count":"1.5"}}}'),
        ("getPrices", '{"22":{"tg":{"cost":true,"count":1}}}'),
        ("getPrices", '{"22":{"tg":{"cost":1}}}'),
        ("getPrices", '{"india":{}}'),
        ("getPrices", '"prices"'),
        ("getCountries", '{"0":{"id":"zero","eng":"Russia"}}'),
        ("getCountries", '{"0":{"id":0}}'),
        ("getCountries", "5"),
        ("getServicesList", '{"status":"success","services":{}}'),
        ("getServicesList", '{"status":"success","services":[{"code":1,"name":"x"}]}'),
        ("getServicesList", "[1]"),
        ("getActiveActivations", '{"status":"success"}'),
        ("getActiveActivations", '{"status":"success","activeActivations":[1]}'),
        ("getActiveActivations", "[]"),
        ("getActiveActivations", '{"status":"success","activeActivations":[{"activationId":"a","phoneNumber":"1"}]}'),
        ("getBalance", "ACCESS_BALANCE:abc"),
        ("getBalance", "ACCESS_BALANCE"),
        ("getBalance", "ACCESS_BALANCE:Infinity"),
        ("getBalance", "BALANCE:1"),
    ],
)
def test_wrong_shapes_are_bad_response(fake, client, action, body):
    fake.next_response(action, body)
    with pytest.raises(BadResponse) as caught:
        CALLS[action](client)
    assert caught.value.raw == body


@pytest.mark.parametrize("body", ["ACCESS_NUMBER:abc:79000000001", "ACCESS_NUMBER:123", "ACCESS_NUMBER:1:+7 900"])
def test_v1_wrong_shapes_are_bad_response(fake, make_client, body):
    fake.next_response("getNumber", body)
    with pytest.raises(BadResponse):
        make_client(use_v2=False).buy(TG_INDIA)


# --- transport ------------------------------------------------------------------------------------


def test_a_redirect_is_not_followed(fake, client):
    fake.next_response(
        "getBalance", "", status=302, headers={"Location": f"{fake.url}?api_key={KEY}&action=getBalance"}
    )
    with pytest.raises(BadResponse) as caught:
        client.balance()
    assert caught.value.raw.startswith("HTTP 302") and KEY not in caught.value.raw
    assert fake.actions() == ["getBalance"]


@pytest.mark.parametrize("chunk_delay", [None, 0.0], ids=["content-length", "streamed"])
def test_a_body_over_one_mib_is_refused(fake, client, chunk_delay):
    fake.next_response("getBalance", b"A" * (http.MAX_BODY_BYTES + 1), chunk_delay=chunk_delay, chunk_size=65536)
    with pytest.raises(BadResponse, match="over"):
        client.balance()
    fake.next_response("getBalance", b"A" * http.MAX_BODY_BYTES, chunk_delay=chunk_delay, chunk_size=65536)
    assert len(http.call(client.provider, {"action": "getBalance"})) == http.MAX_BODY_BYTES


def test_no_answer_in_time_is_a_timeout_and_the_override_waits_longer(fake, make_client):
    client = make_client(timeout_seconds=0.3)
    fake.delay(0.8, actions=["getNumberV2", "getBalance"])
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        client.buy(TG_INDIA)  # unknown outcome: the fake still sells the number after the delay
    assert time.monotonic() - started < 0.75
    assert http.call(client.provider, {"action": "getBalance"}, timeout=3).startswith("ACCESS_BALANCE:")
    assert len(fake.activations) == 1 and fake.actions() == ["getNumberV2", "getBalance"]


def test_a_body_dripping_past_the_timeout_is_a_timeout(fake, make_client):
    client = make_client(timeout_seconds=0.5)
    fake.next_response("getBalance", "ACCESS_BALANCE:1000.00", chunk_delay=0.1)  # 2.1 s in all, 0.1 s gaps
    started = time.monotonic()
    with pytest.raises(ProviderTimeout):
        client.balance()
    assert time.monotonic() - started < 1.2


def test_a_connection_dropped_after_the_request_is_a_timeout(fake, client):
    assert not upstream_done(ProviderTimeout("no answer"))
    fake.next_disconnect("getNumberV2")
    with pytest.raises(ProviderTimeout):
        client.buy(TG_INDIA)


@pytest.mark.parametrize(
    "url, config",
    [
        (None, {}),
        ("http://no-such-host.invalid/stubs/handler_api.php", {}),
        ("ftp://127.0.0.1/stubs/handler_api.php", {}),
        (None, {"timeout_seconds": "soon"}),
    ],
    ids=["refused", "dns", "not-http", "bad-timeout"],
)
def test_nothing_sent_is_unavailable(fake, make_client, url, config):
    client = make_client(url=url or closed_port_url(), **config)
    with pytest.raises(ProviderUnavailable):
        client.buy(TG_INDIA)
    assert fake.calls == []


def test_the_api_key_is_never_logged_nor_in_an_error(fake, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client, refused = make_client(timeout_seconds=0.3), make_client(slot=2, url=closed_port_url())
    client.balance()
    fake.next_response("getBalance", f"error for api_key={KEY} and key {KEY}", status=502)
    fake.next_response("getBalance", "", status=302, headers={"Location": f"http://x/?api_key={KEY}"})
    fake.next_response("getBalance", f"<html>{KEY}</html>")
    errors: list[ProviderError] = []
    for call in (client.balance, client.balance, client.balance, refused.balance):
        with pytest.raises(ProviderError) as caught:
            call()
        errors.append(caught.value)
    fake.delay(1, actions=["getBalance"])
    with pytest.raises(ProviderTimeout) as timeout:
        client.balance()
    errors.append(timeout.value)
    assert [type(e) for e in errors] == [BadResponse, BadResponse, BadResponse, ProviderUnavailable, ProviderTimeout]
    for error in errors:
        assert KEY not in f"{error} {error!r} {error.raw} {error.__cause__} {error.__context__}"
    assert "api_key=***" in caplog.text and "urllib3" in {r.name.split(".")[0] for r in caplog.records}
    assert all(KEY not in record.getMessage() for record in caplog.records) and KEY not in caplog.text


# --- the fake itself ------------------------------------------------------------------------------


def test_the_fake_serves_delayed_requests_in_parallel_and_answers_post(fake, client):
    fake.delay(0.5)
    results: list[Decimal] = []
    threads = [threading.Thread(target=lambda: results.append(client.balance())) for _ in range(30)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [Decimal("1000.00")] * 30 and time.monotonic() - started < 2.0
    fake.delay(0)
    answer = requests.post(fake.url + "?action=getBalance", data={"api_key": KEY, "action": "nope"}, timeout=5)
    assert (answer.status_code, answer.text) == (200, "ACCESS_BALANCE:1000.00")
    assert answer.headers["Content-Type"] == "text/html; charset=UTF-8"
