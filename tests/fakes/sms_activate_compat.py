"""A fake of the SMS-Activate-compatible variant's server over real HTTP, for tests.

    with FakeSmsActivateCompat(api_key="k") as fake:
        fake.set_offer(22, "tg", "12.50", 10, provider_id=3)
        fake.set_offer(22, "tg", "9.00", 0, provider_id=4)

The server, its misbehaviour controls (`next_response`, `next_disconnect`,
`delay`, `calls`) and the activation lifecycle are the SMS-Activate fake's
(`tests.fakes.sms_activate`); this module answers where the document differs:

- stock is per upstream provider id: `set_offer(..., provider_id=)`; a purchase
  takes the cheapest tier with stock among `providerIds` minus `exceptProviderIds`
  at or under `maxPrice`, and its number starts with none of `phoneException`;
- `getNumberV2` answers the document's object (no `currency`, no `orderId`);
- `getStatus` says `STATUS_WAIT_RESEND` after setStatus 3 (waiting for next sms);
- `getPrices` (cost = cheapest tier with stock, count = all tiers), `getPricesV2`
  (`{"<price>":count}`) and `getPricesV3` (per provider id);
- actions the document does not have (getStatusV2, getActiveActivations,
  getCountries, getServicesList, ...) answer `BAD_ACTION`.

Where the document is silent, this fake decides (and the tests rely on it):
- nothing at or under `maxPrice`: `NO_NUMBERS` (the document has no WRONG_MAX_PRICE);
- a non-numeric id is `NO_ACTIVATION` (the document has no WRONG_ACTIVATION_ID);
- setStatus 6 before any code is `BAD_STATUS` (the document allows 6 only after a code);
- `BAD_SERVICE` for an unknown `service` filter of every price table, `BAD_COUNTRY`
  for an unknown `country` filter of `getPricesV3` (the only table documenting it);
- an empty price table, or one keyed 0..n-1 at the country level, comes out as a JSON
  list, as PHP's `json_encode` writes such an array (`[]`; `getPricesV3&country=0`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tests.fakes.sms_activate import FakeSmsActivate
from tests.fakes.sms_activate_state import COUNTRIES, TEXT, FakeActivation, FakeSmsActivateState, Offer, phone_for

DEFAULT_PROVIDER = 1
DOCUMENTED_ACTIONS = frozenset(
    {"getBalance", "getNumber", "getNumberV2", "getStatus", "setStatus", "getPrices", "getPricesV2", "getPricesV3"}
)


@dataclass
class CompatActivation(FakeActivation):
    provider_id: int = DEFAULT_PROVIDER


def _comma_list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip().isdigit()]


def _php_array(mapping: dict[str, object]) -> dict[str, object] | list[object]:
    """PHP's json_encode writes an empty array, or one with keys 0..n-1 in order, as a list."""
    if list(mapping) == [str(index) for index in range(len(mapping))]:
        return list(mapping.values())
    return mapping


def _price_key(price: Decimal) -> str:
    return format(price.normalize(), "f")


