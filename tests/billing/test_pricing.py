import random
from decimal import Decimal
from types import SimpleNamespace

import pytest

from billing.models import MarkupRule
from billing.pricing import PriceBook, Quote, rule_quote, scope_for_targets, sell_price
from tests.factories import CustomerFactory
from upstream.models import Country, Provider, Service

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def cat():
    """A small catalogue: providers 1 and 2, India (22) and Pakistan (66), wa and tg, alice and bob."""
    return SimpleNamespace(
        p1=Provider.objects.create(slot=1, protocol="sandbox", name="one"),
        p2=Provider.objects.create(slot=2, protocol="sandbox", name="two"),
        india=Country.objects.create(id=22, name="India"),
        pakistan=Country.objects.create(id=66, name="Pakistan"),
        wa=Service.objects.create(code="wa", name="Whatsapp"),
        tg=Service.objects.create(code="tg", name="Telegram"),
        alice=CustomerFactory(username="alice"),
        bob=CustomerFactory(username="bob"),
    )


def rule(scope: str, *, percent="0", fixed="0", min_margin="0", round_to="0.01", **targets) -> MarkupRule:
    return MarkupRule.objects.create(
        scope=scope, percent=D(percent), fixed=D(fixed), min_margin=D(min_margin), round_to=D(round_to), **targets
    )


def quote(cat, cost="100.00", *, customer=None, provider=None, country=None, service=None) -> Quote:
    return sell_price(
        cost_pkr=D(cost),
        provider_id=(provider or cat.p1).pk,
        country_id=(country or cat.india).pk,
        service_id=(service or cat.wa).pk,
        customer_id=customer.pk if customer else None,
    )


# --- no rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("default", "cost", "price"),
    [
        (D("0"), "38.50", "38.50"),
        (D("10"), "38.50", "42.35"),
        (D("10"), "33.33", "36.67"),  # 36.663 rounded UP to the paisa
        (D("12.5"), "0.01", "0.02"),  # 0.01125 -> 0.02
        (D("10"), "0", "0.01"),  # never below one paisa
    ],
)
def test_no_rule_prices_cost_plus_default_markup(cat, settings, default, cost, price):
    settings.DEFAULT_MARKUP_PERCENT = default
    result = quote(cat, cost)
    assert result.price == D(price)
    assert result.rule_id is None
    assert result.cost_pkr == D(cost)
    assert "no markup rule" in result.explanation


def test_no_setting_means_no_markup(cat, settings):
    del settings.DEFAULT_MARKUP_PERCENT
    assert quote(cat, "41.27").price == D("41.27")


# --- formula ---------------------------------------------------------------------------


def test_formula_and_explanation(cat):
    r = rule("service", service=cat.wa, percent="20", fixed="2", min_margin="5", round_to="1.00")
    result = quote(cat, "38.50")
    assert result == Quote(
        price=D("49.00"),
        cost_pkr=D("38.50"),
        rule_id=r.pk,
        explanation=(
            f"cost 38.50 PKR; rule #{r.pk} (service wa): +20.00% +2.00 PKR = 48.20; "
            "min margin 5.00 → 48.20; rounded to 1.00 → 49.00"
        ),
    )


def test_min_margin_raises_the_price_to_cost_plus_margin(cat):
    rule("global", percent="5", min_margin="3")
    result = quote(cat, "10.00")  # raw 10.50 < 10.00 + 3
    assert result.price == D("13.00")
    assert "= 10.50; min margin 3.00 → 13.00" in result.explanation


def test_percent_and_fixed_are_exact_until_the_end(cat):
    rule("global", percent="15", fixed="0.01")
    result = quote(cat, "33.33")  # 33.33 * 1.15 + 0.01 = 38.3395 -> 38.34
    assert result.price == D("38.34")
    assert "= 38.3395" in result.explanation


