"""Full e-mail flows through email_handler.php over HTTP on each upstream fake (a Kopeechka-style
API, OTPGet's email_handler.php): buy → the letter arrives upstream → the letter sync → getEmailCode
200 → charged once; buy → cancel → refunded (and cancelled upstream); buy → expiry → refunded (and
cancelled upstream); a letter after our expiry is our loss; the upstream's own expiry refunds."""

import json
from decimal import Decimal

import pytest

from billing.markup import markup_set
from billing.models import Transfer
from reseller.emails.lifecycle import email_forward_cancel, emails_expire_due, emails_sync
from reseller.models import EmailOrder
from tests.reseller.conftest import account, balance_of
from tests.reseller.emails import support
from tests.reseller.emails.fake_flows_support import CODE, start, wire
from tests.reseller.emails.support import expire

pytestmark = pytest.mark.django_db
eh = support.eh
UPSTREAMS = ["otpget-email", "kopeechka"]


@pytest.fixture(params=UPSTREAMS)
def upstream(request):
    fake, up = start(request.param)
    with fake:
        markup_set(scope="global", percent="20", product="email")
        wire(up)
        yield up


def reply(response) -> dict:
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return json.loads(response.content)


def buy(eh, key, **params) -> tuple[dict, EmailOrder]:
    body = reply(eh(key, "buyEmail", **params))
    assert body["status"] == "200", body
    return body, EmailOrder.objects.get(pk=int(body["email_id"]))


def captures(order) -> int:
    return Transfer.objects.filter(order_kind="email", order_pk=order.pk, kind="capture").count()


def test_a_letter_arrives_through_the_sync_and_is_charged_once(upstream, customer_with_key, eh):
    customer, key = customer_with_key(balance="1000.00")
    body, order = buy(eh, key, server="1", service_id="ig", domain="gmail.com")
    assert body["email"] == order.email and "@" in order.email and body["server"] == 1
    assert Decimal(str(body["price"])) == order.price == (order.cost_pkr * Decimal("1.2")).quantize(Decimal("0.01"))
    assert reply(eh(key, "getEmailCode", email_id=body["email_id"])) == {
        "status": "202",
        "message": "Waiting for code...",
    }
    upstream.letter(order.upstream_id)
    emails_sync(provider_id=order.provider_id)
    code = reply(eh(key, "getEmailCode", email_id=body["email_id"]))
    assert code["status"] == "200" and code["messages"][0]["code"] == CODE, code
    assert CODE in code["messages"][0]["text"]
    emails_sync(provider_id=order.provider_id)
    assert captures(order) == 1 and balance_of(customer) == Decimal("1000.00") - order.price
    cancel = reply(eh(key, "cancelEmail", email_id=body["email_id"]))
    assert cancel["status"] == "200" and cancel["code"] == CODE
    assert captures(order) == 1 and balance_of(customer) == Decimal("1000.00") - order.price


def test_cancel_refunds_and_cancels_upstream(upstream, customer_with_key, eh):
    customer, key = customer_with_key(balance="1000.00")
    body, order = buy(eh, key, server="2", domain="mail.com", site="telegram.org")
    cancel = reply(eh(key, "cancelEmail", email_id=body["email_id"]))
    assert cancel["status"] == "200" and Decimal(str(cancel["refunded"])) == order.price, cancel
    assert balance_of(customer) == Decimal("1000.00") and upstream.refunded(order.upstream_id)
    assert reply(eh(key, "getEmailCode", email_id=body["email_id"]))["status"] == "300"


def test_expiry_refunds_and_cancels_upstream(upstream, customer_with_key, eh, django_capture_on_commit_callbacks):
    customer, key = customer_with_key(balance="1000.00")
    body, order = buy(eh, key, server="1", service_id="tg")
    expire(order)
    with django_capture_on_commit_callbacks(execute=True):
        assert emails_expire_due() == 1
    order.refresh_from_db()
    assert order.state == "expired" and order.upstream_pending == ""
    assert balance_of(customer) == Decimal("1000.00") and upstream.refunded(order.upstream_id)
    assert reply(eh(key, "getEmailCode", email_id=body["email_id"]))["status"] == "300"


def test_a_letter_after_our_expiry_is_our_loss(upstream, customer_with_key, eh):
    customer, key = customer_with_key(balance="1000.00")
    body, order = buy(eh, key, server="2", domain="gmail.com")
    expire(order)
    emails_expire_due()  # the cancel forward has not run: the letter lands upstream first
    upstream.letter(order.upstream_id)
    losses = account("losses")
    assert email_forward_cancel(order_id=order.pk).startswith("a letter came after the customer's refund")
    assert account("losses") == losses + order.cost_pkr
    assert balance_of(customer) == Decimal("1000.00") and captures(order) == 0
    assert reply(eh(key, "getEmailCode", email_id=body["email_id"]))["status"] == "300"


def test_the_upstreams_own_expiry_refunds(upstream, customer_with_key, eh):
    customer, key = customer_with_key(balance="1000.00")
    body, order = buy(eh, key, server="2", domain="mail.com")
    upstream.advance(1201)
    emails_sync(provider_id=order.provider_id)
    order.refresh_from_db()
    assert order.state == "expired" and balance_of(customer) == Decimal("1000.00")
    assert reply(eh(key, "cancelEmail", email_id=body["email_id"]))["status"] == "300"


def test_an_upstream_without_money_sells_nothing(upstream, customer_with_key, eh):
    customer, key = customer_with_key(balance="1000.00")
    upstream.fake.balance = "0"
    body = reply(eh(key, "buyEmail", server="2", domain="mail.com"))
    assert body == {"status": "500", "message": "API connection error"}
    assert balance_of(customer) == Decimal("1000.00")
