"""Golden bytes of every email_handler.php action and error row, for GET, POST with a form body
and POST with the query string only: body, content type and HTTP 200, exactly (the shapes decided
in upstream.providers.otpget_email_wire). Values the server assigns come from the database.

Server 1 is the sandbox in slot 1, Server 2 the sandbox in slot 2; e-mails are sold at +20 %
(an e-mail markup rule; the general one is +10 %). Only ig, tg and ds are left enabled as Server
1 services so the lists stay short: ig and tg have the sandbox's own price on gmail.com, ds the
domain's any-site price."""

from decimal import Decimal

import pytest

from reseller.models import EmailOrder, EmailServer
from reseller.protocol.render import php_json
from tests.reseller.conftest import balance_of
from tests.reseller.emails import support
from tests.reseller.emails.support import METHODS, deliver
from upstream.models import EmailOffer, EmailService, Provider

pytestmark = pytest.mark.django_db
eh, mail_servers = support.eh, support.mail_servers  # fixtures
SERVICES = ("ds", "ig", "tg")


@pytest.fixture
def shop(mail_servers):
    EmailService.objects.exclude(code__in=SERVICES).update(enabled=False)
    return mail_servers


@pytest.fixture
def key(customer_with_key):
    return customer_with_key(balance="5000.00")[1]


def expect(response, body: str) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == body.encode(), response.content


def stock(slot: int, domain: str, service: str = "") -> int:
    return EmailOffer.objects.get(provider__slot=slot, domain=domain, service=service).stock


def error(status: str, message: str) -> str:
    return f'{{"status":"{status}","message":"{message}"}}'


# --- getEmailServices ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "params", [{}, {"server": "1"}, {"server": "1", "domain": "gmail.com"}, {"domain": "GMAIL.com"}]
)
def test_services_of_server_1_on_gmail(shop, key, eh, method, params):
    body = (
        '{"status":"200","services":['
        f'{{"service_code":"ds","service_name":"Discord","price":18.72,"count":{stock(1, "gmail.com")}}},'
        f'{{"service_code":"ig","service_name":"Instagram","price":144.00,"count":{stock(1, "gmail.com", "ig")}}},'
        f'{{"service_code":"tg","service_name":"Telegram","price":114.00,"count":{stock(1, "gmail.com", "tg")}}}]}}'
    )
    expect(eh(key, "getEmailServices", method=method, **params), body)


@pytest.mark.parametrize("method", METHODS)
def test_services_of_server_1_on_other_domains(shop, key, eh, method):
    n = stock(1, "outlook.com")
    body = (
        '{"status":"200","services":['
        f'{{"service_code":"ds","service_name":"Discord","price":7.80,"count":{n}}},'
        f'{{"service_code":"ig","service_name":"Instagram","price":7.80,"count":{n}}},'
        f'{{"service_code":"tg","service_name":"Telegram","price":7.80,"count":{n}}}]}}'
    )
    expect(eh(key, "getEmailServices", method=method, server="1", domain="outlook.com"), body)
    expect(
        eh(key, "getEmailServices", method=method, server="1", domain="nosuch.example"),
        '{"status":"200","services":[]}',
    )
    expect(eh(key, "getEmailServices", method=method, server="1", domain="a b"), '{"status":"200","services":[]}')


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("params", [{"server": "2"}, {"server": "2", "site": "telegram.com"}])
def test_domains_of_server_2(shop, key, eh, method, params):
    rows = [
        ("gmail.com", "18.72"),
        ("gmx.com", "1.44"),
        ("mail.com", "1.44"),
        ("outlook.com", "7.80"),
        ("yahoo.com", "10.80"),
    ]
    listed = ",".join(f'{{"domain":"{d}","price":{p},"count":{stock(2, d)}}}' for d, p in rows)
    assert stock(2, "yahoo.com") == 0
    expect(eh(key, "getEmailServices", method=method, **params), f'{{"status":"200","domains":[{listed}]}}')


@pytest.mark.parametrize("method", METHODS)
def test_server_errors(shop, key, eh, method):
    for server in ("3", "0", "x", "12"):
        expect(eh(key, "getEmailServices", method=method, server=server), error("400", "server must be 1 or 2"))
        expect(
            eh(key, "buyEmail", method=method, server=server, service_id="ig"), error("400", "server must be 1 or 2")
        )
    EmailServer.objects.filter(server=1).update(enabled=False)
    expect(eh(key, "getEmailServices", method=method, server="1"), error("503", "Email service disabled"))
    expect(eh(key, "buyEmail", method=method, server="1", service_id="ig"), error("503", "Email service disabled"))
    expect(eh(key, "buyEmail", method=method, server="1", service_id="zz"), error("503", "Email service disabled"))
    Provider.objects.filter(slot=2).update(enabled=False)
    expect(eh(key, "getEmailServices", method=method, server="2"), error("503", "Email service disabled"))
    EmailServer.objects.filter(server=2).delete()
    expect(eh(key, "getEmailServices", method=method, server="2"), error("503", "Email service not configured"))
    expect(
        eh(key, "buyEmail", method=method, server="2", domain="gmail.com"), error("503", "Email service not configured")
    )


