"""Buying a number: three short phases per attempt (docs/activations.md).

1. one transaction: the order row (state `requesting`) and a hold of the sell price;
2. the upstream call, with no transaction or row lock open;
3. one transaction: record the number (state `active`), or release the hold.

Candidates are the offers for (service, country) with stock, cheapest sell
price first (ties: provider priority). On NO_NUMBERS, a price refusal or a
provider error the next candidate is tried; a timeout is an unknown outcome
and ends the request (never two live numbers for one order): the hold is
released and the reconciliation task looks for the number upstream.

The whole chain runs against one deadline (PURCHASE_DEADLINE_SECONDS, well
inside the web worker's timeout): every upstream call gets only what is left
of it, and no further candidate is tried once too little is left. A purchase
interrupted anyway (its process killed) is closed by the expiry sweeper as an
unknown outcome once PURCHASE_DEADLINE_SECONDS + PURCHASE_STUCK_GRACE_SECONDS
have passed.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.errors import InsufficientFunds
from billing.models import Hold, LedgerAccount
from billing.pricing import PriceBook, Quote
from billing.services import hold_release, hold_resize, wallet_hold
from reseller.activations.errors import (
    BadType,
    NoActivation,
    NoBalance,
    NoNumbersAvailable,
    OrderAlreadyExists,
    PriceChanged,
    ProviderFailed,
    WrongMaxPrice,
)
from reseller.activations.reconcile import order_ref
from reseller.models import Activation, PurchaseAttempt
from upstream.health import circuit_open, provider_record_attempt
from upstream.models import Country, Offer, Service
from upstream.providers import client_for, http
from upstream.providers.base import (
    BadResponse,
    BuyRequest,
    MaxPriceRefused,
    NoNumbers,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Purchase,
    SetStatus,
    error_summary,
    safe_raw,
)
from upstream.selectors import offers_for, provider_by_slot, upstream_codes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    offer: Offer
    quote: Quote
    service_code: str  # the provider's own code for the service (mapping table, else ours)
    country_code: int  # the provider's own country id (mapping table, else SMS-Activate numbering)


@dataclass(frozen=True)
class PurchaseRequest:
    customer_id: int
    wallet_id: int
    service: Service
    country: Country
    provider_slot: int | None = None  # OTPGet `type`: that provider only
    max_price: Decimal | None = None  # PKR, the customer's cap
    operator: str | None = None
    order_id: str | None = None  # getNumberV2 `orderId`: at most one order per value


def candidates_for(req: PurchaseRequest) -> list[Candidate]:
    """Offers the customer may buy: cheapest sell price first, then the provider's recent
    success rate, priority and slot. Providers whose circuit is open are skipped."""
    if req.provider_slot is not None and provider_by_slot(req.provider_slot) is None:
        raise BadType()
    offers = list(offers_for(service_id=req.service.pk, country_id=req.country.pk, provider_slot=req.provider_slot))
    now = timezone.now()
    healthy = [o for o in offers if not circuit_open(o.provider, now)]
    if req.provider_slot is not None and offers and not healthy:
        raise ProviderFailed(req.provider_slot, "UNAVAILABLE")  # that provider keeps failing: not hammered
    codes = upstream_codes(
        provider_ids={o.provider_id for o in healthy}, service_id=req.service.pk, country_id=req.country.pk
    )
    book = PriceBook.load(customer_id=req.customer_id)
    found = []
    for o in healthy:
        service_code, country_code = codes[o.provider_id]
        found.append(
            Candidate(
                offer=o,
                quote=book.quote(
                    cost_pkr=o.provider.to_pkr(o.cost),
                    provider_id=o.provider_id,
                    country_id=o.country_id,
                    service_id=o.service_id,
                ),
                service_code=service_code or req.service.code,
                country_code=int(country_code)
                if country_code and country_code.lstrip("-").isdigit()
                else req.country.pk,
            )
        )
    found.sort(
        key=lambda c: (c.quote.price, -c.offer.provider.success_rate, -c.offer.provider.priority, c.offer.provider.slot)
    )
    return found


def activation_purchase(req: PurchaseRequest) -> Activation:
    candidates = candidates_for(req)
    if not candidates:
        raise NoNumbersAvailable()
    if req.max_price is not None:
        fitting = [c for c in candidates if c.quote.price <= req.max_price]
        if not fitting:
            raise WrongMaxPrice(min(c.quote.price for c in candidates))
        candidates = fitting

    activation = _open_order(req, candidates[0])
    with http.deadline(settings.PURCHASE_DEADLINE_SECONDS):
        return _buy_first(activation, candidates, req)


def _buy_first(activation: Activation, candidates: list[Candidate], req: PurchaseRequest) -> Activation:
    """Try the candidates in order until one sells a number (see the module's docstring)."""
    last_error: ProviderError | None = None
    for attempt, candidate in enumerate(candidates):
        if attempt:
            left = http.time_left()
            if left is not None and left < settings.PURCHASE_MIN_ATTEMPT_SECONDS:
                log.info("activation %s: purchase deadline reached after %d attempts", activation.pk, attempt)
                break
            try:
                _move_to(activation, candidate, attempt)
            except NoBalance:
                _end(activation, Activation.State.FAILED, failure="no balance for the next provider's price")
                raise
        try:
            return _attempt(activation, candidate, req)
        except (ProviderTimeout, BadResponse) as exc:
            # No answer, or one we cannot read (an HTML error page, a proxy's 502, a mangled
            # success): the upstream may have sold us a number. Unknown outcome, stop here.
            _end_unknown(activation, reason=type(exc).__name__)
            raise ProviderFailed(
                candidate.offer.provider.slot, exc.raw if isinstance(exc, BadResponse) and exc.raw else "TIMEOUT"
            ) from None
        except PriceChanged:
            raise
        except ProviderError as exc:
            log.info("activation %s: provider slot %s refused: %r", activation.pk, candidate.offer.provider.slot, exc)
            last_error = exc
            _release(activation, reason=f"provider error: {error_summary(exc)[:150]}")
    _end_failed(activation, last_error)
    if isinstance(last_error, NoNumbers | MaxPriceRefused):
        raise NoNumbersAvailable()
    raise ProviderFailed(activation.provider.slot, (last_error.raw if last_error else "") or "ERROR")


# --- phase 1 ------------------------------------------------------------------------


def _hold_key(activation: Activation, attempt: int) -> str:
    return f"activation:{activation.pk}:hold:{attempt}"


def _open_order(req: PurchaseRequest, first: Candidate) -> Activation:
    """One transaction: the order row and the hold of its price."""
    try:
        with transaction.atomic():
            activation = Activation.objects.create(
                customer_id=req.customer_id,
                provider=first.offer.provider,
                service=req.service,
                country=req.country,
                order_id=req.order_id,
                operator=req.operator or "",
                price=first.quote.price,
                cost=first.offer.cost,
                cost_pkr=first.quote.cost_pkr,
            )
            activation.hold = _place_hold(req.wallet_id, activation, first.quote.price, attempt=0)
            Activation.objects.filter(pk=activation.pk).update(hold=activation.hold)
    except IntegrityError:
        if (
            req.order_id is not None
            and Activation.objects.filter(customer_id=req.customer_id, order_id=req.order_id).exists()
        ):
            raise OrderAlreadyExists() from None
        raise
    return activation


def _place_hold(wallet_id: int, activation: Activation, amount: Decimal, *, attempt: int) -> Hold:
    lifetime = settings.ACTIVATION_LIFETIME_SECONDS
    try:
        return wallet_hold(
            wallet=LedgerAccount(pk=wallet_id),  # only its id is used: no query
            amount=amount,
            key=_hold_key(activation, attempt),
            # The hold outlives the activation by a margin: the expiry sweeper settles it first.
            expires_at=timezone.now() + timedelta(seconds=lifetime + 600),
            memo=f"activation #{activation.pk}",
        ).hold
    except InsufficientFunds:
        raise NoBalance() from None


def _move_to(activation: Activation, candidate: Candidate, attempt: int) -> None:
    """Retarget the order at the next candidate: new price, new hold."""
    with transaction.atomic():
        activation.provider = candidate.offer.provider
        activation.price = candidate.quote.price
        activation.cost, activation.cost_pkr = candidate.offer.cost, candidate.quote.cost_pkr
        wallet_id = Hold.objects.values_list("account_id", flat=True).get(pk=activation.hold_id)
        activation.hold = _place_hold(wallet_id, activation, candidate.quote.price, attempt=attempt)
        activation.save(update_fields=["provider", "price", "cost", "cost_pkr", "hold"])


# --- phase 2 + 3 --------------------------------------------------------------------


def _release_connection() -> None:
    """Give the database connection back for the upstream call (seconds, sometimes):
    with hundreds of purchases in flight, holding one connection each would exhaust
    PostgreSQL. Only outside a transaction (never inside a test's or a caller's)."""
    if not connection.in_atomic_block:
        connection.close()


OUTCOMES = (
    (NoNumbers, PurchaseAttempt.Outcome.NO_NUMBERS, True),
    (MaxPriceRefused, PurchaseAttempt.Outcome.PRICE, True),
    (ProviderUnavailable, PurchaseAttempt.Outcome.UNAVAILABLE, False),
    (ProviderTimeout, PurchaseAttempt.Outcome.UNKNOWN, False),
    (BadResponse, PurchaseAttempt.Outcome.UNKNOWN, False),
    (ProviderError, PurchaseAttempt.Outcome.ERROR, False),
)


def _record(activation: Activation, candidate: Candidate, started: float, error: ProviderError | None) -> None:
    """The attempt for the admin's history, and the provider's health (circuit breaker)."""
    duration = int((time.monotonic() - started) * 1000)
    outcome, healthy, raw = PurchaseAttempt.Outcome.BOUGHT, True, ""
    if error is not None:
        outcome, healthy = next((o, h) for cls, o, h in OUTCOMES if isinstance(error, cls))
        raw = safe_raw(error.raw) or type(error).__name__  # shown in the admin: never the reply's body
    PurchaseAttempt.objects.create(
        activation=activation,
        provider=candidate.offer.provider,
        price=candidate.quote.price,
        outcome=outcome,
        raw=raw,
        duration_ms=duration,
    )
    provider_record_attempt(provider_id=candidate.offer.provider_id, ok=healthy, duration_ms=duration)


def _buy(activation: Activation, candidate: Candidate, req: PurchaseRequest) -> Purchase:
    client = client_for(candidate.offer.provider)
    _release_connection()
    started = time.monotonic()
    try:
        bought = client.buy(  # no transaction is open here
            BuyRequest(
                service=candidate.service_code,
                country=candidate.country_code,
                max_price=candidate.offer.cost,
                operator=req.operator,
                order_ref=order_ref(activation.pk),
            )
        )
    except ProviderError as exc:
        _record(activation, candidate, started, exc)
        raise
    _record(activation, candidate, started, None)
    return bought


def _attempt(activation: Activation, candidate: Candidate, req: PurchaseRequest) -> Activation:
    provider = candidate.offer.provider
    quoted_cost = candidate.offer.cost
    bought = _buy(activation, candidate, req)
    cost = bought.cost if bought.cost is not None else quoted_cost
    cost_pkr = provider.to_pkr(cost)
    if cost_pkr > candidate.quote.cost_pkr:
        _reprice(activation, candidate, cost_pkr, bought.upstream_id)
    now = timezone.now()
    recorded = {
        "state": Activation.State.ACTIVE,
        "phone": bought.phone,
        "upstream_id": bought.upstream_id,
        "operator": bought.operator or activation.operator or "any",
        "cost": cost,
        "cost_pkr": cost_pkr,
        "activated_at": now,
        "expires_at": now + timedelta(seconds=settings.ACTIVATION_LIFETIME_SECONDS),
    }
    if not Activation.objects.filter(pk=activation.pk, state=Activation.State.REQUESTING).update(**recorded):
        # The answer came so late that the sweeper already closed the order as unknown: the
        # number is not the customer's. Keep its id, so reconciliation cancels it by id.
        Activation.objects.filter(pk=activation.pk, state=Activation.State.UNKNOWN, upstream_id="").update(
            upstream_id=bought.upstream_id, phone=bought.phone
        )
        raise ProviderTimeout("late answer")
    for field, value in recorded.items():
        setattr(activation, field, value)
    return activation


def _reprice(activation: Activation, candidate: Candidate, cost_pkr: Decimal, upstream_id: str) -> None:
    """The upstream charged more than quoted (it could not be capped): grow the
    hold to the new sell price if the customer can cover it, else cancel the
    number upstream and answer ERROR_PRICE_CHANGE (decisions.md #16)."""
    offer = candidate.offer
    new_price = (
        PriceBook.load(customer_id=activation.customer_id)
        .quote(
            cost_pkr=cost_pkr, provider_id=offer.provider_id, country_id=offer.country_id, service_id=offer.service_id
        )
        .price
    )
    if new_price <= activation.price:
        return
    try:
        with transaction.atomic():
            hold = hold_resize(
                hold=Hold.objects.get(pk=activation.hold_id),
                amount=new_price,
                key=f"activation:{activation.pk}:reprice",
            )
            Activation.objects.filter(pk=activation.pk).update(price=new_price, hold=hold)
            activation.price, activation.hold = new_price, hold
    except InsufficientFunds:
        try:
            client_for(offer.provider).set_status(upstream_id, SetStatus.CANCEL)
        except ProviderError as exc:
            # The number may stay billed upstream: the reconciliation of cancelled orders books it.
            log.warning("activation %s: cancel after price change failed: %r", activation.pk, exc)
            Activation.objects.filter(pk=activation.pk).update(upstream_pending=Activation.Upstream.CANCEL)
        Activation.objects.filter(pk=activation.pk).update(upstream_id=upstream_id, cost_pkr=cost_pkr)
        _release(activation, reason="price change")
        _end(activation, Activation.State.FAILED, failure=f"price changed to {cost_pkr} PKR cost")
        raise PriceChanged() from None


def _release(activation: Activation, *, reason: str) -> None:
    hold_release(hold=Hold.objects.get(pk=activation.hold_id), reason=reason)


def _end(activation: Activation, state: str, *, failure: str = "") -> None:
    Activation.objects.filter(pk=activation.pk, state=Activation.State.REQUESTING).update(
        state=state, failure=failure[:2000], ended_at=timezone.now()
    )
    activation.refresh_from_db()


def _end_failed(activation: Activation, error: ProviderError | None) -> None:
    _end(activation, Activation.State.FAILED, failure=error_summary(error) if error else "no provider error")


def _end_unknown(activation: Activation, *, reason: str) -> None:
    """The customer got no number: release their hold now. Whether the upstream
    sold one is settled by reconciliation (a loss if it charged us)."""
    _release(activation, reason=f"purchase outcome unknown ({reason})")
    Activation.objects.filter(pk=activation.pk, state=Activation.State.REQUESTING).update(
        state=Activation.State.UNKNOWN,
        failure=f"unknown outcome: {reason}",
        ended_at=timezone.now(),
        upstream_pending=Activation.Upstream.RECONCILE,
    )


def activation_for_customer(*, customer_id: int, activation_id: int) -> Activation:
    activation = (
        Activation.objects.select_related("service", "country", "provider")
        .filter(pk=activation_id, customer_id=customer_id)
        .first()
    )
    if activation is None:
        raise NoActivation()
    return activation