class FakeSmsActivateCompatState(FakeSmsActivateState):
    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("1000")):
        super().__init__(api_key=api_key, balance=balance)
        self._tiers: dict[tuple[int, str], dict[int, Offer]] = {}

    # --- test controls -----------------------------------------------------------

    def set_offer(
        self, country: int, service: str, cost: Decimal | str | int, count: int, provider_id: int = DEFAULT_PROVIDER
    ) -> None:
        """Price and stock of one upstream provider's tier for (country, service)."""
        with self.lock:
            tiers = self._tiers.setdefault((int(country), service), {})
            tiers[int(provider_id)] = Offer(cost=Decimal(cost), count=int(count))
            self._services.setdefault(service, service)

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        if params.get("api_key") == self.api_key and params.get("action", "") not in DOCUMENTED_ACTIONS:
            return TEXT, "BAD_ACTION"
        return super().handle(params)

    def _buy(self, params: dict[str, str]) -> FakeActivation | str:
        service = params.get("service", "")
        if service not in self._services:
            return "BAD_SERVICE"
        try:
            country = int(params.get("country", "0") or "0")
        except ValueError:
            return "NO_NUMBERS"
        max_price: Decimal | None = None
        if "maxPrice" in params:
            try:
                max_price = Decimal(params["maxPrice"])
            except InvalidOperation:
                max_price = Decimal(0)  # PHP casts garbage to 0
        wanted = {int(item) for item in _comma_list(params.get("providerIds"))}
        excluded = {int(item) for item in _comma_list(params.get("exceptProviderIds"))}
        candidates = [
            (offer.cost, provider_id, offer)
            for provider_id, offer in self._tiers.get((country, service), {}).items()
            if (not wanted or provider_id in wanted)
            and provider_id not in excluded
            and offer.count > 0
            and (max_price is None or offer.cost <= max_price)
        ]
        if not candidates:
            return "NO_NUMBERS"
        cost, provider_id, offer = min(candidates, key=lambda candidate: candidate[:2])
        if self._balance < cost:
            return "NO_BALANCE"
        activation_id = next(self._ids)
        phone = phone_for(country, activation_id, _comma_list(params.get("phoneException")))
        if phone is None:
            return "NO_NUMBERS"
        activation = CompatActivation(
            id=activation_id,
            service=service,
            country=country,
            phone=phone,
            cost=cost,
            operator="any",
            order_id=None,
            provider_id=provider_id,
        )
        offer.count -= 1
        self._balance -= cost
        self._activations[activation_id] = activation
        return activation

    def _action_getNumberV2(self, params: dict[str, str]) -> str | dict:
        activation = self._buy(params)
        if isinstance(activation, str):
            return activation
        return {
            "activationId": str(activation.id),
            "phoneNumber": int(activation.phone),
            "activationCost": activation.cost,
            "countryCode": activation.country,
            "canGetAnotherSms": True,
            "activationTime": activation.activation_time,
            "activationOperator": activation.operator,
        }

    def _find(self, params: dict[str, str]) -> FakeActivation | str:
        found = super()._find(params)
        return "NO_ACTIVATION" if found == "WRONG_ACTIVATION_ID" else found

    def _action_getStatus(self, params: dict[str, str]) -> str:
        activation = self._find(params)
        if not isinstance(activation, str) and activation.status == "wait_retry":
            return "STATUS_WAIT_RESEND"
        return super()._action_getStatus(params)

    def _action_setStatus(self, params: dict[str, str]) -> str:
        activation = self._find(params)
        if not isinstance(activation, str) and params.get("status") == "6" and not activation.sms:
            return "BAD_STATUS"
        return super()._action_setStatus(params)

    # --- price tables ----------------------------------------------------------------

    def _selected(
        self, params: dict[str, str], *, check_country: bool
    ) -> list[tuple[int, str, dict[int, Offer]]] | str:
        """(country, service, tiers) matching the `country`/`service` filters, or an error token."""
        country, service = params.get("country") or None, params.get("service") or None
        if service is not None and service not in self._services:
            return "BAD_SERVICE"
        if check_country and country is not None and (not country.isdigit() or int(country) not in COUNTRIES):
            return "BAD_COUNTRY"
        return [
            (country_id, code, tiers)
            for (country_id, code), tiers in sorted(self._tiers.items())
            if country in (None, str(country_id)) and service in (None, code) and tiers
        ]

    @staticmethod
    def _by_country(rows: list[tuple[int, str, object]]) -> dict[str, object] | list[object]:
        result: dict[str, dict[str, object]] = {}
        for country_id, code, table in rows:
            result.setdefault(str(country_id), {})[code] = table
        return _php_array(result)

    def _action_getPrices(self, params: dict[str, str]) -> str | dict | list:
        selected = self._selected(params, check_country=False)
        if isinstance(selected, str):
            return selected
        rows = []
        for country_id, code, tiers in selected:
            offers = list(tiers.values())
            stocked = [offer.cost for offer in offers if offer.count > 0]
            cost = min(stocked or [offer.cost for offer in offers])
            rows.append((country_id, code, {"cost": cost, "count": sum(offer.count for offer in offers)}))
        return self._by_country(rows)

    def _action_getPricesV2(self, params: dict[str, str]) -> str | dict | list:
        selected = self._selected(params, check_country=False)
        if isinstance(selected, str):
            return selected
        rows = []
        for country_id, code, tiers in selected:
            counts: dict[Decimal, int] = {}
            for offer in tiers.values():
                counts[offer.cost] = counts.get(offer.cost, 0) + offer.count
            rows.append((country_id, code, {_price_key(price): counts[price] for price in sorted(counts)}))
        return self._by_country(rows)

    def _action_getPricesV3(self, params: dict[str, str]) -> str | dict | list:
        selected = self._selected(params, check_country=True)
        if isinstance(selected, str):
            return selected
        rows = []
        for country_id, code, tiers in selected:
            table = {
                str(provider_id): {"count": offer.count, "price": offer.cost, "provider_id": provider_id}
                for provider_id, offer in sorted(tiers.items())
            }
            rows.append((country_id, code, table))
        return self._by_country(rows)


class FakeSmsActivateCompat(FakeSmsActivate):
    """The fake server with this variant's state; every control of FakeSmsActivate works."""

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        balance: Decimal | str | int = Decimal("1000"),
        early_cancel_seconds: float = 0.0,
    ):
        super().__init__(api_key=api_key, balance=balance, early_cancel_seconds=early_cancel_seconds)
        self.state = FakeSmsActivateCompatState(api_key=api_key, balance=balance)
        self.state.early_cancel_seconds = early_cancel_seconds

    def set_offer(
        self, country: int, service: str, cost: Decimal | str | int, count: int, provider_id: int = DEFAULT_PROVIDER
    ) -> None:
        """Price (provider currency) and stock of one upstream provider's tier; adds the service if new."""
        self.state.set_offer(country, service, cost, count, provider_id)
