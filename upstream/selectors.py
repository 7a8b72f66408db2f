"""Reads on providers and the catalogue, for the API layer, commands and admin."""

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet

from upstream.models import Country, Offer, Operator, Provider, RentOffer, Service

_BIGINT_MAX = 2**63 - 1

# What customers may buy and see: an offer whose service and country are both switched on
# (Service.enabled, Country.enabled: the operator's switches). Catalogue sync ignores them and keeps
# every offer fresh; everything that routes or lists filters through these (docs/admin-guide.md).
SELLABLE = Q(service__enabled=True, country__enabled=True)
# Rent offers: a full-number rental (no service) depends on its country only.
RENT_SELLABLE = Q(country__enabled=True) & (Q(service__isnull=True) | Q(service__enabled=True))


def sellable_offers() -> QuerySet[Offer]:
    """Every offer of a switched-on service in a switched-on country, from enabled providers."""
    return Offer.objects.filter(SELLABLE, provider__enabled=True)


def sellable_rent_offers() -> QuerySet[RentOffer]:
    """Every rent offer of a switched-on country (and service, if any), from enabled providers."""
    return RentOffer.objects.filter(RENT_SELLABLE, provider__enabled=True)


def _as_id(value: int | str | None) -> int | None:
    """An id from a request parameter: digits only and within PostgreSQL's bigint, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= _BIGINT_MAX else None
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > _BIGINT_MAX:
        return None
    return int(text)


def offers_for(*, service_id: int, country_id: int | None, provider_slot: int | None = None) -> QuerySet[Offer]:
    """Offers with stock for (service, country; None: any country) from enabled providers, cheapest in PKR first;
    between equal PKR costs the higher provider priority, then the lower slot. Only a switched-on
    service in switched-on countries (SELLABLE): routing of every order kind reads here.
    Each offer carries `cost_in_pkr` (cost x rate, unrounded: for ordering; charge with
    `provider.to_pkr(cost)`)."""
    offers = (
        sellable_offers().filter(service_id=service_id, stock__gt=0).select_related("provider", "country", "service")
    )
    if country_id is not None:
        offers = offers.filter(country_id=country_id)
    if provider_slot is not None:
        offers = offers.filter(provider__slot=provider_slot)
    return offers.annotate(
        cost_in_pkr=ExpressionWrapper(
            F("cost") * F("provider__rate_to_pkr"), output_field=DecimalField(max_digits=32, decimal_places=10)
        )
    ).order_by("cost_in_pkr", "-provider__priority", "provider__slot")


def offer_listed(*, service_id: int, country_id: int, provider_slot: int) -> bool:
    """Whether the provider in `provider_slot` lists (service, country) at all, in stock or not."""
    return Offer.objects.filter(service_id=service_id, country_id=country_id, provider__slot=provider_slot).exists()


def operators_listing(*, country_id: int, codes) -> dict[int, list[str]]:
    """{provider id: the codes of `codes` it lists for the country, in the order of `codes`} for
    enabled providers listing at least one (upstream.Operator, kept by catalogue sync)."""
    wanted = list(codes)
    found: dict[int, set[str]] = {}
    rows = Operator.objects.filter(provider__enabled=True, country_id=country_id, code__in=wanted)
    for provider_id, code in rows.values_list("provider_id", "code"):
        found.setdefault(provider_id, set()).add(code)
    return {pid: [code for code in wanted if code in listed] for pid, listed in found.items()}


def operators_by_country(*, country_id: int | None = None) -> dict[int, list[str]]:
    """{country id: its operators, sorted, over every enabled provider} (all switched-on countries, or one)."""
    rows = Operator.objects.filter(provider__enabled=True, country__enabled=True)
    if country_id is not None:
        rows = rows.filter(country_id=country_id)
    result: dict[int, set[str]] = {}
    for cid, code in rows.values_list("country_id", "code"):
        result.setdefault(cid, set()).add(code)
    return {cid: sorted(codes) for cid, codes in sorted(result.items())}


def rent_offers_for(
    *, country_id: int, service_id: int | None, hours: int, provider_slot: int | None = None
) -> QuerySet[RentOffer]:
    """Rent offers with stock for (country, service; None: the number for every service, hours) from
    enabled providers, ordered as `offers_for` (cheapest in PKR, higher priority, lower slot), each
    with `cost_in_pkr`. Only switched-on countries and services (RENT_SELLABLE), renewals included."""
    offers = (
        sellable_rent_offers()
        .filter(country_id=country_id, hours=hours, stock__gt=0)
        .select_related("provider", "country", "service")
    )
    offers = offers.filter(service__isnull=True) if service_id is None else offers.filter(service_id=service_id)
    if provider_slot is not None:
        offers = offers.filter(provider__slot=provider_slot)
    return offers.annotate(
        cost_in_pkr=ExpressionWrapper(
            F("cost") * F("provider__rate_to_pkr"), output_field=DecimalField(max_digits=32, decimal_places=10)
        )
    ).order_by("cost_in_pkr", "-provider__priority", "provider__slot")


def service_by_code_or_id(value: str, *, disabled: bool = False) -> Service | None:
    """`getNumber`'s `service`: an SMS-Activate short code (`tg`) or the numeric id as a string
    (OTPGet sends the id from getServices; product decision P7). No code is all digits.
    A switched-off service is None, as an unknown one (every customer-facing read of a service
    goes through here); `disabled=True` finds it too (operators' commands)."""
    value = (value or "").strip()
    if not value:
        return None
    services = Service.objects.all() if disabled else Service.objects.filter(enabled=True)
    service_id = _as_id(value)
    if service_id is not None:
        return services.filter(pk=service_id).first()
    return services.filter(code=value).first() or services.filter(code=value.lower()).first()


def country_get(id: int | str, *, disabled: bool = False) -> Country | None:
    """A country by its SMS-Activate number (int or digit string); None if unknown or malformed,
    or switched off (as unknown) unless `disabled=True` (operators' commands)."""
    country_id = _as_id(id)
    if country_id is None:
        return None
    countries = Country.objects.all() if disabled else Country.objects.filter(enabled=True)
    return countries.filter(pk=country_id).first()


def provider_by_slot(slot: int | str) -> Provider | None:
    """The enabled provider in `slot` (OTPGet's `type`), or None."""
    slot_number = _as_id(slot)
    return None if slot_number is None else Provider.objects.filter(slot=slot_number, enabled=True).first()


def providers_for_sync(*, slot: int | None = None) -> list[Provider]:
    """Every enabled provider by slot; or the one in `slot`, enabled or not (an operator may sync a
    provider before enabling it). Empty if that slot is free."""
    if slot is not None:
        return list(Provider.objects.filter(slot=slot))
    return list(Provider.objects.filter(enabled=True).order_by("slot"))


def upstream_codes(
    *, provider_ids, service_id: int, country_ids
) -> dict[tuple[int, int], tuple[str | None, str | None]]:
    """{(provider_id, country_id): (upstream service code, upstream country code)} from the mapping
    tables, None where a provider has no mapping row (its codes are ours). Two queries."""
    from upstream.models import CountryMapping, ServiceMapping

    ids = list(provider_ids)
    services = dict(
        ServiceMapping.objects.filter(provider_id__in=ids, service_id=service_id).values_list(
            "provider_id", "upstream_code"
        )
    )
    country_list = list(country_ids)
    countries = {
        (pid, cid): code
        for pid, cid, code in CountryMapping.objects.filter(
            provider_id__in=ids, country_id__in=country_list
        ).values_list("provider_id", "country_id", "upstream_code")
    }
    return {(pid, cid): (services.get(pid), countries.get((pid, cid))) for pid in ids for cid in country_list}


def providers_sharing_account(provider: Provider) -> QuerySet[Provider]:
    """Every row that buys with this provider's upstream account (same URL and key), itself
    included: the account's active list shows the numbers of all of them."""
    return Provider.objects.filter(base_url=provider.base_url, api_key=provider.api_key)
