"""Golden bytes of the remaining handler_api.php actions: the price lists (getPricesExtended,
getPricesVerification, getTopCountriesByServiceRank, getListOfTopCountriesByService), the voice-call
actions (getIncomingCallStatus, parseCall), getMultiServiceNumber and get/checkExtraActivation
(against the sandbox, which supports neither, and against the SMS-Activate fake, which does), and
buyPartnerProduct's BAD_ACTION. Expected bodies live in golden/handler_api/; `$`-names stand for
values the server assigns."""

from decimal import Decimal
from string import Template

import pytest

from billing.services import markup_set
from billing.verify import ledger_verify
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.conftest import account, age, balance_of, deliver_sms
from tests.reseller.protocol import test_handler_api_golden as golden
from upstream.models import Provider
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db
GOLDEN, JSON, TEXT, buy = golden.GOLDEN, golden.JSON, golden.TEXT, golden.buy
shop, key, call = golden.shop, golden.key, golden.call  # the fixtures of the first golden file


def expect(response, case: str, **values) -> None:
    body = Template((GOLDEN / f"{case}.txt").read_text()).substitute(values)
    assert response.status_code == 200
    assert response.content == body.encode(), (case, response.content)
    assert response["Content-Type"] == (JSON if body[:1] in "{[" else TEXT)