@pytest.mark.parametrize(
    ("round_to", "cost", "price"),
    [
        ("1.00", "41.20", "42.00"),
        ("1.00", "42.00", "42.00"),  # already a multiple: unchanged
        ("1.00", "41.01", "42.00"),
        ("5.00", "41.20", "45.00"),
        ("5.00", "45.00", "45.00"),
        ("5.00", "45.01", "50.00"),
        ("0.01", "41.20", "41.20"),
        ("0.50", "10.01", "10.50"),
        ("0.25", "10.26", "10.50"),
    ],
)
def test_rounds_up_to_a_multiple_of_round_to(cat, round_to, cost, price):
    rule("global", round_to=round_to)
    result = quote(cat, cost)
    assert result.price == D(price)
    assert result.price.as_tuple().exponent == -2
    assert f"rounded to {round_to} → {price}" in result.explanation


def test_paisa_rounding_is_up_never_to_nearest(cat):
    rule("global", percent="0.01")
    assert quote(cat, "10.00").price == D("10.01")  # 10.001 -> 10.01, not 10.00


def test_discount_with_negative_percent(cat):
    r = rule("customer", customer=cat.alice, percent="-10", fixed="20")
    result = quote(cat, "100.00", customer=cat.alice)
    assert (result.price, result.rule_id) == (D("110.00"), r.pk)
    assert "-10.00% +20.00 PKR = 110.00" in result.explanation


def test_discount_never_sells_below_cost_plus_min_margin(cat):
    rule("global", percent="-25", min_margin="1.50")
    result = quote(cat, "100.00")
    assert result.price == D("101.50")
    assert "= 75.00; min margin 1.50 → 101.50" in result.explanation


def test_never_below_one_paisa(cat):
    rule("global", percent="-50")
    result = quote(cat, "0.00")
    assert result.price == D("0.01")
    assert result.explanation.endswith("at least 0.01 → 0.01")


def test_cost_must_be_a_non_negative_decimal(cat):
    with pytest.raises(TypeError, match="not float"):
        sell_price(cost_pkr=1.5, provider_id=cat.p1.pk, country_id=22, service_id=cat.wa.pk, customer_id=None)
    with pytest.raises(ValueError, match="negative"):
        quote(cat, "-1")


# --- precedence -------------------------------------------------------------------------


def test_each_scope_beats_the_ones_above_it(cat):
    # Created most specific first, so "newest wins" cannot explain any result below.
    customer = rule("customer", customer=cat.alice, percent="50")
    service = rule("service", service=cat.wa, percent="40")
    country = rule("country", country=cat.india, percent="30")
    provider = rule("provider", provider=cat.p1, percent="20")
    glob = rule("global", percent="10")
    assert quote(cat, customer=cat.alice).rule_id == customer.pk
    assert quote(cat, customer=cat.bob).rule_id == service.pk
    assert quote(cat, customer=cat.bob, service=cat.tg).rule_id == country.pk
    assert quote(cat, service=cat.tg, country=cat.pakistan).rule_id == provider.pk
    assert quote(cat, service=cat.tg, country=cat.pakistan, provider=cat.p2).rule_id == glob.pk
    assert quote(cat, service=cat.tg, country=cat.pakistan, provider=cat.p2).price == D("110.00")
    # The customer rule applies to alice whatever she buys.
    assert quote(cat, customer=cat.alice, service=cat.tg, country=cat.pakistan, provider=cat.p2).price == D("150.00")


def test_tie_broken_by_number_of_targets(cat):
    narrow = rule("service", service=cat.wa, country=cat.india, percent="45")
    wide = rule("service", service=cat.wa, percent="40")  # newer, but names fewer targets
    assert quote(cat).rule_id == narrow.pk
    assert quote(cat, country=cat.pakistan).rule_id == wide.pk


def test_a_narrower_rule_of_a_lower_scope_still_loses(cat):
    rule("country", country=cat.india, provider=cat.p1, percent="30")  # 2 targets, country scope
    service = rule("service", service=cat.wa, percent="40")  # 1 target, service scope
    assert quote(cat).rule_id == service.pk