# --- buyEmail --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_buy_on_server_1(shop, customer_with_key, eh, method):
    customer, key = customer_with_key(balance="5000.00")
    response = eh(key, "buyEmail", method=method, server="1", service_id="ig", domain="gmail.com")
    order = EmailOrder.objects.get()
    assert order.state == "active" and order.site == "instagram.com" and order.upstream_service == "ig"
    assert balance_of(customer) == Decimal("4856.00")
    expect(
        response,
        f'{{"status":"200","email_id":"{order.pk}","email":"{order.email}","service":"Instagram",'
        '"domain":"gmail.com","price":144.00,"balance":4856.00,"server":1}',
    )
    response = eh(key, "buyEmail", method=method, service_id="ds")  # server 1 and gmail.com by default
    order = EmailOrder.objects.order_by("-id").first()
    assert order.site == "discord.com" and order.upstream_service == ""
    expect(
        response,
        f'{{"status":"200","email_id":"{order.pk}","email":"{order.email}","service":"Discord",'
        '"domain":"gmail.com","price":18.72,"balance":4837.28,"server":1}',
    )


@pytest.mark.parametrize("method", METHODS)
def test_buy_on_server_2(shop, customer_with_key, eh, method):
    customer, key = customer_with_key(balance="5000.00")
    response = eh(key, "buyEmail", method=method, server="2", domain="mail.com", site="telegram.com")
    order = EmailOrder.objects.get()
    assert order.provider.slot == 2 and order.site == "telegram.com" and order.email.endswith("@mail.com")
    expect(
        response,
        f'{{"status":"200","email_id":"{order.pk}","email":"{order.email}","service":"Email Activation",'
        '"domain":"mail.com","price":1.44,"balance":4998.56,"server":2}',
    )


@pytest.mark.parametrize("method", METHODS)
def test_buy_errors(shop, customer_with_key, eh, method):
    customer, key = customer_with_key(balance="5000.00")
    expect(eh(key, "buyEmail", method=method, server="1"), error("400", "service_id is required"))
    expect(eh(key, "buyEmail", method=method, service_id=" "), error("400", "service_id is required"))
    expect(eh(key, "buyEmail", method=method, server="2"), error("400", "domain is required"))
    expect(eh(key, "buyEmail", method=method, service_id="zz"), error("404", "Service not available"))
    expect(eh(key, "buyEmail", method=method, service_id="oi"), error("404", "Service not available"))  # switched off
    expect(
        eh(key, "buyEmail", method=method, service_id="ig", domain="nosuch.example"),
        error("404", "Service not available"),
    )
    expect(eh(key, "buyEmail", method=method, service_id="ig", domain="yahoo.com"), error("404", "No stock available"))
    expect(eh(key, "buyEmail", method=method, server="2", domain="yahoo.com"), error("404", "No stock available"))
    expect(eh(key, "buyEmail", method=method, server="2", domain="x"), error("404", "Service not available"))
    _, poor = customer_with_key(balance="100.00")
    expect(
        eh(poor, "buyEmail", method=method, service_id="ig"),
        error("402", "Insufficient balance. Need: 144.00 \\u2014 Have: 100.00"),
    )
    assert balance_of(customer) == Decimal("5000.00") and not EmailOrder.objects.exists()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "fail,body",
    [
        ("error", error("500", "API connection error")),
        ("unavailable", error("500", "API connection error")),
        ("timeout", error("500", "API connection error")),
        ("garbage", error("500", "API connection error")),
        ("no_numbers", error("500", "No email available")),
    ],
)
def test_buy_when_the_upstream_fails(shop, customer_with_key, eh, method, fail, body):
    customer, key = customer_with_key(balance="5000.00")
    Provider.objects.filter(slot=1).update(config={**support.NO_LETTER, "fail": fail, "fail_actions": ["email_buy"]})
    expect(eh(key, "buyEmail", method=method, service_id="ig"), body)
    assert balance_of(customer) == Decimal("5000.00")


# --- getEmailCode, cancelEmail ---------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_code_waiting_received_and_cancel_returns_it(shop, customer_with_key, eh, method):
    customer, key = customer_with_key(balance="5000.00")
    eh(key, "buyEmail", method=method, service_id="ig")
    order = EmailOrder.objects.get()
    expect(
        eh(key, "getEmailCode", method=method, email_id=str(order.pk)),
        '{"status":"202","message":"Waiting for code..."}',
    )
    deliver(order)
    letter = order.letters.get()
    assert letter.code in letter.text and len(letter.code) == 6
    message = (
        f'{{"id":"{letter.pk}","from":{php_json(letter.sender)},"subject":{php_json(letter.subject)},'
        f'"code":"{letter.code}","text":{php_json(letter.text)},'
        f'"received_at":"{support.utc(letter.received_at or letter.created_at)}"}}'
    )
    expect(
        eh(key, "getEmailCode", method=method, email_id=str(order.pk), server="1"),
        f'{{"status":"200","email_id":"{order.pk}","email":"{order.email}","messages":[{message}]}}',
    )
    expect(
        eh(key, "cancelEmail", method=method, email_id=str(order.pk)),
        f'{{"status":"200","message":"Code already received.","code":"{letter.code}","messages":[{message}]}}',
    )
    assert balance_of(customer) == Decimal("4856.00")


