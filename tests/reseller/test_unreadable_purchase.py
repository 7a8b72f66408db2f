"""No lost sale on an unreadable reply (issue 11, part 4): an upstream that is done with a
purchase but answers something we cannot read (an HTTP 500, HTML, a mangled success) gets one
immediate check of its active list. Its number found: the customer gets it, the next provider is
never called; certainly absent: the next provider sells in the same request; the check itself
failing or ambiguous: the unknown outcome of before (decisions 23, 31).

Two SMS-Activate fakes (SMS-Activate's API document) over real HTTP, bought through the real handler_api.php; the
fakes' `carry_out` answers the failure after the purchase really happened upstream."""

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from billing.selectors import wallet_of
from reseller.activations.purchase import PurchaseRequest, activation_purchase, order_ref
from reseller.activations.reconcile import provider_reconcile
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation, UpstreamOrphan
from reseller.orders.attempts import attempts_of
from reseller.orders.errors import ProviderFailed
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.conftest import account, balance_of
from upstream.models import Country, Provider, Service
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db

HTML_500 = (
    "<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>"
)
# (status, body): what an upstream done with the request may answer instead of its reply.
UNREADABLE = {
    "http-500": (500, HTML_500),
    "html-200": (200, "<!DOCTYPE html><html><body>Fatal error: Uncaught PDOException</body></html>"),
    "mangled-success": (200, '{"activationId":100000001,"phoneNumber":"9190000'),
}


@pytest.fixture
def fakes():
    with FakeSmsActivate(api_key="k1") as one, FakeSmsActivate(api_key="k2") as two:
        one.set_offer(22, "tg", "10.00", 50)
        two.set_offer(22, "tg", "12.00", 50)
        for slot, fake in ((1, one), (2, two)):
            provider = provider_add(
                slot=slot,
                protocol="smsactivate",
                url=fake.url,
                api_key=f"k{slot}",
                currency="PKR",
                name=f"sms-activate {slot}",
                config={"timeout_seconds": 2},
            )
            catalogue_sync(provider=provider)
            fake.clear_calls()
        yield one, two


def buy(api, key) -> str:
    return api(key, "getNumber", service="tg", country="22")


def ledger_verify_command() -> str:
    out = StringIO()
    call_command("ledger_verify", stdout=out)  # raises CommandError on any violation
    return out.getvalue()


def unowned_live(fake, provider) -> list[int]:
    """Numbers live at the fake that no order of ours records: orphans."""
    owned = set(Activation.objects.filter(provider=provider).values_list("upstream_id", flat=True))
    return [i for i, a in fake.activations.items() if a.status not in ("cancelled", "finished") and str(i) not in owned]


@pytest.mark.parametrize("reply", list(UNREADABLE))
def test_slot_1_unreadable_without_selling_slot_2_sells_in_the_same_request(fakes, api, customer_with_key, reply):
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    status, body = UNREADABLE[reply]
    one.next_response("getNumberV2", body, status=status)  # nothing reaches the state: nothing sold

    answer = buy(api, key)

    assert answer.startswith("ACCESS_NUMBER:"), answer
    _, activation_id, phone = answer.split(":")
    a = Activation.objects.select_related("provider").get(pk=int(activation_id))
    assert (a.provider.slot, a.state, a.phone, a.price) == (2, "active", phone, Decimal("12.00"))
    assert one.activations == {} and len(two.activations) == 1
    assert two.activations[int(a.upstream_id)].order_id == order_ref(a.pk)
    assert one.actions() == ["getNumberV2", "getActiveActivations"]  # one immediate check, no second purchase
    history = list(attempts_of(a).values_list("provider__slot", "outcome", "raw"))
    shown = "HTTP 500" if status == 500 else "BAD_RESPONSE"
    assert history == [(1, "error", f"{shown} (not sold)"), (2, "bought", "")]
    assert Provider.objects.get(slot=1).consecutive_failures == 1  # an unreadable reply is a failure
    assert balance_of(customer) == Decimal("88.00")  # the hold of slot 2's price, slot 1's released
    ledger_verify_command()


