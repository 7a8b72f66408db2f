"""Sell prices: markup rules applied to a PKR cost. Read docs/pricing.md.

A rule matches an order when every target it names (provider, country,
service, customer) equals the order's; a null target matches anything. Only
enabled rules count. The most specific matching rule wins: the highest scope
(customer > service > country > provider > global), then the rule naming more
targets, then the newest (highest id). The winner prices the order:

    raw   = cost * (1 + percent/100) + fixed
    price = max(raw, cost + min_margin)
    price = price rounded UP to a multiple of round_to, at least 0.01

With no matching rule: cost * (1 + DEFAULT_MARKUP_PERCENT/100), rounded up to
the paisa. Decimal only; nothing is rounded before the end.

`PriceBook.load()` reads every enabled rule that can apply to one customer in
one query and then quotes any number of offers in memory (a constant number of
dictionary look-ups per quote). billing never imports upstream nor follows a
rule's provider or service foreign key: rules and quotes deal in ids, and what a
label shows for them (`provider slot 2`, `service wa`) is supplied by the layer
above (`TargetNames`, registered by the upstream app).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from itertools import product
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from billing.models import MarkupRule
from billing.money import PKR_QUANTUM

MIN_PRICE = PKR_QUANTUM  # a sell price is never below one paisa
EXAMPLE_COST = Decimal("100.00")

# Least to most specific; the index is the rank used for precedence.
SCOPE_ORDER = (
    MarkupRule.Scope.GLOBAL,
    MarkupRule.Scope.PROVIDER,
    MarkupRule.Scope.COUNTRY,
    MarkupRule.Scope.SERVICE,
    MarkupRule.Scope.CUSTOMER,
)
_SCOPE_RANK = {scope.value: rank for rank, scope in enumerate(SCOPE_ORDER)}

_RULE_FIELDS = (
    "id",
    "scope",
    "provider_id",
    "country_id",
    "service_id",
    "customer_id",
    "percent",
    "fixed",
    "min_margin",
    "round_to",
    "product",
    "customer__username",
)
# What a TargetNames source annotates a rule with.
PROVIDER_NAME = "target_provider_slot"
SERVICE_NAME = "target_service_code"


class TargetNames(Protocol):
    """How a rule's label names the provider and the service it targets, which billing knows by id
    only. Registered once by the layer that knows them (`register_target_names`: the upstream app,
    in its `AppConfig.ready`); without one a label says `provider #<id>`, `service #<id>`."""

    def annotations(self) -> Mapping[str, Any]:
        """Expressions `PROVIDER_NAME` (the slot) and `SERVICE_NAME` (the code) over a MarkupRule
        queryset: PriceBook.load reads them with the rules, in its one query."""

    def names(self, *, provider_id: int | None, service_id: int | None) -> tuple[object, object]:
        """(slot, code) of one rule's targets, None for a target it does not name or that is gone."""


_target_names: TargetNames | None = None


def register_target_names(source: TargetNames | None) -> None:
    """Set (None: clear) the source of the names rule labels show for providers and services."""
    global _target_names
    _target_names = source


def with_target_names(queryset):
    """A MarkupRule `queryset` whose rules carry their target names, read in the same query (a page
    of rules in the admin, PriceBook.load); unchanged without a registered source."""
    return queryset if _target_names is None else queryset.annotate(**_target_names.annotations())


@dataclass(frozen=True)
class Quote:
    price: Decimal
    cost_pkr: Decimal
    rule_id: int | None  # None: no rule matched, the settings default applied
    explanation: str


def scope_for_targets(
    *,
    provider_id: int | None = None,
    country_id: int | None = None,
    service_id: int | None = None,
    customer_id: int | None = None,
) -> str:
    """The scope of a rule naming these targets: the most specific one named (global when none)."""
    for scope, target in (
        (MarkupRule.Scope.CUSTOMER, customer_id),
        (MarkupRule.Scope.SERVICE, service_id),
        (MarkupRule.Scope.COUNTRY, country_id),
        (MarkupRule.Scope.PROVIDER, provider_id),
    ):
        if target is not None:
            return scope.value
    return MarkupRule.Scope.GLOBAL.value


def _show(value: Decimal) -> str:
    """Two decimals, or every decimal the exact value has (nothing is hidden by rounding)."""
    if value == value.quantize(PKR_QUANTUM):
        return format(value.quantize(PKR_QUANTUM), "f")
    return format(value.normalize(), "f")


