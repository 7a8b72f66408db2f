import csv
from decimal import Decimal

import pytest

from upstream.models import Country, Offer, Provider, Service
from upstream.providers.base import CLIENTS, NoNumbers, ProviderError, ProviderUnavailable, Unsupported
from upstream.providers.sandbox import SandboxClient
from upstream.selectors import (
    country_get,
    offers_for,
    provider_by_slot,
    providers_for_sync,
    service_by_code_or_id,
)
from upstream.services import (
    COUNTRIES_CSV,
    SERVICES_CSV,
    InvalidProvider,
    catalogue_seed,
    catalogue_sync,
    provider_add,
)

pytestmark = pytest.mark.django_db


def sandbox_provider(slot: int = 1, *, name: str = "", currency: str = "PKR", rate: str = "1", **config) -> Provider:
    return provider_add(
        slot=slot, protocol="sandbox", url="", api_key="", name=name, currency=currency, rate=rate, config=config
    )


# --- seed --------------------------------------------------------------------------


def test_seed_loads_reference_data_once_and_renames_nothing():
    with COUNTRIES_CSV.open() as handle:
        country_rows = list(csv.DictReader(handle))
    with SERVICES_CSV.open() as handle:
        service_rows = list(csv.DictReader(handle))
    Country.objects.create(id=66, name="Islamic Republic of Pakistan")
    created = catalogue_seed()
    assert created == (len(country_rows) - 1, len(service_rows))
    assert Country.objects.count() == len(country_rows)
    assert Country.objects.get(id=66).name == "Islamic Republic of Pakistan"
    assert Country.objects.get(id=187).name == "USA" and Country.objects.get(id=0).name == "Russia"
    assert Service.objects.get(code="go").name == "Google,youtube,Gmail"  # quoted comma survives
    tg_id = Service.objects.get(code="tg").pk
    Service.objects.filter(code="tg").update(name="Telegram Messenger")
    assert catalogue_seed() == (0, 0)
    assert Service.objects.get(code="tg").pk == tg_id and Service.objects.get(pk=tg_id).name == "Telegram Messenger"


# --- provider_add ------------------------------------------------------------------


def test_provider_add_stores_a_provider():
    provider = provider_add(
        slot=2,
        protocol="smsactivate",
        url="https://api.sms-activate.ae/stubs/handler_api.php",
        api_key=" secret-key ",
        currency="rub",
        rate="3.15",
        name="SMS-Activate",
        config={"timeout": 10},
    )
    provider.refresh_from_db()
    assert (provider.slot, provider.protocol, provider.currency, provider.rate_to_pkr) == (
        2,
        "smsactivate",
        "RUB",
        Decimal("3.15"),
    )
    assert provider.api_key == "secret-key" and provider.config == {"timeout": 10} and provider.enabled
    sandbox = sandbox_provider(slot=6)
    assert (sandbox.base_url, sandbox.api_key, sandbox.currency, sandbox.config) == ("", "", "PKR", {})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slot": 0}, "slot must be an integer from 1 to 6"),
        ({"slot": 7}, "slot must be an integer from 1 to 6"),
        ({"protocol": "carrier-pigeon"}, "unknown protocol 'carrier-pigeon' (known: getsms, kopeechka, otpbuddy"),
        ({"url": ""}, "a URL is required for protocol 'smsactivate'"),
        ({"url": "ftp://example.com/x"}, "not an http(s) URL"),
        ({"api_key": ""}, "an API key is required"),
        ({"rate": "0"}, "rate must be positive"),
        ({"rate": "-2"}, "rate must be positive"),
        ({"rate": "abc"}, "rate must be a number"),
        ({"currency": "RUPEES"}, "currency must be a 3-letter ISO code"),
        ({"config": ["x"]}, "config must be a JSON object"),
        ({"protocol": "sandbox", "config": {"fail": "always"}}, "sandbox config 'fail'"),
    ],
)
def test_provider_add_validation(kwargs, message):
    args = {"slot": 1, "protocol": "smsactivate", "url": "https://up.example/handler_api.php", "api_key": "k1"}
    with pytest.raises(InvalidProvider) as info:
        provider_add(**{**args, **kwargs})
    assert isinstance(info.value, ValueError) and message in str(info.value)
    assert "k1" not in str(info.value)
    assert not Provider.objects.exists()


def test_provider_add_refuses_a_taken_slot():
    sandbox_provider(slot=3)
    with pytest.raises(InvalidProvider, match="slot 3 is already taken"):
        sandbox_provider(slot=3)
    assert Provider.objects.count() == 1


# --- catalogue_sync ----------------------------------------------------------------


