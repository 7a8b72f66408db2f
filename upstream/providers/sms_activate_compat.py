"""Client of the SMS-Activate-compatible variant, protocol `smsactivate-compat`.

The document is SMS-Activate's `handler_api.php` (getBalance, getNumber,
getNumberV2, getStatus, setStatus, getPrices) plus extras; only what differs
from `SmsActivateClient` is here:

- buying takes `providerIds`, `exceptProviderIds` and `phoneException` (comma
  lists); the document has no `operator` and no `orderId`, so neither is sent;
- `STATUS_WAIT_RESEND` is "waiting for next sms" (after setStatus 3): `WAIT_RETRY`
  without a previous code (the document has no `STATUS_WAIT_RETRY:<code>`);
- no getStatusV2 (no SMS text) and no getActiveActivations (no active list);
- the price tables: per price (`{"country":{"service":{"<price>":count}}}`) and
  per provider (`{"country":{"service":{"<provider id>":{"count","price","provider_id"}}}}`),
  read into one `PriceEntry` per (country, service): the cheapest price that has
  stock, and the total count; `BAD_COUNTRY` is a documented error;
- countries and services are "see table" on the provider's site: the
  SMS-Activate lists are tried, and `BAD_ACTION` (not implemented) means none.

The document names neither price-table action; `getPricesV2` (per price) and
`getPricesV3` (per provider) are the names this variant's provider publishes.

Provider.config options, besides SmsActivateClient's `use_v2` and `timeout_seconds`:
`provider_ids`, `except_provider_ids` (lists of provider ids, or "1,2,3"),
`phone_exception` (list of prefixes: country code + 3 to 6 digits, or "7918,7900111"),
`prices_action` ("getPricesV3" default, "getPricesV2", or "getPrices": the
plain SMS-Activate table). With `getPricesV3`, the provider-id filters apply to
the prices too, so the catalogue shows what `buy` can actually get.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from upstream.providers.base import (
    ActiveActivation,
    BuyRequest,
    CountryEntry,
    OperatorEntry,
    PriceEntry,
    ProviderClient,
    ProviderError,
    ProviderUnavailable,
    Purchase,
    ServiceEntry,
    StatusResult,
    UpstreamState,
)
from upstream.providers.handler_api import Dialect
from upstream.providers.sms_activate import (
    BANNED,
    ERROR_TOKENS,
    SmsActivateClient,
    _bad,
    _decimal,
    _format_amount,
    _int,
    _json,
    _raise_if_json_error,
)

# Documented here and unknown to SMS-Activate's table (which would call it garbage).
VARIANT_ERROR_TOKENS: dict[str, type[ProviderError]] = {"BAD_COUNTRY": ProviderError}
# SMS-Activate's tokens and this variant's, on every bare reply; a JSON error's message is read with
# SMS-Activate's table (sms_activate._raise_if_json_error). Messages name SMS-Activate, whose replies these are.
COMPAT = Dialect(
    "smsactivate", {**ERROR_TOKENS, **VARIANT_ERROR_TOKENS}, patterns=((BANNED, ProviderError),), max_price=True
)
WAIT_RESEND = "STATUS_WAIT_RESEND"
NOT_IMPLEMENTED = "BAD_ACTION"

PER_PROVIDER = "getPricesV3"
PER_PRICE = "getPricesV2"
PLAIN = "getPrices"
PRICE_ACTIONS = (PER_PROVIDER, PER_PRICE, PLAIN)

# Provider.config key -> buy parameter.
EXTRAS = {
    "provider_ids": "providerIds",
    "except_provider_ids": "exceptProviderIds",
    "phone_exception": "phoneException",
}


class SmsActivateCompatClient(SmsActivateClient):
    protocol = "smsactivate-compat"
    supports_active_list = False
    supports_rent = False  # the variant's document has no rent API: every rent_* raises Unsupported
    takes_operator = False  # the document has no `operator` and no getOperators
    takes_phone_exception = True
    # Nor getMultiServiceNumber or get/checkExtraActivation: never called (the flags), "not available".
    supports_multi_service = False
    supports_extra_activation = False

    dialect = COMPAT

    def _misconfigured(self, what: str) -> ProviderUnavailable:
        # Nothing was sent: the row is misconfigured, route around it (as http.py does for timeout_seconds).
        return ProviderUnavailable(message=f"provider slot {self.provider.slot}: {what}")

    def _id_list(self, key: str) -> list[str]:
        """A config list of digit strings (`[1, "2"]` or `"1,2"`); [] when absent or empty."""
        value = (self.provider.config or {}).get(key)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            items = value.split(",")
        elif isinstance(value, list):
            items = value
        else:
            raise self._misconfigured(f"{key} is not a list")
        result = []
        for item in items:
            text = str(item).strip() if isinstance(item, (str, int)) and not isinstance(item, bool) else ""
            if not text.isdigit():
                raise self._misconfigured(f"{key} has a non-numeric entry {item!r}")
            result.append(text)
        return result

    # --- buying --------------------------------------------------------------------

    def buy(self, request: BuyRequest) -> Purchase:
        use_v2 = bool((self.provider.config or {}).get("use_v2", True))
        params: dict[str, object] = {"service": request.service, "country": int(request.country)}
        if request.max_price is not None:
            params["maxPrice"] = _format_amount(request.max_price)
        for key, name in EXTRAS.items():
            values = self._id_list(key)
            if key == "phone_exception":  # the row's own prefixes, then the customer's
                values = list(dict.fromkeys([*values, *request.phone_exception]))
            if values:
                params[name] = ",".join(values)
        body = self.api.reply("getNumberV2" if use_v2 else "getNumber", **params)
        if use_v2 and not body.startswith("ACCESS_NUMBER:"):
            return self._parse_v2(body)
        return self._parse_v1(body)

    def operators(self) -> list[OperatorEntry]:
        return ProviderClient.operators(self)  # no getOperators in the variant's document: Unsupported

    # --- one activation ------------------------------------------------------------

    def status(self, upstream_id: str) -> StatusResult:
        result = super().status(upstream_id)
        if result.raw == WAIT_RESEND:
            return dataclasses.replace(result, state=UpstreamState.WAIT_RETRY)
        return result

    def _full_text(self, upstream_id: str) -> str | None:
        return None  # no getStatusV2 in this protocol

    def active_activations(self, *, expected: int | None = None) -> list[ActiveActivation]:
        raise NotImplementedError("smsactivate-compat has no getActiveActivations")

    # --- catalogue -------------------------------------------------------------------

    def countries(self) -> list[CountryEntry]:
        return self._optional_list(super().countries)

    def services(self) -> list[ServiceEntry]:
        return self._optional_list(super().services)

    @staticmethod
    def _optional_list(fetch: Callable[[], list]) -> list:
        try:
            return fetch()
        except ProviderError as exc:
            if type(exc) is ProviderError and exc.raw == NOT_IMPLEMENTED:
                return []
            raise

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        action = (self.provider.config or {}).get("prices_action", PER_PROVIDER)
        if action not in PRICE_ACTIONS:
            raise self._misconfigured(f"prices_action {action!r} is not one of {', '.join(PRICE_ACTIONS)}")
        if action == PLAIN:
            return super().prices(country=country, service=service)
        body = self.api.reply(action, country=country, service=service)
        data = _json(body, f"{action} reply")
        _raise_if_json_error(data, body)
        entries = []
        for country_id, code, table in _tables(data, body):
            if action == PER_PRICE:
                offers = _per_price(table, body, code, country_id)
            else:
                offers = self._per_provider(table, body, code, country_id)
            if offers:
                stocked = [price for price, count in offers if count > 0]
                cost = min(stocked or [price for price, _ in offers])
                entries.append(PriceEntry(country_id, code, cost, sum(count for _, count in offers)))
        return entries

    def _per_provider(self, table: Any, body: str, code: str, country_id: int) -> list[tuple[Decimal, int]]:
        """(price, count) of the providers `buy` may get a number from (provider_ids / except_provider_ids)."""
        allowed, excluded = set(self._id_list("provider_ids")), set(self._id_list("except_provider_ids"))
        offers = []
        for key, item in _items(table, body, f"providers of {code}/{country_id}"):
            if not isinstance(item, dict) or not {"count", "price", "provider_id"} <= item.keys():
                raise _bad(body, f"provider entry of {code}/{country_id} has no count, price or provider_id")
            provider_id = str(_int(item["provider_id"], body, "provider_id"))
            if key is not None and key.strip() != provider_id:
                raise _bad(body, f"provider entry {key!r} of {code}/{country_id} says provider_id {provider_id}")
            price = _amount(item["price"], body, "price")
            count = _count(item["count"], body)
            if (not allowed or provider_id in allowed) and provider_id not in excluded:
                offers.append((price, count))
        return offers


# --- the price tables ---------------------------------------------------------------------


def _items(value: Any, body: str, what: str) -> Iterator[tuple[str | None, Any]]:
    """A JSON object's items; PHP encodes an empty array as [] and sequential keys 0..n-1 as a list
    (key None: the caller knows the key from the entry, or uses the index)."""
    if isinstance(value, dict):
        yield from value.items()
    elif isinstance(value, list):
        yield from ((None, item) for item in value)
    else:
        raise _bad(body, f"{what} is not an object")


def _tables(data: Any, body: str) -> Iterator[tuple[int, str, Any]]:
    """(country id, service code, that service's table) of `{"country":{"service":table}}`."""
    for index, (country_key, by_service) in enumerate(_items(data, body, "price reply")):
        country_id = _int(index if country_key is None else country_key, body, "country")
        if isinstance(by_service, list) and by_service:
            raise _bad(body, f"prices of country {country_id} are not an object")
        for code, table in _items(by_service, body, f"prices of country {country_id}"):
            if not code:
                raise _bad(body, f"empty service code in country {country_id}")
            yield country_id, code, table


def _per_price(table: Any, body: str, code: str, country_id: int) -> list[tuple[Decimal, int]]:
    if isinstance(table, list) and table:  # price keys are never 0..n-1
        raise _bad(body, f"price table of {code}/{country_id} is not an object")
    return [
        (_amount(price, body, "price"), _count(count, body))
        for price, count in _items(table, body, f"price table of {code}/{country_id}")
    ]


def _amount(value: Any, body: str, what: str) -> Decimal:
    amount = _decimal(value, body, what)
    if amount < 0:
        raise _bad(body, f"{what} is negative")
    return amount


def _count(value: Any, body: str) -> int:
    count = _int(value, body, "count")
    if count < 0:
        raise _bad(body, "count is negative")
    return count
