"""Upstream reconciliation: balance snapshots against the ledger's float account, with figures
computed by hand below (provider currency at 2 PKR per unit)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import customer_create
from billing.models import OrderRef
from billing.selectors import wallet_of
from billing.services import wallet_hold, wallet_topup
from reports.reconcile import DRIFT, OK, TOPUP, reconcile
from reseller.models import Activation, Rental
from reseller.orders import money
from upstream.models import Country, Provider, ProviderBalanceSnapshot, Service, balance_snapshot_record
from upstream.services import catalogue_sync, provider_add, provider_balance_sync

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = T0

    def at(self, hour, minute=0):
        self.now = T0.replace(hour=hour, minute=minute)

    def __call__(self):
        return self.now


@pytest.fixture
def scene(db, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    p = Provider.objects.create(slot=3, protocol="sandbox", name="rec", currency="USD", rate_to_pkr=Decimal("2"))
    other = Provider.objects.create(slot=4, protocol="sandbox", name="other")
    service, _ = Service.objects.get_or_create(code="rctg", defaults={"name": "rec tg"})
    country, _ = Country.objects.get_or_create(id=6, defaults={"name": "Indonesia"})
    customer, _ = customer_create(username="rec-customer")
    wallet_topup(wallet=wallet_of(customer), amount="1000", key="rec-topup")
    n = iter(range(1, 100))

    def order(cost, model=Activation, provider=p, **fields):
        if model is Rental:
            o = Rental.objects.create(
                customer=customer, provider=provider, service=service, country=country, hours=4,
                price=Decimal(cost) + 5, cost_pkr=cost, **fields,
            )  # fmt: skip
        else:
            o = Activation.objects.create(
                customer=customer, provider=provider, service=service, country=country,
                price=Decimal(cost) + 5, cost_pkr=cost, **fields,
            )  # fmt: skip
        o.hold = wallet_hold(
            wallet=wallet_of(customer),
            amount=o.price,
            key=f"rec:{next(n)}",
            order=OrderRef(o.kind, o.pk),
            expires_at=clock.now + timedelta(days=1),
        ).hold
        o.save(update_fields=["hold"])
        return o

    def end(o, state, hour, minute=0):
        clock.at(hour, minute)
        type(o).objects.filter(pk=o.pk).update(state=state, ended_at=clock.now)

    def snap(hour, balance, provider=p):
        clock.at(hour)
        balance_snapshot_record(provider, Decimal(balance), clock.now)

    # 10:00 200 PKR. Interval 1: A1 charged 30, rental charged 20 and refunded by the upstream, an orphan loss 5.
    snap(10, "100")
    clock.at(10, 10)
    a1 = order("30")
    clock.at(10, 20)
    money.charge(a1, memo="code")
    end(a1, "finished", 10, 30)
    clock.at(10, 40)
    r1 = order("20", model=Rental)
    money.charge(r1, memo="rented")
    clock.at(10, 50)
    money.refund_paid(r1, memo="cancelled")
    end(r1, "cancelled", 10, 50)
    clock.at(10, 55)
    money.book_loss(provider=p, amount=Decimal("5"), key="rec-orphan", memo="orphan")
    snap(11, "82.5")  # 165 PKR: fell 35 = 30 + 20 - 20 + 5
    # Interval 2: A2 (40) still live at 12:00, U1 (15) unknown; the upstream took both.
    clock.at(11, 10)
    a2 = order("40", state="active")
    clock.at(11, 20)
    u1 = order("15")
    money.refund(u1, reason="unknown")
    end(u1, "unknown", 11, 25)
    clock.at(11, 30)
    f1 = order("99")
    money.refund(f1, reason="failed")
    end(f1, "failed", 11, 31)  # a failed purchase is never exposure
    snap(12, "55")  # 110 PKR: fell 55, booked 0
    # Interval 3: A2 charged (40); the upstream took 10 only: drift -30 within A2's exposure 40.
    clock.at(12, 10)
    money.charge(a2, memo="code")
    end(a2, "finished", 12, 15)
    snap(13, "50")  # 100 PKR
    # Interval 4: A3 charged 8, the upstream took 20: drift 12, no exposure -> flagged.
    clock.at(13, 10)
    a3 = order("8")
    clock.at(13, 20)
    money.charge(a3, memo="code")
    end(a3, "finished", 13, 30)
    snap(14, "40")  # 80 PKR
    # Interval 5: a top-up of 100 (200 PKR) on the upstream's side and A4 charged 6.
    clock.at(14, 5)
    a4 = order("6")
    money.charge(a4, memo="code")
    end(a4, "finished", 14, 10)
    snap(15, "137")  # 274 PKR = 80 - 6 + 200
    # Another provider's orders and snapshots never mix in.
    snap(10, "10", provider=other)
    clock.at(10, 30)
    b = order("3", provider=other)
    money.charge(b, memo="code")
    end(b, "finished", 10, 40)
    snap(11, "7", provider=other)
    clock.now = T0 + timedelta(hours=8)
    return p, other


def test_intervals_have_the_hand_computed_figures(scene):
    p, other = scene
    rec_p, rec_other = reconcile(since=T0, until=T0 + timedelta(hours=6), providers=[p, other])
    got = [(i.fell, i.upstream_cost, i.upstream_refund, i.losses, i.charged, i.drift, i.exposure, i.status, i.topup)
           for i in rec_p.intervals]  # fmt: skip
    D = Decimal
    assert got == [
        (D(35), D(50), D(20), D(5), D(35), D(0), D(0), OK, D(0)),
        (D(55), D(0), D(0), D(0), D(0), D(55), D(55), OK, D(0)),
        (D(10), D(40), D(0), D(0), D(40), D(-30), D(40), OK, D(0)),
        (D(20), D(8), D(0), D(0), D(8), D(12), D(0), DRIFT, D(0)),
        (D(-194), D(6), D(0), D(0), D(6), D(-200), D(0), TOPUP, D(200)),
    ]
    assert [i.start.hour for i in rec_p.intervals] == [10, 11, 12, 13, 14]
    assert rec_p.intervals[4].balance_start == D("40") and rec_p.intervals[4].balance_end_pkr == D("274")
    # The window 10:00-15:00: fell -74, charged 89, one top-up of 200; the drift of the other
    # intervals 0 + 55 - 30 + 12 = 37 beyond U1's exposure 15 (+ 1 tolerance): flagged.
    assert (rec_p.fell, rec_p.charged, rec_p.topups, rec_p.drift, rec_p.exposure) == (
        D(-74), D(89), D(200), D(37), D(15)
    )  # fmt: skip
    assert rec_p.flagged and rec_p.flagged_intervals == 1
    # The other provider (1 PKR per unit): fell 3, its own order's cost 3; none of p's transfers.
    (only,) = rec_other.intervals
    assert (only.fell, only.charged, only.drift, only.status) == (D(3), D(3), D(0), OK)
    assert not rec_other.flagged


def test_tolerance_and_window(scene, settings):
    p, _ = scene
    settings.RECONCILE_TOLERANCE_PKR = Decimal("12")
    (rec,) = reconcile(since=T0, until=T0 + timedelta(hours=6), providers=[p])
    assert [i.status for i in rec.intervals] == [OK, OK, OK, OK, TOPUP]
    assert not rec.flagged_intervals and rec.flagged  # 37 > 15 + 12 still
    settings.RECONCILE_TOLERANCE_PKR = Decimal("22")
    (rec,) = reconcile(since=T0, until=T0 + timedelta(hours=6), providers=[p])
    assert not rec.flagged
    # Only the snapshots inside the window count: 12:00..14:00 is intervals 3 and 4.
    (rec,) = reconcile(since=T0.replace(hour=12), until=T0.replace(hour=14), providers=[p])
    assert [(i.drift, i.exposure) for i in rec.intervals] == [(Decimal(-30), Decimal(40)), (Decimal(12), Decimal(0))]
    assert rec.exposure == Decimal(40) and rec.drift == Decimal(-18)


def test_a_provider_without_snapshots_has_no_intervals(db):
    p = Provider.objects.create(slot=5, protocol="sandbox", name="empty")
    (rec,) = reconcile(since=T0, until=T0 + timedelta(days=1), providers=[p])
    assert rec.intervals == [] and not rec.flagged and rec.exposure == 0


def test_every_balance_refresh_writes_a_snapshot(db):
    provider = provider_add(slot=6, protocol="sandbox", url="", api_key="", config={"balance": 40})
    Provider.objects.filter(pk=provider.pk).update(rate_to_pkr=Decimal("280.5"))
    provider.refresh_from_db()
    provider_balance_sync(provider=provider)
    catalogue_sync(provider=provider)
    snaps = list(ProviderBalanceSnapshot.objects.filter(provider=provider))
    assert [(s.balance, s.rate_to_pkr, s.balance_pkr) for s in snaps] == [
        (Decimal("40.0000"), Decimal("280.500000"), Decimal("11220.00"))
    ] * 2
    provider.refresh_from_db()
    assert snaps[1].taken_at == provider.balance_checked_at


def test_the_page_shows_the_flagged_interval(scene, admin_client):
    response = admin_client.get(
        reverse("admin:reports_reconciliation"), {"date_from": "2026-03-02", "date_to": "2026-03-02"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="reconcile-summary"' in body
    assert body.count('<tr class="drift">') == 1  # interval 4
    assert body.count('<tr class="drift" data-provider=') == 1  # the summary of provider "rec" only
    assert '<tr class="top-up">' in body and "top-up 200" in body