def test_sync_creates_catalogue_offers_and_balance():
    Service.objects.create(code="tg", name="Telegram (ours)")
    provider = sandbox_provider(balance="1234.5")
    lines = []
    result = catalogue_sync(provider=provider, progress=lines.append)
    assert (result.countries_created, result.services_created) == (5, 5)
    assert (result.offers_created, result.offers_updated, result.offers_unchanged, result.offers_zeroed) == (
        30,
        0,
        0,
        0,
    )
    assert result.entries_skipped == 0 and result.balance == Decimal("1234.5")
    assert Service.objects.get(code="tg").name == "Telegram (ours)"  # known rows keep their names
    assert Service.objects.get(code="go").name == "Google" and Country.objects.get(id=6).name == "Indonesia"
    offer = Offer.objects.get(provider=provider, country_id=66, service__code="tg")
    assert (offer.cost, offer.stock > 0) == (Decimal("120.00"), True)
    assert Offer.objects.get(provider=provider, country_id=66, service__code="ot").stock == 0
    provider.refresh_from_db()
    assert provider.balance == Decimal("1234.5") and provider.balance_checked_at == result.checked_at
    assert lines and all(line.startswith("slot 1: ") for line in lines)
    assert any("30 price entries" in line for line in lines)


def test_second_sync_updates_and_zeroes_missing_stock():
    provider = sandbox_provider()
    catalogue_sync(provider=provider)
    tg = Service.objects.get(code="tg")
    Country.objects.create(id=16, name="England")
    stale = Offer.objects.create(provider=provider, country_id=16, service=tg, cost=Decimal("5"), stock=7)
    already_empty = Offer.objects.create(
        provider=provider, country_id=16, service=Service.objects.get(code="wa"), cost=1
    )
    other = sandbox_provider(slot=2)
    theirs = Offer.objects.create(provider=other, country_id=16, service=tg, cost=Decimal("5"), stock=9)
    provider.config = {"prices": {"66": {"tg": {"cost": "99.5", "count": 4}}}}
    provider.save(update_fields=["config"])
    untouched = Offer.objects.get(provider=provider, country_id=22, service=tg)
    result = catalogue_sync(provider=provider)
    assert (result.offers_created, result.offers_updated, result.offers_unchanged, result.offers_zeroed) == (
        0,
        1,
        29,
        1,
    )
    assert (result.countries_created, result.services_created) == (0, 0)
    offer = Offer.objects.get(provider=provider, country_id=66, service=tg)
    assert (offer.cost, offer.stock) == (Decimal("99.5"), 4)
    assert Offer.objects.get(pk=untouched.pk).updated_at == untouched.updated_at  # unchanged rows are not rewritten
    stale.refresh_from_db()
    already_empty.refresh_from_db()
    theirs.refresh_from_db()
    assert (stale.stock, already_empty.stock, theirs.stock) == (0, 0, 9)
    assert Offer.objects.filter(provider=provider).count() == 32
    provider.config = {"prices": {"66": {"tg": {"cost": "0.123456"}}}}  # finer than Offer.cost keeps
    provider.save(update_fields=["config"])
    assert catalogue_sync(provider=provider).offers_updated == 1
    assert Offer.objects.get(provider=provider, country_id=66, service=tg).cost == Decimal("0.1235")
    again = catalogue_sync(provider=provider)
    assert (again.offers_updated, again.offers_unchanged, again.offers_zeroed) == (0, 30, 0)


def test_sync_errors_propagate_and_write_nothing():
    provider = sandbox_provider(fail="unavailable", fail_actions=["prices"])
    with pytest.raises(ProviderUnavailable):
        catalogue_sync(provider=provider)
    assert not Offer.objects.exists() and not Country.objects.exists()
    provider.refresh_from_db()
    assert provider.balance is None and provider.balance_checked_at is None
    failing_buy = sandbox_provider(slot=2, fail="no_numbers")  # buy-only failures do not disturb a sync
    assert catalogue_sync(provider=failing_buy).offers_created == 30
    with pytest.raises(NoNumbers):
        catalogue_sync(provider=sandbox_provider(slot=3, fail="no_numbers", fail_actions=["balance"]))


# --- selectors ---------------------------------------------------------------------