# --- price lists ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action,params,case",
    [
        ("getPricesExtended", {}, "getPricesExtended"),
        ("getPricesExtended", {"freePrice": "true"}, "getPricesExtended"),
        ("getPricesExtended", {"service": "tg", "country": "22", "type": "2"}, "getPricesExtended_tg_22_type2"),
        ("getPricesExtended", {"service": "ot"}, "getPrices_empty"),
        ("getPricesExtended", {"service": "zz"}, "BAD_SERVICE"),
        ("getPricesExtended", {"country": "999"}, "BAD_COUNTRY"),
        ("getPricesVerification", {}, "getPricesVerification"),
        ("getPricesVerification", {"service": "wa"}, "getPricesVerification_wa"),
        ("getPricesVerification", {"service": "ot"}, "getPrices_empty"),
        ("getPricesVerification", {"service": "zz"}, "BAD_SERVICE"),
        ("getTopCountriesByServiceRank", {"service": "tg"}, "getTopCountriesByService"),
        ("getTopCountriesByServiceRank", {"service": "tg", "freePrice": "true"}, "getTopCountriesByService_freePrice"),
        ("getTopCountriesByServiceRank", {}, "BAD_SERVICE"),
        ("getListOfTopCountriesByService", {"service": "tg"}, "empty_array"),
        ("getListOfTopCountriesByService", {}, "WRONG_SERVICE"),
        ("getListOfTopCountriesByService", {"service": "zz"}, "WRONG_SERVICE"),
        ("buyPartnerProduct", {"productId": "1"}, "bad_action"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_price_lists(shop, key, call, action, params, case, method):
    expect(call(key, action, method=method, **params), case)


def test_list_of_top_countries_counts_every_customers_purchases(shop, key, call, customer_with_key):
    _, other = customer_with_key(balance="500.00")
    india = [buy(call, key), buy(call, other), buy(call, key)]
    pakistan = call(key, "getNumber", service="tg", country="66")
    assert pakistan.content.startswith(b"ACCESS_NUMBER:")
    deliver_sms(india[0])
    call(key, "getNumber", service="ot", country="22")  # NO_NUMBERS: no purchase, not counted
    expect(call(key, "getListOfTopCountriesByService", service="tg"), "getListOfTopCountriesByService")
    expect(call(key, "getListOfTopCountriesByService", service="101", length="1", page="2"), "getListOfTopCountries_p2")
    expect(call(key, "getListOfTopCountriesByService", service="wa"), "empty_array")


# --- voice calls ------------------------------------------------------------------------------


def test_call_actions_without_calls(shop, key, call):
    live = buy(call, key)
    expect(call(key, "getIncomingCallStatus", activationId=live.pk), "getIncomingCallStatus_2")
    expect(call(key, "parseCall", id=live.pk, newLang="en"), "NO_CALL")
    deliver_sms(live)
    expect(call(key, "getIncomingCallStatus", activationId=live.pk), "getIncomingCallStatus_2")
    call(key, "setStatus", id=live.pk, status="6")
    expect(call(key, "getIncomingCallStatus", activationId=live.pk), "getIncomingCallStatus_3")
    expect(call(key, "parseCall", id=live.pk, newLang="en"), "WRONG_ACTIVATION_ID")

    cancelled = buy(call, key)
    age(cancelled, 200)
    call(key, "setStatus", id=cancelled.pk, status="8")
    expect(call(key, "getIncomingCallStatus", activationId=cancelled.pk), "getIncomingCallStatus_4")
    expect(call(key, "parseCall", id=cancelled.pk, newLang="en"), "STATUS_CANCEL")


def test_call_actions_on_a_purchase_that_failed(shop, key, call):
    Provider.objects.filter(slot=1).update(config={**shop.config, "fail": "error"})
    expect(call(key, "getNumber", service="tg", country="22", type="1"), "ERROR_PROVIDER")
    failed = Activation.objects.get()
    assert failed.state == Activation.State.FAILED
    expect(call(key, "getIncomingCallStatus", activationId=failed.pk), "getIncomingCallStatus_5")
    expect(call(key, "parseCall", id=failed.pk, newLang="en"), "STATUS_CANCEL")


@pytest.mark.parametrize("params", [{}, {"activationId": ""}, {"activationId": "abc"}, {"activationId": "99999999"}])
def test_incoming_call_status_bad_ids(shop, key, call, params):
    expect(call(key, "getIncomingCallStatus", **params), "INVALID_ACTIVATION_ID")


@pytest.mark.parametrize("params", [{}, {"id": "-1"}, {"id": "9" * 40}, {"id": "99999999"}])
def test_parse_call_bad_ids(shop, key, call, params):
    expect(call(key, "parseCall", newLang="en", **params), "WRONG_ACTIVATION_ID")


def test_call_actions_on_another_customers_activation(shop, key, call, customer_with_key):
    a = buy(call, key)
    _, other = customer_with_key(balance="10")
    expect(call(other, "getIncomingCallStatus", activationId=a.pk), "INVALID_ACTIVATION_ID")
    expect(call(other, "parseCall", id=a.pk), "WRONG_ACTIVATION_ID")


# --- against the sandbox: neither multi-service nor extra activations -------------------------


def test_sandbox_sells_no_multi_service_number(shop, key, call):
    expect(call(key, "getMultiServiceNumber", multiService="tg,wa", country="22"), "NO_NUMBERS")
    assert not Activation.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"multiService": ""},
        {"multiService": "tg,zz"},
        {"multiService": "tg,tg"},
        {"multiService": "tg,101"},
        {"multiService": "tg,,wa"},
        {"multiService": ",".join(["tg"] * 11)},
    ],
)
def test_multi_service_bad_services(shop, key, call, params):
    expect(call(key, "getMultiServiceNumber", country="22", **params), "BAD_SERVICE")
    assert not Activation.objects.exists()


def test_multi_service_bad_country(shop, key, call):
    expect(call(key, "getMultiServiceNumber", multiService="tg,wa", country="999"), "BAD_COUNTRY")


def test_sandbox_number_is_not_available_again(shop, key, call):
    a = buy(call, key)
    for action in ("checkExtraActivation", "getExtraActivation"):
        expect(call(key, action, activationId=a.pk), "RENEW_ACTIVATION_NOT_AVAILABLE")  # no SMS yet
    deliver_sms(a)
    for action in ("checkExtraActivation", "getExtraActivation"):
        expect(call(key, action, activationId=a.pk), "RENEW_ACTIVATION_NOT_AVAILABLE")  # sandbox: no extras
    assert Activation.objects.count() == 1


@pytest.mark.parametrize("params", [{}, {"activationId": ""}, {"activationId": "x"}, {"activationId": "99999999"}])
@pytest.mark.parametrize("action", ["checkExtraActivation", "getExtraActivation"])
def test_extra_activation_bad_parent(shop, key, call, params, action):
    expect(call(key, action, **params), "WRONG_ACTIVATION_ID")


