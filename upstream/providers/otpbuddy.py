"""Client of OTPBuddy's `stubs/handler_api.php` (OTPBuddy's API document), protocol name `otpbuddy`.

SMS-Activate-like tokens (`ACCESS_NUMBER:<id>:<phone>`, `STATUS_OK:<code>`)
plus JSON for the catalogue, with OTPBuddy's own twists: provider-side
*servers* (`server_id`, listed by `getServers`), its own service codes, ids
that are hex strings (`687d51e19c5297335bb10161`), a `setStatus` that only
cancels, and `getPrices` keyed by price (`{"22":{"ahz":{"13.00":"10"}}}`:
country -> service -> price -> count).

Provider.config options:
- `server_id`: the OTPBuddy server this provider row buys from (an integer or
  a digit string, as `getServers` lists them). Sent with `getNumber`,
  `getCountries`, `getServices` and `getPrices`. Optional: the document says
  the server defaults to 1, so without it the parameter is left out. Anything
  else than a positive integer is a configuration error: `ProviderUnavailable`
  before any request (nothing was sent, like http.py's bad `timeout_seconds`).
- `countries`: optional list of country ids to read when `prices()` or
  `services()` is called without a country (default: every country
  `getCountries` lists for the server; one request per country, since both
  calls are per country and default to 22 when none is sent).
- `timeout_seconds`: http.py.

Where the document is silent, this module decides:
- `set_status`: CANCEL sends `setStatus&id=` (the document has no `status`
  parameter). `ACCESS_CANCEL` and `ACCESS_CANCEL_ALREADY` are returned (both
  mean the activation is cancelled upstream). `ACCESS_APPROVED` ("received
  SMS": nothing was cancelled, the number is billed) raises
  `ProviderError(raw="ACCESS_APPROVED")`, so a caller never takes it for a
  confirmed cancel (a refund must then be booked as a loss). FINISH and READY
  have nothing to send (an activation with an SMS is approved upstream by
  itself): no request, the neutral token `NOOP` is returned. RETRY (another
  SMS) does not exist in the protocol: `Unsupported` (raw `UNSUPPORTED`),
  no request.
- `buy` sends `service` as given (OTPBuddy's own code), `country` and
  `server_id`; the protocol takes no `maxPrice` or operator (not sent) and
  does not tell the cost (`Purchase.cost` is None). A body wrapped in braces
  as the document prints it (`{ACCESS_NUMBER:...}`) is accepted.
- `prices`: per (country, service) the cheapest price with stock, with the
  counts of all prices summed; when no price has stock, the cheapest price
  with count 0. `BAD_SERVER` for one country of a multi-country read means
  that country is not on the server: skipped. Likewise in `services()`.
- `services` is `getServices` per country, merged (first name of a code wins,
  names stripped of the trailing spaces the document shows).
- `balance`: the document has no balance call; `getBalance` ->
  `ACCESS_BALANCE:<amount>` is used as in every handler_api protocol.
- `active_activations`: no such call (`supports_active_list` is False).
- Error tokens not in the document but common to handler_api servers are
  mapped too: `BAD_KEY`, `NO_ACTIVATION`, `WRONG_ACTIVATION_ID`, `BAD_ACTION`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from upstream.providers.base import (
    BuyRequest,
    CountryEntry,
    NoNumbers,
    PriceEntry,
    ProviderBadKey,
    ProviderClient,
    ProviderError,
    ProviderNoBalance,
    ProviderUnavailable,
    Purchase,
    ServiceEntry,
    SetStatus,
    StatusResult,
    UnknownActivation,
    Unsupported,
    UpstreamState,
)
from upstream.providers.handler_api import Dialect, HandlerApi

# Error tokens (exact match), by the exception they raise.
ERROR_TOKENS: dict[str, type[ProviderError]] = {
    # documented
    "NO_NUMBERS": NoNumbers,
    "NO_BALANCE": ProviderNoBalance,
    "BAD_SERVICE": ProviderError,
    "BAD_SERVER": ProviderError,
    "BAD_COUNTRY": ProviderError,
    "ERROR": ProviderError,
    # not in the document, handler_api convention
    "BAD_KEY": ProviderBadKey,
    "NO_ACTIVATION": UnknownActivation,
    "WRONG_ACTIVATION_ID": UnknownActivation,
    "BAD_ACTION": ProviderError,
}
BAD_SERVER = "BAD_SERVER"
CANCEL_TOKENS = {"ACCESS_CANCEL", "ACCESS_CANCEL_ALREADY"}
APPROVED = "ACCESS_APPROVED"
NOOP = "NOOP"  # set_status FINISH/READY: nothing sent, the protocol has no such status

_ACTIVATION_ID = re.compile(r"[0-9A-Za-z_-]{1,100}")


@dataclass(frozen=True)
class ServerEntry:
    id: str  # what goes into config["server_id"]
    name: str


OTPBUDDY = Dialect("otpbuddy", ERROR_TOKENS)
_bad, _json = OTPBUDDY.bad, OTPBUDDY.json


def _decimal(value: Any, body: str, what: str, *, signed: bool = False) -> Decimal:
    """Non-negative unless `signed`: OTPBuddy prices and counts are never negative."""
    return OTPBUDDY.decimal(value, body, what, signed=signed)


def _int(value: Any, body: str, what: str) -> int:
    return OTPBUDDY.int(value, body, what, signed=False)


def _object(body: str, what: str) -> dict:
    """A JSON object reply; PHP's empty array `[]` is an empty object."""
    data = _json(body, what)
    if data == []:
        return {}
    if not isinstance(data, dict):
        raise _bad(body, f"{what} is not an object")
    return data


