"""KopeechkaClient against the fake Kopeechka API over real HTTP: the wire, the balance, the price list and
buying, with every error code of mailbox-get-email and strings or numbers where the API may send either
(letters and cancel: test_letters.py; garbage, transport, config: test_transport.py)."""

import json
from decimal import Decimal

import pytest

from tests.upstream.kopeechka.conftest import GMAIL, KEY, SITE, error
from upstream.providers.base import (
    ANY_SITE,
    BadResponse,
    EmailPrice,
    EmailRequest,
    NoNumbers,
    ProviderBadKey,
    ProviderError,
    ProviderNoBalance,
)

pytestmark = pytest.mark.django_db

# --- the wire ----------------------------------------------------------------------------------------


def test_every_call_is_a_get_of_the_method_path_with_token_type_and_api(fake, client):
    client.balance()
    client.email_prices()
    bought = client.email_buy(GMAIL)
    client.email_status(bought.upstream_id)
    client.email_cancel(bought.upstream_id)
    assert fake.actions() == [
        "user-balance",
        "mailbox-zones",
        "mailbox-get-email",
        "mailbox-get-message",
        "mailbox-get-message",
        "mailbox-cancel",
    ]
    assert [path for _, path in fake.targets] == [f"/{action}" for action in fake.actions()]
    for _, params in fake.calls:
        assert (params["token"], params["type"], params["api"]) == (KEY, "JSON", "2.0")
    assert {verb for verb, _ in fake.requests} == {"GET"}


def test_a_base_url_with_a_trailing_slash(fake, make_client):
    assert make_client(url=fake.url + "/").balance() == Decimal("100")
    assert fake.targets[-1][1] == "/user-balance"


# --- balance -----------------------------------------------------------------------------------------


def test_balance_in_the_rows_currency(fake, make_client):
    assert make_client().balance() == Decimal("100")
    assert fake.calls[-1][1]["cost"] == "RUB"
    assert make_client(slot=2, currency="USD").balance() == Decimal("1")
    assert fake.calls[-1][1]["cost"] == "USD"
    make_client(slot=3, currency="PKR").balance()  # not a currency of the API: nothing sent, its default
    assert "cost" not in fake.calls[-1][1]


@pytest.mark.parametrize(
    "balance,expected",
    [("100.000000", "100"), (100.5, "100.5"), (7, "7"), ("0", "0"), ("-1.25", "-1.25")],
)
def test_balance_as_a_string_or_a_number(fake, client, balance, expected):
    fake.next_response("user-balance", json.dumps({"status": "OK", "balance": balance}))
    assert client.balance() == Decimal(expected)


def test_the_fakes_string_mode_is_read_the_same(fake, client):
    fake.state.strings = True
    assert client.balance() == Decimal("100")
    assert json.loads(fake.state.handle("user-balance", {"token": KEY})[1])["balance"] == "100.000000"


@pytest.mark.parametrize("balance", ["lots", None, True, [1], "NaN"])
def test_an_unreadable_balance_is_bad_response(fake, client, balance):
    fake.next_response("user-balance", json.dumps({"status": "OK", "balance": balance}))
    with pytest.raises(BadResponse):
        client.balance()


def test_a_wrong_token_is_bad_key_on_every_method(fake, make_client):
    client = make_client(key="wrong")
    for call in (
        client.balance,
        client.email_prices,
        lambda: client.email_buy(GMAIL),
        lambda: client.email_status("1"),
    ):
        with pytest.raises(ProviderBadKey) as caught:
            call()
        assert caught.value.raw == "BAD_TOKEN"
    with pytest.raises(ProviderBadKey):
        client.email_cancel("1")


# --- prices ------------------------------------------------------------------------------------------


def test_prices_are_the_popular_domains_for_any_site(fake, client):
    assert client.email_prices() == [
        EmailPrice(domain="gmail.com", service=ANY_SITE, cost=Decimal("5"), count=3),
        EmailPrice(domain="outlook.com", service=ANY_SITE, cost=Decimal("4"), count=2),
        EmailPrice(domain="hotmail.com", service=ANY_SITE, cost=Decimal("3.5"), count=0),
    ]
    params = fake.calls[-1][1]
    assert (params["popular"], params["cost"]) == ("1", "RUB") and "zones" not in params