@pytest.mark.parametrize("reply", list(UNREADABLE))
def test_slot_1_unreadable_after_selling_the_customer_gets_its_number(fakes, api, customer_with_key, reply):
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    status, body = UNREADABLE[reply]
    one.next_response("getNumberV2", body, status=status, carry_out=True)  # sold, then the reply is lost

    answer = buy(api, key)

    assert answer.startswith("ACCESS_NUMBER:"), answer
    _, activation_id, phone = answer.split(":")
    a = Activation.objects.select_related("provider").get(pk=int(activation_id))
    (sold_id, sold), *others = one.activations.items()
    assert others == [] and sold.order_id == order_ref(a.pk)
    assert (a.provider.slot, a.state, a.upstream_id, a.phone) == (1, "active", str(sold_id), sold.phone)
    assert phone == sold.phone
    assert (a.cost, a.cost_pkr, a.price) == (Decimal("10.00"), Decimal("10.00"), Decimal("10.00"))  # listed cost
    assert two.calls == []  # slot 2 is never called
    assert Counter(one.actions()) == {"getNumberV2": 1, "getActiveActivations": 1}
    history = list(attempts_of(a).values_list("provider__slot", "outcome"))
    assert history == [(1, "bought")]
    assert "sold: its number found upstream" in attempts_of(a).get().raw
    assert balance_of(customer) == Decimal("90.00")

    # From here it is an ordinary activation: the code arrives, the customer is charged once.
    one.deliver_sms(sold_id, "55555")
    provider_sync_statuses(provider_id=a.provider_id)
    assert api(key, "getStatus", id=a.pk) == "STATUS_OK:55555"
    assert api(key, "setStatus", id=a.pk, status="6") == "ACCESS_ACTIVATION"
    assert account("revenue") == Decimal("10.00") and account("upstream_cost") == Decimal("10.00")
    assert balance_of(customer) == Decimal("90.00")

    report = provider_reconcile(provider_id=a.provider_id)
    assert report["cancelled"] == 0 and unowned_live(one, a.provider) == []  # no orphan left
    ledger_verify_command()


@pytest.mark.parametrize("sold", [False, True])
@pytest.mark.parametrize("check_fails", ["http-500", "ERROR_SQL", "timeout"])
def test_the_check_itself_failing_is_the_unknown_outcome_of_before(fakes, api, customer_with_key, sold, check_fails):
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    one.next_response("getNumberV2", HTML_500, status=500, carry_out=sold)
    if check_fails == "http-500":
        one.next_response("getActiveActivations", HTML_500, status=500)
    elif check_fails == "ERROR_SQL":
        one.next_response("getActiveActivations", "ERROR_SQL")
    else:
        one.delay(3, actions=["getActiveActivations"])  # longer than the provider's 2 s timeout

    assert buy(api, key) == "ERROR_PROVIDER_1:HTTP 500"

    a = Activation.objects.get()
    assert (a.state, a.upstream_pending, a.upstream_id) == ("unknown", "reconcile", "")
    assert two.calls == []  # no failover while the outcome is unknown
    assert len(one.activations) == int(sold)
    (attempt,) = attempts_of(a)
    assert attempt.outcome == "unknown" and attempt.raw.startswith("HTTP 500 (still unknown: active list ")
    assert balance_of(customer) == Decimal("100.00")
    ledger_verify_command()


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_without_a_listed_number_stays_unknown_no_failover(fakes, api, customer_with_key, status):
    """A gateway lost the upstream's application mid-request (as a timeout): the purchase may still
    be running there, so a list without the number proves nothing: no failover, unknown as before."""
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    one.next_response("getNumberV2", f"<html><body>{status} Gateway</body></html>", status=status)
    assert buy(api, key) == f"ERROR_PROVIDER_1:HTTP {status}"
    assert one.actions() == ["getNumberV2", "getActiveActivations"] and two.calls == []
    a = Activation.objects.get()
    assert (a.state, a.upstream_pending) == ("unknown", "reconcile")
    assert "still unknown: not listed, but a gateway's reply" in attempts_of(a).get().raw
    assert balance_of(customer) == Decimal("100.00")
    ledger_verify_command()


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_after_selling_the_customer_gets_its_number(fakes, api, customer_with_key, status):
    """The number is found in the list read at once: it is this order's, whatever the gateway said."""
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    one.next_response("getNumberV2", f"<html><body>{status} Gateway</body></html>", status=status, carry_out=True)

    answer = buy(api, key)

    assert answer.startswith("ACCESS_NUMBER:"), answer
    (sold_id, sold), *others = one.activations.items()
    a = Activation.objects.get()
    assert others == [] and answer == f"ACCESS_NUMBER:{a.pk}:{sold.phone}"
    assert (a.provider.slot, a.state, a.upstream_id) == (1, "active", str(sold_id))
    assert two.calls == []
    assert balance_of(customer) == Decimal("90.00")
    ledger_verify_command()


