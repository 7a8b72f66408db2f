"""A generated ledger history for the report tests, booked through the real services
(billing.services, reseller.orders.money) on a controlled clock, and, next to it, the figures
each posting must add, kept by hand: `History.expected` never reads the database."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.services import customer_create
from billing.models import OrderRef
from billing.selectors import wallet_of
from billing.services import hold_resize, wallet_adjust, wallet_hold, wallet_topup
from reseller.models import Activation, EmailOrder, Rental, RentalRenewal
from reseller.orders import money
from upstream.models import Country, EmailService, Provider, Service

D0 = date(2026, 3, 28)  # a Saturday: the history spans two months and three weeks
DAYS = 7
SUMMED = ("revenue", "cost", "released", "paid", "losses", "topups", "corrections", "orders", "succeeded", "resolved")


class Clock:
    """timezone.now() for the services while the history is booked."""

    def __init__(self):
        self.now = datetime.combine(D0, time(9), tzinfo=UTC)

    def at(self, day: int, hour: int = 12, minute: int = 0) -> None:
        self.now = datetime.combine(D0 + timedelta(days=day), time(hour, minute), tzinfo=UTC)

    def __call__(self):
        return self.now


@dataclass
class Dims:
    kind: str = ""
    service: str = ""
    country: str = ""
    provider: str = ""
    customer: str = ""


@dataclass
class History:
    clock: Clock
    providers: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    countries: dict = field(default_factory=dict)
    customers: dict = field(default_factory=dict)
    email_service: EmailService | None = None
    facts: list = field(default_factory=list)  # (day, Dims, measure, value)
    orders: dict = field(default_factory=dict)

    def add(self, dims: Dims, measure: str, value) -> None:
        self.facts.append((self.clock.now.date(), dims, measure, Decimal(value)))

    def expected(self, by: str, *, kind=None, **filters) -> dict[str, dict]:
        """Per key of the grouping, the sums of SUMMED, from the facts alone."""
        sums: dict[str, dict] = defaultdict(lambda: dict.fromkeys(SUMMED, Decimal(0)))
        for day, dims, measure, value in self.facts:
            if kind and dims.kind != kind:
                continue
            if any(str(getattr(dims, name)) != str(want) for name, want in filters.items()):
                continue
            if by == "day":
                key = day.isoformat()
            elif by == "week":
                key = (day - timedelta(days=day.weekday())).isoformat()
            elif by == "month":
                key = day.strftime("%Y-%m")
            else:
                key = str(getattr(dims, by))
            sums[key][measure] += value
        return dict(sums)


def figures(s: dict) -> dict:
    """The Row figures of a sum, by the definitions of docs/reports.md, restated here."""
    q = Decimal("0.01")
    margin = s["revenue"] - s["paid"] - s["cost"]
    return {
        "revenue": s["revenue"].quantize(q),
        "upstream_cost": s["cost"].quantize(q),
        "margin": margin.quantize(q),
        "margin_pct": (margin * 100 / s["revenue"]).quantize(q) if s["revenue"] else None,
        "refunds": (s["released"] + s["paid"]).quantize(q),
        "losses": s["losses"].quantize(q),
        "topups": s["topups"].quantize(q),
        "corrections": s["corrections"].quantize(q),
        "orders": int(s["orders"]),
        "succeeded": int(s["succeeded"]),
        "success_rate": (s["succeeded"] * 100 / s["resolved"]).quantize(q) if s["resolved"] else None,
    }


def build(monkeypatch) -> History:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    h = History(clock=clock)
    for slot in (1, 2):
        h.providers[slot] = Provider.objects.create(slot=slot, protocol="sandbox", name=f"report provider {slot}")
    for code in ("tg", "wa", "ig"):
        h.services[code], _ = Service.objects.get_or_create(code=f"rp{code}", defaults={"name": f"report {code}"})
    for cid, name in ((6, "Indonesia"), (22, "India")):
        h.countries[cid], _ = Country.objects.get_or_create(id=cid, defaults={"name": name})
    h.email_service, _ = EmailService.objects.get_or_create(code="rp-ig", defaults={"name": "report instagram"})

    clock.at(0, 8)
    for name, amount in (("alice", "1000"), ("bob", "1000"), ("carol", "500")):
        h.customers[name], _ = customer_create(username=f"rp-{name}")
        topup(h, name, amount)

    p1, p2 = h.providers[1], h.providers[2]
    tg, wa, ig = h.services["tg"], h.services["wa"], h.services["ig"]
    c6, c22 = h.countries[6], h.countries[22]
    # day 0: a charged activation, a released one
    clock.at(0, 10)
    o = order(h, 1, "activation", "alice", p1, tg, c6, "10.00", "7.00")
    charge(h, o)
    o = order(h, 2, "activation", "bob", p2, wa, c22, "12.00", "8.00")
    release(h, o)
    # day 1: a charged cheap number; an activation refunded whose code comes late (day 4: a loss)
    clock.at(1, 9)
    o = order(h, 3, "cheap", "alice", p2, tg, c22, "5.00", "3.00")
    charge(h, o)
    o = order(h, 4, "activation", "carol", p1, ig, c6, "20.00", "15.00")
    release(h, o)
    # day 2: two rentals (one of every service: "full"), both charged; a correction +25
    clock.at(2, 11)
    o = order(h, 5, "rental", "bob", p1, wa, c6, "100.00", "70.00")
    charge(h, o)
    o = order(h, 6, "rental", "carol", p2, None, c22, "80.00", "60.00")
    charge(h, o)
    adjust(h, "alice", "25.00")
    # day 3: a renewal of rental 5 (charged), two e-mails (one charged, one released), a resize
    clock.at(3, 14)
    o = order(h, 7, "renewal", "bob", p1, wa, c6, "50.00", "35.00", rental=h.orders[5])
    charge(h, o)
    o = order(h, 8, "email", "alice", p2, h.email_service, None, "9.00", "6.00")
    charge(h, o)
    o = order(h, 9, "email", "bob", p1, None, None, "4.00", "2.00")
    release(h, o)
    o = order(h, 10, "activation", "alice", p1, tg, c6, "10.00", "9.00")
    resize(h, o, "12.00")
    charge(h, o)
    topup(h, "carol", "500")
    # day 4: the late code of order 4 (a loss), a renewal that failed, a charged activation
    clock.at(4, 10)
    loss(h, h.orders[4])
    o = order(h, 11, "renewal", "bob", p1, wa, c6, "50.00", "35.00", rental=h.orders[5])
    release(h, o)
    o = order(h, 12, "activation", "alice", p1, tg, c6, "10.00", "7.00")
    charge(h, o)
    # day 5: rental 6 refunded after payment; an orphan loss (no order); a hold at 23:50 ...
    clock.at(5, 9)
    paid_refund(h, h.orders[6])
    orphan_loss(h, p2, "13.00")
    clock.at(5, 23, 50)
    o = order(h, 13, "cheap", "bob", p1, wa, c6, "6.00", "4.00")
    # day 6: ... released after midnight; a charged activation; a correction -10
    clock.at(6, 0, 10)
    release(h, o)
    clock.at(6, 15)
    o = order(h, 14, "activation", "carol", p2, tg, c22, "11.00", "8.00")
    charge(h, o)
    adjust(h, "bob", "-10.00")
    clock.at(DAYS + 2)  # after the history: every day of it is complete
    return h


def dims_of(h: History, o) -> Dims:
    if isinstance(o, RentalRenewal):
        base = dims_of(h, o.rental)
        return base
    kind = "rental" if isinstance(o, Rental) else "email" if isinstance(o, EmailOrder) else o.kind
    if isinstance(o, EmailOrder):
        service = f"email:{o.service_id}" if o.service_id else ""
    else:
        service = str(o.service_id or "")
    return Dims(kind, service, str(getattr(o, "country_id", "") or ""), str(o.provider_id), str(o.customer_id))


def order(h, n, kind, customer, provider, service, country, price, cost, rental=None):
    c = h.customers[customer]
    if kind in ("activation", "cheap"):
        o = Activation.objects.create(
            kind=kind, customer=c, provider=provider, service=service, country=country, price=price, cost_pkr=cost
        )
    elif kind == "rental":
        o = Rental.objects.create(
            customer=c, provider=provider, service=service, country=country, hours=4, price=price, cost_pkr=cost
        )
    elif kind == "renewal":
        o = RentalRenewal.objects.create(rental=rental, request_key=f"r{n}", hours=4, price=price, cost_pkr=cost)
    else:
        o = EmailOrder.objects.create(
            customer=c,
            provider=provider,
            server=1,
            service=service,
            domain="mail.test",
            price=price,
            cost_pkr=cost,
            lifetime_seconds=1200,
        )
    o.hold = wallet_hold(
        wallet=wallet_of(c), amount=price, key=money.key(o, "hold:0"), order=OrderRef(o.kind, o.pk)
    ).hold
    o.save(update_fields=["hold"])
    h.orders[n] = o
    h.add(dims_of(h, o), "orders", 1)
    return o


def charge(h, o):
    money.charge(o, memo="report test")
    d = dims_of(h, o)
    h.add(d, "revenue", o.price)
    h.add(d, "cost", o.cost_pkr)
    h.add(d, "succeeded", 1)
    h.add(d, "resolved", 1)


def release(h, o):
    money.refund(o, reason="report test")
    d = dims_of(h, o)
    h.add(d, "released", o.price)
    h.add(d, "resolved", 1)


def resize(h, o, price):
    """The upstream charged more than quoted: the hold is replaced (not a refund, one order)."""
    o.hold = hold_resize(hold=o.hold, amount=price, key=money.key(o, "hold:1"))
    o.price = Decimal(price)
    o.save(update_fields=["hold", "price"])


def loss(h, o):
    money.order_loss(o, memo="late code")
    h.add(dims_of(h, o), "losses", o.cost_pkr)


def paid_refund(h, o):
    money.refund_paid(o, memo="cancelled, upstream refunded")
    d = dims_of(h, o)
    h.add(d, "paid", o.price)
    h.add(d, "cost", -Decimal(o.cost_pkr))


def orphan_loss(h, provider, amount):
    money.book_loss(provider=provider, amount=Decimal(amount), key=f"orphan:{provider.pk}:1", memo="orphan")
    h.add(Dims(provider=str(provider.pk)), "losses", amount)


def topup(h, name, amount):
    c = h.customers[name]
    wallet_topup(wallet=wallet_of(c), amount=amount, key=f"rp-topup:{name}:{h.clock.now.isoformat()}")
    h.add(Dims(customer=str(c.pk)), "topups", amount)


def adjust(h, name, amount):
    c = h.customers[name]
    wallet_adjust(wallet=wallet_of(c), amount=amount, reason="report test", key=f"rp-adj:{name}:{amount}")
    h.add(Dims(customer=str(c.pk)), "corrections", amount)