def test_prices_follow_the_live_stock_and_the_currency(fake, make_client):
    make_client().email_buy(GMAIL)
    usd = make_client(slot=2, currency="USD").email_prices()
    assert (usd[0].domain, usd[0].cost, usd[0].count) == ("gmail.com", Decimal("0.05"), 2)


def test_zones_are_listed_only_when_configured(fake, make_client):
    fake.add_domain("fastmailbox.net", "9", 5)  # a popular entry wins over a zone of the same name
    fake.add_own_domain("boxmail.org", "2")
    listed = make_client(zones=True).email_prices()
    assert fake.calls[-1][1]["zones"] == "1"
    assert [(p.domain, p.cost, p.count) for p in listed[-2:]] == [
        ("fastmailbox.net", Decimal("9"), 5),
        ("boxmail.org", Decimal("2"), 1),
    ]
    counted = make_client(slot=2, zones=True, zones_count=50).email_prices()
    assert counted[-1] == EmailPrice(domain="boxmail.org", service=ANY_SITE, cost=Decimal("2"), count=50)


@pytest.mark.parametrize(
    "reply,expected",
    [
        ({"popular": [{"name": "Gmail.com", "cost": "5.50", "count": "12"}]}, [("gmail.com", "5.50", 12)]),
        (
            {"popular": [{"name": "a.com", "cost": 1, "count": 2}, {"name": "a.com", "cost": 9, "count": 9}]},
            [("a.com", "1", 2)],
        ),  # fmt: skip
        ({}, []),
        ({"popular": None}, []),
        ({"popular": {}}, []),
    ],
)
def test_price_lists_as_strings_numbers_or_absent(fake, client, reply, expected):
    fake.next_response("mailbox-zones", json.dumps({"status": "OK", **reply}))
    assert [(p.domain, p.cost, p.count) for p in client.email_prices()] == [(d, Decimal(c), n) for d, c, n in expected]


@pytest.mark.parametrize(
    "popular",
    [
        "gmail.com",
        [["gmail.com", 5, 3]],
        [{"cost": 5, "count": 3}],
        [{"name": "gmail.com", "cost": "five", "count": 3}],
        [{"name": "gmail.com", "cost": -1, "count": 3}],
        [{"name": "gmail.com", "cost": 5, "count": 2.5}],
        [{"name": "gmail.com", "cost": 5}],
    ],
)
def test_a_wrong_price_list_is_bad_response(fake, client, popular):
    fake.next_response("mailbox-zones", json.dumps({"status": "OK", "popular": popular}))
    with pytest.raises(BadResponse):
        client.email_prices()


# --- buying ------------------------------------------------------------------------------------------


def test_buy_sends_the_site_and_domain_and_debits(fake, client):
    bought = client.email_buy(GMAIL)
    params = fake.calls[-1][1]
    assert (params["site"], params["mail_type"]) == (SITE, "gmail.com")
    assert not {"regex", "soft", "cost", "password"} & set(params)
    [order] = fake.orders
    assert (bought.upstream_id, bought.email, bought.cost) == (str(order.id), order.mail, None)
    assert bought.email.endswith("@gmail.com") and json.loads(bought.raw)["id"] == bought.upstream_id
    assert (fake.balance, fake.state.stock("gmail.com")) == (Decimal("95"), 2)


def test_buy_sends_the_configured_regex_soft_and_default_site(fake, make_client):
    client = make_client(default_site="discord.com", regex=r"\d{6}", soft=109)
    client.email_buy(EmailRequest(domain="outlook.com"))
    params = fake.calls[-1][1]
    assert (params["site"], params["regex"], params["soft"]) == ("discord.com", r"\d{6}", "109")
    client.email_buy(EmailRequest(domain="OUTLOOK", site=SITE))  # the request's site wins; a group as mail_type
    assert fake.calls[-1][1]["site"] == SITE