# --- against SMS-Activate (the HTTP fake): both forwarded -------------------------------------


@pytest.fixture
def upstream():
    with FakeSmsActivate(api_key="upstream-key") as fake:
        fake.set_offer(22, "tg", "10.00", 10)
        fake.set_offer(22, "wa", "14.00", 10)
        fake.set_offer(22, "go", "5.00", 0)
        provider = provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key="upstream-key", name="sa")
        catalogue_sync(provider=provider)
        markup_set(scope="global", percent=Decimal("20"))
        fake.clear_calls()
        yield fake, provider


@pytest.fixture
def rich(customer_with_key):
    return customer_with_key(balance="500.00")


def _ids(response) -> list[int]:
    import json

    return [item["activation"] for item in json.loads(response.content)]


def test_multi_service_number_is_one_purchase_and_one_activation_per_service(upstream, rich, call):
    fake, provider = upstream
    customer, key = rich
    response = call(key, "getMultiServiceNumber", multiService="tg,wa", country="22")
    first, second = (Activation.objects.get(pk=pk) for pk in _ids(response))
    expect(response, "getMultiServiceNumber", phone=first.phone, id=first.pk, id2=second.pk)
    assert fake.actions().count("getMultiServiceNumber") == 1
    assert (first.service.code, second.service.code) == ("tg", "wa")
    assert (first.parent_id, second.parent_id) == (None, first.pk)
    assert (first.price, second.price) == (Decimal("12.00"), Decimal("16.80"))
    assert first.phone == second.phone and first.upstream_id != second.upstream_id
    assert balance_of(customer) == Decimal("500.00") - Decimal("28.80")  # two holds

    # Each lives its own life: a code for one, a cancel for the other.
    fake.deliver_sms(first.upstream_id, "11111")
    provider_sync_statuses(provider_id=provider.pk)
    age(second, 200)
    assert call(key, "getStatus", id=first.pk).content == b"STATUS_OK:11111"
    assert call(key, "setStatus", id=first.pk, status="6").content == b"ACCESS_ACTIVATION"
    assert call(key, "setStatus", id=second.pk, status="8").content == b"ACCESS_CANCEL"
    assert balance_of(customer) == Decimal("500.00") - Decimal("12.00")
    assert account("revenue") == Decimal("12.00")
    assert ledger_verify().ok


def test_multi_service_without_balance_for_all_buys_nothing(upstream, call, customer_with_key):
    fake, _ = upstream
    customer, key = customer_with_key(balance="20.00")  # tg 12.00 fits, tg + wa 28.80 does not
    expect(call(key, "getMultiServiceNumber", multiService="tg,wa", country="22"), "NO_BALANCE")
    assert "getMultiServiceNumber" not in fake.actions()
    assert set(Activation.objects.values_list("state", flat=True)) == {"failed"}
    assert balance_of(customer) == Decimal("20.00")
    assert ledger_verify().ok


def test_multi_service_out_of_stock_and_upstream_refusal(upstream, rich, call):
    fake, _ = upstream
    customer, key = rich
    expect(call(key, "getMultiServiceNumber", multiService="tg,go", country="22"), "NO_NUMBERS")  # go: stock 0
    assert not Activation.objects.exists()
    fake.set_offer(22, "wa", "14.00", 0)  # sold out upstream since the catalogue was read
    expect(call(key, "getMultiServiceNumber", multiService="tg,wa", country="22"), "NO_NUMBERS")
    assert fake.actions().count("getMultiServiceNumber") == 1
    assert list(Activation.objects.values_list("state", flat=True)) == ["failed", "failed"]
    assert balance_of(customer) == Decimal("500.00")
    assert ledger_verify().ok


def test_multi_service_unreadable_reply_is_unknown_for_every_row(upstream, rich, call):
    fake, _ = upstream
    customer, key = rich
    fake.next_response("getMultiServiceNumber", "<html>502</html>", status=502)
    expect(call(key, "getMultiServiceNumber", multiService="tg,wa", country="22"), "ERROR_PROVIDER_HTTP_502")
    rows = list(Activation.objects.values_list("state", "upstream_pending"))
    assert rows == [("unknown", "reconcile"), ("unknown", "reconcile")]
    assert balance_of(customer) == Decimal("500.00")


