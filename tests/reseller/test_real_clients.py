"""The client libraries customers really use, from the package index, pointed at
a live server (only their base URL changed): full activation flows."""

import asyncio
from decimal import Decimal

import pytest
from aiosmsactivate import SmsActivate
from aiosmsactivate.exceptions import SmsActivateException
from aiosmsactivate.models import SetActivationStatusResponse
from aiosmsactivate.types import ActivationStatus
from smsactivate.api import SMSActivateAPI

from billing.verify import ledger_verify
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.conftest import age, balance_of, deliver_sms
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db(transaction=True)


async def db(fn, *args, **kwargs):
    """Run ORM work off the event loop, closing the thread's connection afterwards."""
    from django.db import connection

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    return await asyncio.to_thread(run)


@pytest.fixture
def endpoint(live_server):
    return f"{live_server.url}/stubs/handler_api.php"


def smsactivate_client(key: str, url: str) -> SMSActivateAPI:
    client = SMSActivateAPI(key)
    client._SMSActivateAPI__api_url = url  # the library's base URL (name-mangled private attribute)
    return client


def test_smsactivate_full_flow(sandbox, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    sa = smsactivate_client(key, endpoint)
    assert sa.getBalance() == {"balance": "500.00"}

    number = sa.getNumber(service="tg", country=22)
    activation = Activation.objects.get(pk=number["activation_id"])
    assert number["phone"] == int(activation.phone)
    assert sa.setStatus(id=activation.pk, status=1) == "ACCESS_READY"
    assert sa.getStatus(id=activation.pk) == "STATUS_WAIT_CODE"

    deliver_sms(activation)
    activation.refresh_from_db()
    assert sa.getStatus(id=activation.pk) == f"STATUS_OK:{activation.code}"
    assert sa.setStatus(id=activation.pk, status=6) == "ACCESS_ACTIVATION"
    assert Decimal(sa.getBalance()["balance"]) == Decimal("500.00") - activation.price
    assert ledger_verify().ok


def test_smsactivate_no_numbers_and_catalogue(sandbox, endpoint, customer_with_key):
    _, key = customer_with_key(balance="500.00")
    sa = smsactivate_client(key, endpoint)
    assert sa.getNumber(service="ot", country=22) == {"error": "NO_NUMBERS", "message": sa.get_error("NO_NUMBERS")}
    prices = sa.getPrices(service="tg", country=22)
    assert set(prices["22"]["tg"]) == {"cost", "count", "physicalCount"}
    assert "22" in sa.getCountries()
    assert isinstance(sa.getNumbersStatus(country=22)["tg"], int)


def test_smsactivate_cancel_refunds(sandbox, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    sa = smsactivate_client(key, endpoint)
    number = sa.getNumber(service="wa", country=22)
    assert sa.setStatus(id=number["activation_id"], status=8) == "EARLY_CANCEL_DENIED"
    age(Activation.objects.get(pk=number["activation_id"]), 200)
    assert sa.setStatus(id=number["activation_id"], status=8) == "ACCESS_CANCEL"
    assert balance_of(customer) == Decimal("500.00")


def test_aiosmsactivate_v2_flow(sandbox, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="500.00")

    async def flow():
        sa = SmsActivate(key, base_url=endpoint)
        assert await sa.get_balance() == 500.0
        number = await sa.purchase("tg", country=22, orderId="order-77")
        activation = await db(Activation.objects.get, pk=number.activation_id)
        assert number.phone_number == activation.phone
        assert number.country_code == "22" and number.can_get_another_sms is True
        assert await sa.get_activation_status_v1(number.activation_id) == (ActivationStatus.WAIT, None)
        status = await sa.get_activation_status(number.activation_id)
        assert status.sms is None

        await db(deliver_sms, activation)
        await db(activation.refresh_from_db)
        assert await sa.get_activation_status_v1(number.activation_id) == (ActivationStatus.OK, activation.code)
        status = await sa.get_activation_status(number.activation_id)
        assert status.sms.code == activation.code and status.sms.text == activation.sms_text
        done = await sa.set_activation_status(number.activation_id, 6)
        assert done == SetActivationStatusResponse.ACTIVATED

        with pytest.raises(SmsActivateException) as exc:
            await sa.purchase("tg", country=22, orderId="order-77")
        assert exc.value.code == "ORDER_ALREADY_EXISTS"
        with pytest.raises(SmsActivateException) as exc:
            await sa.purchase("ot", country=22)
        assert exc.value.code == "NO_NUMBERS"
        return activation

    activation = asyncio.run(flow())
    assert balance_of(customer) == Decimal("500.00") - activation.price
    assert Activation.objects.filter(customer=customer).count() == 1
    assert ledger_verify().ok


def test_real_clients_read_operators_and_buy_with_one(sandbox, endpoint, customer_with_key):
    """Issue 11: getOperators lists the synced operators; both libraries read the document's shape."""
    from upstream.models import Operator

    Operator.objects.create(provider=sandbox, country_id=22, code="jio")
    _, key = customer_with_key(balance="500.00")
    sa = smsactivate_client(key, endpoint)
    assert sa.getOperators(country=22) == {"status": "success", "countryOperators": {"22": ["jio"]}}
    number = sa.getNumber(service="tg", country=22, operator="jio")
    assert Activation.objects.get(pk=number["activation_id"]).provider_id == sandbox.pk

    async def operators():
        return await SmsActivate(key, base_url=endpoint).get_operators(country="22")

    assert asyncio.run(operators()) == {"status": "success", "countryOperators": {"22": ["jio"]}}


# --- the remaining actions (multi-service, extra activations, price lists, calls) -----------------


@pytest.fixture
def sms_activate_upstream():
    """Slot 1: SMS-Activate (the HTTP fake), which sells multi-service numbers and extra activations."""
    with FakeSmsActivate(api_key="upstream-key") as fake:
        for country in (0, 22):
            fake.set_offer(country, "tg", "10.00", 10)
            fake.set_offer(country, "wa", "14.00", 10)
        provider = provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key="upstream-key", name="sa")
        catalogue_sync(provider=provider)
        yield fake, provider


def _succeeded(fake, provider, activation_id) -> Activation:
    activation = Activation.objects.get(pk=activation_id)
    fake.deliver_sms(activation.upstream_id, "45678")
    provider_sync_statuses(provider_id=provider.pk)
    activation.refresh_from_db()
    return activation


def test_smsactivate_multi_service_number_and_incoming_call_status(sms_activate_upstream, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    sa = smsactivate_client(key, endpoint)
    numbers = sa.getMultiServiceNumber(service="tg,wa", country=22)
    assert [n["service"] for n in numbers] == ["tg", "wa"]
    rows = [Activation.objects.get(pk=n["activation"]) for n in numbers]
    assert [n["phone"] for n in numbers] == [rows[0].phone, rows[0].phone] and rows[1].parent_id == rows[0].pk
    assert balance_of(customer) == Decimal("500.00") - Decimal("24.00")
    assert sa.getIncomingCallStatus(id=rows[0].pk) == {"status": "2", "phone": False}
    assert sa.getIncomingCallStatus(id=99999999) == {
        "error": "INVALID_ACTIVATION_ID",
        "message": sa.get_error("INVALID_ACTIVATION_ID"),
    }
    assert sa.getMultiServiceNumber(service="tg,zz", country=22) == {
        "error": "BAD_SERVICE",
        "message": sa.get_error("BAD_SERVICE"),
    }
    assert ledger_verify().ok


def test_aiosmsactivate_extra_activation(sms_activate_upstream, endpoint, customer_with_key):
    fake, provider = sms_activate_upstream
    customer, key = customer_with_key(balance="500.00")

    async def flow():
        sa = SmsActivate(key, base_url=endpoint)
        number = await sa.purchase("tg", country=22)
        with pytest.raises(SmsActivateException) as exc:
            await sa.check_extra_activation(number.activation_id)
        assert exc.value.code == "RENEW_ACTIVATION_NOT_AVAILABLE"  # no SMS yet
        parent = await db(_succeeded, fake, provider, number.activation_id)
        offer = await sa.check_extra_activation(number.activation_id)
        assert offer == {"status": "success", "cost": 10.0, "service": "tg", "phone": int(parent.phone), "country": 22}
        extra_id, phone = await sa.get_extra_activation(number.activation_id)  # the library sends `id`
        assert phone == parent.phone
        with pytest.raises(SmsActivateException) as exc:
            await sa.check_extra_activation(99999999)
        assert exc.value.code == "WRONG_ACTIVATION_ID"
        return parent, int(extra_id)

    parent, extra_id = asyncio.run(flow())
    extra = Activation.objects.get(pk=extra_id)
    assert (extra.parent_id, extra.phone, extra.price) == (parent.pk, parent.phone, Decimal("10.00"))
    assert balance_of(customer) == Decimal("480.00")  # the parent charged, the extra held
    assert ledger_verify().ok


def test_aiosmsactivate_price_lists_and_calls(sandbox, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="500.00")

    async def flow():
        sa = SmsActivate(key, base_url=endpoint)
        prices = await sa.get_rank_prices(service="tg", country=22, freePrice=True)  # getPricesExtended
        assert set(prices["22"]["tg"]) == {"cost", "count"}
        assert await sa._get_service_cost("tg", "22") == prices["22"]["tg"]["cost"]
        assert await sa._get_service_quantity("tg", "22") == prices["22"]["tg"]["count"]
        verification = await sa.get_prices_verification(service="tg")
        assert verification["tg"]["22"]["price"] == f"{prices['22']['tg']['cost']:.2f}"
        number = await sa.purchase("tg", country=22)
        assert await sa.get_incoming_call_status(number.activation_id) == {"status": "2", "phone": False}
        with pytest.raises(SmsActivateException) as exc:
            await sa.parse_call(number.activation_id, "en")
        assert exc.value.code == "NO_CALL"
        with pytest.raises(SmsActivateException) as exc:
            await sa.get_incoming_call_status(99999999)
        assert exc.value.code == "INVALID_ACTIVATION_ID"
        with pytest.raises(SmsActivateException) as exc:
            await sa.buy_partner_product("1")
        assert exc.value.code == "BAD_ACTION"
        # Known: aiosmsactivate 1.5.1 calls `.get` on any JSON reply; a top-level array (the document's
        # shape of getListOfTopCountriesByService and getMultiServiceNumber) crashes it.
        with pytest.raises(AttributeError):
            await sa.get_list_top_countries("tg")

    asyncio.run(flow())
    assert ledger_verify().ok


def test_aiosmsactivate_multi_service_number_crashes_on_the_documented_array(
    sms_activate_upstream, endpoint, customer_with_key
):
    """The library sends `country ` (with a space), so country 0 is bought; it then crashes on the
    array it was sent. The numbers are bought and held, visible in getActiveActivations."""
    customer, key = customer_with_key(balance="500.00")

    async def flow():
        sa = SmsActivate(key, base_url=endpoint)
        with pytest.raises(AttributeError):
            await sa.get_multi_service_number("tg,wa", country="22")
        return await sa.get_active_activations()

    active = asyncio.run(flow())
    rows = list(Activation.objects.filter(customer=customer).order_by("pk"))
    assert [(a.service.code, a.country_id) for a in rows] == [("tg", 0), ("wa", 0)]
    assert {item["activationId"] for item in active["activeActivations"]} == {str(a.pk) for a in rows}
