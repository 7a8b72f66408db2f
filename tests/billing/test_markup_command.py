from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import Customer
from billing.models import MarkupRule
from billing.pricing import sell_price
from billing.services import markup_set
from tests.factories import CustomerFactory
from upstream.models import Country, Provider, Service

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def cat():
    return SimpleNamespace(
        p1=Provider.objects.create(slot=1, protocol="sandbox", name="one"),
        india=Country.objects.create(id=22, name="India"),
        wa=Service.objects.create(code="wa", name="Whatsapp"),
        alice=CustomerFactory(username="alice"),
    )


def run(*args) -> list[str]:
    out = StringIO()
    call_command("markup_set", *args, stdout=out)
    return out.getvalue().splitlines()


# --- markup_set (service) ----------------------------------------------------------------


def test_markup_set_is_idempotent(cat):
    first = markup_set(scope="global", percent=D("20"))
    again = markup_set(scope="global", percent=D("20"))
    assert first.pk == again.pk and MarkupRule.objects.count() == 1
    updated = markup_set(scope="global", percent="25.50", fixed="2", min_margin="1", round_to="5", note="base")
    assert updated.pk == first.pk and MarkupRule.objects.count() == 1
    updated.refresh_from_db()
    assert (updated.percent, updated.fixed, updated.min_margin, updated.round_to, updated.note) == (
        D("25.50"),
        D("2.00"),
        D("1.00"),
        D("5.00"),
        "base",
    )


def test_each_target_combination_is_its_own_rule(cat):
    wide = markup_set(scope="service", service_id=cat.wa.pk, percent="40")
    narrow = markup_set(scope="service", service_id=cat.wa.pk, country_id=22, percent="45")
    assert wide.pk != narrow.pk
    assert markup_set(scope="service", service_id=cat.wa.pk, country_id=22, percent="46").pk == narrow.pk
    assert MarkupRule.objects.count() == 2
    assert MarkupRule.objects.get(pk=narrow.pk).percent == D("46.00")


def test_markup_set_keeps_values_left_out_and_reenables(cat):
    rule = markup_set(scope="provider", provider_id=cat.p1.pk, percent="10", round_to="1", note="slot one")
    MarkupRule.objects.filter(pk=rule.pk).update(enabled=False)
    rule = markup_set(scope="provider", provider_id=cat.p1.pk, percent="12")
    rule.refresh_from_db()
    assert (rule.percent, rule.round_to, rule.note, rule.enabled) == (D("12.00"), D("1.00"), "slot one", True)
    fresh = markup_set(scope="country", country_id=22)
    assert (fresh.percent, fresh.fixed, fresh.min_margin, fresh.round_to) == (D("0"), D("0"), D("0"), D("0.01"))


def test_markup_set_accepts_discounts(cat):
    rule = markup_set(scope="customer", customer_id=cat.alice.pk, percent="-10.5", fixed="20")
    assert rule.percent == D("-10.50")
    quote = sell_price(cost_pkr=D("100"), provider_id=cat.p1.pk, country_id=22, service_id=cat.wa.pk, customer_id=None)
    assert quote.rule_id is None
    quote = sell_price(
        cost_pkr=D("100"), provider_id=cat.p1.pk, country_id=22, service_id=cat.wa.pk, customer_id=cat.alice.pk
    )
    assert (quote.rule_id, quote.price) == (rule.pk, D("109.50"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope": "planet", "percent": "1"}, "unknown scope"),
        ({"scope": "service", "percent": "1"}, "needs a service"),
        ({"scope": "customer", "percent": "1", "service_id": 1}, "needs a customer"),
        ({"scope": "global", "percent": "1", "country_id": 22}, "global rule names no targets"),
        ({"scope": "country", "percent": "1", "country_id": 22, "service_id": 1}, "makes it a service rule"),
        ({"scope": "provider", "percent": "1", "provider_id": 1, "customer_id": 1}, "makes it a customer rule"),
        ({"scope": "country", "percent": "1", "country_id": "22"}, "must be an integer id"),
        ({"scope": "country", "percent": "1", "country_id": 999}, "no country with id 999"),
        ({"scope": "global", "percent": "-100"}, "percent must be above -100"),
        ({"scope": "global", "percent": "-150"}, "percent must be above -100"),
        ({"scope": "global", "percent": "100000"}, "percent must be at most"),
        ({"scope": "global", "percent": "1.234"}, "at most two decimals"),
        ({"scope": "global", "percent": "1e3"}, "at most two decimals"),
        ({"scope": "global", "percent": "1,5"}, "at most two decimals"),
        ({"scope": "global", "percent": "NaN"}, "at most two decimals"),
        ({"scope": "global", "percent": D("NaN")}, "finite"),
        ({"scope": "global", "percent": 1.5}, "not float"),
        ({"scope": "global", "percent": True}, "not bool"),
        ({"scope": "global", "fixed": "-1"}, "fixed must be at least 0"),
        ({"scope": "global", "min_margin": "-0.01"}, "min_margin must be at least 0"),
        ({"scope": "global", "round_to": "0"}, "round_to must be above 0"),
        ({"scope": "global", "round_to": "-5"}, "round_to must be above 0"),
        ({"scope": "global", "round_to": "0.001"}, "at most two decimals"),
        ({"scope": "global", "note": "x" * 201}, "at most 200"),
    ],
)
def test_markup_set_validates(cat, kwargs, message):
    with pytest.raises(ValueError, match=message):
        markup_set(**kwargs)
    assert not MarkupRule.objects.exists()


def test_markup_set_refuses_a_missing_customer(cat):
    with pytest.raises(ValueError, match="no customer with id"):
        markup_set(scope="customer", customer_id=cat.alice.pk + 1000, percent="5")