@pytest.mark.parametrize("method", METHODS)
def test_cancel_while_waiting_refunds(shop, customer_with_key, eh, method):
    customer, key = customer_with_key(balance="5000.00")
    eh(key, "buyEmail", method=method, server="2", domain="gmail.com")
    order = EmailOrder.objects.get()
    expect(
        eh(key, "cancelEmail", method=method, email_id=str(order.pk)),
        '{"status":"200","message":"Email activation cancelled. Balance refunded.","refunded":18.72,"balance":5000.00}',
    )
    cancelled = '{"status":"300","message":"Cancelled"}'
    expect(eh(key, "cancelEmail", method=method, email_id=str(order.pk)), cancelled)
    expect(eh(key, "getEmailCode", method=method, email_id=str(order.pk)), cancelled)
    assert balance_of(customer) == Decimal("5000.00")


@pytest.mark.parametrize("method", METHODS)
def test_cancel_when_the_upstream_fails_changes_nothing(shop, customer_with_key, eh, method):
    customer, key = customer_with_key(balance="5000.00")
    eh(key, "buyEmail", method=method, service_id="ig")
    order = EmailOrder.objects.get()
    Provider.objects.filter(slot=1).update(
        config={**support.NO_LETTER, "fail": "error", "fail_actions": ["email_cancel"]}
    )
    expect(eh(key, "cancelEmail", method=method, email_id=str(order.pk)), error("500", "API connection error"))
    order.refresh_from_db()
    assert order.state == "active" and balance_of(customer) == Decimal("4856.00")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("action", ["getEmailCode", "cancelEmail"])
def test_order_errors(shop, customer_with_key, eh, method, action):
    other, other_key = customer_with_key(balance="5000.00")
    eh(other_key, "buyEmail", method=method, service_id="ig")
    theirs = EmailOrder.objects.get()
    _, key = customer_with_key(balance="5000.00")
    expect(eh(key, action, method=method), error("400", "email_id is required"))
    expect(eh(key, action, method=method, email_id=""), error("400", "email_id is required"))
    for email_id in (str(theirs.pk), "999999", "abc", "1.5", "-1", "9" * 30):
        expect(eh(key, action, method=method, email_id=email_id), error("404", "Email activation not found"))
    assert EmailOrder.objects.get().state == "active"


# --- getEmailHistory -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_history(shop, customer_with_key, eh, method):
    _, key = customer_with_key(balance="5000.00")
    expect(eh(key, "getEmailHistory", method=method), '{"status":"200","page":1,"per_page":20,"total":0,"history":[]}')
    eh(key, "buyEmail", method=method, service_id="ig")
    eh(key, "buyEmail", method=method, server="2", domain="mail.com")
    first, second = EmailOrder.objects.order_by("id")
    deliver(first)
    code = first.letters.get().code
    eh(key, "cancelEmail", method=method, email_id=str(second.pk))
    rows = (
        f'{{"email_id":"{second.pk}","email_address":"{second.email}","service":"Email Activation","domain":"mail.com",'
        f'"price":1.44,"status":"cancelled","code":"","server":2,"created_at":"{support.utc(second.created_at)}"}},'
        f'{{"email_id":"{first.pk}","email_address":"{first.email}","service":"Instagram","domain":"gmail.com",'
        f'"price":144.00,"status":"completed","code":"{code}","server":1,"created_at":"{support.utc(first.created_at)}"}}'
    )
    page = f'{{"status":"200","page":1,"per_page":20,"total":2,"history":[{rows}]}}'
    for params in ({}, {"page": "1"}, {"page": "0"}, {"page": "x"}):
        expect(eh(key, "getEmailHistory", method=method, **params), page)
    expect(
        eh(key, "getEmailHistory", method=method, page="2"),
        '{"status":"200","page":2,"per_page":20,"total":2,"history":[]}',
    )


def test_history_pages_20_newest_first(shop, customer_with_key, eh):
    _, key = customer_with_key(balance="5000.00")
    for _ in range(21):
        eh(key, "buyEmail", server="2", domain="mail.com")
    import json

    one = json.loads(eh(key, "getEmailHistory").content)
    two = json.loads(eh(key, "getEmailHistory", page="2").content)
    assert len(one["history"]) == 20 and len(two["history"]) == 1 and one["total"] == 21
    ids = [int(h["email_id"]) for h in one["history"] + two["history"]]
    assert ids == sorted(ids, reverse=True) and all(h["status"] == "waiting" for h in one["history"])