def test_tie_broken_by_newest(cat):
    rule("service", service=cat.wa, country=cat.india, percent="45")
    newer = rule("service", service=cat.wa, provider=cat.p1, percent="47")
    assert quote(cat).rule_id == newer.pk
    newest_twin = rule("service", service=cat.wa, provider=cat.p1, percent="48")
    assert quote(cat).rule_id == newest_twin.pk


def test_disabled_rules_are_ignored(cat):
    service = rule("service", service=cat.wa, percent="40")
    customer = rule("customer", customer=cat.alice, percent="50")
    MarkupRule.objects.filter(pk=customer.pk).update(enabled=False)
    assert quote(cat, customer=cat.alice).rule_id == service.pk
    MarkupRule.objects.filter(pk=service.pk).update(enabled=False)
    assert quote(cat, customer=cat.alice).rule_id is None


def test_rules_for_other_targets_do_not_match(cat):
    rule("customer", customer=cat.bob, percent="50")
    rule("service", service=cat.tg, percent="40")
    rule("country", country=cat.pakistan, percent="30")
    rule("provider", provider=cat.p2, percent="20")
    rule("service", service=cat.wa, country=cat.pakistan, percent="60")  # one target matches, one does not
    rule("customer", customer=cat.alice, provider=cat.p2, percent="70")
    result = quote(cat, customer=cat.alice)
    assert (result.rule_id, result.price) == (None, D("100.00"))
    assert quote(cat).rule_id is None  # no customer: customer rules never apply


def test_explanation_names_the_winning_rule(cat):
    rule("global", percent="10")
    winner = rule("customer", customer=cat.alice, service=cat.wa, percent="5")
    result = quote(cat, customer=cat.alice)
    assert f"rule #{winner.pk} (customer alice, service wa): +5.00% +0.00 PKR = 105.00" in result.explanation
    provider_rule = rule("provider", provider=cat.p2, country=cat.pakistan, percent="1")
    assert (
        f"rule #{provider_rule.pk} (country 66, provider slot 2)"
        in quote(cat, provider=cat.p2, country=cat.pakistan).explanation
    )


def test_rule_quote_applies_one_rule_whatever_would_win(cat):
    rule("customer", customer=cat.alice, percent="50")
    glob = rule("global", percent="20", round_to="5")
    assert rule_quote(rule=glob).price == D("120.00")
    assert rule_quote(rule=glob, cost_pkr=D("101")).price == D("125.00")


def test_scope_for_targets():
    assert scope_for_targets() == "global"
    assert scope_for_targets(provider_id=1) == "provider"
    assert scope_for_targets(provider_id=1, country_id=22) == "country"
    assert scope_for_targets(country_id=22, service_id=3) == "service"
    assert scope_for_targets(provider_id=1, service_id=3, customer_id=9) == "customer"


# --- the price book ---------------------------------------------------------------------


def reference_winner(rules: list[MarkupRule], *, customer_id, provider_id, country_id, service_id) -> int | None:
    """The rules of docs/pricing.md, written the slow obvious way."""
    order = ["global", "provider", "country", "service", "customer"]
    order_values = {"provider_id": provider_id, "country_id": country_id, "service_id": service_id}
    order_values["customer_id"] = customer_id
    matching = [
        r
        for r in rules
        if r.enabled and all(getattr(r, f) is None or getattr(r, f) == v for f, v in order_values.items())
    ]
    if not matching:
        return None

    def rank(r):
        named = sum(getattr(r, f) is not None for f in order_values)
        return (order.index(r.scope), named, r.pk)

    return max(matching, key=rank).pk


