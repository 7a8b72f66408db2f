"""Operators (issue 11): Operator rows from catalogue sync (the upstream's own getOperators),
the selectors that route and list them."""

import pytest
from django.db import IntegrityError, transaction

from tests.fakes.sms_activate import FakeSmsActivate
from upstream.models import Country, CountryMapping, Operator, Provider
from upstream.operator_catalogue import operators_write
from upstream.providers.base import OperatorEntry
from upstream.selectors import operators_by_country, operators_listing
from upstream.services import catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db

KEY = "operators-key-0123456789"


@pytest.fixture
def fake():
    with FakeSmsActivate(api_key=KEY) as server:
        server.set_offer(22, "tg", "10", 5)
        server.set_operators(22, ["jio", "airtel"])
        yield server


def sms_activate(fake, slot: int = 1) -> Provider:
    return Provider.objects.create(
        slot=slot, protocol="smsactivate", base_url=fake.url, api_key=KEY, currency="RUB", rate_to_pkr=3
    )


def codes(provider: Provider) -> set[tuple[int, str]]:
    return set(Operator.objects.filter(provider=provider).values_list("country_id", "code"))


def test_sync_keeps_the_upstreams_operators(fake):
    provider = sms_activate(fake)
    first = catalogue_sync(provider=provider)
    assert first.operators and first.operators_error == ""
    assert (first.operators_created, first.operators_seen, first.operators_removed) == (11, 0, 0)
    assert "operators: 11 new, 0 seen, 0 removed, 0 skipped" in first.summary()
    assert {(22, "jio"), (22, "airtel"), (1, "kyivstar"), (2, "altel")} <= codes(provider)
    seen_at = Operator.objects.get(provider=provider, country_id=22, code="jio").updated_at

    fake.set_operators(22, ["jio", "vi"])
    fake.set_operators(1, [])
    again = catalogue_sync(provider=provider)
    assert (again.operators_created, again.operators_seen, again.operators_removed) == (1, 5, 6)
    assert {code for cid, code in codes(provider) if cid == 22} == {"jio", "vi"}
    assert not Operator.objects.filter(provider=provider, country_id=1).exists()
    assert Operator.objects.get(provider=provider, country_id=22, code="jio").updated_at > seen_at


def test_a_failed_operator_list_keeps_the_operators_and_the_rest_syncs(fake):
    provider = sms_activate(fake)
    catalogue_sync(provider=provider)
    before = codes(provider)
    fake.next_response("getOperators", "ERROR_SQL")
    fake.set_offer(22, "tg", "11", 5)
    result = catalogue_sync(provider=provider)
    assert not result.operators and result.operators_error == "ProviderError: ERROR_SQL"
    assert "operators failed (ProviderError: ERROR_SQL), operators kept" in result.summary()
    assert codes(provider) == before and result.offers_updated == 1


def test_upstream_without_operators(fake):
    provider = sms_activate(fake)
    catalogue_sync(provider=provider)
    fake.set_operators(1, [])
    fake.set_operators(2, [])
    fake.set_operators(22, [])
    result = catalogue_sync(provider=provider)  # OPERATORS_NOT_FOUND: the upstream lists none
    assert result.operators and result.operators_removed == 11 and codes(provider) == set()
    fake.next_response("getOperators", "BAD_ACTION")  # a compatible upstream without the action
    result = catalogue_sync(provider=provider)
    assert not result.operators and result.operators_error == "" and "operators" not in result.summary()


def test_protocols_without_an_operator_list_write_none():
    catalogue_seed()
    provider = provider_add(slot=1, protocol="sandbox", url="", api_key="", rate="1")
    result = catalogue_sync(provider=provider)
    assert not result.operators and "operators" not in result.summary()
    assert not Operator.objects.exists()


def test_write_skips_unknown_countries_and_bad_codes_and_maps_foreign_countries(fake):
    Country.objects.create(id=22, name="India")
    provider = sms_activate(fake)
    entries = [
        OperatorEntry(22, "Jio"),
        OperatorEntry(999, "x"),
        OperatorEntry(22, ""),
        OperatorEntry(22, "y" * 51),
        OperatorEntry(22, "airtel", "Bharti Airtel"),
    ]
    assert operators_write(provider=provider, native=True, entries=entries) == {
        "created": 2,
        "seen": 0,
        "removed": 0,
        "skipped": 3,
    }
    assert Operator.objects.get(code="airtel").name == "Bharti Airtel"
    CountryMapping.objects.create(provider=provider, upstream_code="in", country_id=22)
    foreign = operators_write(
        provider=provider, native=False, entries=[OperatorEntry("in", "jio"), OperatorEntry(22, "vi")]
    )
    assert foreign == {"created": 0, "seen": 1, "removed": 1, "skipped": 1}
    assert codes(provider) == {(22, "jio")}


def test_one_row_per_provider_country_code(fake):
    Country.objects.create(id=22, name="India")
    provider = sms_activate(fake)
    Operator.objects.create(provider=provider, country_id=22, code="jio")
    with pytest.raises(IntegrityError), transaction.atomic():
        Operator.objects.create(provider=provider, country_id=22, code="jio")


def test_selectors(fake):
    Country.objects.create(id=22, name="India")
    Country.objects.create(id=66, name="Pakistan")
    one, two = sms_activate(fake, 1), sms_activate(fake, 2)
    for provider, country, code in ((one, 22, "jio"), (one, 22, "airtel"), (two, 22, "airtel"), (two, 66, "jazz")):
        Operator.objects.create(provider=provider, country_id=country, code=code)
    assert operators_listing(country_id=22, codes=["vi", "airtel", "jio"]) == {
        one.pk: ["airtel", "jio"],
        two.pk: ["airtel"],
    }
    assert operators_listing(country_id=22, codes=["vi"]) == {}
    assert operators_by_country() == {22: ["airtel", "jio"], 66: ["jazz"]}
    Provider.objects.filter(pk=two.pk).update(enabled=False)
    assert operators_by_country() == {22: ["airtel", "jio"]}
    assert operators_by_country(country_id=66) == {}


def test_admin_lists_operators_read_only(client, fake):
    from django.urls import reverse

    from accounts.models import Customer

    Country.objects.create(id=22, name="India")
    operator = Operator.objects.create(provider=sms_activate(fake), country_id=22, code="jio")
    staff = Customer.objects.create_superuser(username="root", password="pw-12345678")
    client.force_login(staff)
    page = client.get(reverse("admin:upstream_operator_changelist") + "?q=jio")
    assert page.status_code == 200 and b"jio" in page.content
    assert client.get(reverse("admin:upstream_operator_change", args=[operator.pk])).status_code == 200
    assert client.get(reverse("admin:upstream_operator_add")).status_code == 403
