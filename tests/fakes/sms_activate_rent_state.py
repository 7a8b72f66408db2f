"""The rent API of the fake SMS-Activate (document "Rent Api"), mixed into `FakeSmsActivateState`.

Where the document is silent, this fake decides (and the tests rely on it):
- rent prices are set per (country, service, hours) (`set_rent_offer`, service "full" for a
  number for every service); getRentServicesAndCountries of a country with no rent offer at all,
  or none for that `rent_time`, is `OUT_OF_STOCK`; `countries` lists every country with a rent
  offer. Defaults as documented: `rent_time` 2, `country` 2 (Kazakhstan).
- dates (`endDate`, an SMS's `date`) are naive local times in `rent_tz` (default UTC).
- a rental ends by itself at its end date: paid and completed (`STATUS_FINISH`).
- setRentStatus 2 (cancel) refunds, but only within 20 minutes of the start and before any SMS
  (else `CANT_CANCEL`); 1 (finish) keeps the cost. Either on an ended rental: `ALREADY_FINISH` /
  `ALREADY_CANCEL` (a revoked one counts as cancelled).
- continueRentNumber of a live rental moves its end (same id); of one finished less than
  `REORDER_WINDOW` ago reorders the same number under a new id from now; else (or cancelled,
  revoked) `RENT_DIE`. A total past `MAX_TOTAL_HOURS` from the start is `MAX_HOURS_EXCEED` with
  `info: {"max": <hours left>}`. The cost is the offer's for that period if there is one, else the
  rental's own cost per hour times `rent_time` (rounded up to 0.01).
- getRentStatus pages: `page` from 1 (newest first), `size` default 10; `quantity` is the total.
- getRentList pages by `length` (default 10) and `page`; none live: `NO_NUMBERS`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_CEILING, Decimal

CANCEL_WINDOW = timedelta(minutes=20)
REORDER_WINDOW = timedelta(hours=1)
MAX_TOTAL_HOURS = 1344
DATE = "%Y-%m-%d %H:%M:%S"
END_DATE = "%Y-%m-%dT%H:%M:%S"


def _error(message: str, **extra: object) -> dict:
    return {"status": "error", "message": message, **extra}


@dataclass
class FakeRental:
    id: int
    service: str  # "full": every service
    country: int
    phone: str
    hours: int
    cost: Decimal
    start: datetime  # aware UTC
    end: datetime
    status: str = "active"  # active | finished | cancelled | revoked
    ended_at: datetime | None = None
    sms: list[tuple[datetime, str, str, str]] = field(default_factory=list)  # (when, phoneFrom, text, service)
    history: list[tuple[datetime, Decimal, int]] = field(default_factory=list)  # prolongations


@dataclass
class RentOfferSpec:
    cost: Decimal
    count: int


class FakeRentMixin:
    """Rent state and actions; `self.lock`, `_ids`, `_balance`, `_services`, `currency` are the
    host state's."""

    def _rent_init(self) -> None:
        self.rent_tz: tzinfo = UTC
        self._rent_offers: dict[tuple[int, str, int], RentOfferSpec] = {}
        self._rentals: dict[int, FakeRental] = {}

    # --- test controls -----------------------------------------------------------

    def set_rent_offer(self, country: int, service: str, hours: int, cost: Decimal | str | int, count: int) -> None:
        with self.lock:
            self._rent_offers[(int(country), service, int(hours))] = RentOfferSpec(Decimal(cost), int(count))

    def deliver_rent_sms(self, rent_id: int | str, text: str, *, sender: str = "79180230628", service: str = "ot"):
        with self.lock:
            rental = self._rental_now(int(rent_id))
            if rental.status != "active":
                raise ValueError(f"rental {rent_id} is {rental.status}")
            rental.sms.append((self._now(), sender, text, service))

    def age_rental(self, rent_id: int | str, seconds: float) -> None:
        """Move a rental (its start, end and SMS) `seconds` into the past."""
        with self.lock:
            rental = self._rentals[int(rent_id)]
            delta = timedelta(seconds=seconds)
            rental.start -= delta
            rental.end -= delta
            if rental.ended_at is not None:
                rental.ended_at -= delta
            rental.sms = [(when - delta, *rest) for when, *rest in rental.sms]

    def revoke_rental(self, rent_id: int | str) -> None:
        """The upstream blocks the number and refunds (STATUS_REVOKE)."""
        with self.lock:
            rental = self._rentals[int(rent_id)]
            rental.status, rental.ended_at = "revoked", self._now()
            self._balance += rental.cost

    @property
    def rentals(self) -> dict[int, FakeRental]:
        with self.lock:
            return {key: copy.deepcopy(self._rental_now(key)) for key in self._rentals}

    # --- helpers -------------------------------------------------------------------

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _local(self, moment: datetime, pattern: str) -> str:
        return moment.astimezone(self.rent_tz).strftime(pattern)

    def _rental_now(self, rent_id: int) -> FakeRental:
        """The rental, ended if its end date passed."""
        rental = self._rentals[rent_id]
        if rental.status == "active" and rental.end <= self._now():
            rental.status, rental.ended_at = "finished", rental.end
        return rental

    def _find_rental(self, params: dict[str, str]) -> FakeRental | dict:
        raw = params.get("id", "")
        if not raw:
            return _error("NO_ID_RENT")
        if not raw.isdigit() or int(raw) not in self._rentals:
            return _error("INVALID_PHONE")
        return self._rental_now(int(raw))

    @staticmethod
    def _int_param(params: dict[str, str], name: str, default: int) -> int | None:
        raw = params.get(name, "")
        if raw == "":
            return default
        return int(raw) if raw.isdigit() else None

    def _phone_reply(self, rental: FakeRental) -> dict:
        return {
            "status": "success",
            "phone": {"id": rental.id, "endDate": self._local(rental.end, END_DATE), "number": rental.phone},
        }

    # --- the protocol --------------------------------------------------------------

    def _action_getRentServicesAndCountries(self, params: dict[str, str]) -> dict:
        hours = self._int_param(params, "rent_time", 2)
        country = self._int_param(params, "country", 2)
        services = {
            service: {"cost": offer.cost, "quant": offer.count}
            for (c, service, h), offer in sorted(self._rent_offers.items())
            if c == country and h == hours
        }
        if not services:
            return _error("OUT_OF_STOCK")
        countries = sorted({c for c, _, _ in self._rent_offers})
        return {
            "countries": {str(i): c for i, c in enumerate(countries)},
            "operators": {"0": "any"},
            "services": services,
            "currency": self.currency,
        }

    def _action_getRentNumber(self, params: dict[str, str]) -> dict:
        service = params.get("service", "")
        if service != "full" and service not in self._services:
            return _error("BAD_SERVICE")
        hours = self._int_param(params, "rent_time", 2)
        country = self._int_param(params, "country", 2)
        offer = self._rent_offers.get((country, service, hours)) if hours and country is not None else None
        if offer is None or offer.count <= 0:
            return _error("NO_NUMBERS")
        if self._balance < offer.cost:
            return _error("NO_BALANCE")
        rent_id = next(self._ids)
        now = self._now()
        rental = FakeRental(
            id=rent_id,
            service=service,
            country=country,
            phone=f"7{9_900_000_000 + rent_id % 100_000_000}",
            hours=hours,
            cost=offer.cost,
            start=now,
            end=now + timedelta(hours=hours),
        )
        offer.count -= 1
        self._balance -= offer.cost
        self._rentals[rent_id] = rental
        return self._phone_reply(rental)

    def _action_getRentStatus(self, params: dict[str, str]) -> dict:
        rental = self._find_rental(params)
        if isinstance(rental, dict):
            return rental
        ended = {"finished": "STATUS_FINISH", "cancelled": "STATUS_CANCEL", "revoked": "STATUS_REVOKE"}
        if rental.status in ended:
            return _error(ended[rental.status])
        if not rental.sms:
            return _error("STATUS_WAIT_CODE")
        page = max(self._int_param(params, "page", 1) or 1, 1)
        size = max(self._int_param(params, "size", 10) or 10, 1)
        newest_first = list(reversed(rental.sms))[(page - 1) * size : page * size]
        return {
            "status": "success",
            "quantity": str(len(rental.sms)),
            "values": {
                str(i): {"phoneFrom": sender, "text": text, "service": service, "date": self._local(when, DATE)}
                for i, (when, sender, text, service) in enumerate(newest_first)
            },
        }

    def _action_setRentStatus(self, params: dict[str, str]) -> dict:
        rental = self._find_rental(params)
        if isinstance(rental, dict):
            return rental
        status = params.get("status", "")
        if status not in ("1", "2"):
            return _error("INCORECT_STATUS")
        if rental.status == "finished":
            return _error("ALREADY_FINISH")
        if rental.status in ("cancelled", "revoked"):
            return _error("ALREADY_CANCEL")
        now = self._now()
        if status == "2":
            if rental.sms or now - rental.start > CANCEL_WINDOW:
                return _error("CANT_CANCEL")
            rental.status = "cancelled"
            self._balance += rental.cost
        else:
            rental.status = "finished"
        rental.ended_at = now
        return {"status": "success"}

    def _action_getRentList(self, params: dict[str, str]) -> dict:
        live = [r for r in (self._rental_now(key) for key in sorted(self._rentals)) if r.status == "active"]
        if not live:
            return _error("NO_NUMBERS")
        page = max(self._int_param(params, "page", 1) or 1, 1)
        length = max(self._int_param(params, "length", 10) or 10, 1)
        chunk = live[(page - 1) * length : page * length]
        values = {str(i): {"id": str(r.id), "phone": r.phone} for i, r in enumerate(chunk)}
        return {"status": "success", "values": values}

    def _prolongation(self, params: dict[str, str], hours_param: str) -> tuple[FakeRental, int, Decimal] | dict:
        rental = self._find_rental(params)
        if isinstance(rental, dict):
            return rental
        hours = self._int_param(params, hours_param, 2)
        if hours is None or not 2 <= hours <= MAX_TOTAL_HOURS:
            return _error("INVALID_TIME")
        now = self._now()
        if rental.status in ("cancelled", "revoked") or (
            rental.status == "finished" and now - (rental.ended_at or rental.end) > REORDER_WINDOW
        ):
            return _error("RENT_DIE")
        if rental.status == "active":
            left = MAX_TOTAL_HOURS - int((rental.end - rental.start).total_seconds() // 3600)
            if hours > left:
                return _error("MAX_HOURS_EXCEED", info={"max": left})
        offer = self._rent_offers.get((rental.country, rental.service, hours))
        per_hour = rental.cost / rental.hours
        cost = offer.cost if offer else (per_hour * hours).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
        return rental, hours, cost

    def _action_continueRentNumber(self, params: dict[str, str]) -> dict:
        found = self._prolongation(params, "rent_time")
        if isinstance(found, dict):
            return found
        rental, hours, cost = found
        if self._balance < cost:
            return _error("NO_BALANCE")
        self._balance -= cost
        now = self._now()
        if rental.status == "active":
            rental.end += timedelta(hours=hours)
            rental.history.append((now, cost, hours))
            return self._phone_reply(rental)
        rent_id = next(self._ids)  # reordered: the same number under a new id
        fresh = FakeRental(
            id=rent_id,
            service=rental.service,
            country=rental.country,
            phone=rental.phone,
            hours=hours,
            cost=cost,
            start=now,
            end=now + timedelta(hours=hours),
        )
        self._rentals[rent_id] = fresh
        return self._phone_reply(fresh)

    def _action_continueRentInfo(self, params: dict[str, str]) -> dict:
        found = self._prolongation(params, "hours")
        if isinstance(found, dict):
            return found
        rental, hours, cost = found
        reply: dict = {"status": "success", "price": cost, "currency": self.currency, "hours": hours}
        if params.get("needHistory") == "true":
            reply["history"] = {
                str(i): {"createDate": self._local(when, DATE), "price": str(price), "hours": h}
                for i, (when, price, h) in enumerate(rental.history)
            }
        return reply

    def _action_getContinueRentPriceNumber(self, params: dict[str, str]) -> dict:
        found = self._prolongation(params, "rent_time")
        if isinstance(found, dict):
            return found
        return {"status": "success", "price": found[2], "currency": self.currency}
