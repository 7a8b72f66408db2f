"""The price lists of handler_api.php besides getPrices (catalogue.py): getPricesExtended,
getPricesVerification, getTopCountriesByServiceRank, getListOfTopCountriesByService.

Prices are the customer's sell prices in PKR from our own catalogue, as getPrices computes them
(the cheapest enabled provider's, stock summed over providers). Free Price tiers do not exist
here: `freePrice` changes nothing but the `freePriceMap` of the top-countries lists.
"""

from collections import defaultdict

from billing.money import format_pkr
from reseller.activations.stats import top_countries_by_service
from reseller.orders.catalogue import services_by_id
from reseller.protocol.actions import inputs
from reseller.protocol.actions.catalogue import price_table
from reseller.protocol.context import Call
from reseller.protocol.render import Json, Token
from upstream.models import Service
from upstream.selectors import service_by_code_or_id

MAX_PAGE_LENGTH = 100


def _table(call: Call, *, country=None, service=None) -> tuple[dict, dict[int, Service]]:
    table = price_table(
        call,
        country_id=country.pk if country else None,
        service_id=service.pk if service else None,
        slot=inputs.provider_slot(call),
    )
    return table, services_by_id(sid for _, sid in table)


def get_prices_extended(call: Call) -> Json:
    """`{"<country>":{"<service>":{"cost":12.00,"count":7}}}`; `{}` when nothing."""
    service = inputs.service(call, required=False)
    country = inputs.country(call)
    table, services = _table(call, country=country, service=service)
    out: dict[str, dict] = defaultdict(dict)
    for (cid, sid), cell in sorted(table.items(), key=lambda kv: (kv[0][0], services[kv[0][1]].code)):
        out[str(cid)][services[sid].code] = {"cost": cell.price, "count": cell.count}
    return Json(out)


def get_prices_verification(call: Call) -> Json:
    """`{"<service>":{"<country>":{"count":7,"price":"12.00"}}}` (the price a string, as the
    document quotes it); `{}` when nothing."""
    service = inputs.service(call, required=False)
    table, services = _table(call, service=service)
    out: dict[str, dict] = defaultdict(dict)
    for (cid, sid), cell in sorted(table.items(), key=lambda kv: (services[kv[0][1]].code, kv[0][0])):
        out[services[sid].code][str(cid)] = {"count": cell.count, "price": format_pkr(cell.price)}
    return Json(out)


def get_list_of_top_countries_by_service(call: Call) -> Json | Token:
    """`[{"country":22,"share":60,"rate":50},...]`, a top-level array as the document shows, paged by
    `length` (default 10, at most 100) and `page` (default 1). A missing or unknown service is
    `WRONG_SERVICE`, this action's own token."""
    raw = call.params.get("service")
    service = service_by_code_or_id(raw.strip()) if raw and raw.strip() else None
    if service is None:
        return Token("WRONG_SERVICE")
    length = inputs.bounded_int(call.params.get("length"), default=10, low=1, high=MAX_PAGE_LENGTH)
    page = inputs.bounded_int(call.params.get("page"), default=1, low=1, high=1_000_000)
    rows = top_countries_by_service(service_id=service.pk)[(page - 1) * length : page * length]
    return Json([{"country": r.country_id, "share": r.share, "rate": r.rate} for r in rows])
