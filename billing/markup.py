"""Writes on markup rules (docs/pricing.md): `markup_check_targets`, `markup_set`.

A rule's provider, country and service are ids. Their columns keep the database's foreign keys
(integrity: a rule never names a row that does not exist, and goes with it), but billing code
never follows them: it names no upstream model, joins no upstream table, and learns that a
target does not exist from the foreign key itself (`_create_checked`).
"""

import re
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from billing.models import MarkupRule
from billing.money import MAX_AMOUNT, ZERO, parse_decimal
from billing.pricing import RULE_PRODUCTS

_MARKUP_TARGETS = ("provider", "country", "service", "customer")  # least to most specific
_SCOPE_TARGET = {
    MarkupRule.Scope.PROVIDER: "provider",
    MarkupRule.Scope.COUNTRY: "country",
    MarkupRule.Scope.SERVICE: "service",
    MarkupRule.Scope.CUSTOMER: "customer",
}
PERCENT_MAX = Decimal("99999.99")  # the column's max_digits=7, decimal_places=2
ROUND_TO_MAX = Decimal("999999.99")  # max_digits=8, decimal_places=2


def _markup_number(
    value: object, *, name: str, minimum: Decimal, above: bool, maximum: Decimal, unit: str = " PKR"
) -> Decimal:
    """parse_decimal's grammar (no float/bool/exponent/grouping, at most two decimals, within
    `maximum`), with zero and negatives judged by `minimum` (`above`: strictly greater than it)."""
    number = parse_decimal(value, name=name, maximum=maximum, unit=unit)
    if number < minimum or (above and number == minimum):
        raise ValueError(f"{name} must be {'above' if above else 'at least'} {minimum}, got {number}")
    return number


def markup_check_targets(
    *,
    scope: str,
    provider_id: int | None = None,
    country_id: int | None = None,
    service_id: int | None = None,
    customer_id: int | None = None,
) -> None:
    """A rule names its scope's target, may name less specific ones to narrow it, and never a more
    specific one (that would make it a rule of that scope). A global rule names nothing."""
    if scope not in MarkupRule.Scope.values:
        raise ValueError(f"unknown scope {scope!r}: use one of {', '.join(MarkupRule.Scope.values)}")
    given = {"provider": provider_id, "country": country_id, "service": service_id, "customer": customer_id}
    for name, value in given.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{name}_id must be an integer id, not {value!r}")
    if scope == MarkupRule.Scope.GLOBAL:
        named = [name for name, value in given.items() if value is not None]
        if named:
            raise ValueError(f"a global rule names no targets; {', '.join(named)} given (the scope would be narrower)")
        return
    target = _SCOPE_TARGET[MarkupRule.Scope(scope)]
    if given[target] is None:
        raise ValueError(f"a {scope} rule needs a {target}")
    for name in _MARKUP_TARGETS[_MARKUP_TARGETS.index(target) + 1 :]:
        if given[name] is not None:
            raise ValueError(f"a {scope} rule cannot name a {name}: that makes it a {name} rule")


@transaction.atomic
def markup_set(
    *,
    scope: str,
    percent: Decimal | str | int | None = None,
    fixed: Decimal | str | int | None = None,
    min_margin: Decimal | str | int | None = None,
    round_to: Decimal | str | int | None = None,
    provider_id: int | None = None,
    country_id: int | None = None,
    service_id: int | None = None,
    customer_id: int | None = None,
    note: str = "",
    product: str = "",
) -> MarkupRule:
    """Create or update the one rule of exactly this scope and these targets, and enable it.
    `product` "rental" / "email" makes a rule for rentals / e-mails only (they are priced by it first).

    Idempotent: the rule is found by (scope, provider, country, service, customer), so running
    it twice leaves one rule. A value left as None keeps the rule's current value (the model's
    default for a new rule); an empty note keeps the current note. Raises ValueError.

    A target that does not exist is refused by the database's foreign key, checked before this
    returns ("no country with id 999"): billing never reads another app's tables. Two concurrent
    calls for the same combination are serialized by a transaction-scoped advisory lock on it (the
    global rule has a unique constraint instead), so they cannot both insert.
    """
    markup_check_targets(
        scope=scope, provider_id=provider_id, country_id=country_id, service_id=service_id, customer_id=customer_id
    )
    values = {}
    if percent is not None:
        values["percent"] = _markup_number(
            percent, name="percent", minimum=Decimal("-100"), above=True, maximum=PERCENT_MAX, unit="%"
        )
    if fixed is not None:
        values["fixed"] = _markup_number(fixed, name="fixed", minimum=ZERO, above=False, maximum=MAX_AMOUNT)
    if min_margin is not None:
        values["min_margin"] = _markup_number(
            min_margin, name="min_margin", minimum=ZERO, above=False, maximum=MAX_AMOUNT
        )
    if round_to is not None:
        values["round_to"] = _markup_number(round_to, name="round_to", minimum=ZERO, above=True, maximum=ROUND_TO_MAX)
    note = (note or "").strip()
    if len(note) > 200:
        raise ValueError("note: at most 200 characters")
    targets = {"provider_id": provider_id, "country_id": country_id, "service_id": service_id}
    targets["customer_id"] = customer_id
    if product not in ("", *RULE_PRODUCTS):
        raise ValueError(f"product: one of {', '.join(RULE_PRODUCTS)} (or none for every product)")
    targets["product"] = product
    if scope != MarkupRule.Scope.GLOBAL:
        _lock_combination(scope, targets)
    rule = MarkupRule.objects.filter(scope=scope, **targets).order_by("-id").first()
    if rule is None:
        try:
            return _create_checked(scope=scope, note=note, enabled=True, **targets, **values)
        except IntegrityError:
            # Only the global rule can collide (unique constraint): a concurrent call created it.
            rule = MarkupRule.objects.filter(scope=scope, **targets).order_by("-id").first()
            if rule is None:
                raise
    for field, value in values.items():
        setattr(rule, field, value)
    rule.enabled = True
    if note:
        rule.note = note
    rule.save(update_fields=[*values, "enabled", "note", "updated_at"])
    return rule


_FK_COLUMN = re.compile(r"(?:\(|billing_markuprule\.)(provider|country|service|customer)_id\b")


def _lock_combination(scope: str, targets: dict[str, int | None]) -> None:
    """Serialize markup_set for one scope and target combination until the transaction ends: there
    is no row of billing's to lock before its rule exists (PostgreSQL; SQLite has one writer)."""
    if connection.vendor != "postgresql":
        return
    key = f"billing.markup:{scope}:" + ":".join(f"{name}={targets[name]}" for name in sorted(targets))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _create_checked(**fields) -> MarkupRule:
    """Create a rule and have the database check its foreign keys now (they are deferred to the
    commit otherwise): a missing target is ValueError("no <target> with id <id>"), nothing created."""
    try:
        with transaction.atomic():
            rule = MarkupRule.objects.create(**fields)
            connection.check_constraints(table_names=[MarkupRule._meta.db_table])
    except IntegrityError as exc:
        missing = _FK_COLUMN.search(str(exc))
        if missing is None:
            raise
        target = missing.group(1)
        raise ValueError(f"no {target} with id {fields[f'{target}_id']}") from None
    return rule
