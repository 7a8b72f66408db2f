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
from reseller.models import Activation
from tests.reseller.conftest import balance_of, deliver_sms

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
    from tests.reseller.conftest import age

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
