"""Every activation flow end to end through the wire, with the money checked
after each (and ledger_verify by the autouse fixture)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from reseller.activations.lifecycle import activations_expire_due
from reseller.activations.reconcile import provider_reconcile
from reseller.models import Activation
from tests.reseller.conftest import account, age, balance_of, deliver_sms
from upstream.models import Offer, SandboxActivation

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(customer_with_key):
    return customer_with_key(balance="1000.00")


def buy(api, key, service="tg", country="22", **extra) -> Activation:
    reply = api(key, "getNumber", service=service, country=country, **extra)
    assert reply.startswith("ACCESS_NUMBER:"), reply
    _, activation_id, phone = reply.split(":")
    activation = Activation.objects.get(pk=int(activation_id))
    assert activation.phone == phone and phone.isdigit()
    return activation


def test_finish_charges_price_and_books_cost(sandbox, api, buyer):
    customer, key = buyer
    a = buy(api, key)
    assert a.state == "active" and a.price > 0
    assert balance_of(customer) == Decimal("1000.00") - a.price
    assert api(key, "getStatus", id=a.pk) == "STATUS_WAIT_CODE"
    deliver_sms(a)
    a.refresh_from_db()
    assert api(key, "getStatus", id=a.pk) == f"STATUS_OK:{a.code}"
    assert api(key, "setStatus", id=a.pk, status="6") == "ACCESS_ACTIVATION"
    assert api(key, "getStatus", id=a.pk) == "STATUS_CANCEL"
    assert balance_of(customer) == Decimal("1000.00") - a.price
    assert account("revenue") == a.price
    assert account("upstream_cost") == a.cost_pkr
    assert SandboxActivation.objects.get(pk=int(a.upstream_id)).status == "finished"


def test_cancel_after_grace_refunds_and_cancels_upstream(sandbox, api, buyer):
    customer, key = buyer
    a = buy(api, key)
    assert api(key, "setStatus", id=a.pk, status="8") == "EARLY_CANCEL_DENIED"
    age(a, 121)
    assert api(key, "setStatus", id=a.pk, status="8") == "ACCESS_CANCEL"
    assert api(key, "getStatus", id=a.pk) == "STATUS_CANCEL"
    assert balance_of(customer) == Decimal("1000.00")
    assert SandboxActivation.objects.get(pk=int(a.upstream_id)).status == "cancelled"
    a.refresh_from_db()
    assert a.upstream_pending == ""
    assert api(key, "setStatus", id=a.pk, status="8") == "STATUS_ALREADY_CHANGED"
    assert api(key, "setStatus", id=a.pk, status="-1") == "STATUS_ALREADY_CHANGED"


def test_minus_one_cancels_too(sandbox, api, buyer):
    customer, key = buyer
    a = buy(api, key)
    age(a, 130)
    assert api(key, "setStatus", id=a.pk, status="-1") == "ACCESS_CANCEL"
    assert balance_of(customer) == Decimal("1000.00")


def test_complete_before_sms_is_refused(sandbox, api, buyer):
    _, key = buyer
    a = buy(api, key)
    assert api(key, "setStatus", id=a.pk, status="6") == "NO_SMS_RECEIVED"
    assert api(key, "setStatus", id=a.pk, status="3") == "NO_SMS_RECEIVED"
    assert api(key, "setStatus", id=a.pk, status="1") == "ACCESS_READY"


def test_expiry_without_sms_refunds(sandbox, api, buyer):
    customer, key = buyer
    a = buy(api, key)
    age(a, 1201)
    assert activations_expire_due() == 1
    a.refresh_from_db()
    assert a.state == "expired"
    assert api(key, "getStatus", id=a.pk) == "STATUS_CANCEL"
    assert balance_of(customer) == Decimal("1000.00")
    assert account("revenue") == 0


def test_expiry_with_sms_finishes_charged(sandbox, api, buyer):
    customer, key = buyer
    a = buy(api, key)
    deliver_sms(a)
    age(a, 1201)
    assert activations_expire_due() == 1
    a.refresh_from_db()
    assert a.state == "finished"
    assert balance_of(customer) == Decimal("1000.00") - a.price
    assert account("revenue") == a.price


def test_retry_gets_another_code_charged_once(sandbox, api, buyer):
    customer, key = buyer
    a = buy(api, key)
    deliver_sms(a)
    a.refresh_from_db()
    first = a.code
    assert api(key, "setStatus", id=a.pk, status="3") == "ACCESS_RETRY_GET"
    assert api(key, "getStatus", id=a.pk) == f"STATUS_WAIT_RETRY:{first}"
    deliver_sms(a)
    a.refresh_from_db()
    assert a.state == "code_received" and a.code and a.code != first
    assert api(key, "getStatus", id=a.pk) == f"STATUS_OK:{a.code}"
    assert api(key, "setStatus", id=a.pk, status="6") == "ACCESS_ACTIVATION"
    assert balance_of(customer) == Decimal("1000.00") - a.price
    assert account("revenue") == a.price


def test_cancel_after_code_finishes_charged(sandbox, api, buyer):
    customer, key = buyer
    a = buy(api, key)
    deliver_sms(a)
    age(a, 200)
    assert api(key, "setStatus", id=a.pk, status="8") == "ACCESS_CANCEL"
    a.refresh_from_db()
    assert a.state == "finished"
    assert balance_of(customer) == Decimal("1000.00") - a.price


def test_upstream_error_on_buy_charges_nothing(sandbox, api, buyer):
    customer, key = buyer
    sandbox.config = {**sandbox.config, "fail": "error"}
    sandbox.save(update_fields=["config"])
    assert api(key, "getNumber", service="tg", country="22") == "ERROR_PROVIDER_1:ERROR_SQL"
    assert balance_of(customer) == Decimal("1000.00")
    assert Activation.objects.get().state == "failed"


def test_upstream_timeout_on_buy_is_reconciled(sandbox, api, buyer):
    customer, key = buyer
    sandbox.config = {**sandbox.config, "fail": "timeout"}
    sandbox.save(update_fields=["config"])
    assert api(key, "getNumber", service="tg", country="22") == "ERROR_PROVIDER_1:TIMEOUT"
    a = Activation.objects.get()
    assert (a.state, a.upstream_pending) == ("unknown", "reconcile")
    assert balance_of(customer) == Decimal("1000.00")
    orphan = SandboxActivation.objects.get()  # the sandbox really sold a number
    assert orphan.status == "waiting"
    report = provider_reconcile(provider_id=sandbox.pk)
    assert report["orphans"] == 1 and report["cancelled"] == 1 and report["losses"] == 0
    orphan.refresh_from_db()
    a.refresh_from_db()
    assert orphan.status == "cancelled"
    assert a.upstream_pending == "" and a.upstream_id == str(orphan.pk)


def test_orphan_with_code_is_booked_as_loss(sandbox, api, buyer):
    _, key = buyer
    sandbox.config = {**sandbox.config, "fail": "timeout", "sms_delay_seconds": 0}
    sandbox.save(update_fields=["config"])
    api(key, "getNumber", service="tg", country="22")
    a = Activation.objects.get()
    report = provider_reconcile(provider_id=sandbox.pk)
    assert report["losses"] == 1
    assert account("losses") == a.cost_pkr


def test_no_numbers_for_zero_stock_service(sandbox, api, buyer):
    customer, key = buyer
    assert api(key, "getNumber", service="ot", country="22") == "NO_NUMBERS"
    assert balance_of(customer) == Decimal("1000.00")


def test_no_balance(sandbox, api, customer_with_key):
    customer, key = customer_with_key(balance="0.01")
    assert api(key, "getNumber", service="tg", country="22") == "NO_BALANCE"
    assert not Activation.objects.exists()


def test_max_price_too_low(sandbox, api, buyer):
    _, key = buyer
    offer = Offer.objects.get(provider=sandbox, service__code="tg", country_id=22)
    price = sandbox.to_pkr(offer.cost)  # no markup rules: sell price = cost
    assert api(key, "getNumber", service="tg", country="22", maxPrice="0.01") == f"WRONG_MAX_PRICE:{price}"
    assert buy(api, key, maxPrice=str(price)).price == price


def test_order_id_never_buys_twice(sandbox, api, buyer):
    customer, key = buyer
    first = api(key, "getNumberV2", service="tg", country="22", orderId="my-order-1")
    assert first.startswith('{"activationId":')
    assert api(key, "getNumberV2", service="tg", country="22", orderId="my-order-1") == "ORDER_ALREADY_EXISTS"
    assert Activation.objects.count() == 1 and SandboxActivation.objects.count() == 1


def test_other_customers_activation_is_no_activation(sandbox, api, buyer, customer_with_key):
    _, key = buyer
    a = buy(api, key)
    _, other = customer_with_key(balance="10")
    assert api(other, "getStatus", id=a.pk) == "NO_ACTIVATION"
    assert api(other, "setStatus", id=a.pk, status="8") == "NO_ACTIVATION"
    assert api(other, "getStatus", id="999999") == "NO_ACTIVATION"


def test_type_selects_one_provider_only(sandbox, api, buyer):
    _, key = buyer
    assert buy(api, key, type="1").provider_id == sandbox.pk
    assert api(key, "getNumber", service="tg", country="22", type="2") == "BAD_TYPE"
    assert api(key, "getNumber", service="tg", country="22", type="7") == "BAD_TYPE"
    assert api(key, "getNumber", service="tg", country="22", type="x") == "BAD_TYPE"
    sandbox.enabled = False
    sandbox.save(update_fields=["enabled"])
    assert api(key, "getNumber", service="tg", country="22", type="1") == "BAD_TYPE"


def test_service_by_numeric_id(sandbox, api, buyer):
    from upstream.models import Service

    _, key = buyer
    tg = Service.objects.get(code="tg")
    assert buy(api, key, service=str(tg.pk)).service_id == tg.pk


def _stale_catalogue(sandbox, real_cost: str) -> Offer:
    """The upstream now charges `real_cost` (and cannot be capped); our offer still says less."""
    offer = Offer.objects.get(provider=sandbox, service__code="tg", country_id=22)
    sandbox.config = {
        **sandbox.config,
        "ignore_max_price": True,
        "prices": {"22": {"tg": {"cost": real_cost, "count": 5}}},
    }
    sandbox.save(update_fields=["config"])
    return offer


def test_price_change_covered_grows_the_hold(sandbox, api, buyer):
    customer, key = buyer
    offer = _stale_catalogue(sandbox, "200.00")
    assert offer.cost < Decimal("200.00")
    a = buy(api, key)
    assert (a.price, a.cost_pkr) == (Decimal("200.00"), Decimal("200.00"))
    assert balance_of(customer) == Decimal("800.00")
    deliver_sms(a)
    assert api(key, "setStatus", id=a.pk, status="6") == "ACCESS_ACTIVATION"
    assert balance_of(customer) == Decimal("800.00") and account("revenue") == Decimal("200.00")


def test_price_change_not_covered_cancels_with_error(sandbox, api, customer_with_key):
    customer, key = customer_with_key(balance="150.00")
    _stale_catalogue(sandbox, "900.00")
    assert api(key, "getNumber", service="tg", country="22") == "ERROR_PRICE_CHANGE"
    assert balance_of(customer) == Decimal("150.00")
    a = Activation.objects.get()
    assert a.state == "failed"
    assert SandboxActivation.objects.get(pk=int(a.upstream_id)).status == "cancelled"


def test_garbage_reply_to_a_purchase_checked_absent_is_a_plain_failure(sandbox, api, buyer):
    """The sandbox's garbage sells nothing; the immediate check of its active list proves it."""
    customer, key = buyer
    sandbox.config = {**sandbox.config, "fail": "garbage"}
    sandbox.save(update_fields=["config"])
    reply = api(key, "getNumber", service="tg", country="22")
    assert reply.startswith("ERROR_PROVIDER_1:")
    a = Activation.objects.get()
    assert (a.state, a.upstream_pending) == ("failed", "")
    assert balance_of(customer) == Decimal("1000.00")