def test_an_empty_domain_is_left_out_and_buys_an_own_domain(fake, client):
    bought = client.email_buy(EmailRequest(domain="", site=SITE))
    assert "mail_type" not in fake.calls[-1][1] and bought.email.endswith("@fastmailbox.net")


def test_no_site_anywhere_is_refused_before_sending(fake, client):
    with pytest.raises(ProviderError) as caught:
        client.email_buy(EmailRequest(domain="gmail.com", site="  "))
    assert type(caught.value) is ProviderError and caught.value.raw == "NO_SITE" and fake.calls == []


def test_the_fakes_buy_errors(fake, client):
    with pytest.raises(NoNumbers) as stock:
        client.email_buy(EmailRequest(domain="hotmail.com", site=SITE))
    with pytest.raises(ProviderError) as domain:
        client.email_buy(EmailRequest(domain="yahoo.com", site=SITE))
    fake.state.bad_sites.add("evil.example")
    with pytest.raises(ProviderError) as site:
        client.email_buy(EmailRequest(domain="gmail.com", site="evil.example"))
    fake.balance = "4.99"
    with pytest.raises(ProviderNoBalance) as balance:
        client.email_buy(GMAIL)
    assert [e.value.raw for e in (stock, domain, site, balance)] == [
        "OUT_OF_STOCK", "BAD_DOMAIN", "BAD_SITE", "BAD_BALANCE",
    ]  # fmt: skip
    assert fake.orders == [] and fake.balance == Decimal("4.99")


@pytest.mark.parametrize(
    "code,exception",
    [
        ("BAD_TOKEN", ProviderBadKey),
        ("OUT_OF_STOCK", NoNumbers),
        ("BAD_BALANCE", ProviderNoBalance),
        ("BAD_DOMAIN", ProviderError),
        ("BAD_SITE", ProviderError),
        ("TIME_LIMIT_EXCEED", ProviderError),
        ("SYSTEM_ERROR", ProviderError),
        ("BAD_KARMA", ProviderError),
        ("SOMETHING_NEW", ProviderError),
    ],
)
@pytest.mark.parametrize("envelope", ["json", "text"])
def test_every_buy_error_code(fake, client, code, exception, envelope):
    fake.next_response("mailbox-get-email", error(code) if envelope == "json" else f"ERROR|{code}")
    with pytest.raises(exception) as caught:
        client.email_buy(GMAIL)
    assert type(caught.value) is exception and caught.value.raw == code


@pytest.mark.parametrize(
    "reply,upstream_id",
    [
        ({"id": "1734568101", "mail": "a@gmail.com"}, "1734568101"),
        ({"id": 223512, "mail": "a@gmail.com"}, "223512"),
        ({"id": 223512.0, "mail": "a@gmail.com"}, "223512"),
        ({"id": " 77 ", "mail": "a@gmail.com", "password": "pw"}, "77"),
    ],
)
def test_the_id_as_a_string_or_a_number(fake, client, reply, upstream_id):
    fake.next_response("mailbox-get-email", json.dumps({"status": "OK", **reply}))
    assert client.email_buy(GMAIL).upstream_id == upstream_id


def test_a_cost_in_the_reply_is_kept(fake, client):
    fake.next_response("mailbox-get-email", json.dumps({"status": "OK", "id": "1", "mail": "a@b.c", "cost": "5.5"}))
    assert client.email_buy(GMAIL).cost == Decimal("5.5")


@pytest.mark.parametrize(
    "reply",
    [
        {"id": "1"},
        {"mail": "a@gmail.com"},
        {"id": None, "mail": "a@gmail.com"},
        {"id": True, "mail": "a@gmail.com"},
        {"id": 1.5, "mail": "a@gmail.com"},
        {"id": "12 ab!", "mail": "a@gmail.com"},
        {"id": "1", "mail": "no-at-sign"},
        {"id": "1", "mail": ["a@gmail.com"]},
        {"id": "1", "mail": "a@b.c", "cost": "free"},
    ],
)
def test_a_wrong_buy_reply_is_bad_response(fake, client, reply):
    fake.next_response("mailbox-get-email", json.dumps({"status": "OK", **reply}))
    with pytest.raises(BadResponse):
        client.email_buy(GMAIL)
