"""The operator's switches (Service.enabled, Country.enabled): catalogue sync keeps a switched-off
service's and country's offers fresh and never touches the switch; the shared lookups answer
None for a switched-off one (as unknown) except for operators' commands; the admin's list
editing and "Enable selected" / "Disable selected" actions switch them, audited, and the next
getNumber already answers accordingly."""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from accounts.models import Customer
from upstream.models import Country, Offer, Service
from upstream.selectors import country_get, offers_for, service_by_code_or_id
from upstream.services import catalogue_seed, catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced():
    provider = provider_add(slot=1, protocol="sandbox", url="", api_key="", name="sb", config={})
    catalogue_sync(provider=provider)
    return provider


def test_sync_keeps_switched_off_offers_fresh_and_the_switch_as_it_is(synced):
    provider = synced
    Service.objects.filter(code="tg").update(enabled=False)
    Country.objects.filter(pk=66).update(enabled=False)
    provider.config = {
        "prices": {"66": {"wa": {"cost": "77.00", "count": 4}}, "22": {"tg": {"cost": "55.00", "count": 3}}}
    }
    provider.save(update_fields=["config"])
    catalogue_sync(provider=provider)
    catalogue_seed()
    assert not Service.objects.get(code="tg").enabled and not Country.objects.get(pk=66).enabled
    tg_india = Offer.objects.get(provider=provider, country_id=22, service__code="tg")
    wa_pakistan = Offer.objects.get(provider=provider, country_id=66, service__code="wa")
    assert (tg_india.cost, tg_india.stock, wa_pakistan.cost, wa_pakistan.stock) == (
        Decimal("55.00"),
        3,
        Decimal("77.00"),
        4,
    )
    tg, wa = Service.objects.get(code="tg"), Service.objects.get(code="wa")
    assert list(offers_for(service_id=tg.pk, country_id=22)) == []
    assert list(offers_for(service_id=wa.pk, country_id=66)) == []
    Service.objects.filter(code="tg").update(enabled=True)
    Country.objects.filter(pk=66).update(enabled=True)
    assert [o.cost for o in offers_for(service_id=tg.pk, country_id=22)] == [Decimal("55.00")]  # fresh at once
    assert [o.cost for o in offers_for(service_id=wa.pk, country_id=66)] == [Decimal("77.00")]


def test_lookups_treat_switched_off_as_unknown(synced):
    tg = Service.objects.get(code="tg")
    Service.objects.filter(pk=tg.pk).update(enabled=False)
    Country.objects.filter(pk=22).update(enabled=False)
    assert service_by_code_or_id("tg") is None and service_by_code_or_id(str(tg.pk)) is None
    assert service_by_code_or_id("TG") is None and country_get(22) is None and country_get("22") is None
    assert service_by_code_or_id("tg", disabled=True) == tg and country_get(22, disabled=True).pk == 22
    assert service_by_code_or_id("wa").code == "wa" and country_get(66).pk == 66


@pytest.fixture
def root(client):
    user = Customer.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return user


def test_admin_switches_services_and_countries(synced, root, client, customer_with_key):
    _, key = customer_with_key(balance="500.00")
    changelist = reverse("admin:upstream_service_changelist")
    page = client.get(changelist).content.decode()
    assert "Enable selected" in page and "Disable selected" in page and 'name="form-0-enabled"' in page
    assert "enabled__exact" in page  # the filter
    tg = Service.objects.get(code="tg")
    response = client.post(changelist, {"action": "disable_selected", "_selected_action": [tg.pk]})
    assert response.status_code == 302 and not Service.objects.get(pk=tg.pk).enabled
    entry = LogEntry.objects.get_for_object(tg).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == root and entry.changes_dict["enabled"] == ["True", "False"]
    assert client.get(changelist, {"enabled__exact": "0"}).context["cl"].result_count == 1
    buy = {"api_key": key, "action": "getNumber", "service": "tg", "country": "22"}
    assert client.get("/stubs/handler_api.php", buy).content == b"BAD_SERVICE"
    client.post(changelist, {"action": "enable_selected", "_selected_action": [tg.pk]})
    assert Service.objects.get(pk=tg.pk).enabled
    assert client.get("/stubs/handler_api.php", buy).content.startswith(b"ACCESS_NUMBER:")

    countries = reverse("admin:upstream_country_changelist")
    page = client.get(countries).content.decode()
    assert "Enable selected" in page and 'name="form-0-enabled"' in page
    client.post(countries, {"action": "disable_selected", "_selected_action": [22, 66]})
    assert set(Country.objects.filter(enabled=False).values_list("pk", flat=True)) == {22, 66}
    assert client.get("/stubs/handler_api.php", buy).content == b"BAD_COUNTRY"
    client.post(countries, {"action": "enable_selected", "_selected_action": [22]})
    assert set(Country.objects.filter(enabled=False).values_list("pk", flat=True)) == {66}
    assert client.get("/stubs/handler_api.php", buy).content.startswith(b"ACCESS_NUMBER:")