def _succeeded(call, key, fake, provider) -> Activation:
    response = call(key, "getNumber", service="tg", country="22")
    parent = Activation.objects.get(pk=int(response.content.split(b":")[1]))
    fake.deliver_sms(parent.upstream_id, "22222")
    provider_sync_statuses(provider_id=provider.pk)
    parent.refresh_from_db()
    return parent


def test_extra_activation_is_forwarded_charged_and_linked(upstream, rich, call):
    fake, provider = upstream
    customer, key = rich
    parent = _succeeded(call, key, fake, provider)
    assert call(key, "setStatus", id=parent.pk, status="6").content == b"ACCESS_ACTIVATION"
    fake.state.extra_costs["tg"] = Decimal("4.00")
    expect(call(key, "checkExtraActivation", activationId=parent.pk), "checkExtraActivation", phone=parent.phone)
    response = call(key, "getExtraActivation", activationId=parent.pk)
    extra = Activation.objects.get(parent=parent)
    expect(response, "getNumber", id=extra.pk, phone=parent.phone)
    assert (extra.price, extra.cost, extra.service_id, extra.phone) == (
        Decimal("4.80"),
        Decimal("4.0000"),
        parent.service_id,
        parent.phone,
    )
    assert fake.actions().count("checkExtraActivation") == 2 and fake.actions().count("getExtraActivation") == 1
    assert balance_of(customer) == Decimal("500.00") - Decimal("12.00") - Decimal("4.80")

    fake.deliver_sms(extra.upstream_id, "33333")
    provider_sync_statuses(provider_id=provider.pk)
    assert call(key, "getStatus", id=extra.pk).content == b"STATUS_OK:33333"
    assert call(key, "setStatus", id=extra.pk, status="6").content == b"ACCESS_ACTIVATION"
    assert account("revenue") == Decimal("16.80")
    assert ledger_verify().ok


def test_extra_activation_refusals(upstream, rich, call, customer_with_key):
    fake, provider = upstream
    customer, key = rich
    parent = _succeeded(call, key, fake, provider)
    fake.state.sim_offline.add(parent.phone)
    expect(call(key, "checkExtraActivation", activationId=parent.pk), "SIM_OFFLINE")
    fake.state.sim_offline.clear()
    fake.state.extra_impossible.add(parent.phone)
    expect(call(key, "getExtraActivation", activationId=parent.pk), "NEW_ACTIVATION_IMPOSSIBLE")
    fake.state.extra_impossible.clear()
    fake.balance = "1.00"
    expect(call(key, "getExtraActivation", activationId=parent.pk), "ERROR_PROVIDER_NO_BALANCE")
    fake.next_response("checkExtraActivation", "RENEW_ACTIVATION_NOT_AVAILABLE")
    expect(call(key, "checkExtraActivation", activationId=parent.pk), "RENEW_ACTIVATION_NOT_AVAILABLE")
    fake.next_response("getExtraActivation", "RENEW_ACTIVATION_NOT_AVAILABLE")
    fake.balance = "1000"
    expect(call(key, "getExtraActivation", activationId=parent.pk), "RENEW_ACTIVATION_NOT_AVAILABLE")
    assert set(Activation.objects.filter(parent=parent).values_list("state", flat=True)) == {"failed"}

    _, poor = customer_with_key(balance="0.50")
    expect(call(poor, "getExtraActivation", activationId=parent.pk), "WRONG_ACTIVATION_ID")  # not theirs
    assert balance_of(customer) == Decimal("500.00") - Decimal("12.00")
    assert ledger_verify().ok


def test_extra_activation_without_balance(upstream, call, customer_with_key):
    fake, provider = upstream
    customer, key = customer_with_key(balance="12.00")
    parent = _succeeded(call, key, fake, provider)
    expect(call(key, "getExtraActivation", activationId=parent.pk), "NO_BALANCE")
    assert "getExtraActivation" not in fake.actions()
    assert not Activation.objects.filter(parent=parent).exists()
    assert ledger_verify().ok