def test_type_n_absent_is_a_plain_provider_error_never_unknown(fakes, api, customer_with_key):
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    one.next_response("getNumberV2", HTML_500, status=500)
    assert api(key, "getNumber", service="tg", country="22", type="1") == "ERROR_PROVIDER_1:HTTP 500"
    a = Activation.objects.get()
    assert (a.state, a.upstream_pending) == ("failed", "")  # certainly not sold: nothing to reconcile
    assert two.calls == [] and balance_of(customer) == Decimal("100.00")


# --- what the list must not be mistaken for ---------------------------------------------------


def request_for(customer) -> PurchaseRequest:
    return PurchaseRequest(
        customer_id=customer.pk,
        wallet_id=wallet_of(customer).pk,
        service=Service.objects.get(code="tg"),
        country=Country.objects.get(pk=22),
    )


def test_another_purchase_in_flight_makes_an_unowned_number_ambiguous(fakes, customer_with_key):
    one, two = fakes
    a, _ = customer_with_key(balance="100.00", username="a")
    b, _ = customer_with_key(balance="100.00", username="b")
    slot1 = Provider.objects.get(slot=1)
    rival = Activation.objects.create(  # b's purchase at slot 1, its upstream call not answered yet
        customer=b, provider=slot1, service=Service.objects.get(code="tg"), country_id=22, price=Decimal("10.00")
    )
    one.next_response("getNumberV2", HTML_500, status=500, carry_out=True)
    with pytest.raises(ProviderFailed):
        activation_purchase(request_for(a))
    mine = Activation.objects.get(customer=a)
    assert (mine.state, mine.upstream_id) == ("unknown", "")  # the number may be b's: never guessed
    assert "other purchases may own them" in attempts_of(mine).get().raw
    assert two.calls == [] and len(one.activations) == 1
    Activation.objects.filter(pk=rival.pk).update(state="failed")


def test_numbers_that_cannot_be_this_orders_do_not_hide_an_absence(fakes, api, customer_with_key):
    """A number of another service, one carrying another reference, one watched as an orphan
    since before the order began, and one another order owns: none is this order's, so slot 1
    certainly sold nothing and slot 2 sells."""
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    slot1 = Provider.objects.get(slot=1)
    one.set_offer(22, "wa", "5.00", 5)
    one.add_live(1, service="wa", country=22, cost="5.00")  # another service
    (old,) = one.add_live(1, service="tg", country=22, cost="10.00")  # an old orphan
    UpstreamOrphan.objects.create(provider=slot1, upstream_id=str(old.id), phone=old.phone, service_code="tg")
    UpstreamOrphan.objects.filter(upstream_id=str(old.id)).update(first_seen_at=timezone.now() - timedelta(minutes=5))
    other, other_key = customer_with_key(balance="100.00", username="other")
    owned = Activation.objects.get(pk=int(buy(api, other_key).split(":")[1]))  # owned by another order
    assert owned.provider_id == slot1.pk
    one.clear_calls()

    one.next_response("getNumberV2", HTML_500, status=500)
    answer = buy(api, key)

    a = Activation.objects.get(pk=int(answer.split(":")[1]))
    assert a.provider.slot == 2 and a.state == "active"
    assert one.actions() == ["getNumberV2", "getActiveActivations"]
    assert balance_of(customer) == Decimal("88.00")


