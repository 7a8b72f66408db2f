"""The attempt history: one row per provider tried for an order, any kind, with the
provider's health (circuit breaker) updated from the same outcome."""

import time

from reseller.models import PurchaseAttempt
from upstream.health import provider_record_attempt
from upstream.providers.base import (
    BadResponse,
    MaxPriceRefused,
    NoNumbers,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    safe_raw,
)

Outcome = PurchaseAttempt.Outcome

# (error class, outcome, whether the provider counts as healthy); the first match wins.
OUTCOMES = (
    (NoNumbers, Outcome.NO_NUMBERS, True),
    (MaxPriceRefused, Outcome.PRICE, True),
    (ProviderUnavailable, Outcome.UNAVAILABLE, False),
    (ProviderTimeout, Outcome.UNKNOWN, False),
    (BadResponse, Outcome.UNKNOWN, False),
    (ProviderError, Outcome.ERROR, False),
)


def attempt_record(
    *,
    order,
    provider,
    price,
    started: float,
    error: ProviderError | None,
    finished: float | None = None,
    checked: tuple[str, str] | None = None,
) -> None:
    """`started`, `finished`: time.monotonic() before and after the upstream call (`finished`
    None: now). `checked`: after an unreadable reply, the outcome the immediate check proved and
    its note; the provider's health counts the reply as a failure whatever the check found (it
    answered what we could not read)."""
    duration = int(((finished if finished is not None else time.monotonic()) - started) * 1000)
    outcome, healthy, raw = Outcome.BOUGHT, True, ""
    if error is not None:
        outcome, healthy = next((o, h) for cls, o, h in OUTCOMES if isinstance(error, cls))
        raw = safe_raw(error.raw) or type(error).__name__  # shown in the admin: never the reply's body
        if checked:
            outcome, note = checked
            raw = f"{raw} ({note})"[:300]
    PurchaseAttempt.objects.create(
        order_kind=order.kind,
        order_pk=order.pk,
        provider=provider,
        price=price,
        outcome=outcome,
        raw=raw,
        duration_ms=duration,
    )
    provider_record_attempt(provider_id=provider.pk, ok=healthy, duration_ms=duration)


def attempts_of(order):
    """The history of one order, oldest first."""
    return PurchaseAttempt.objects.filter(order_kind=order.kind, order_pk=order.pk).order_by("id")
