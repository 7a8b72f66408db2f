"""The status sync records the codes of a cycle in bulk (`activations_record_codes`): a constant
number of statements per batch, the same ledger and webhooks as one by one, a replayed cycle
charges nothing twice, and a customer's cancel racing a found code ends in exactly one outcome.

The rows are made in bulk (`tests/bulk.py`) at fakes of tests/fakes (real HTTP)."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import Hold, LedgerAccount, Transfer
from billing.selectors import wallet_of
from billing.services import hold_capture
from billing.verify import ledger_verify
from reseller.activations.lifecycle import (
    Change,
    FoundCode,
    activation_cancel,
    activation_request_another,
    activations_record_codes,
)
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation, CustomerWebhook, WebhookDelivery
from reseller.notify.deliveries import _body
from tests.billing.test_races import run_concurrently
from tests.bulk import COST, PRICE, make_live
from tests.fakes.sms_activate import FakeSmsActivate
from tests.fakes.sms_activate_compat import FakeSmsActivateCompat
from upstream.models import Country, Provider, Service
from upstream.services import catalogue_sync, provider_add


def upstream(slot: int, fake) -> Provider:
    fake.set_offer(22, "tg", str(COST), 100)
    provider = provider_add(slot=slot, protocol="smsactivate", url=fake.url, api_key="k", currency="PKR")
    catalogue_sync(provider=provider)
    return provider


def code_of(row) -> str:
    return f"{row.pk % 1000000:06d}"


class Statements:
    """Counts the SQL statements run on the default connection."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def cycle(provider) -> int:
    counter = Statements()
    with connection.execute_wrapper(counter):
        provider_sync_statuses(provider_id=provider.pk)
    return counter.count


@pytest.mark.django_db
@pytest.mark.parametrize("protocol", ["active list", "one by one"])
def test_found_codes_cost_a_number_of_statements_independent_of_their_number(customer_with_key, protocol):
    hooked, _ = customer_with_key(balance="200.00")
    CustomerWebhook.objects.create(customer=hooked, url="https://hooks.example.com/sms")
    plain, _ = customer_with_key(balance="200.00")
    fake_class = FakeSmsActivate if protocol == "active list" else FakeSmsActivateCompat
    with fake_class(api_key="k") as fake:
        if protocol == "active list":
            provider = upstream(1, fake)
        else:
            fake.set_offer(22, "tg", str(COST), 100)
            provider = provider_add(slot=1, protocol="smsactivate-compat", url=fake.url, api_key="k", currency="PKR")
            Country.objects.get_or_create(id=22, defaults={"name": "India"})
            Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})
        rows = make_live(hooked, provider, fake, 60, synced_ago=10) + make_live(
            plain, provider, fake, 60, synced_ago=10
        )
        fake.deliver_sms(rows[119].upstream_id, "999999")
        cycle(provider)  # the first code ever makes the revenue, upstream cost and float accounts
        idle = cycle(provider)
        counts = {}
        for n, chosen in ((5, rows[0:5] + rows[60:65]), (50, rows[5:55] + rows[65:115])):
            for row in chosen:
                fake.deliver_sms(row.upstream_id, code_of(row))
            counts[n] = cycle(provider)
            assert Activation.objects.filter(pk__in=[r.pk for r in chosen], state="code_received").count() == 2 * n
    # 10 codes or 100 codes in one cycle: the same statements (each batch is a constant number).
    assert counts[50] == counts[5], counts
    assert counts[5] - idle <= 14, (idle, counts)  # moves, capture, transfers, 2 balances, webhooks, health
    assert Transfer.objects.filter(kind="capture").count() == 111  # and the first one
    assert WebhookDelivery.objects.count() == 55  # the customer with a webhook: one per code


