"""The rent methods of the client libraries customers really use (`smsactivate`, `aiosmsactivate`),
pointed at a live server with only their base URL changed: a rental end to end.

What the libraries send, as found in their source: `smsactivate` names the period `time` for
getRentServicesAndCountries / getRentNumber (we take it for an absent `rent_time`) and
`rent_time` for continueRentNumber; `aiosmsactivate` sends `time `, `country `, `page ` with a
trailing space (so the defaults apply: country 0, the shortest period), its set_rent_status sends
action getRentStatus and its continue_rent_info raises TypeError before sending anything: those two
cannot be driven and are not."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from aiosmsactivate import SmsActivate
from aiosmsactivate.exceptions import SmsActivateException
from django.utils import timezone

from billing.markup import markup_set
from billing.verify import ledger_verify
from reseller.models import Rental, RentalRenewal
from reseller.rentals.lifecycle import rentals_expire_due, rentals_sync
from tests.reseller.conftest import balance_of
from tests.reseller.rentals.test_lifecycle import back_in_time
from tests.reseller.test_real_clients import db, smsactivate_client
from upstream.models import Provider
from upstream.services import catalogue_sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def renting():
    provider = Provider.objects.create(
        slot=1, protocol="sandbox", name="sandbox", config={"rent_sms_every_seconds": 600}
    )
    catalogue_sync(provider=provider)
    markup_set(scope="global", percent="20", product="rental")
    return provider


@pytest.fixture
def endpoint(live_server):
    return f"{live_server.url}/stubs/handler_api.php"


def test_smsactivate_rents_reads_renews_and_finishes(renting, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="1000.00")
    sa = smsactivate_client(key, endpoint)
    offers = sa.getRentServicesAndCountries(time=24, country=22)
    assert offers["countries"] == {"0": 22} and offers["currency"] == 586
    assert offers["services"]["tg"]["cost"] == 144.0  # India tg 24 h: 120 PKR +20 %

    got = sa.getRentNumber(service="tg", time=24, country=22, url="https://example.test/hook")
    assert got["status"] == "success"
    rental = Rental.objects.get(pk=got["phone"]["id"])
    assert got["phone"]["number"] == rental.phone and rental.hours == 24
    assert rental.webhook_url == "https://example.test/hook"
    assert sa.getRentStatus(id=rental.pk) == {"status": "error", "message": "STATUS_WAIT_CODE"}
    assert sa.getRentList() == {"status": "success", "values": {"0": {"id": str(rental.pk), "phone": rental.phone}}}

    back_in_time(rental, 2 * 600 + 5)
    rentals_sync(provider_id=renting.pk)
    status = sa.getRentStatus(id=rental.pk)
    assert status["status"] == "success" and status["quantity"] == "2"
    assert status["values"]["0"]["text"] == rental.messages.order_by("-id").first().text

    assert sa.getContinueRentPriceNumber(id=rental.pk) == {"status": "success", "price": 86.4, "currency": 586}
    before = rental.expires_at
    renewed = sa.continueRentNumber(id=rental.pk, time=12)
    assert renewed["status"] == "success" and renewed["phone"]["id"] == rental.pk
    rental.refresh_from_db()
    assert rental.expires_at - before == timedelta(hours=12)
    assert sa.setRentStatus(id=rental.pk, status=2) == {"status": "error", "message": "CANT_CANCEL"}  # SMS came
    assert sa.setRentStatus(id=rental.pk, status=1) == {"status": "success"}
    assert sa.setRentStatus(id=rental.pk, status=1) == {"status": "error", "message": "ALREADY_FINISH"}
    assert sa.continueRentNumber(id=rental.pk, time=12) == {"status": "error", "message": "RENT_DIE"}
    assert sa.getRentList() == {"status": "error", "message": "NO_NUMBERS"}
    assert balance_of(customer) == Decimal("1000.00") - Decimal("144.00") - Decimal("86.40")
    assert ledger_verify().ok


def test_smsactivate_cancel_inside_the_window_is_refunded(renting, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    sa = smsactivate_client(key, endpoint)
    got = sa.getRentNumber(service="wa", country=22)
    assert balance_of(customer) == Decimal("500.00") - Decimal("103.68")
    assert sa.setRentStatus(id=got["phone"]["id"], status=2) == {"status": "success"}
    assert balance_of(customer) == Decimal("500.00")
    assert sa.getRentStatus(id=got["phone"]["id"]) == {"status": "error", "message": "STATUS_CANCEL"}


def test_aiosmsactivate_rents_reads_and_renews(renting, endpoint, customer_with_key):
    customer, key = customer_with_key(balance="1000.00")

    async def flow():
        sa = SmsActivate(key, base_url=endpoint)
        offers = await sa.get_rent_services_and_countries(time=24, country="22")
        assert offers["countries"] == {"0": 0}  # its parameter names carry a space: the defaults
        assert offers["services"]["tg"]["cost"] == 162.0  # Russia tg 12 h: 135 PKR +20 %
        got = await sa.get_rent_number("tg")
        rental = await db(Rental.objects.get, pk=got["phone"]["id"])
        assert got["phone"]["number"] == rental.phone and rental.hours == 12
        assert await sa.get_rent_status(str(rental.pk)) == {"status": "error", "message": "STATUS_WAIT_CODE"}
        await db(back_in_time, rental, 600 + 5)
        await db(rentals_sync, provider_id=renting.pk)
        status = await sa.get_rent_status(str(rental.pk))
        assert status["quantity"] == "1" and status["values"]["0"]["service"] == "tg"
        price = await sa.get_continue_rent_price_number(str(rental.pk))  # its default: 4 hours
        assert price == {"status": "success", "price": 162.0, "currency": 586}
        renewed = await sa.continue_rent_number(str(rental.pk))
        assert renewed["phone"]["id"] == rental.pk
        await db(Rental.objects.filter(pk=rental.pk).update, expires_at=timezone.now() - timedelta(seconds=1))
        await db(rentals_expire_due)
        with pytest.raises(SmsActivateException) as exc:
            await sa.continue_rent_number(str(rental.pk))
        assert exc.value.code == "RENT_DIE"
        with pytest.raises(SmsActivateException) as exc:
            await sa.get_rent_status("999999")
        assert exc.value.code == "INVALID_PHONE"
        return rental

    rental = asyncio.run(flow())
    assert RentalRenewal.objects.filter(rental=rental, state="done").count() == 1
    assert balance_of(customer) == Decimal("1000.00") - 2 * Decimal("162.00")
    assert ledger_verify().ok
