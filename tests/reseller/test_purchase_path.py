"""The purchase hot path (docs/operations.md, "Purchase path"): how many statements a getNumber
sends, and that the routing inputs cached per process follow every change at the next purchase,
whoever made it and however (the ORM, a bulk update, another connection)."""

from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from billing.services import markup_set
from reseller.models import Activation, PurchaseAttempt
from tests.fakes.sms_activate import FakeSmsActivate
from tests.reseller.conftest import balance_of
from upstream import routing_state
from upstream.models import Offer, Provider, Service
from upstream.services import catalogue_sync, provider_add

# The statements of a repeat getNumber of one customer, with the provider's health batched (the
# production default): key lookup, routing state, hold + order, attempt, the order recorded.
MAX_STATEMENTS = 5


@pytest.fixture
def upstream():
    with FakeSmsActivate(api_key="k") as fake:
        fake.set_offer(22, "tg", "2.00", 100)
        provider = provider_add(slot=1, protocol="smsactivate", url=fake.url, api_key="k", name="fake")
        catalogue_sync(provider=provider)
        yield fake, provider


def _buy(api, key) -> Activation:
    reply = api(key, "getNumber", service="tg", country="22")
    assert reply.startswith("ACCESS_NUMBER:"), reply
    return Activation.objects.get(pk=int(reply.split(":")[1]))


@pytest.mark.django_db(transaction=True)  # autocommit, as a request in production
@override_settings(PROVIDER_HEALTH_FLUSH_SECONDS=3600)
def test_a_purchase_sends_at_most_five_statements_and_no_transaction(api, upstream, customer_with_key):
    fake, provider = upstream
    customer, key = customer_with_key(balance="500.00")
    _buy(api, key)
    with CaptureQueriesContext(connection) as queries:
        reply = api(key, "getNumber", service="tg", country="22")
    bought = Activation.objects.get(pk=int(reply.split(":")[1]))
    sqls = [q["sql"] for q in queries.captured_queries]
    assert len(sqls) <= MAX_STATEMENTS, "\n".join(sqls)
    assert not [s for s in sqls if s.startswith(("BEGIN", "COMMIT", "SAVEPOINT"))]  # no transaction at all
    assert sum(1 for s in sqls if "billing_ledgeraccount" in s and "UPDATE" in s) == 1  # the wallet: once
    assert not [s for s in sqls if 'UPDATE "upstream_provider"' in s]  # health: batched
    assert bought.state == Activation.State.ACTIVE and bought.hold.amount == bought.price
    assert bought.hold.idempotency_key == f"activation:{bought.pk}:hold:0"
    assert bought.hold.memo == f"activation #{bought.pk}" and bought.hold.order.pk == bought.pk
    assert balance_of(customer) == Decimal("500.00") - 2 * bought.price
    assert PurchaseAttempt.objects.filter(order_pk=bought.pk, outcome="bought").count() == 1
    from upstream.health import health_flush

    assert health_flush() == 2  # both purchases, written now
    assert Provider.objects.get(pk=provider.pk).attempts_seen == 2


@pytest.mark.django_db
def test_changes_are_seen_by_the_next_purchase(api, upstream, customer_with_key):
    fake, provider = upstream
    _, key = customer_with_key(balance="500.00")
    first = _buy(api, key)
    # a markup rule (ORM save)
    markup_set(scope="global", percent="50")
    assert _buy(api, key).price == Decimal("3.00") != first.price
    # the offer's cost through catalogue sync (bulk INSERT ... ON CONFLICT)
    fake.set_offer(22, "tg", "4.00", 100)
    catalogue_sync(provider=provider)
    assert _buy(api, key).price == Decimal("6.00")
    # a queryset update, as the admin's actions do
    Offer.objects.filter(provider=provider).update(stock=0)
    assert api(key, "getNumber", service="tg", country="22") == "NO_NUMBERS"
    Offer.objects.filter(provider=provider).update(stock=5)
    _buy(api, key)
    Service.objects.filter(code="tg").update(enabled=False)
    assert api(key, "getNumber", service="tg", country="22") == "BAD_SERVICE"
    Service.objects.filter(code="tg").update(enabled=True)
    _buy(api, key)
    Provider.objects.filter(pk=provider.pk).update(enabled=False)
    assert api(key, "getNumber", service="tg", country="22") == "NO_NUMBERS"