@pytest.mark.django_db
def test_ledger_after_a_bulk_cycle_charges_each_order_once(customer_with_key, caplog):
    customers = [customer_with_key(balance="100.00")[0] for _ in range(3)]
    CustomerWebhook.objects.create(customer=customers[0], url="https://hooks.example.com/a")
    with FakeSmsActivate(api_key="k") as one, FakeSmsActivate(api_key="k") as two:
        providers = [upstream(1, one), upstream(2, two)]
        rows = {}
        for provider, fake in zip(providers, (one, two), strict=True):
            for customer in customers:
                rows[(provider.pk, customer.pk)] = make_live(customer, provider, fake, 10, synced_ago=10)
        coded = []
        for (provider_id, _customer), made in rows.items():
            fake = one if provider_id == providers[0].pk else two
            for row in made[:7]:
                fake.deliver_sms(row.upstream_id, code_of(row), f"Your code is {code_of(row)}")
                coded.append(row)
        before = {c.pk: (wallet_of(c).balance, wallet_of(c).held) for c in customers}
        with caplog.at_level(logging.WARNING, logger="reseller.activations.lifecycle"):
            for provider in providers:
                provider_sync_statuses(provider_id=provider.pk)
        assert "one by one" not in caplog.text  # the bulk path took every batch
        after_first = Transfer.objects.count()
        for provider in providers:  # the same list again: a replayed cycle books nothing
            provider_sync_statuses(provider_id=provider.pk)
        assert Transfer.objects.count() == after_first

    report = ledger_verify()
    assert report.ok, report.render()
    for row in coded:
        row.refresh_from_db()
        assert (row.state, row.code, row.sms_text) == ("code_received", code_of(row), f"Your code is {code_of(row)}")
        hold = Hold.objects.get(pk=row.hold_id)
        assert (hold.status, hold.captured_amount) == ("captured", PRICE)
        capture = Transfer.objects.get(kind="capture", hold=hold)
        assert (capture.idempotency_key, capture.amount, capture.memo) == (
            f"hold:{hold.pk}:capture",
            PRICE,
            f"activation #{row.pk}",
        )
        cost = Transfer.objects.get(idempotency_key=f"activation:{row.pk}:cost")
        assert (cost.kind, cost.amount, cost.order_kind, cost.order_pk) == ("upstream_cost", COST, "activation", row.pk)
        assert cost.memo == f"activation #{row.pk} tg/22"
        assert cost.source.code == f"provider:{row.provider_id}"
    waiting = Activation.objects.filter(state="active")
    assert waiting.count() == 2 * 3 * 3
    assert not Hold.objects.filter(pk__in=waiting.values("hold_id")).exclude(status="open").exists()
    for customer in customers:  # 14 codes each: charged once each, the rest still held
        balance, held = before[customer.pk]
        wallet = wallet_of(customer)
        assert wallet.balance == balance - 14 * PRICE
        assert wallet.held == held - 14 * PRICE
    for provider in providers:
        assert LedgerAccount.objects.get(code=f"provider:{provider.pk}").balance == -21 * COST
    assert LedgerAccount.objects.get(code="revenue").balance == 42 * PRICE
    assert LedgerAccount.objects.get(code="upstream_cost").balance == 42 * COST
    # The customer with a webhook: one delivery per code, the body the single path makes.
    hooked = [r for r in coded if r.customer_id == customers[0].pk]
    deliveries = WebhookDelivery.objects.order_by("order_pk")
    assert [d.order_pk for d in deliveries] == sorted(r.pk for r in hooked)
    for delivery, row in zip(deliveries, sorted(hooked, key=lambda r: r.pk), strict=True):
        assert delivery.event_key == f"activation:{row.pk}:{row.sms_at.isoformat()}"
        assert delivery.url == "https://hooks.example.com/a"
        assert delivery.body == _body(
            order_id=row.pk, service="tg", text=row.sms_text, code=row.code, country=22, received_at=row.sms_at
        )
    assert Provider.objects.get(pk=providers[0].pk).sms_outcomes_seen == 21


@pytest.mark.django_db
def test_another_sms_after_status_3_is_recorded_in_bulk_without_a_charge(customer_with_key):
    customer, _ = customer_with_key(balance="50.00")
    CustomerWebhook.objects.create(customer=customer, url="https://hooks.example.com/a")
    with FakeSmsActivate(api_key="k") as fake:
        provider = upstream(1, fake)
        rows = make_live(customer, provider, fake, 4, synced_ago=10)
        for row in rows:
            fake.deliver_sms(row.upstream_id, "111111")
        provider_sync_statuses(provider_id=provider.pk)
        for row in rows[:2]:
            row.refresh_from_db()
            assert activation_request_another(activation=row) == Change.RETRY
        provider_sync_statuses(provider_id=provider.pk)  # still "111111" upstream: nothing new
        assert Activation.objects.filter(state="waiting_retry").count() == 2
        fake.deliver_sms(rows[0].upstream_id, "222222")
        provider_sync_statuses(provider_id=provider.pk)
    rows[0].refresh_from_db()
    assert (rows[0].state, rows[0].code, rows[0].previous_code) == ("code_received", "222222", "111111")
    assert Activation.objects.get(pk=rows[1].pk).state == "waiting_retry"
    assert Transfer.objects.filter(kind="capture").count() == 4  # the first SMS only
    assert WebhookDelivery.objects.filter(order_pk=rows[0].pk).count() == 2  # each SMS told once