def test_garbage_reply_to_a_purchase_whose_check_fails_is_an_unknown_outcome(sandbox, api, buyer):
    customer, key = buyer
    sandbox.config = {**sandbox.config, "fail": "garbage", "fail_actions": ["buy", "active_activations"]}
    sandbox.save(update_fields=["config"])
    reply = api(key, "getNumber", service="tg", country="22")
    assert reply.startswith("ERROR_PROVIDER_1:")
    a = Activation.objects.get()
    assert (a.state, a.upstream_pending) == ("unknown", "reconcile")
    sandbox.config = {**sandbox.config, "fail": ""}
    sandbox.save(update_fields=["config"])
    assert balance_of(customer) == Decimal("1000.00")
    # Nothing turned up upstream within a lifetime: closed as not bought.
    Activation.objects.filter(pk=a.pk).update(created_at=a.created_at - timedelta(seconds=1600))
    assert provider_reconcile(provider_id=sandbox.pk)["closed"] == 1
    a.refresh_from_db()
    assert a.upstream_pending == ""


def test_failover_to_a_pricier_provider_the_wallet_cannot_cover(sandbox, api, customer_with_key):
    from upstream.services import catalogue_sync, provider_add

    second = provider_add(
        slot=2,
        protocol="sandbox",
        url="",
        api_key="",
        config={"sms_delay_seconds": 3600, "prices": {"22": {"tg": {"cost": "500.00", "count": 5}}}},
    )
    catalogue_sync(provider=second)
    sandbox.config = {**sandbox.config, "fail": "no_numbers"}
    sandbox.save(update_fields=["config"])
    customer, key = customer_with_key(balance="200.00")
    assert api(key, "getNumber", service="tg", country="22") == "NO_BALANCE"
    a = Activation.objects.get()
    assert a.state == "failed"
    assert balance_of(customer) == Decimal("200.00")
    assert not SandboxActivation.objects.exists()


