"""Which offers an order may be bought from, in the order they are tried.

A candidate is an offer (provider, service, country, cost) priced for the customer: cheapest
sell price first, then the provider's recent success rate, priority and slot. Providers whose
circuit is open are left out, and so are switched-off services and countries (Service.enabled,
Country.enabled: upstream.selectors.offers_for reads only sellable offers, so every order kind
inherits it; a switched-off one has no candidate, whatever offers exist). The sell price is the
markup rules' quote of the PKR cost, or a fixed price (cheap servers): then offers that cost us
more than the fixed price are left out, so a fixed price never sells at a loss.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from billing.pricing import Quote
from reseller.orders.errors import PriceAboveLimit, ProviderFailed
from upstream import routing_state
from upstream.health import circuit_open
from upstream.models import Offer
from upstream.providers.base import client_class
from upstream.selectors import operators_listing

FIXED_PRICE = "fixed price"  # the explanation of a fixed-price quote


@dataclass(frozen=True)
class Candidate:
    offer: Offer
    quote: Quote
    service_code: str  # the provider's own code for the service (mapping table, else ours)
    country_code: int  # the provider's own country id (mapping table, else SMS-Activate numbering)
    operator: str | None = None  # the operator(s) to ask this provider for, comma-separated; None: any


def candidates_for(
    *,
    customer_id: int,
    service,
    country,
    provider_slot: int | None = None,
    fixed_price: Decimal | None = None,
    operator: str | None = None,
    phone_exception: bool = False,
) -> list[Candidate]:
    """`country` None: any country. `provider_slot`: that provider only (a failing one raises
    ProviderFailed: it is not hammered). `operator` (SMS-Activate's, one code or several
    comma-separated; None or `any`: any operator): only providers listing one of them for the
    country (upstream.Operator), asked for those; when no provider lists any of them there, every
    offer, for any operator (SMS-Activate's API document: "the number of the first operator that matches the request
    parameters will be returned"). `phone_exception`: only providers whose protocol takes and
    honours excluded prefixes.

    Offers, code mappings and markup rules come from this process's cache, the providers' health
    from the one read of this request (upstream.routing_state)."""
    with routing_state.request_scope():
        return _candidates(
            customer_id=customer_id,
            service=service,
            country=country,
            provider_slot=provider_slot,
            fixed_price=fixed_price,
            operator=operator,
            phone_exception=phone_exception,
        )


def _candidates(*, customer_id, service, country, provider_slot, fixed_price, operator, phone_exception):
    offers = routing_state.offers_for(
        service_id=service.pk, country_id=country.pk if country is not None else None, provider_slot=provider_slot
    )
    codes = list(dict.fromkeys(c.strip() for c in (operator or "").lower().split(",") if c.strip()))
    if "any" in codes:
        codes = []
    listing = operators_listing(country_id=country.pk, codes=codes) if codes and country is not None else {}
    if listing:
        offers = [o for o in offers if o.provider_id in listing]
    if phone_exception:
        offers = [o for o in offers if client_class(o.provider.protocol).takes_phone_exception]
    now = timezone.now()
    healthy = [o for o in offers if not circuit_open(o.provider, now)]
    if provider_slot is not None and offers and not healthy:
        raise ProviderFailed(provider_slot, "UNAVAILABLE")
    codes = routing_state.upstream_codes(
        provider_ids={o.provider_id for o in healthy},
        service_id=service.pk,
        country_ids={o.country_id for o in healthy},
    )
    book = routing_state.price_book(customer_id=customer_id) if fixed_price is None else None
    found = []
    for o in healthy:
        cost_pkr = o.provider.to_pkr(o.cost)
        if book is not None:
            quote = book.quote(
                cost_pkr=cost_pkr, provider_id=o.provider_id, country_id=o.country_id, service_id=o.service_id
            )
        elif cost_pkr > fixed_price:
            continue
        else:
            quote = Quote(price=fixed_price, cost_pkr=cost_pkr, rule_id=None, explanation=FIXED_PRICE)
        service_code, country_code = codes[(o.provider_id, o.country_id)]
        found.append(
            Candidate(
                offer=o,
                quote=quote,
                service_code=service_code or service.code,
                country_code=int(country_code) if country_code and country_code.lstrip("-").isdigit() else o.country_id,
                operator=",".join(listing[o.provider_id]) if listing else None,
            )
        )
    found.sort(
        key=lambda c: (
            c.quote.price,
            -c.offer.provider.success_rate,
            -c.offer.provider.priority,
            c.offer.provider.slot,
        )
    )
    return found


def within_limit(candidates: list, max_price) -> list:
    """The candidates a customer's price limit (`maxPrice`, PKR) allows; all of them without one.
    PriceAboveLimit (with the cheapest price) when none fits."""
    if max_price is None:
        return candidates
    fitting = [c for c in candidates if c.quote.price <= max_price]
    if not fitting:
        raise PriceAboveLimit(min(c.quote.price for c in candidates))
    return fitting