# --- the command -------------------------------------------------------------------------


def test_percent_alone_sets_the_global_rule(cat):
    lines = run("--percent", "20")
    rule = MarkupRule.objects.get()
    assert (rule.scope, rule.percent, rule.provider_id, rule.country_id, rule.service_id, rule.customer_id) == (
        "global",
        D("20.00"),
        None,
        None,
        None,
        None,
    )
    assert lines[0] == f"created global rule #{rule.pk} (global): +20.00% +0.00 PKR, min margin 0.00, round to 0.01"
    assert lines[1] == f"example: cost 100.00 PKR; rule #{rule.pk} (global): +20.00% +0.00 PKR = 120.00; " + (
        "min margin 0.00 → 120.00; rounded to 0.01 → 120.00"
    )
    assert run("--percent", "25")[0].startswith(f"updated global rule #{rule.pk}")
    assert MarkupRule.objects.get().percent == D("25.00")


@pytest.mark.parametrize(
    ("args", "scope", "targets"),
    [
        (["--provider", "1"], "provider", {"provider": "p1"}),
        (["--country", "22"], "country", {"country": "india"}),
        (["--country", "22", "--provider", "1"], "country", {"country": "india", "provider": "p1"}),
        (["--service", "wa"], "service", {"service": "wa"}),
        (["--service", "wa", "--country", "22"], "service", {"service": "wa", "country": "india"}),
        (["--customer", "alice"], "customer", {"customer": "alice"}),
        (["--customer", "alice", "--service", "wa"], "customer", {"customer": "alice", "service": "wa"}),
    ],
)
def test_scope_is_the_most_specific_target(cat, args, scope, targets):
    run("--percent", "15", "--round-to", "1", *args)
    rule = MarkupRule.objects.get()
    assert rule.scope == scope
    for name in ("provider", "country", "service", "customer"):
        expected = getattr(cat, targets[name]) if name in targets else None
        assert getattr(rule, name) == expected
    assert rule.round_to == D("1.00")


def test_command_all_options_and_discount(cat):
    lines = run(
        "--percent",
        "-10",
        "--fixed",
        "20",
        "--min-margin",
        "5",
        "--round-to",
        "5",
        "--service",
        "wa",
        "--note",
        "promo",
    )
    rule = MarkupRule.objects.get()
    assert (rule.percent, rule.fixed, rule.min_margin, rule.round_to, rule.note) == (
        D("-10.00"),
        D("20.00"),
        D("5.00"),
        D("5.00"),
        "promo",
    )
    assert lines[0].endswith("-10.00% +20.00 PKR, min margin 5.00, round to 5.00, note 'promo'")
    assert lines[1].endswith("= 110.00; min margin 5.00 → 110.00; rounded to 5.00 → 110.00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--percent", "5", "--provider", "6"], "no provider in slot 6"),
        (["--percent", "5", "--country", "999"], "no country with number 999"),
        (["--percent", "5", "--service", "zz"], "no service with code 'zz'"),
        (["--percent", "5", "--customer", "nobody"], "no customer named 'nobody'"),
        (["--percent", "abc"], "invalid percent"),
        (["--percent", "-100"], "percent must be above -100"),
        (["--percent", "5", "--round-to", "0"], "round_to must be above 0"),
        (["--percent", "5", "--fixed", "1.001"], "invalid fixed"),
        (["--percent", "5", "--provider", "one"], "invalid int value"),
        (["--fixed", "5"], "--percent"),
    ],
)
def test_command_errors(cat, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not MarkupRule.objects.exists()


# --- admin -------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_admin_pages_render_with_example(cat, admin_client):
    glob = markup_set(scope="global", percent="20", note="base")
    markup_set(scope="service", service_id=cat.wa.pk, country_id=22, percent="30", round_to="5")
    page = admin_client.get(reverse("admin:billing_markuprule_changelist"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "120.00" in body and "130.00" in body and "service wa, country 22" in body
    for url in (
        reverse("admin:billing_markuprule_change", args=[glob.pk]),
        reverse("admin:billing_markuprule_add"),
        reverse("admin:billing_markuprule_changelist") + "?scope__exact=service",
    ):
        assert admin_client.get(url).status_code == 200, url
    change = admin_client.get(reverse("admin:billing_markuprule_change", args=[glob.pk])).content.decode()
    assert f"rule #{glob.pk} (global): +20.00%" in change


def post_rule(admin_client, **fields):
    data = {"scope": "global", "percent": "0", "fixed": "0", "min_margin": "0", "round_to": "0.01", "enabled": "on"}
    data.update({k: str(v) for k, v in fields.items()})
    return admin_client.post(reverse("admin:billing_markuprule_add"), data)


def test_admin_add_validates_like_markup_set(cat, admin_client):
    response = post_rule(admin_client, scope="country", country=22, service=cat.wa.pk, percent="5")
    assert response.status_code == 200 and "makes it a service rule" in response.content.decode()
    response = post_rule(admin_client, scope="global", percent="-100")
    assert response.status_code == 200 and not MarkupRule.objects.exists()
    response = post_rule(admin_client, scope="service", service=cat.wa.pk, country=22, percent="5")
    assert response.status_code == 302
    rule = MarkupRule.objects.get()
    assert (rule.scope, rule.service, rule.country_id, rule.percent) == ("service", cat.wa, 22, D("5.00"))
    response = post_rule(admin_client, scope="service", service=cat.wa.pk, country=22, percent="7")
    assert response.status_code == 200 and f"rule #{rule.pk} already has this scope" in response.content.decode()
    assert MarkupRule.objects.count() == 1