def test_failover_to_the_next_provider_on_no_numbers(sandbox, api, buyer):
    from upstream.services import catalogue_sync, provider_add

    second = provider_add(
        slot=2,
        protocol="sandbox",
        url="",
        api_key="",
        config={"sms_delay_seconds": 3600, "prices": {"22": {"tg": {"cost": "150.00", "count": 5}}}},
    )
    catalogue_sync(provider=second)
    sandbox.config = {**sandbox.config, "fail": "no_numbers"}
    sandbox.save(update_fields=["config"])
    customer, key = buyer
    a = buy(api, key)
    assert a.provider_id == second.pk and a.price == Decimal("150.00")
    assert balance_of(customer) == Decimal("850.00")
    assert api(key, "getNumber", service="tg", country="22", type="1") == "NO_NUMBERS"  # type=1 never falls over


def test_a_late_answer_is_cancelled_by_its_id(sandbox, api, buyer, monkeypatch):
    """The upstream answers only after the sweeper closed the order as unknown: the number
    is not handed out; its id is kept and reconciliation cancels it directly."""
    from reseller.activations import purchase

    customer, key = buyer
    original = purchase._buy

    def slow_buy(activation, candidate, req):
        bought = original(activation, candidate, req)
        Activation.objects.filter(pk=activation.pk).update(state="unknown", upstream_pending="reconcile")
        return bought  # meanwhile the sweeper gave up on it

    monkeypatch.setattr(purchase, "_buy", slow_buy)
    assert api(key, "getNumber", service="tg", country="22") == "ERROR_PROVIDER_1:TIMEOUT"
    a = Activation.objects.get()
    assert a.state == "unknown" and a.upstream_id
    assert provider_reconcile(provider_id=sandbox.pk)["cancelled"] == 1
    assert SandboxActivation.objects.get(pk=int(a.upstream_id)).status == "cancelled"
    a.refresh_from_db()
    assert a.upstream_pending == ""
    assert balance_of(customer) == Decimal("1000.00")
