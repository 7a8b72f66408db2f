"""Golden bytes of SMS-Activate's rent actions on handler_api.php, through HTTP against the
sandbox's rentals. Expected bodies live in tests/reseller/protocol/golden/handler_api/rent_*.txt;
`$id`, `$phone`, `$end`, ... stand for values the server assigns, filled from the database.

Sandbox prices (India, factor 0.8) with a +20 % rental markup: tg 12 h 72 -> 86.40,
wa 12 h 86.40 -> 103.68, full 12 h 240 -> 288.00; 24 h: 120 -> 144.00, 144 -> 172.80, 400 -> 480.00."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from string import Template

import pytest
from django.utils import timezone

from billing.markup import markup_set
from billing.verify import ledger_verify
from reseller.models import Rental, RentalRenewal
from reseller.rentals.lifecycle import rentals_expire_due, rentals_sync
from tests.reseller.conftest import balance_of
from tests.reseller.rentals.test_lifecycle import back_in_time
from upstream.models import Provider
from upstream.services import catalogue_sync

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parents[1] / "protocol" / "golden" / "handler_api"
PATH = "/stubs/handler_api.php"
SMS_EVERY = 600  # one sandbox SMS every 10 minutes


@pytest.fixture
def renting():
    provider = Provider.objects.create(
        slot=1, protocol="sandbox", name="sandbox", config={"rent_sms_every_seconds": SMS_EVERY}
    )
    catalogue_sync(provider=provider)
    markup_set(scope="global", percent="10")
    markup_set(scope="global", percent="20", product="rental")
    return provider


@pytest.fixture
def call(client, django_capture_on_commit_callbacks):
    def do(key, action, **params):
        with django_capture_on_commit_callbacks(execute=True):
            return client.get(PATH, {"api_key": key, "action": action, **params})

    return do


def expect(response, case: str, **values) -> None:
    body = Template((GOLDEN / f"rent_{case}.txt").read_text()).substitute(**values)
    assert response.status_code == 200
    assert response.content == body.encode(), (case, response.content)
    assert response["Content-Type"] == ("text/html; charset=UTF-8" if case == "BAD_KEY" else "application/json")


def end_of(rental: Rental) -> str:
    rental.refresh_from_db()
    return timezone.localtime(rental.expires_at).strftime("%Y-%m-%dT%H:%M:%S")


def rent(call, key, **params) -> Rental:
    response = call(key, "getRentNumber", **{"service": "tg", "country": "22", **params})
    rental = Rental.objects.get(pk=response.json()["phone"]["id"])
    expect(response, "getRentNumber", id=rental.pk, end=end_of(rental), phone=rental.phone)
    return rental


# --- the catalogue ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,case",
    [
        ({"country": "22"}, "getRentServicesAndCountries"),  # default: the shortest period sold (12 h)
        ({"country": "22", "rent_time": "4"}, "getRentServicesAndCountries"),  # 4 h buys the 12 h period
        ({"country": "22", "rent_time": "12", "currency": "840"}, "getRentServicesAndCountries"),  # PKR anyway
        ({"country": "22", "rent_time": "13"}, "getRentServicesAndCountries_24"),
        ({"country": "22", "time": "24"}, "getRentServicesAndCountries_24"),  # the smsactivate library's name
        ({"country": "22", "rent_time": "24", "operator": "x", "incomingCall": "1"}, "getRentServicesAndCountries_24"),
        ({"country": "22", "rent_time": "9000"}, "MAX_HOURS_EXCEED"),
        ({"country": "22", "rent_time": "two"}, "INVALID_TIME"),
        ({"country": "22", "rent_time": "0"}, "INVALID_TIME"),
        ({"country": "6"}, "OUT_OF_STOCK"),  # a catalogue country nobody rents
        ({"country": "99999"}, "OUT_OF_STOCK"),
    ],
)
def test_get_rent_services_and_countries(renting, customer_with_key, call, params, case):
    _, key = customer_with_key(balance="100.00")
    expect(call(key, "getRentServicesAndCountries", **params), case)


def test_rent_actions_answer_a_bad_key_with_the_bare_token(renting, call):
    response = call("nope", "getRentNumber", service="tg", country="22")
    assert response.content == b"BAD_KEY"


# --- renting ---------------------------------------------------------------------------------


def test_get_rent_number_charges_and_stores_the_webhook(renting, customer_with_key, call):
    customer, key = customer_with_key(balance="600.00")
    rental = rent(call, key, rent_time="24", url="https://example.test/hook")
    assert (rental.state, rental.hours, rental.price) == ("active", 24, Decimal("144.00"))
    assert rental.webhook_url == "https://example.test/hook"
    assert balance_of(customer) == Decimal("456.00")
    full = rent(call, key, service="full")
    assert full.service is None and full.hours == 12 and full.price == Decimal("288.00")
    assert rent(call, key, url="not a url").webhook_url == ""


@pytest.mark.parametrize(
    "params,case",
    [
        ({"country": "22"}, "BAD_SERVICE"),
        ({"service": "nosuch", "country": "22"}, "BAD_SERVICE"),
        ({"service": "wa", "country": "187"}, "NO_NUMBERS"),  # the sandbox has no USA wa numbers
        ({"service": "tg", "country": "99999"}, "NO_NUMBERS"),
        ({"service": "tg", "country": "22", "rent_time": "9000"}, "MAX_HOURS_EXCEED"),
        ({"service": "tg", "country": "22", "rent_time": "-3"}, "INVALID_TIME"),
    ],
)
def test_get_rent_number_errors(renting, customer_with_key, call, params, case):
    customer, key = customer_with_key(balance="500.00")
    expect(call(key, "getRentNumber", **params), case)
    assert balance_of(customer) == Decimal("500.00") and not Rental.objects.filter(state="active").exists()


def test_get_rent_number_without_money(renting, customer_with_key, call):
    customer, key = customer_with_key(balance="50.00")
    expect(call(key, "getRentNumber", service="tg", country="22"), "NO_BALANCE")
    assert balance_of(customer) == Decimal("50.00")


def test_get_rent_number_when_the_upstream_fails(renting, customer_with_key, call):
    renting.config = {**renting.config, "fail": "error", "fail_actions": ["rent"]}
    renting.save()
    customer, key = customer_with_key(balance="500.00")
    expect(call(key, "getRentNumber", service="tg", country="22"), "SERVER_ERROR")
    assert balance_of(customer) == Decimal("500.00")


# --- SMS over the period ---------------------------------------------------------------------


def test_get_rent_status_pages_the_sms_newest_first(renting, customer_with_key, call):
    _, key = customer_with_key(balance="500.00")
    rental = rent(call, key)
    expect(call(key, "getRentStatus", id=rental.pk), "STATUS_WAIT_CODE")
    back_in_time(rental, 3 * SMS_EVERY + 5)  # three SMS are due
    rentals_sync(provider_id=renting.pk)
    sms = list(rental.messages.order_by("-id"))
    assert len(sms) == 3

    def values(rows):
        out = {"quantity": 3}
        for i, row in enumerate(rows):
            out[f"text{i}"] = row.text
            out[f"date{i}"] = timezone.localtime(row.received_at).strftime("%Y-%m-%d %H:%M:%S")
        return out

    expect(call(key, "getRentStatus", id=rental.pk, size="2"), "getRentStatus", **values(sms[:2]))
    page2 = call(key, "getRentStatus", id=rental.pk, page="2", size="2").json()
    assert page2["quantity"] == "3" and list(page2["values"]) == ["0"]
    assert page2["values"]["0"]["text"] == sms[2].text
    assert len(call(key, "getRentStatus", id=rental.pk).json()["values"]) == 3  # default size 10
    assert sms[0].received_at > sms[1].received_at > sms[2].received_at


def test_get_rent_status_errors(renting, customer_with_key, call):
    _, key = customer_with_key(balance="500.00")
    _, other = customer_with_key(balance="500.00")
    rental = rent(call, key)
    expect(call(key, "getRentStatus"), "NO_ID_RENT")
    expect(call(other, "getRentStatus", id=rental.pk), "INVALID_PHONE")
    expect(call(key, "getRentStatus", id="999999"), "INVALID_PHONE")
    expect(call(key, "getRentStatus", id="x1"), "INVALID_PHONE")
    expect(call(key, "setRentStatus", id=rental.pk, status="2"), "success")
    expect(call(key, "getRentStatus", id=rental.pk), "STATUS_CANCEL")
    finished = rent(call, key)
    expect(call(key, "setRentStatus", id=finished.pk, status="1"), "success")
    expect(call(key, "getRentStatus", id=finished.pk), "STATUS_FINISH")


# --- finish and cancel -----------------------------------------------------------------------


def test_cancel_inside_the_window_refunds(renting, customer_with_key, call):
    customer, key = customer_with_key(balance="500.00")
    rental = rent(call, key)
    assert balance_of(customer) == Decimal("413.60")
    expect(call(key, "setRentStatus", id=rental.pk, status="2"), "success")
    rental.refresh_from_db()
    assert rental.state == "cancelled" and balance_of(customer) == Decimal("500.00")
    expect(call(key, "setRentStatus", id=rental.pk, status="2"), "ALREADY_CANCEL")
    expect(call(key, "setRentStatus", id=rental.pk, status="1"), "ALREADY_CANCEL")
    assert ledger_verify().ok


def test_cancel_after_the_window_is_refused(renting, customer_with_key, call):
    renting.config = {"rent_sms_every_seconds": 7200}  # no SMS before the window closes
    renting.save()
    customer, key = customer_with_key(balance="500.00")
    rental = rent(call, key)
    back_in_time(rental, 21 * 60)
    expect(call(key, "setRentStatus", id=rental.pk, status="2"), "CANT_CANCEL")
    rental.refresh_from_db()
    assert rental.state == "active" and balance_of(customer) == Decimal("413.60")
    expect(call(key, "setRentStatus", id=rental.pk, status="1"), "success")
    expect(call(key, "setRentStatus", id=rental.pk, status="1"), "ALREADY_FINISH")
    expect(call(key, "setRentStatus", id=rental.pk, status="2"), "ALREADY_FINISH")
    assert balance_of(customer) == Decimal("413.60")


@pytest.mark.parametrize(
    "params,case",
    [
        ({"status": "1"}, "NO_ID_RENT"),
        ({"id": "$id"}, "INCORECT_STATUS"),
        ({"id": "$id", "status": "6"}, "INCORECT_STATUS"),
        ({"id": "999999", "status": "1"}, "INVALID_PHONE"),
        ({"id": "$other", "status": "1"}, "INVALID_PHONE"),
    ],
)
def test_set_rent_status_errors(renting, customer_with_key, call, params, case):
    _, key = customer_with_key(balance="500.00")
    _, other_key = customer_with_key(balance="500.00")
    mine, theirs = rent(call, key), rent(call, other_key)
    params = {k: Template(v).substitute(id=mine.pk, other=theirs.pk) for k, v in params.items()}
    expect(call(key, "setRentStatus", **params), case)
    mine.refresh_from_db()
    assert mine.state == "active"


# --- the list --------------------------------------------------------------------------------


def test_get_rent_list(renting, customer_with_key, call):
    _, key = customer_with_key(balance="500.00")
    expect(call(key, "getRentList"), "NO_NUMBERS")
    rental = rent(call, key)
    expect(call(key, "getRentList"), "getRentList", id=rental.pk, phone=rental.phone)
    second = rent(call, key)
    listed = call(key, "getRentList").json()["values"]
    assert [v["id"] for v in listed.values()] == [str(second.pk), str(rental.pk)]
    assert call(key, "getRentList", length="1", page="2").json()["values"] == {
        "0": {"id": str(rental.pk), "phone": rental.phone}
    }
    expect(call(key, "getRentList", length="1", page="3"), "NO_NUMBERS")
    call(key, "setRentStatus", id=second.pk, status="1")
    assert len(call(key, "getRentList").json()["values"]) == 1  # current rentals only


# --- renewals --------------------------------------------------------------------------------


def test_continue_rent_prices_and_renewals_until_it_dies(renting, customer_with_key, call):
    customer, key = customer_with_key(balance="500.00")
    rental = rent(call, key)
    expect(call(key, "getContinueRentPriceNumber", id=rental.pk, rent_time="12"), "getContinueRentPriceNumber")
    expect(call(key, "getContinueRentPriceNumber", id=rental.pk), "getContinueRentPriceNumber")
    expect(call(key, "continueRentInfo", id=rental.pk, hours="24"), "continueRentInfo")
    before = rental.expires_at

    response = call(key, "continueRentNumber", id=rental.pk, rent_time="12", requestId="r-1")
    expect(response, "getRentNumber", id=rental.pk, end=end_of(rental), phone=rental.phone)
    assert rental.expires_at - before == timedelta(hours=12)
    assert balance_of(customer) == Decimal("500.00") - 2 * Decimal("86.40")
    call(key, "continueRentNumber", id=rental.pk, rent_time="12", requestId="r-1")  # the same renewal
    assert RentalRenewal.objects.filter(rental=rental).count() == 1
    assert balance_of(customer) == Decimal("500.00") - 2 * Decimal("86.40")
    renewal = RentalRenewal.objects.get(rental=rental)
    created = timezone.localtime(renewal.created_at).strftime("%Y-%m-%d %H:%M:%S")
    expect(
        call(key, "continueRentInfo", id=rental.pk, hours="12", needHistory="true"),
        "continueRentInfo_history",
        created=created,
    )
    expect(call(key, "continueRentNumber", id=rental.pk, rent_time="9000"), "MAX_HOURS_EXCEED")
    expect(call(key, "continueRentNumber", id=rental.pk, rent_time="soon"), "INVALID_TIME")
    expect(call(key, "continueRentNumber", rent_time="12"), "NO_ID_RENT")
    expect(call(key, "continueRentNumber", id="999999", rent_time="12"), "INVALID_PHONE")
    expect(call(key, "continueRentNumber", id=rental.pk, rent_time="8640"), "NO_BALANCE")
    assert RentalRenewal.objects.filter(rental=rental, state="done").count() == 1

    back_in_time(rental, 25 * 3600)  # past its end
    assert rentals_expire_due() == 1
    expect(call(key, "continueRentNumber", id=rental.pk, rent_time="12"), "RENT_DIE")
    expect(call(key, "getContinueRentPriceNumber", id=rental.pk, rent_time="12"), "RENT_DIE")
    expect(call(key, "continueRentInfo", id=rental.pk, hours="12"), "RENT_DIE")
    expect(call(key, "getRentStatus", id=rental.pk), "STATUS_FINISH")
    assert balance_of(customer) == Decimal("500.00") - 2 * Decimal("86.40")
    assert ledger_verify().ok


def test_each_continue_without_a_request_id_is_a_renewal(renting, customer_with_key, call):
    customer, key = customer_with_key(balance="500.00")
    rental = rent(call, key)
    for _ in range(2):
        assert call(key, "continueRentNumber", id=rental.pk, rent_time="12").json()["status"] == "success"
    assert RentalRenewal.objects.filter(rental=rental, state="done").count() == 2
    assert balance_of(customer) == Decimal("500.00") - 3 * Decimal("86.40")


@pytest.mark.parametrize("fail", ["error", "timeout"])
def test_an_upstream_failure_is_server_error_and_costs_nothing(renting, customer_with_key, call, fail):
    customer, key = customer_with_key(balance="500.00")
    rental = rent(call, key)
    renting.config = {**renting.config, "fail": fail, "fail_actions": ["rent_set_status", "rent_prolong"]}
    renting.save()
    expect(call(key, "continueRentNumber", id=rental.pk, rent_time="12"), "SERVER_ERROR")
    if fail == "error":  # a cancel that timed out may have landed: the status sync settles it
        expect(call(key, "setRentStatus", id=rental.pk, status="2"), "SERVER_ERROR")
    rental.refresh_from_db()
    assert rental.state == "active" and balance_of(customer) == Decimal("413.60")
    assert not RentalRenewal.objects.filter(rental=rental, state="done").exists()
    assert ledger_verify().ok
