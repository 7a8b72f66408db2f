"""Read-only catalogue actions of handler_api.php, both dialects (product decision P9).

Prices are always the customer's sell prices in PKR (markup applied), the
cheapest enabled provider's unless `type` names one; counts are summed over
providers.
"""

from collections import defaultdict

from billing.money import format_pkr
from reseller.orders.catalogue import (
    all_countries,
    countries_offered,
    country_ids_offered,
    sell_price_table,
    services_by_id,
    services_offered,
)
from reseller.orders.errors import UnknownCountry
from reseller.protocol.actions import inputs
from reseller.protocol.context import Call
from reseller.protocol.render import Json, Token
from upstream.selectors import operators_by_country


def price_table(call: Call, **filters) -> dict:
    return sell_price_table(customer_id=call.principal.customer_id, **filters)


def get_countries(call: Call) -> Json:
    slot = inputs.provider_slot(call)
    if slot is None:
        return Json(
            {
                str(c.pk): {
                    "id": c.pk,
                    "rus": c.name_ru or c.name,
                    "eng": c.name,
                    "chn": c.name_cn or c.name,
                    "visible": int(c.visible),
                    "retry": int(c.retry),
                    "rent": int(c.rent),
                    "multiService": int(c.multi_service),
                }
                for c in all_countries()
            }
        )
    countries = countries_offered(slot=slot)
    return Json({str(slot): [{"id": str(c.pk), "name": c.name} for c in countries]})


def get_services(call: Call) -> Json:
    """OTPGet: `{"<numeric id>":"<Name> - <price> PKR"}` for a country (and provider)."""
    slot = inputs.provider_slot(call)
    country = inputs.country(call, required=True)
    table = price_table(call, country_id=country.pk, slot=slot)
    services = services_by_id(sid for _, sid in table)
    rows = sorted(((services[sid], cell) for (_, sid), cell in table.items()), key=lambda r: r[0].pk)
    return Json({str(s.pk): f"{s.name} - {format_pkr(cell.price)} PKR" for s, cell in rows})


def get_services_list(call: Call) -> Json:
    country = inputs.country(call)
    services = services_offered(country=country)
    return Json({"status": "success", "services": [{"code": s.code, "name": s.name} for s in services]})


def get_prices(call: Call) -> Json:
    """`{"<country>":{"<service>":{"cost":12.50,"count":40,"physicalCount":40}}}`; `{}` when nothing."""
    service = inputs.service(call, required=False)
    country = inputs.country(call)
    table = price_table(
        call,
        country_id=country.pk if country else None,
        service_id=service.pk if service else None,
        slot=inputs.provider_slot(call),
    )
    services = services_by_id(sid for _, sid in table)
    out: dict[str, dict] = defaultdict(dict)
    for (cid, sid), cell in sorted(table.items(), key=lambda kv: (kv[0][0], services[kv[0][1]].code)):
        out[str(cid)][services[sid].code] = {"cost": cell.price, "count": cell.count, "physicalCount": cell.count}
    return Json(out)


def get_numbers_status(call: Call) -> Json:
    """`{"wa":90,"tg":158}`: numbers available per service in a country (default 0)."""
    country = inputs.country(call, default=0)
    table = price_table(call, country_id=country.pk, slot=inputs.provider_slot(call))
    services = services_by_id(sid for _, sid in table)
    return Json(
        {
            services[sid].code: cell.count
            for (_, sid), cell in sorted(table.items(), key=lambda kv: services[kv[0][1]].code)
        }
    )


def get_top_countries_by_service(call: Call) -> Json:
    """`{"0":{"country":2,"count":43575,"price":15.00,"retail_price":15.00}, ...}`, cheapest first."""
    service = inputs.service(call)
    table = price_table(call, service_id=service.pk, slot=inputs.provider_slot(call))
    free_price = call.params.is_true("freePrice")
    rows = sorted(table.items(), key=lambda kv: (kv[1].price, -kv[1].count, kv[0][0]))
    out = {}
    for i, ((cid, _), cell) in enumerate(rows):
        entry = {"country": cid, "count": cell.count, "price": cell.price, "retail_price": cell.price}
        if free_price:
            entry["freePriceMap"] = {format_pkr(cell.price): cell.count}
        out[str(i)] = entry
    return Json(out)


def get_operators(call: Call) -> Json | Token:
    """`{"status":"success","countryOperators":{"<country>":["beeline","tele2"]}}` (SMS-Activate's API document): per
    country the operators the enabled providers list (synced from their own getOperators), sorted;
    a country with offers and no synced operators lists `["any"]`. `country` narrows it to one;
    an unknown country, or one with neither, is `OPERATORS_NOT_FOUND`."""
    raw = call.params.get("country")
    country_id = None
    if raw is not None and raw.strip() != "":
        try:
            country_id = inputs.country(call).pk
        except UnknownCountry:
            return Token("OPERATORS_NOT_FOUND")
    listed = operators_by_country(country_id=country_id)
    offered = set(country_ids_offered())
    ids = sorted({*listed, *(offered if country_id is None else offered & {country_id})})
    if not ids:
        return Token("OPERATORS_NOT_FOUND")
    return Json({"status": "success", "countryOperators": {str(cid): listed.get(cid) or ["any"] for cid in ids}})