@pytest.mark.django_db
def test_a_batch_the_bulk_path_refuses_is_applied_one_by_one(customer_with_key, caplog):
    """A hold captured already (by an older run that died before the state change) is what the
    single path tolerates and the bulk UPDATE does not match: the batch rolls back and goes one by
    one, every order charged exactly once."""
    customer, _ = customer_with_key(balance="50.00")
    with FakeSmsActivate(api_key="k") as fake:
        provider = upstream(1, fake)
        rows = make_live(customer, provider, fake, 6, synced_ago=10)
        hold_capture(hold=Hold.objects.get(pk=rows[2].hold_id), memo=f"activation #{rows[2].pk}")
        for row in rows:
            fake.deliver_sms(row.upstream_id, code_of(row))
        with caplog.at_level(logging.WARNING, logger="reseller.activations.lifecycle"):
            provider_sync_statuses(provider_id=provider.pk)
    assert "6 codes applied one by one" in caplog.text
    assert Activation.objects.filter(state="code_received").count() == 6
    assert Transfer.objects.filter(kind="capture").count() == 6
    assert Transfer.objects.filter(kind="upstream_cost").count() == 6
    assert wallet_of(customer).balance == Decimal("50.00") - 6 * PRICE


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_cancels_racing_a_bulk_batch_end_each_order_once(customer_with_key, round_):
    """Real threads: one records 40 found codes in bulk while 8 customers' threads cancel 5 orders
    each (status 8). Every order ends in exactly one outcome: coded and charged once, or cancelled
    and refunded with nothing captured."""
    customers = [customer_with_key(balance="20.00")[0] for _ in range(8)]
    with FakeSmsActivate(api_key="k") as fake:
        provider = upstream(1, fake)
        rows = []
        for customer in customers:
            rows += make_live(customer, provider, fake, 5, synced_ago=10)
        past = timezone.now() - timedelta(seconds=600)  # past the cancel grace
        Activation.objects.filter(pk__in=[r.pk for r in rows]).update(activated_at=past, created_at=past)
        found = [FoundCode(r.pk, code_of(r), f"code {code_of(r)}", first=True) for r in rows]

        def actor(i):
            if i == 0:
                return activations_record_codes(provider=provider, found=found)
            outcomes = []
            for row in rows[(i - 1) * 5 : i * 5][:: 1 if i % 2 else -1]:  # some from the end of the batch
                fresh = Activation.objects.select_related("provider", "service").get(pk=row.pk)
                try:
                    outcomes.append(activation_cancel(activation=fresh))
                except Exception as exc:  # noqa: BLE001 - e.g. OrderAlreadyEnded: collected
                    outcomes.append(type(exc).__name__)
            return outcomes

        results = run_concurrently(9, actor)
    assert not [r for r in results if isinstance(r, Exception)], results
    cancelled = finished = 0
    for row in Activation.objects.filter(pk__in=[r.pk for r in rows]):
        hold = Hold.objects.get(pk=row.hold_id)
        captures = Transfer.objects.filter(kind="capture", hold=hold).count()
        costs = Transfer.objects.filter(idempotency_key=f"activation:{row.pk}:cost").count()
        if row.state == "cancelled":  # the cancel won: refunded, nothing charged
            assert (hold.status, captures, costs, row.code) == ("released", 0, 0, "")
            cancelled += 1
        else:  # the code won: charged once; a cancel after it finishes the order (already charged)
            assert row.state in ("code_received", "finished"), row.state
            assert (hold.status, captures, costs, row.code) == ("captured", 1, 1, code_of(row))
            finished += 1
    assert cancelled + finished == 40
    charged = sum(Decimal(PRICE) for r in Activation.objects.filter(pk__in=[r.pk for r in rows]).exclude(code=""))
    assert sum(wallet_of(c).balance for c in customers) == 8 * Decimal("20.00") - charged
    report = ledger_verify()
    assert report.ok, report.render()


@pytest.mark.django_db
def test_a_batch_that_deadlocked_is_applied_one_by_one(customer_with_key, monkeypatch, caplog):
    """PostgreSQL chose the batch as a deadlock's victim (e.g. against the hold sweeper, which locks
    several wallets in expiry order): its transaction is rolled back and its codes applied one by
    one; any other database error fails the cycle."""
    from django.db import OperationalError
    from psycopg import errors

    from reseller.activations import lifecycle

    def deadlocked(provider, batch):
        try:
            raise errors.DeadlockDetected("deadlock detected")
        except errors.DeadlockDetected as cause:
            raise OperationalError("deadlock detected") from cause

    customer, _ = customer_with_key(balance="20.00")
    with FakeSmsActivate(api_key="k") as fake:
        provider = upstream(1, fake)
        rows = make_live(customer, provider, fake, 3, synced_ago=10)
        found = [FoundCode(r.pk, code_of(r), "", first=True) for r in rows]
        monkeypatch.setattr(lifecycle, "_codes_batch", deadlocked)
        with caplog.at_level(logging.WARNING, logger="reseller.activations.lifecycle"):
            activations_record_codes(provider=provider, found=found)
        assert "3 codes applied one by one" in caplog.text
        assert Transfer.objects.filter(kind="capture").count() == 3

        monkeypatch.setattr(
            lifecycle, "_codes_batch", lambda provider, batch: (_ for _ in ()).throw(OperationalError("gone"))
        )
        with pytest.raises(OperationalError):
            activations_record_codes(provider=provider, found=found)
