"""The in-memory upstream behind the fake SMS-Activate server (`tests.fakes.sms_activate`).

`FakeSmsActivateState.handle(params)` answers one `handler_api.php` request with
the bodies of SMS-Activate's API document: bare tokens (no newline) or JSON encoded as PHP's
`json_encode` does (compact, `\\uXXXX`, `\\/`, floats as bare numbers). Standard
library only (no Django), thread-safe (one lock around everything).

Where the document is silent, this fake decides (and the tests rely on it):
- `setStatus` 8 (cancel) before a code refunds the cost; after a code it is
  `BAD_STATUS` (finish it with 6 instead).
- 6 with a code received finishes (`ACCESS_ACTIVATION`, cost kept); 6 before any
  code "deletes and marks an error": cancelled and refunded, `ACCESS_CANCEL`.
- 3 needs a code received (else `BAD_STATUS`); `getStatus` then says
  `STATUS_WAIT_RETRY:<last code>` until the next SMS.
- 1 on a waiting activation is `ACCESS_READY` (no state change).
- any change on a finished or cancelled activation is `BAD_STATUS`.
- `getStatus` says `STATUS_CANCEL` for both ended states, as the document does.
- an empty `getActiveActivations` is the bare token `NO_ACTIVATIONS`.
- operators per country are the document's lists (Ukraine 1, Kazakhstan 2) unless a test sets
  them (`set_operators`); `getOperators` answers them, `OPERATORS_NOT_FOUND` for a country
  without any. A purchase naming operators gets the first of them the country has, else (as the
  document says) the country's first operator, `any` where it has none.
- `phoneException` must be comma-separated digit masks (country code + 3 to 6 digits), else
  `WRONG_EXCEPTION_PHONE`; the number bought starts with none of them (`NO_NUMBERS` if every
  number would).
- `getMultiServiceNumber` answers a JSON array, one `{"phone","activation","service"}` per service
  (the phone number in `phone`, the id in `activation`), all on one phone; each service is charged
  its own offer's cost and needs its own stock.
- an activation "succeeded" (may take an extra activation) once an SMS came; the extra one costs the
  (country, service) offer's cost (`extra_costs` overrides it), takes no stock, is on the same phone
  and service. `sim_offline` (phones) and `extra_impossible` (phones) make the upstream refuse.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from tests.fakes.sms_activate_rent_state import FakeRentMixin

TEXT = "text/html; charset=UTF-8"
JSON = "application/json"

COUNTRIES: dict[int, tuple[str, str, str, str]] = {  # id: (eng, rus, chn, phone prefix)
    0: ("Russia", "Россия", "俄罗斯", "7"),
    1: ("Ukraine", "Украина", "乌克兰", "380"),
    2: ("Kazakhstan", "Казахстан", "哈萨克斯坦", "7"),
    6: ("Indonesia", "Индонезия", "印度尼西亚", "62"),
    16: ("United Kingdom", "Великобритания", "英国", "44"),
    22: ("India", "Индия", "印度", "91"),
    66: ("Pakistan", "Пакистан", "巴基斯坦", "92"),
    187: ("USA", "США", "美国", "1"),
}
SERVICES: dict[str, str] = {
    "tg": "Telegram",
    "wa": "Whatsapp",
    "go": "Google,youtube,Gmail",
    "fb": "facebook",
    "vk": "Вконтакте",
    "ot": "Any other",
}
ENDED = ("cancelled", "finished")
# SMS-Activate's API document's operator lists: getNumber's (Ukraine, Kazakhstan), available for country 1 and 2.
OPERATORS: dict[int, list[str]] = {
    1: ["kyivstar", "life", "utel", "mts", "vodafone"],
    2: ["tele2", "beeline", "activ", "altel"],
}
PHONE_MASK = re.compile(r"[0-9]{4,9}")


def phone_for(country: int, activation_id: int, excluded: list[str]) -> str | None:
    """The country's prefix and ten digits; the first leading digit (9 first) no excluded mask matches."""
    prefix = COUNTRIES.get(country, ("", "", "", "99"))[3]
    for lead in "98765432":
        phone = f"{prefix}{lead}{activation_id % 1_000_000_000:09d}"
        if not any(phone.startswith(mask) for mask in excluded):
            return phone
    return None