def test_price_book_quotes_thousands_of_offers_with_one_query(cat, django_assert_num_queries):
    rng = random.Random(7)
    providers = [cat.p1, cat.p2]
    countries = [cat.india, cat.pakistan, Country.objects.create(id=187, name="USA")]
    services = [cat.wa, cat.tg, Service.objects.create(code="fb", name="Facebook")]
    customers = [cat.alice, cat.bob]
    rule("global", percent="10")
    for _ in range(60):
        targets = {
            "provider": rng.choice([None, *providers]),
            "country": rng.choice([None, *countries]),
            "service": rng.choice([None, *services]),
            "customer": rng.choice([None, None, *customers]),
        }
        names = [n for n in ("customer", "service", "country", "provider") if targets[n] is not None]
        if not names:
            continue
        r = rule(names[0], percent=str(rng.randint(-20, 80)), fixed=str(rng.randint(0, 5)), **targets)
        if rng.random() < 0.2:
            MarkupRule.objects.filter(pk=r.pk).update(enabled=False)
    all_rules = list(MarkupRule.objects.all())
    offers = [
        (D(rng.randint(1, 100_000)) / 100, rng.choice(providers).pk, rng.choice(countries).pk, rng.choice(services).pk)
        for _ in range(5000)
    ]
    with django_assert_num_queries(1):
        book = PriceBook.load(customer_id=cat.alice.pk)
        quotes = [book.quote(cost_pkr=c, provider_id=p, country_id=k, service_id=s) for c, p, k, s in offers]
    assert len(quotes) == 5000
    for (cost, p, k, s), result in zip(offers, quotes, strict=True):
        expected = reference_winner(all_rules, customer_id=cat.alice.pk, provider_id=p, country_id=k, service_id=s)
        assert result.rule_id == expected
        assert result.price >= cost and result.price >= D("0.01")
    assert {q.rule_id for q in quotes} - {None} and len({q.rule_id for q in quotes}) > 5
    # A sample agrees with the one-off convenience function.
    for (cost, p, k, s), result in list(zip(offers, quotes, strict=True))[:20]:
        assert sell_price(cost_pkr=cost, provider_id=p, country_id=k, service_id=s, customer_id=cat.alice.pk) == result


def test_price_book_without_customer_ignores_customer_rules(cat, django_assert_num_queries):
    rule("customer", customer=cat.alice, percent="50")
    service = rule("service", service=cat.wa, percent="40")
    with django_assert_num_queries(1):
        book = PriceBook.load(customer_id=None)
    assert book.rule_count == 1
    assert book.quote(cost_pkr=D("10"), provider_id=cat.p1.pk, country_id=22, service_id=cat.wa.pk).rule_id == (
        service.pk
    )


def test_labels_get_slots_and_codes_from_the_registered_source_only(cat, django_assert_num_queries):
    """billing knows targets by id; the upstream app registers what names them (upstream/apps.py)."""
    from billing import pricing
    from billing.pricing import rule_label, with_target_names

    named = rule("service", service=cat.wa, provider=cat.p2, country=cat.pakistan, percent="10")
    label = rule_label(named)
    assert label == "service wa, country 66, provider slot 2"
    assert str(named) == "service wa, country 66, provider slot 2: +10.00% +0.00 PKR"
    assert str(rule("global", percent="5")) == "global: +5.00% +0.00 PKR"
    with django_assert_num_queries(1):  # a page of rules: the names come with them
        assert [rule_label(r) for r in with_target_names(MarkupRule.objects.filter(pk=named.pk))] == [label]
    source = pricing._target_names
    try:
        pricing.register_target_names(None)
        assert rule_label(named) == f"service #{cat.wa.pk}, country 66, provider #{cat.p2.pk}"
        book = PriceBook.load(customer_id=None)
        explained = book.quote(cost_pkr=D("10"), provider_id=cat.p2.pk, country_id=66, service_id=cat.wa.pk)
        assert f"(service #{cat.wa.pk}, country 66, provider #{cat.p2.pk})" in explained.explanation
    finally:
        pricing.register_target_names(source)
    Provider.objects.filter(pk=cat.p2.pk).update(slot=5)  # names are read, never copied
    assert rule_label(MarkupRule.objects.get(pk=named.pk)) == "service wa, country 66, provider slot 5"