def test_an_unowned_number_of_this_order_found_despite_other_live_numbers(fakes, api, customer_with_key):
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    one.add_live(3, service="wa", country=22, cost="5.00")  # other services' numbers on the account
    one.add_live(2, service="tg", country=0, cost="5.00")  # the service in another country
    one.next_response("getNumberV2", HTML_500, status=500, carry_out=True)
    answer = buy(api, key)
    a = Activation.objects.get(pk=int(answer.split(":")[1]))
    assert a.provider.slot == 1 and one.activations[int(a.upstream_id)].order_id == order_ref(a.pk)
    assert two.calls == []


# --- concurrency ------------------------------------------------------------------------------


# Each purchase's fate at slot 1, in the order the requests arrive: "sold" sells then answers an
# HTTP 500, "unsold" answers one without selling, "ok" is a normal sale.
WAVES = {
    "every-reply-500": ["sold", "unsold"] * 4,
    "500s-among-sales": ["sold", "ok", "unsold", "ok", "sold", "ok", "unsold", "ok"],
}


@pytest.mark.django_db(transaction=True)
@override_settings(PROVIDER_CIRCUIT_FAILURES=100)  # slot 1 stays in the routing throughout
@pytest.mark.parametrize("wave", list(WAVES))
@pytest.mark.parametrize("stagger", [0.0, 0.12, 0.6])
def test_concurrent_unreadable_purchases_never_give_an_order_two_live_numbers(fakes, customer_with_key, wave, stagger):
    """Eight purchases at slot 1 at once (or one every `stagger` seconds, so some checks run while
    others are in flight and some after they ended), some answered with an HTTP 500 after or
    without selling. Whatever each check concludes, no order ends with two live numbers (by the
    reference each purchase sent), no number is given to two orders, every customer pays exactly
    for the number they got, and reconciliation cleans up what stayed unknown."""
    one, two = fakes
    one.delay(0.3, actions=["getNumberV2"])  # purchases overlap at the upstream
    fates = WAVES[wave]
    for fate in fates:
        if fate == "ok":
            one.next_normal("getNumberV2")
        else:
            one.next_response("getNumberV2", HTML_500, status=500, carry_out=fate == "sold")
    customers = [customer_with_key(balance="100.00", username=f"c{i}")[0] for i in range(8)]
    results = {}

    def run(customer, pause):
        threading.Event().wait(pause)
        try:
            results[customer.pk] = activation_purchase(request_for(customer))
        except Exception as exc:  # noqa: BLE001 - asserted below
            results[customer.pk] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c, i * stagger)) for i, c in enumerate(customers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    orders = list(Activation.objects.select_related("provider"))
    assert len(orders) == 8
    sold = [a for fake in (one, two) for a in fake.activations.values() if a.status not in ("cancelled", "finished")]
    per_order = Counter(a.order_id for a in sold)
    assert max(per_order.values()) == 1, per_order  # never two live numbers for one order
    recorded = [(a.provider_id, a.upstream_id) for a in orders if a.upstream_id]
    assert len(recorded) == len(set(recorded))  # never one number for two orders
    for a in orders:
        assert a.state in ("active", "unknown"), (a.pk, a.state, a.failure)
        if a.state == "active":
            live = [s for s in sold if s.order_id == order_ref(a.pk)]
            assert [str(s.id) for s in live] == [a.upstream_id]  # its own number, by its reference
            assert balance_of(a.customer) == Decimal("100.00") - a.price
        else:
            assert balance_of(a.customer) == Decimal("100.00")
    assert len(one.activations) == fates.count("sold") + fates.count("ok")  # slot 1 sold what it was told to

    # What stayed unknown is reconciled: its orphans cancelled once no purchase can own them.
    provider_reconcile(provider_id=Provider.objects.get(slot=1).pk)
    UpstreamOrphan.objects.update(first_seen_at=timezone.now() - timedelta(minutes=5))
    provider_reconcile(provider_id=Provider.objects.get(slot=1).pk)
    assert unowned_live(one, Provider.objects.get(slot=1)) == []
    ledger_verify_command()


def test_a_list_missing_a_live_number_of_ours_proves_no_absence(fakes, api, customer_with_key):
    """The list may be cut short (or lag): it misses a number an order of ours holds live, so
    an empty look proves nothing and the purchase stays unknown, slot 2 untouched."""
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    held = Activation.objects.get(pk=int(buy(api, key).split(":")[1]))
    # Cancelled upstream behind our back (through the fake's protocol), still active here.
    assert one.state.handle({"api_key": "k1", "action": "setStatus", "id": held.upstream_id, "status": "8"})[1] == (
        "ACCESS_CANCEL"
    )
    one.clear_calls()
    one.next_response("getNumberV2", HTML_500, status=500)

    assert buy(api, key) == "ERROR_PROVIDER_1:HTTP 500"
    a = Activation.objects.exclude(pk=held.pk).get()
    assert (a.state, a.upstream_pending) == ("unknown", "reconcile")
    assert "the list misses live numbers of ours" in attempts_of(a).get().raw
    assert two.calls == []


def test_a_number_carrying_our_reference_is_ours_whatever_else_is_in_flight(customer_with_key):
    """Where the list reports our orderId (the sandbox does), the reference is proof: found even
    with another purchase in flight and other unowned numbers of the same service listed."""
    from reseller.activations.reconcile import purchase_check
    from upstream.providers import client_for
    from upstream.providers.base import BuyRequest

    sandbox = provider_add(slot=3, protocol="sandbox", url="", api_key="", config={"sms_delay_seconds": 3600})
    catalogue_sync(provider=sandbox)
    a, _ = customer_with_key(balance="100.00", username="a")
    b, _ = customer_with_key(balance="100.00", username="b")
    tg = Service.objects.get(code="tg")
    mine, rival = (
        Activation.objects.create(customer=c, provider=sandbox, service=tg, country_id=22, price=Decimal("1.00"))
        for c in (a, b)
    )
    client = client_for(sandbox)
    client.buy(BuyRequest(service="tg", country=22, order_ref=""))  # unowned, no reference
    sold = client.buy(BuyRequest(service="tg", country=22, order_ref=order_ref(mine.pk)))

    check = purchase_check(mine, service_code="tg", country_code=22)
    assert check.bought is not None and (check.bought.upstream_id, check.bought.phone) == (sold.upstream_id, sold.phone)
    assert check.bought.cost == sold.cost

    # The rival's own purchase sold nothing with its reference: two unowned numbers, one in flight.
    other = purchase_check(rival, service_code="tg", country_code=22)
    assert (other.bought, other.absent) == (None, False)
    Activation.objects.filter(pk__in=[mine.pk, rival.pk]).update(state="failed")


def test_a_found_number_keeps_the_operator_the_customer_asked_for(fakes, api, customer_with_key):
    """The list names no operator: the order keeps its own (a normal purchase takes the reply's)."""
    one, two = fakes
    customer, key = customer_with_key(balance="100.00")
    one.next_response("getNumberV2", HTML_500, status=500, carry_out=True)
    answer = api(key, "getNumber", service="tg", country="22", operator="mtt")
    a = Activation.objects.get(pk=int(answer.split(":")[1]))
    assert (a.provider.slot, a.operator) == (1, "mtt")