def phone_exception(value: str | None) -> list[str] | None:
    """`phoneException` as masks; [] when absent; None when malformed (WRONG_EXCEPTION_PHONE)."""
    if value is None or value.strip() == "":
        return []
    masks = [item.strip() for item in value.split(",")]
    return masks if all(PHONE_MASK.fullmatch(mask) for mask in masks) else None


def php_json(value: object) -> str:
    """PHP 7 `json_encode` with default flags; Decimal is written as a bare number."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{php_json(str(key))}:{php_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(php_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=True).replace("/", "\\/")


def _now_text() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class FakeActivation:
    id: int
    service: str
    country: int
    phone: str
    cost: Decimal
    operator: str
    order_id: str | None
    status: str = "waiting"  # waiting | code | wait_retry | cancelled | finished
    ready: bool = False  # setStatus 1 was sent
    sms: list[tuple[str, str, str]] = field(default_factory=list)  # (code, text, dateTime)
    created: float = field(default_factory=time.monotonic)
    activation_time: str = field(default_factory=_now_text)

    @property
    def code(self) -> str | None:
        return self.sms[-1][0] if self.sms else None


@dataclass
class Offer:
    cost: Decimal
    count: int


class FakeSmsActivateState(FakeRentMixin):
    """Activations here; the rent API in `tests.fakes.sms_activate_rent_state`."""

    def __init__(self, *, api_key: str, balance: Decimal | str | int = Decimal("1000"), currency: int = 643):
        self.api_key = api_key
        self.currency = currency
        self.early_cancel_seconds = 0.0  # > 0: setStatus 8 younger than this is EARLY_CANCEL_DENIED
        self.lock = threading.RLock()
        self._balance = Decimal(balance)
        self._offers: dict[tuple[int, str], Offer] = {}
        self._services = dict(SERVICES)
        self._activations: dict[int, FakeActivation] = {}
        self._order_ids: set[str] = set()
        self._ids = itertools.count(100_000_001)
        self._operators: dict[int, list[str]] = {country: list(names) for country, names in OPERATORS.items()}
        self.extra_costs: dict[str, Decimal] = {}  # service -> cost of an extra activation
        self.sim_offline: set[str] = set()  # phones whose SIM is offline (SIM_OFFLINE)
        self.extra_impossible: set[str] = set()  # phones getExtraActivation refuses (NEW_ACTIVATION_IMPOSSIBLE)
        self._rent_init()

    # --- test controls -----------------------------------------------------------

    @property
    def balance(self) -> Decimal:
        with self.lock:
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        with self.lock:
            self._balance = Decimal(value)

    def set_offer(self, country: int, service: str, cost: Decimal | str | int, count: int) -> None:
        with self.lock:
            self._offers[(int(country), service)] = Offer(cost=Decimal(cost), count=int(count))
            self._services.setdefault(service, service)

    def set_operators(self, country: int, names: list[str]) -> None:
        """The operators of `country` (an empty list: none)."""
        with self.lock:
            self._operators[int(country)] = list(names)

    def deliver_sms(self, activation_id: int | str, code: str, text: str | None = None) -> None:
        with self.lock:
            activation = self._activations[int(activation_id)]
            if activation.status in ENDED:
                raise ValueError(f"activation {activation_id} is {activation.status}")
            activation.sms.append((code, text if text is not None else f"Your code is {code}", _now_text()))
            activation.status = "code"

    def add_live(self, count: int, *, service: str, country: int, cost: Decimal | str | int) -> list[FakeActivation]:
        """`count` waiting activations at once, as if bought (no stock or balance moves): scale
        tests create thousands without thousands of purchases. Returns them (copies)."""
        with self.lock:
            prefix = COUNTRIES.get(int(country), ("", "", "", "99"))[3]
            made = []
            for _ in range(count):
                activation_id = next(self._ids)
                activation = FakeActivation(
                    id=activation_id,
                    service=service,
                    country=int(country),
                    phone=f"{prefix}{9_000_000_000 + activation_id % 1_000_000_000}",
                    cost=Decimal(cost),
                    operator="any",
                    order_id=None,
                )
                self._activations[activation_id] = activation
                made.append(copy.copy(activation))
            return made

    @property
    def activations(self) -> dict[int, FakeActivation]:
        """A snapshot (copies): tests inspect it, they do not change the fake through it."""
        with self.lock:
            return {key: copy.deepcopy(value) for key, value in self._activations.items()}

    # --- the protocol --------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> tuple[str, str]:
        """(content type, body) for one request."""
        if params.get("api_key") != self.api_key:
            return TEXT, "BAD_KEY"
        handler = getattr(self, f"_action_{params.get('action', '')}", None)
        if handler is None:
            return TEXT, "BAD_ACTION"
        with self.lock:
            reply = handler(params)
        return (JSON, php_json(reply)) if isinstance(reply, (dict, list)) else (TEXT, reply)

    def _action_getBalance(self, params: dict[str, str]) -> str:
        return f"ACCESS_BALANCE:{self._balance.quantize(Decimal('0.01'))}"

    def _buy(self, params: dict[str, str]) -> FakeActivation | str:
        service = params.get("service", "")
        if service not in self._services:
            return "BAD_SERVICE"
        try:
            country = int(params.get("country", "0") or "0")
        except ValueError:
            return "NO_NUMBERS"
        offer = self._offers.get((country, service))
        if offer is None or offer.count <= 0:
            return "NO_NUMBERS"
        if "maxPrice" in params:
            try:
                max_price = Decimal(params["maxPrice"])
            except InvalidOperation:
                max_price = Decimal(0)  # PHP casts garbage to 0
            if max_price < offer.cost:
                return f"WRONG_MAX_PRICE:{offer.cost}"
        excluded = phone_exception(params.get("phoneException"))
        if excluded is None:
            return "WRONG_EXCEPTION_PHONE"
        if self._balance < offer.cost:
            return "NO_BALANCE"
        activation_id = next(self._ids)
        phone = phone_for(country, activation_id, excluded)
        if phone is None:
            return "NO_NUMBERS"
        activation = FakeActivation(
            id=activation_id,
            service=service,
            country=country,
            phone=phone,
            cost=offer.cost,
            operator=self._operator(country, params.get("operator")),
            order_id=params.get("orderId") or None,
        )
        offer.count -= 1
        self._balance -= offer.cost
        self._activations[activation_id] = activation
        if activation.order_id:
            self._order_ids.add(activation.order_id)
        return activation

    def _operator(self, country: int, requested: str | None) -> str:
        """The first requested operator the country has; else its first operator ("the number of the
        first operator that matches the request parameters"), `any` where it has none."""
        names = self._operators.get(country, [])
        for name in (item.strip().lower() for item in (requested or "").split(",")):
            if name in names:
                return name
        return names[0] if names and requested and requested.strip().lower() != "any" else "any"

    def _action_getOperators(self, params: dict[str, str]) -> str | dict:
        raw = (params.get("country") or "").strip()
        listed = {country: names for country, names in sorted(self._operators.items()) if names}
        if raw:
            if not raw.isdigit() or int(raw) not in listed:
                return "OPERATORS_NOT_FOUND"
            listed = {int(raw): listed[int(raw)]}
        if not listed:
            return "OPERATORS_NOT_FOUND"
        return {"status": "success", "countryOperators": {str(country): names for country, names in listed.items()}}

    def _new_activation(self, *, service: str, country: int, phone: str, cost: Decimal, operator: str):
        activation = FakeActivation(
            id=next(self._ids),
            service=service,
            country=country,
            phone=phone,
            cost=cost,
            operator=operator,
            order_id=None,
        )
        self._balance -= cost
        self._activations[activation.id] = activation
        return activation

    def _action_getMultiServiceNumber(self, params: dict[str, str]) -> str | list:
        services = [code.strip() for code in params.get("multiService", "").split(",") if code.strip()]
        if not services or len(set(services)) != len(services) or any(c not in self._services for c in services):
            return "BAD_SERVICE"
        try:
            country = int(params.get("country", "0") or "0")
        except ValueError:
            return "NO_NUMBERS"
        offers = [self._offers.get((country, code)) for code in services]
        if any(offer is None or offer.count <= 0 for offer in offers):
            return "NO_NUMBERS"
        if self._balance < sum(offer.cost for offer in offers):
            return "NO_BALANCE"
        prefix = COUNTRIES.get(country, ("", "", "", "99"))[3]
        phone = f"{prefix}{9_000_000_000 + next(self._ids) % 1_000_000_000}"
        operator = (params.get("operator") or "any").split(",")[0]
        reply = []
        for code, offer in zip(services, offers, strict=True):
            offer.count -= 1
            activation = self._new_activation(
                service=code, country=country, phone=phone, cost=offer.cost, operator=operator
            )
            reply.append({"phone": phone, "activation": activation.id, "service": code})
        return reply

    def _extra_parent(self, params: dict[str, str]) -> FakeActivation | str:
        raw_id = params.get("activationId", "")
        parent = self._activations.get(int(raw_id)) if raw_id.isdigit() else None
        if parent is None:
            return "WRONG_ACTIVATION_ID"
        if not parent.sms:
            return "RENEW_ACTIVATION_NOT_AVAILABLE"
        return parent

    def _extra_cost(self, parent: FakeActivation) -> Decimal:
        offer = self._offers.get((parent.country, parent.service))
        return self.extra_costs.get(parent.service, offer.cost if offer else parent.cost)

    def _action_checkExtraActivation(self, params: dict[str, str]) -> str | dict:
        parent = self._extra_parent(params)
        if isinstance(parent, str):
            return parent
        if parent.phone in self.sim_offline:
            return "SIM_OFFLINE"
        return {
            "status": "success",
            "cost": self._extra_cost(parent),
            "service": parent.service,
            "phone": int(parent.phone),
            "country": parent.country,
        }

    def _action_getExtraActivation(self, params: dict[str, str]) -> str:
        parent = self._extra_parent(params)
        if isinstance(parent, str):
            return parent
        if parent.phone in self.extra_impossible or parent.phone in self.sim_offline:
            return "NEW_ACTIVATION_IMPOSSIBLE"
        cost = self._extra_cost(parent)
        if self._balance < cost:
            return "NO_BALANCE"
        activation = self._new_activation(
            service=parent.service, country=parent.country, phone=parent.phone, cost=cost, operator=parent.operator
        )
        return f"ACCESS_NUMBER:{activation.id}:{activation.phone}"

    def _action_getNumber(self, params: dict[str, str]) -> str:
        activation = self._buy(params)
        if isinstance(activation, str):
            return activation
        return f"ACCESS_NUMBER:{activation.id}:{activation.phone}"

    def _action_getNumberV2(self, params: dict[str, str]) -> str | dict:
        if params.get("orderId") and params["orderId"] in self._order_ids:
            return "ORDER_ALREADY_EXISTS"
        activation = self._buy(params)
        if isinstance(activation, str):
            return activation
        return {
            "activationId": activation.id,
            "phoneNumber": activation.phone,
            "activationCost": activation.cost,
            "currency": self.currency,
            "countryCode": str(activation.country),
            "canGetAnotherSms": "1",
            "activationTime": activation.activation_time,
            "activationOperator": activation.operator,
        }

    def _find(self, params: dict[str, str]) -> FakeActivation | str:
        raw_id = params.get("id", "")
        if not raw_id.isdigit():
            return "WRONG_ACTIVATION_ID"
        return self._activations.get(int(raw_id)) or "NO_ACTIVATION"

    def _action_getStatus(self, params: dict[str, str]) -> str:
        activation = self._find(params)
        if isinstance(activation, str):
            return "NO_ACTIVATION" if activation == "WRONG_ACTIVATION_ID" else activation
        return {
            "waiting": "STATUS_WAIT_CODE",
            "code": f"STATUS_OK:{activation.code}",
            "wait_retry": f"STATUS_WAIT_RETRY:{activation.code}",
        }.get(activation.status, "STATUS_CANCEL")

    def _action_getStatusV2(self, params: dict[str, str]) -> str | dict:
        activation = self._find(params)
        if isinstance(activation, str):
            return "NO_ACTIVATION" if activation == "WRONG_ACTIVATION_ID" else activation
        if activation.status in ENDED:
            return "STATUS_CANCEL"
        sms = None
        if activation.sms:
            code, text, when = activation.sms[-1]
            sms = {"dateTime": when, "code": code, "text": text}
        return {"verificationType": 0, "sms": sms, "call": None}

    def _action_setStatus(self, params: dict[str, str]) -> str:
        activation = self._find(params)
        if isinstance(activation, str):
            return activation
        status = params.get("status", "")
        if activation.status in ENDED or status not in {"1", "3", "6", "8"}:
            return "BAD_STATUS"
        if status == "1":
            if activation.status != "waiting":
                return "BAD_STATUS"
            activation.ready = True
            return "ACCESS_READY"
        if status == "3":
            if activation.status != "code":
                return "BAD_STATUS"
            activation.status = "wait_retry"
            return "ACCESS_RETRY_GET"
        if status == "6" and activation.sms:
            activation.status = "finished"
            return "ACCESS_ACTIVATION"
        if status == "8":
            if activation.sms:
                return "BAD_STATUS"
            if time.monotonic() - activation.created < self.early_cancel_seconds:
                return "EARLY_CANCEL_DENIED"
        activation.status = "cancelled"  # 8, or 6 before any code
        self._balance += activation.cost
        return "ACCESS_CANCEL"

    def _action_getActiveActivations(self, params: dict[str, str]) -> str | dict:
        live = [a for a in self._activations.values() if a.status not in ENDED]
        if not live:
            return "NO_ACTIVATIONS"
        return {"status": "success", "activeActivations": [self._active_item(a) for a in live]}

    def _active_item(self, activation: FakeActivation) -> dict:
        return {
            "activationId": str(activation.id),
            "serviceCode": activation.service,
            "phoneNumber": activation.phone,
            "activationCost": activation.cost,
            "activationStatus": "4" if activation.sms else "1",
            "smsCode": [code for code, _, _ in activation.sms] or None,
            "smsText": f"[{activation.sms[-1][1]}]" if activation.sms else None,
            "activationTime": activation.activation_time,
            "discount": "0.00",
            "repeated": "0",
            "countryCode": str(activation.country),
            "countryName": COUNTRIES.get(activation.country, (str(activation.country),))[0],
            "canGetAnotherSms": "1",
            "currency": self.currency,
        }

    def _action_getPrices(self, params: dict[str, str]) -> dict:
        result: dict[str, dict] = {}
        for (country, service), offer in sorted(self._offers.items()):
            if params.get("country") not in (None, "", str(country)) or params.get("service") not in (
                None,
                "",
                service,
            ):
                continue
            result.setdefault(str(country), {})[service] = {
                "cost": offer.cost,
                "count": offer.count,
                "physicalCount": offer.count,
            }
        return result

    def _action_getCountries(self, params: dict[str, str]) -> dict:
        return {
            str(cid): {
                "id": cid,
                "rus": rus,
                "eng": eng,
                "chn": chn,
                "visible": 1,
                "retry": 1,
                "rent": int(any(c == cid for c, _, _ in self._rent_offers)),
                "multiService": 1,
            }
            for cid, (eng, rus, chn, _) in COUNTRIES.items()
        }

    def _action_getServicesList(self, params: dict[str, str]) -> dict:
        codes = list(self._services)
        if params.get("country", "").isdigit():
            codes = [code for code in codes if (int(params["country"]), code) in self._offers]
        return {"status": "success", "services": [{"code": code, "name": self._services[code]} for code in codes]}