@pytest.mark.django_db
def test_health_is_read_live_not_cached(api, upstream, customer_with_key):
    fake, provider = upstream
    _, key = customer_with_key(balance="500.00")
    _buy(api, key)
    version = routing_state.routing_state().version
    from django.utils import timezone

    Provider.objects.filter(pk=provider.pk).update(circuit_open_until=timezone.now() + timezone.timedelta(minutes=5))
    assert routing_state.routing_state().version == version  # health is no routing change...
    assert api(key, "getNumber", service="tg", country="22") == "NO_NUMBERS"  # ...and is seen at once
    Provider.objects.filter(pk=provider.pk).update(circuit_open_until=None)
    _buy(api, key)


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_elsewhere_is_seen_by_the_next_purchase(api, upstream, customer_with_key):
    """Another process (here: another connection, committing on its own) changes a price: this
    process's cache follows at its next purchase."""
    fake, provider = upstream
    _, key = customer_with_key(balance="500.00")
    assert _buy(api, key).price == Decimal("2.00")
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"]
    ) as other:
        other.execute("UPDATE upstream_offer SET cost = 7.0000 WHERE provider_id = %s", [provider.pk])
        other.commit()
    assert _buy(api, key).price == Decimal("7.00")


# --- the hold and the order in one statement (billing.services.wallet_hold_with_order) ------------


def _order_for(customer, provider) -> Activation:
    return Activation(
        customer=customer,
        provider=provider,
        service=Service.objects.get(code="tg"),
        country_id=22,
        price=Decimal("2.00"),
        cost=Decimal("2.00"),
        cost_pkr=Decimal("2.00"),
    )


def _hold_for(customer, provider, amount: str):
    from django.utils import timezone

    from billing.selectors import wallet_of
    from billing.services import wallet_hold_with_order

    order = _order_for(customer, provider)
    hold = wallet_hold_with_order(
        wallet_id=wallet_of(customer).pk,
        amount=Decimal(amount),
        order=order,
        kind="activation",
        key_suffix="hold:0",
        expires_at=timezone.now() + timezone.timedelta(minutes=30),
    )
    return order, hold


@pytest.mark.django_db
def test_hold_with_order_refused_writes_nothing(upstream, customer_with_key):
    from accounts.errors import AccountBlocked
    from billing.errors import InsufficientFunds
    from billing.models import Hold
    from billing.selectors import wallet_of

    fake, provider = upstream
    customer, _ = customer_with_key(balance="5.00")
    order, hold = _hold_for(customer, provider, "4.00")
    assert Activation.objects.get(pk=order.pk).hold_id == hold.pk
    assert Hold.objects.get(pk=hold.pk).amount == Decimal("4.00")
    with pytest.raises(InsufficientFunds):
        _hold_for(customer, provider, "1.01")
    assert (wallet_of(customer).held, Activation.objects.count(), Hold.objects.count()) == (Decimal("4.00"), 1, 1)
    type(customer).objects.filter(pk=customer.pk).update(is_blocked=True)
    with pytest.raises(AccountBlocked):
        _hold_for(customer, provider, "0.50")
    assert (wallet_of(customer).held, Activation.objects.count(), Hold.objects.count()) == (Decimal("4.00"), 1, 1)
    from reseller.orders import money

    money.refund(Activation.objects.get(pk=order.pk), reason="test")  # the ledger ends clean


@pytest.mark.django_db(transaction=True)
def test_hold_with_order_never_spends_the_same_money_twice(upstream, customer_with_key):
    """Eight threads race for a wallet that covers three holds: exactly three win."""
    import threading

    from django.db import connection as thread_connection

    from billing.errors import InsufficientFunds
    from billing.selectors import wallet_of

    fake, provider = upstream
    customer, _ = customer_with_key(balance="6.00")
    won, refused, start = [], [], threading.Barrier(8)

    def race():
        try:
            start.wait()
            won.append(_hold_for(customer, provider, "2.00")[0].pk)
        except InsufficientFunds:
            refused.append(1)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(won), len(refused)) == (3, 5)
    assert wallet_of(customer).held == Decimal("6.00")
    assert Activation.objects.filter(pk__in=won, hold__isnull=False).count() == 3
    from reseller.orders import money

    for pk in won:
        money.refund(Activation.objects.get(pk=pk), reason="test")


@pytest.mark.django_db(transaction=True)
def test_get_status_reads_key_and_activation_in_one_statement(api, upstream, customer_with_key):
    """getStatus, the most polled call: the key and the activation's status in one statement,
    with the same replies as two (an unknown id, another customer's, a malformed one)."""
    _, key = customer_with_key(balance="500.00")
    _, other_key = customer_with_key(balance="500.00")
    mine = _buy(api, key)
    theirs = _buy(api, other_key)
    for activation_id, expected in (
        (mine.pk, "STATUS_WAIT_CODE"),
        (theirs.pk, "NO_ACTIVATION"),
        (10**12, "NO_ACTIVATION"),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert api(key, "getStatus", id=str(activation_id)) == expected
        assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
    Activation.objects.filter(pk=mine.pk).update(state=Activation.State.CODE_RECEIVED, code="123456")
    assert api(key, "getStatus", id=str(mine.pk)) == "STATUS_OK:123456"
    assert api(key, "getStatus", id="abc") == "NO_ACTIVATION"
    assert api(key, "getStatus") == "BAD_ID"
    assert api("0" * 32, "getStatus", id=str(mine.pk)) == "BAD_KEY"
