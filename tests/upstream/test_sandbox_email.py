"""E-mails at the sandbox upstream: catalogue, buying, the letter after its delay, expiry, cancel, failures."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from upstream.models import Provider, SandboxEmail
from upstream.providers import client_for
from upstream.providers.base import (
    ANY_SITE,
    BadResponse,
    EmailEnded,
    EmailRequest,
    EmailState,
    MaxPriceRefused,
    NoNumbers,
    ProviderError,
    ProviderNoBalance,
    ProviderTimeout,
    ProviderUnavailable,
    UnknownActivation,
)
from upstream.providers.sandbox import SandboxClient
from upstream.providers.sandbox_email import sandbox_address
from upstream.services import InvalidProvider, provider_add

pytestmark = pytest.mark.django_db

GMX = EmailRequest(domain="gmx.com", site="telegram.org")
IG = EmailRequest(domain="gmail.com", service="ig")


@pytest.fixture
def sandbox():
    def make(slot: int = 1, rate: str = "1", **config) -> SandboxClient:
        provider = Provider.objects.create(slot=slot, protocol="sandbox", rate_to_pkr=Decimal(rate), config=config)
        client = client_for(provider)
        assert isinstance(client, SandboxClient) and client.supports_email
        return client

    return make


def age(upstream_id: str, seconds: float) -> None:
    """Move an order into the past instead of sleeping."""
    row = SandboxEmail.objects.get(pk=int(upstream_id))
    delta = timedelta(seconds=seconds)
    SandboxEmail.objects.filter(pk=row.pk).update(
        letter_due_at=row.letter_due_at - delta, expires_at=row.expires_at - delta, created_at=row.created_at - delta
    )


def test_email_prices_are_domains_for_any_site_and_services_on_gmail(sandbox):
    prices = sandbox().email_prices()
    by_key = {(p.domain, p.service): p for p in prices}
    assert {d for d, s in by_key if s == ANY_SITE} == {"gmail.com", "outlook.com", "mail.com", "gmx.com", "yahoo.com"}
    assert {s for d, s in by_key if s != ANY_SITE and d == "gmail.com"} == {"ig", "tg", "fb"}
    assert len(by_key) == 8
    assert by_key[("gmail.com", ANY_SITE)].cost == Decimal("15.60") and by_key[("gmail.com", "ig")].name == "Instagram"
    assert by_key[("yahoo.com", ANY_SITE)].count == 0
    assert all(p.count > 0 for (d, _), p in by_key.items() if d != "yahoo.com")
    usd = {(p.domain, p.service): p.cost for p in sandbox(slot=2, rate="280").email_prices()}
    assert usd[("gmail.com", ANY_SITE)] == Decimal("0.06") and usd[("mail.com", ANY_SITE)] == Decimal("0.01")
    assert usd[("gmail.com", "ig")] == Decimal("0.43")
    assert prices == sandbox(slot=3).email_prices()  # deterministic


def test_buy_gives_a_unique_mailbox_on_the_domain(sandbox):
    client = sandbox()
    first, second = client.email_buy(GMX), client.email_buy(GMX)
    assert first.email.endswith("@gmx.com") and first.email != second.email
    assert first.cost == Decimal("1.20") and first.upstream_id.isdigit()
    row = SandboxEmail.objects.get(pk=first.upstream_id)
    assert (row.domain, row.site, row.email, row.cost) == ("gmx.com", "telegram.org", first.email, Decimal("1.20"))
    assert timedelta(seconds=1199) < row.expires_at - row.created_at < timedelta(seconds=1201)
    service = client.email_buy(EmailRequest(domain="", service="tg"))
    assert service.email.endswith("@gmail.com") and service.cost == Decimal("95.00")
    assert SandboxEmail.objects.get(pk=service.upstream_id).site == "telegram.org"


def test_addresses_are_a_function_of_the_id_and_never_collide():
    addresses = {sandbox_address(n, "x.com") for n in range(1, 20001)}
    assert len(addresses) == 20000
    assert sandbox_address(7, "gmx.com") == sandbox_address(7, "gmx.com")
    assert all(a.split("@")[0].isalpha() and len(a.split("@")[0]) == 10 for a in list(addresses)[:50])


@pytest.mark.parametrize(
    "request_, error, raw",
    [
        (EmailRequest(domain="yahoo.com"), NoNumbers, "NO_NUMBERS"),
        (EmailRequest(domain="example.org"), ProviderError, "BAD_DOMAIN"),
        (EmailRequest(domain=""), ProviderError, "BAD_DOMAIN"),
        (EmailRequest(domain="gmail.com", service="zz"), ProviderError, "BAD_SERVICE"),
        (EmailRequest(domain="gmx.com", service="ig"), ProviderError, "BAD_DOMAIN"),  # services on gmail.com only
        (EmailRequest(domain="gmail.com", max_price=Decimal("15.59")), MaxPriceRefused, "WRONG_MAX_PRICE:15.60"),
    ],
)
def test_buy_errors(sandbox, request_, error, raw):
    with pytest.raises(error) as caught:
        sandbox().email_buy(request_)
    assert type(caught.value) is error and caught.value.raw == raw
    assert not SandboxEmail.objects.exists()


def test_max_price_balance_and_order_ref(sandbox):
    client = sandbox()
    assert client.email_buy(EmailRequest(domain="gmail.com", max_price=Decimal("15.60"))).cost == Decimal("15.60")
    loose = sandbox(slot=2, ignore_max_price=True)
    assert loose.email_buy(EmailRequest(domain="gmail.com", max_price=Decimal("1"))).cost == Decimal("15.60")
    with pytest.raises(ProviderNoBalance):
        sandbox(slot=3, balance="100").email_buy(IG)
    client.email_buy(EmailRequest(domain="gmx.com", order_ref="e-1"))
    with pytest.raises(ProviderError) as caught:
        client.email_buy(EmailRequest(domain="gmx.com", order_ref="e-1"))
    assert caught.value.raw == "ORDER_ALREADY_EXISTS"


def test_the_letter_arrives_after_its_delay_and_every_reader_agrees(sandbox):
    client = sandbox()
    bought = client.email_buy(GMX)
    status = client.email_status(bought.upstream_id)
    assert (status.state, status.letters, status.raw) == (EmailState.WAITING, (), "STATUS_WAIT_CODE")
    age(bought.upstream_id, 9)
    status = client.email_status(bought.upstream_id)
    assert status.state == EmailState.RECEIVED
    [letter] = status.letters
    assert letter.letter_id == f"{bought.upstream_id}-1" and len(letter.code) == 6 and letter.code.isdigit()
    assert letter.code in letter.text and bought.email in letter.text and "Telegram" in letter.text
    assert letter.sender == "no-reply@telegram.org" and status.raw == f"STATUS_OK:{letter.code}"
    assert letter.received_at == SandboxEmail.objects.get(pk=bought.upstream_id).letter_due_at
    other_process = client_for(Provider.objects.get(pk=client.provider.pk))
    assert other_process.email_status(bought.upstream_id) == status
    SandboxEmail.objects.filter(pk=bought.upstream_id).update(expires_at=timezone.now())  # stays readable
    assert client.email_status(bought.upstream_id).letters == status.letters


def test_the_sender_is_the_service_or_some_site(sandbox):
    client = sandbox(email_letter_delay_seconds=0)
    [letter] = client.email_status(client.email_buy(IG).upstream_id).letters
    assert letter.sender == "no-reply@instagram.com" and "Instagram" in letter.text
    [anyone] = client.email_status(client.email_buy(EmailRequest(domain="mail.com")).upstream_id).letters
    assert anyone.sender.startswith("no-reply@") and "." in anyone.sender.split("@")[1]


def test_codes_differ_between_orders(sandbox):
    client = sandbox(email_letter_delay_seconds=0)
    codes = {client.email_status(client.email_buy(GMX).upstream_id).letters[0].code for _ in range(8)}
    assert len(codes) > 1


def test_no_letter_in_the_lifetime_cancels(sandbox):
    client = sandbox(email_lifetime_seconds=60, email_letter_delay_seconds=120)
    bought = client.email_buy(GMX)
    age(bought.upstream_id, 59)
    assert client.email_status(bought.upstream_id).state == EmailState.WAITING
    age(bought.upstream_id, 200)  # the delay passed too, but after the end: no letter
    status = client.email_status(bought.upstream_id)
    assert (status.state, status.letters, status.raw) == (EmailState.CANCELLED, (), "STATUS_CANCEL")
    with pytest.raises(EmailEnded) as caught:
        client.email_cancel(bought.upstream_id)
    assert caught.value.raw == "ALREADY_CANCEL"


def test_a_letter_due_before_the_end_comes_even_when_read_late(sandbox):
    client = sandbox()
    bought = client.email_buy(GMX)
    age(bought.upstream_id, 5000)
    assert client.email_status(bought.upstream_id).state == EmailState.RECEIVED


def test_cancel_refunds_a_waiting_order_and_stops_the_letter(sandbox):
    client = sandbox()
    bought = client.email_buy(GMX)
    cancelled = client.email_cancel(bought.upstream_id)
    assert cancelled.refunded and cancelled.letters == () and cancelled.raw == "ACCESS_CANCEL"
    age(bought.upstream_id, 60)
    assert client.email_status(bought.upstream_id).state == EmailState.CANCELLED
    with pytest.raises(EmailEnded):
        client.email_cancel(bought.upstream_id)


def test_cancel_after_the_letter_returns_it_unrefunded(sandbox):
    client = sandbox()
    bought = client.email_buy(GMX)
    age(bought.upstream_id, 10)  # not read since: the cancel itself finds the letter
    cancelled = client.email_cancel(bought.upstream_id)
    assert not cancelled.refunded and len(cancelled.letters) == 1
    assert cancelled.letters == client.email_status(bought.upstream_id).letters
    assert SandboxEmail.objects.get(pk=bought.upstream_id).status == SandboxEmail.Status.RECEIVED


@pytest.mark.parametrize("upstream_id", ["", "x", "999999", str(2**63)])
def test_unknown_orders(sandbox, upstream_id):
    client = sandbox()
    with pytest.raises(UnknownActivation):
        client.email_status(upstream_id)
    with pytest.raises(UnknownActivation):
        client.email_cancel(upstream_id)


def test_another_providers_order_is_unknown(sandbox):
    bought = sandbox().email_buy(GMX)
    with pytest.raises(UnknownActivation):
        sandbox(slot=2).email_status(bought.upstream_id)


@pytest.mark.parametrize(
    "mode, error, raw",
    [
        ("error", ProviderError, "ERROR_SQL"),
        ("no_numbers", NoNumbers, "NO_NUMBERS"),
        ("unavailable", ProviderUnavailable, ""),
        ("garbage", BadResponse, None),
    ],
)
def test_failures_happen_before_anything_is_bought(sandbox, mode, error, raw):
    client = sandbox(fail=mode, fail_actions=["email_buy"])
    with pytest.raises(error) as caught:
        client.email_buy(GMX)
    assert raw is None or caught.value.raw == raw
    assert not SandboxEmail.objects.exists()
    assert client.email_prices()  # only what fail_actions names fails


def test_timeouts_still_carry_the_action_out(sandbox):
    client = sandbox(fail="timeout", fail_actions=["email_buy", "email_cancel"])
    with pytest.raises(ProviderTimeout):
        client.email_buy(GMX)
    [row] = SandboxEmail.objects.all()  # bought; the answer was lost
    with pytest.raises(ProviderTimeout):
        client.email_cancel(str(row.pk))
    row.refresh_from_db()
    assert row.status == SandboxEmail.Status.CANCELLED
    assert client.email_status(str(row.pk)).state == EmailState.CANCELLED


def test_fail_actions_choose_which_email_calls_fail(sandbox):
    client = sandbox(fail="error", fail_actions=["email_prices", "email_status"])
    bought = client.email_buy(GMX)
    for call in (client.email_prices, lambda: client.email_status(bought.upstream_id)):
        with pytest.raises(ProviderError) as caught:
            call()
        assert caught.value.raw == "ERROR_SQL"
    assert client.email_cancel(bought.upstream_id).refunded
    assert client.prices()  # activations untouched


@pytest.mark.parametrize(
    "config",
    [
        {"email_letter_delay_seconds": "soon"},
        {"email_lifetime_seconds": -1},
        {"fail_actions": ["email_sell"]},
    ],
)
def test_bad_email_config_is_refused(config):
    with pytest.raises(InvalidProvider):
        provider_add(slot=1, protocol="sandbox", url="", api_key="", config=config)


def test_email_config_is_accepted(sandbox):
    provider_add(
        slot=1,
        protocol="sandbox",
        url="",
        api_key="",
        config={"email_letter_delay_seconds": 0, "email_lifetime_seconds": 30, "fail_actions": ["email_cancel"]},
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_readers_agree_on_the_letter(sandbox):
    client = sandbox()
    bought = client.email_buy(GMX)
    age(bought.upstream_id, 9)
    results, errors = [], []

    def read() -> None:
        try:
            results.append(client_for(Provider.objects.get(pk=client.provider.pk)).email_status(bought.upstream_id))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 6 and len({r.letters for r in results}) == 1
    assert results[0].state == EmailState.RECEIVED
    assert timezone.now() >= results[0].letters[0].received_at