def _as_decimal(value: object, *, name: str) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{name} must be a Decimal, int or str, not {type(value).__name__}")
    try:
        number = Decimal(value)
    except ArithmeticError as exc:
        raise ValueError(f"{name} is not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"{name} must be finite")
    return number


def _ceil_to_multiple(value: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple of `step` (> 0) that is >= value; exact (Decimal `//` truncates)."""
    multiple = (value // step) * step
    if multiple < value:
        multiple += step
    return multiple


@dataclass(frozen=True)
class _Rule:
    id: int
    scope: str
    provider_id: int | None
    country_id: int | None
    service_id: int | None
    customer_id: int | None
    percent: Decimal
    fixed: Decimal
    min_margin: Decimal
    round_to: Decimal
    label: str
    rank: tuple[int, int, int, int]  # (product named, scope rank, targets named, id): the highest wins
    product: str = ""  # "" every product; "rental" / "email": that product only

    @classmethod
    def from_values(cls, row: dict) -> "_Rule":
        targets = (row["provider_id"], row["country_id"], row["service_id"], row["customer_id"])
        named = sum(t is not None for t in targets)
        parts = []
        if row["customer_id"] is not None:
            parts.append(f"customer {row['customer__username']}")
        if row["service_id"] is not None:
            code = row.get(SERVICE_NAME)
            parts.append(f"service {code}" if code is not None else f"service #{row['service_id']}")
        if row["country_id"] is not None:
            parts.append(f"country {row['country_id']}")
        if row["provider_id"] is not None:
            slot = row.get(PROVIDER_NAME)
            parts.append(f"provider slot {slot}" if slot is not None else f"provider #{row['provider_id']}")
        product_ = row.get("product") or ""
        label = ", ".join(parts) or "global"
        if product_:
            label = f"{product_}s: {label}"
        return cls(
            id=row["id"],
            scope=row["scope"],
            provider_id=row["provider_id"],
            country_id=row["country_id"],
            service_id=row["service_id"],
            customer_id=row["customer_id"],
            percent=row["percent"],
            fixed=row["fixed"],
            min_margin=row["min_margin"],
            round_to=row["round_to"],
            label=label,
            rank=(int(bool(product_)), _SCOPE_RANK.get(row["scope"], -1), named, row["id"]),
            product=product_,
        )

    @classmethod
    def from_model(cls, rule: MarkupRule) -> "_Rule":
        """From one rule; the names from its annotations when it has them (a queryset through
        `with_target_names`), else asked of the registered source."""
        if hasattr(rule, PROVIDER_NAME) and hasattr(rule, SERVICE_NAME):
            slot, code = getattr(rule, PROVIDER_NAME), getattr(rule, SERVICE_NAME)
        elif _target_names is not None and (rule.provider_id is not None or rule.service_id is not None):
            slot, code = _target_names.names(provider_id=rule.provider_id, service_id=rule.service_id)
        else:
            slot = code = None
        return cls.from_values(
            {
                **{f: getattr(rule, f) for f in _RULE_FIELDS if "__" not in f},
                "customer__username": rule.customer.username if rule.customer_id is not None else None,
                PROVIDER_NAME: slot,
                SERVICE_NAME: code,
            }
        )

    def quote(self, cost: Decimal) -> Quote:
        raw = cost * (1 + self.percent / 100) + self.fixed
        floor = cost + self.min_margin
        price = max(raw, floor)
        rounded = _ceil_to_multiple(price, self.round_to)
        final = max(rounded, MIN_PRICE).quantize(PKR_QUANTUM)
        steps = [
            f"cost {_show(cost)} PKR",
            f"rule #{self.id} ({self.label}): {self.percent:+.2f}% {self.fixed:+.2f} PKR = {_show(raw)}",
            f"min margin {_show(self.min_margin)} → {_show(price)}",
            f"rounded to {_show(self.round_to)} → {_show(rounded)}",
        ]
        if final != rounded:
            steps.append(f"at least {_show(MIN_PRICE)} → {_show(final)}")
        return Quote(price=final, cost_pkr=cost, rule_id=self.id, explanation="; ".join(steps))


def default_markup_percent() -> Decimal:
    value = getattr(settings, "DEFAULT_MARKUP_PERCENT", Decimal("0"))
    try:
        percent = _as_decimal(value, name="DEFAULT_MARKUP_PERCENT")
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    if percent <= -100:
        raise ImproperlyConfigured("DEFAULT_MARKUP_PERCENT must be above -100")
    return percent


def _default_quote(cost: Decimal, percent: Decimal) -> Quote:
    raw = cost * (1 + percent / 100)
    rounded = raw.quantize(PKR_QUANTUM, rounding=ROUND_CEILING)
    final = max(rounded, MIN_PRICE)
    steps = [
        f"cost {_show(cost)} PKR",
        f"no markup rule: default {percent:+.2f}% = {_show(raw)}",
        f"rounded to {_show(PKR_QUANTUM)} → {_show(rounded)}",
    ]
    if final != rounded:
        steps.append(f"at least {_show(MIN_PRICE)} → {_show(final)}")
    return Quote(price=final, cost_pkr=cost, rule_id=None, explanation="; ".join(steps))


def _checked_cost(cost_pkr: object) -> Decimal:
    cost = _as_decimal(cost_pkr, name="cost_pkr")
    if cost < 0:
        raise ValueError(f"cost_pkr must not be negative: {cost}")
    return cost


_ALL = object()


def enabled_rules(*, customer_id: int | None | object = _ALL) -> list[_Rule]:
    """One query: the enabled rules without a customer plus `customer_id`'s (every customer's
    when not given: a PriceBook drops the rules of other customers)."""
    rows = MarkupRule.objects.filter(enabled=True)
    if customer_id is not _ALL:
        mine = Q(customer_id__isnull=True)
        if customer_id is not None:
            mine |= Q(customer_id=customer_id)
        rows = rows.filter(mine)
    names = [PROVIDER_NAME, SERVICE_NAME] if _target_names is not None else []
    return [_Rule.from_values(row) for row in with_target_names(rows).values(*_RULE_FIELDS, *names)]


# Products a rule may be limited to (MarkupRule.product); "" is every product.
RULE_PRODUCTS = ("rental", "email")


class PriceBook:
    """Every enabled rule that can apply to one customer, loaded once, quoting in memory.

    Rules are bucketed by their (provider, country, service) targets, None
    meaning "any"; a quote looks at the 8 buckets an order can match and takes
    the best-ranked rule among them.
    """

    def __init__(self, *, customer_id: int | None, rules: list[_Rule], default_percent: Decimal):
        self.customer_id = customer_id
        self.default_percent = default_percent
        self.rule_count = len(rules)
        self._best: dict[tuple[int | None, int | None, int | None, str], _Rule] = {}
        for rule in rules:
            if rule.customer_id is not None and rule.customer_id != customer_id:
                continue
            key = (rule.provider_id, rule.country_id, rule.service_id, rule.product)
            current = self._best.get(key)
            if current is None or rule.rank > current.rank:
                self._best[key] = rule

    @classmethod
    def load(cls, *, customer_id: int | None) -> "PriceBook":
        """One query: the enabled rules without a customer, plus this customer's."""
        rules = enabled_rules(customer_id=customer_id)
        return cls(customer_id=customer_id, rules=rules, default_percent=default_markup_percent())

    def rule_for(
        self, *, provider_id: int, country_id: int, service_id: int | None, product_: str = ""
    ) -> _Rule | None:
        """The best rule for an order of `product_` ("" or "activation": the general rules only;
        "rental" / "email": that product's rules first, where one matches, else the general ones)."""
        best = None
        products = ("", product_) if product_ in RULE_PRODUCTS else ("",)
        for key in product((provider_id, None), (country_id, None), (service_id, None), products):
            rule = self._best.get(key)
            if rule is not None and (best is None or rule.rank > best.rank):
                best = rule
        return best

    def quote(
        self, *, cost_pkr: Decimal, provider_id: int, country_id: int, service_id: int | None, product: str = ""
    ) -> Quote:
        cost = _checked_cost(cost_pkr)
        rule = self.rule_for(provider_id=provider_id, country_id=country_id, service_id=service_id, product_=product)
        if rule is None:
            return _default_quote(cost, self.default_percent)
        return rule.quote(cost)


def sell_price(
    *, cost_pkr: Decimal, provider_id: int, country_id: int, service_id: int, customer_id: int | None
) -> Quote:
    """One quote (one query). To price many offers, load a PriceBook once and call `quote`."""
    book = PriceBook.load(customer_id=customer_id)
    return book.quote(cost_pkr=cost_pkr, provider_id=provider_id, country_id=country_id, service_id=service_id)


def rule_quote(*, rule: MarkupRule, cost_pkr: Decimal = EXAMPLE_COST) -> Quote:
    """What this one rule makes of `cost_pkr`, whether or not it would win (admin and command examples)."""
    return _Rule.from_model(rule).quote(_checked_cost(cost_pkr))


def rule_label(rule: MarkupRule) -> str:
    """`global`, `provider slot 1`, `service wa, country 22`, `customer alice`: what the rule targets."""
    return _Rule.from_model(rule).label