def _name(value: Any, body: str, what: str) -> str:
    if not isinstance(value, str):
        raise _bad(body, f"{what} is not a string")
    return value.strip()


class OtpBuddyClient(ProviderClient):
    protocol = "otpbuddy"
    supports_active_list = False
    native_codes = False  # its own service codes: mapped through ServiceMapping / CountryMapping

    # --- configuration and transport -------------------------------------------------

    def _config_error(self, message: str) -> ProviderUnavailable:
        return ProviderUnavailable(message=f"provider slot {self.provider.slot} (otpbuddy): {message}")

    def _server_id(self) -> str | None:
        """config["server_id"] as sent, None when not configured (the upstream's default server 1)."""
        value = (self.provider.config or {}).get("server_id")
        if value is None or value == "":
            return None
        text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        if not text.isdigit() or int(text) <= 0:
            raise self._config_error(f"config server_id must be a positive integer, not {value!r}")
        return text

    def _configured_countries(self) -> list[int] | None:
        value = (self.provider.config or {}).get("countries")
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in value):
            raise self._config_error(f"config countries must be a list of country ids, not {value!r}")
        return list(value)

    @cached_property
    def api(self) -> HandlerApi:
        return HandlerApi(self.provider, OTPBUDDY)

    # --- buying --------------------------------------------------------------------

    def buy(self, request: BuyRequest) -> Purchase:
        body = self.api.reply(
            "getNumber", service=request.service, country=int(request.country), server_id=self._server_id()
        )
        reply = body
        if reply.startswith("{") and reply.endswith("}"):  # the document prints it inside braces
            reply = reply[1:-1].strip()
        name, _, rest = reply.partition(":")
        upstream_id, _, phone = rest.partition(":")
        phone = phone.strip().removeprefix("+")
        if name != "ACCESS_NUMBER" or not _ACTIVATION_ID.fullmatch(upstream_id) or not phone.isdigit():
            raise _bad(body, "unexpected reply to getNumber")
        return Purchase(upstream_id=upstream_id, phone=phone, cost=None, raw=body)

    # --- one activation ------------------------------------------------------------

    def status(self, upstream_id: str) -> StatusResult:
        body = self.api.reply("getStatus", id=upstream_id)
        if body == "STATUS_WAIT_CODE":
            return StatusResult(state=UpstreamState.WAITING, raw=body)
        if body == "STATUS_CANCEL":
            return StatusResult(state=UpstreamState.CANCELLED, raw=body)
        name, _, code = body.partition(":")
        if name == "STATUS_OK" and code.strip():
            return StatusResult(state=UpstreamState.CODE, code=code.strip(), raw=body)
        raise _bad(body, "unexpected reply to getStatus")

    def set_status(self, upstream_id: str, status: SetStatus) -> str:
        if status in (SetStatus.FINISH, SetStatus.READY):
            return NOOP
        if status != SetStatus.CANCEL:
            raise Unsupported(message=f"otpbuddy: setStatus {status.name} is not in the protocol")
        body = self.api.reply("setStatus", id=upstream_id)
        if body == APPROVED:
            raise ProviderError(raw=body, message="otpbuddy: not cancelled, the activation received an SMS")
        if body not in CANCEL_TOKENS:
            raise _bad(body, "unexpected reply to setStatus")
        return body

    # --- catalogue and account -----------------------------------------------------

    def servers(self) -> list[ServerEntry]:
        """getServers: every server of the account ({"<name>": "<id>"})."""
        body = self.api.reply("getServers")
        entries = []
        for name, server in _object(body, "getServers reply").items():
            entries.append(ServerEntry(id=str(_int(server, body, "server id")), name=name.strip()))
        return entries

    def countries(self) -> list[CountryEntry]:
        body = self.api.reply("getCountries", server_id=self._server_id())
        data = _json(body, "getCountries reply")
        # {"<id>":"<name>"}, or a list when PHP saw sequential keys from 0.
        items = enumerate(data) if isinstance(data, list) else data.items() if isinstance(data, dict) else None
        if items is None:
            raise _bad(body, "getCountries reply is not an object")
        return [
            CountryEntry(id=_int(key, body, "country id"), name=_name(name, body, "country name"))
            for key, name in items
        ]

    def _country_ids(self) -> list[int]:
        configured = self._configured_countries()
        return configured if configured is not None else [entry.id for entry in self.countries()]

    def _per_country(self, action: str, country: int, *, skip_bad_server: bool) -> tuple[str, dict] | None:
        """(body, object) of one per-country catalogue call; None for BAD_SERVER when reading many countries
        (that country is not on this server)."""
        body = self.api.get(action, country=country, server_id=self._server_id())
        if skip_bad_server and body == BAD_SERVER:
            return None
        OTPBUDDY.raise_if_error(body)
        return body, _object(body, f"{action} reply")

    def services(self) -> list[ServiceEntry]:
        merged: dict[str, str] = {}
        for country in self._country_ids():
            reply = self._per_country("getServices", country, skip_bad_server=True)
            if reply is None:
                continue
            body, data = reply
            for code, name in data.items():
                if not code.strip():
                    raise _bad(body, "service without a code")
                merged.setdefault(code.strip(), _name(name, body, f"name of service {code}"))
        return [ServiceEntry(code=code, name=name) for code, name in merged.items()]

    def prices(self, *, country: int | None = None, service: str | None = None) -> list[PriceEntry]:
        countries = [int(country)] if country is not None else self._country_ids()
        entries = []
        for country_id in countries:
            reply = self._per_country("getPrices", country_id, skip_bad_server=country is None)
            if reply is None:
                continue
            body, data = reply
            for entry in self._parse_prices(data, body):
                if entry.country == country_id and service in (None, entry.service):
                    entries.append(entry)
        return entries

    @staticmethod
    def _parse_prices(data: dict, body: str) -> list[PriceEntry]:
        entries = []
        for country_key, by_service in data.items():
            country_id = _int(country_key, body, "country")
            if by_service == []:
                continue
            if not isinstance(by_service, dict):
                raise _bad(body, f"prices of country {country_key} are not an object")
            for code, by_price in by_service.items():
                if not code.strip():
                    raise _bad(body, f"a service of country {country_key} has no code")
                if by_price == []:
                    continue
                if not isinstance(by_price, dict) or not by_price:
                    raise _bad(body, f"prices of {code}/{country_key} are not an object")
                tiers = [(_decimal(p, body, "price"), _int(n, body, "count")) for p, n in by_price.items()]
                in_stock = [price for price, count in tiers if count > 0]
                entries.append(
                    PriceEntry(
                        country=country_id,
                        service=code.strip(),
                        cost=min(in_stock) if in_stock else min(price for price, _ in tiers),
                        count=sum(count for _, count in tiers),
                    )
                )
        return entries

    def balance(self) -> Decimal:
        body = self.api.reply("getBalance")
        return _decimal(OTPBUDDY.argument(body, "ACCESS_BALANCE", "getBalance"), body, "balance", signed=True)