def test_offers_for_orders_by_pkr_cost_then_priority_and_filters():
    cheap = sandbox_provider(slot=1, name="cheap", rate="0.5")  # tg/66 costs 240.00 units = 120.00 PKR
    usd = sandbox_provider(slot=2, name="usd", currency="USD", rate="280")  # 0.43 USD = 120.40 PKR
    twin = sandbox_provider(slot=3, name="twin", rate="0.5")
    disabled = sandbox_provider(slot=4, name="disabled", rate="0.1")
    for provider in (cheap, usd, twin, disabled):
        catalogue_sync(provider=provider)
    Provider.objects.filter(pk=twin.pk).update(priority=5)
    Provider.objects.filter(pk=disabled.pk).update(enabled=False)
    tg = Service.objects.get(code="tg")
    offers = list(offers_for(service_id=tg.pk, country_id=66))
    assert [o.provider.name for o in offers] == ["twin", "cheap", "usd"]
    assert offers[0].cost_in_pkr == Decimal("120") and offers[-1].cost_in_pkr == Decimal("120.40")
    assert offers[0].service == tg and offers[0].country.name == "Pakistan"
    assert [o.provider.slot for o in offers_for(service_id=tg.pk, country_id=66, provider_slot=2)] == [2]
    assert list(offers_for(service_id=tg.pk, country_id=66, provider_slot=4)) == []
    Offer.objects.filter(provider=twin, service=tg, country_id=66).update(stock=0)
    assert [o.provider.name for o in offers_for(service_id=tg.pk, country_id=66)] == ["cheap", "usd"]
    other = Service.objects.get(code="ot")
    assert list(offers_for(service_id=other.pk, country_id=66)) == []


def test_offers_for_uses_few_queries(django_assert_num_queries):
    provider = sandbox_provider()
    catalogue_sync(provider=provider)
    tg = Service.objects.get(code="tg")
    with django_assert_num_queries(1):
        offers = list(offers_for(service_id=tg.pk, country_id=22))
        assert offers[0].provider.slot == 1 and offers[0].country.pk == 22 and offers[0].service.code == "tg"


def test_service_lookup_by_code_and_by_numeric_id():
    catalogue_seed()
    tg = Service.objects.get(code="tg")
    assert service_by_code_or_id("tg") == tg
    assert service_by_code_or_id("TG") == tg
    assert service_by_code_or_id(str(tg.pk)) == tg
    assert service_by_code_or_id(f" {tg.pk} ") == tg
    for missing in ("", "   ", "nope", "0", "99999999", "99999999999999999999999", "-1", "١٢"):
        assert service_by_code_or_id(missing) is None, missing


def test_country_and_provider_lookups():
    catalogue_seed()
    assert country_get(66).name == "Pakistan" and country_get("22").name == "India"
    assert country_get("0").name == "Russia"
    for missing in (999, "999", "x", "", None, "99999999999999999999999", -1):
        assert country_get(missing) is None, missing
    one = sandbox_provider(slot=1)
    two = sandbox_provider(slot=2)
    Provider.objects.filter(pk=two.pk).update(enabled=False)
    assert provider_by_slot(1) == one and provider_by_slot("1") == one
    assert provider_by_slot(2) is None and provider_by_slot(5) is None and provider_by_slot("one") is None
    assert providers_for_sync() == [one]
    assert providers_for_sync(slot=2) == [two] and providers_for_sync(slot=5) == []


def test_balance_sync_stores_and_warns_when_low(caplog):
    from upstream.services import provider_balance_sync
    from upstream.tasks import sync_balances

    provider = provider_add(slot=5, protocol="sandbox", url="", api_key="", config={"balance": 40})
    Provider.objects.filter(pk=provider.pk).update(low_balance_threshold=50)
    provider.refresh_from_db()
    assert provider_balance_sync(provider=provider) == Decimal("40.0000")
    assert "low upstream balance" in caplog.text
    assert sync_balances.delay().get() == 1
    provider.refresh_from_db()
    assert provider.balance == Decimal("40.0000") and provider.balance_checked_at is not None


class _NoBalanceSandbox(SandboxClient):
    """A protocol without a balance call: its client says so before sending anything."""

    def balance(self):
        raise Unsupported(message="no balance call in this protocol")


def _answers(raw: str):
    """A sandbox balance() that gets the upstream error `raw`."""

    def balance(self):
        raise ProviderError(raw)

    return balance


@pytest.mark.parametrize("how", ["client", "upstream"])
def test_a_protocol_without_a_balance_call_keeps_the_last_balance(monkeypatch, how):
    from upstream.services import provider_balance_sync

    provider = provider_add(slot=5, protocol="sandbox", url="", api_key="", config={"balance": 40})
    assert provider_balance_sync(provider=provider) == Decimal("40.0000")
    if how == "client":  # Unsupported, caught by its type
        monkeypatch.setitem(CLIENTS, "sandbox", f"{__name__}._NoBalanceSandbox")
    else:  # the upstream's own BAD_ACTION
        monkeypatch.setattr(SandboxClient, "balance", _answers("BAD_ACTION"))
    assert provider_balance_sync(provider=provider) is None
    lines = []
    result = catalogue_sync(provider=provider, progress=lines.append)
    assert result.balance == Decimal("40.0000")
    assert any("no balance call" in line for line in lines)
    monkeypatch.setattr(SandboxClient, "balance", _answers("ERROR_SQL"))  # any other error is one
    monkeypatch.setitem(CLIENTS, "sandbox", "upstream.providers.sandbox.SandboxClient")
    with pytest.raises(ProviderError):
        provider_balance_sync(provider=provider)
