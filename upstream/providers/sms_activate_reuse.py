"""SMS-Activate's actions that use one number more than once, mixed into SmsActivateClient:
getMultiServiceNumber (one number for several services), checkExtraActivation and
getExtraActivation (another activation on the number of one that succeeded).

getMultiServiceNumber answers one entry per service, `{"phone":…,"activation":…,"service":…}`, as a
JSON array (PHP's encoding of a list; an object keyed "0", "1", … is read the same). The document's
prose swaps the meaning of `phone` and `activation`; the keys are read by their names (the phone
number in `phone`, the activation id in `activation`). Every requested service must come back once,
or the reply is unreadable (`BadResponse`: the purchase's outcome is unknown).

checkExtraActivation answers `{"status":"success","cost":200,"service":"tw","phone":777777777,
"country":14}`; getExtraActivation `ACCESS_NUMBER:<id>:<phone>`. Their documented errors
(`RENEW_ACTIVATION_NOT_AVAILABLE`, `NEW_ACTIVATION_IMPOSSIBLE`, `SIM_OFFLINE`, `WRONG_ACTIVATION_ID`,
`NO_BALANCE`) are in SmsActivateClient's error table, as bare tokens or as a JSON error's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from upstream.providers.base import ExtraQuote, MultiRequest, ProviderError, Purchase
from upstream.providers.handler_api import Dialect, HandlerApi
from upstream.providers.parsing import text_of


def _digits(dialect: Dialect, value: Any, body: str, what: str) -> str:
    text = text_of(value).removeprefix("+")
    if not text.isdigit():
        raise dialect.bad(body, f"{what} is not digits")
    return text


def raise_if_json_error(dialect: Dialect, data: Any, body: str) -> None:
    """`{"status":"error","message"|"error":"<TOKEN>"}`: the token's exception, else ProviderError
    (an error the upstream states: nothing was done), as SmsActivateClient reads them."""
    if isinstance(data, dict) and data.get("status") == "error":
        token = data.get("message") or data.get("error")
        if isinstance(token, str):
            dialect.raise_if_error(token)
        raise ProviderError(raw=body)


class SmsActivateReuse:
    """`multi_buy`, `extra_check`, `extra_buy` of SmsActivateClient (see the module docstring)."""

    api: HandlerApi
    dialect: Dialect
    _parse_v1: Callable[[str], Purchase]  # SmsActivateClient's reader of `ACCESS_NUMBER:<id>:<phone>`
    supports_multi_service: bool = True
    supports_extra_activation: bool = True

    def multi_buy(self, request: MultiRequest) -> list[Purchase]:
        params: dict[str, object] = {"multiService": ",".join(request.services), "country": int(request.country)}
        if request.operator:
            params["operator"] = request.operator
        body = self.api.reply("getMultiServiceNumber", **params)
        data = self.dialect.json(body, "getMultiServiceNumber reply")
        raise_if_json_error(self.dialect, data, body)
        items = list(data.values()) if isinstance(data, dict) else data
        if not isinstance(items, list) or not items:
            raise self.dialect.bad(body, "getMultiServiceNumber reply is not a list")
        by_service: dict[str, Purchase] = {}
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("service"), str):
                raise self.dialect.bad(body, "multi-service entry without a service")
            code = item["service"]
            if code in by_service:
                raise self.dialect.bad(body, f"service {code} twice in the reply")
            by_service[code] = Purchase(
                upstream_id=_digits(self.dialect, item.get("activation"), body, "activation id"),
                phone=_digits(self.dialect, item.get("phone"), body, "phone number"),
                cost=None,
                raw=body,
            )
        if set(by_service) != set(request.services):
            raise self.dialect.bad(body, "the reply's services are not the ones asked for")
        return [by_service[code] for code in request.services]

    def extra_check(self, upstream_id: str) -> ExtraQuote:
        body = self.api.reply("checkExtraActivation", activationId=upstream_id)
        data = self.dialect.json(body, "checkExtraActivation reply")
        raise_if_json_error(self.dialect, data, body)
        if not isinstance(data, dict) or data.get("status") != "success" or "cost" not in data:
            raise self.dialect.bad(body, "unexpected reply to checkExtraActivation")
        phone = text_of(data.get("phone")).removeprefix("+")
        return ExtraQuote(
            cost=self.dialect.decimal(data["cost"], body, "cost", signed=False),
            service=data["service"] if isinstance(data.get("service"), str) else "",
            phone=phone if phone.isdigit() else "",
            raw=body,
        )

    def extra_buy(self, upstream_id: str) -> Purchase:
        return self._parse_v1(self.api.reply("getExtraActivation", activationId=upstream_id))  # ACCESS_NUMBER:id:phone
