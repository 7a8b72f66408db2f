"""Provider health: recent success rate, latency, SMS arrival rate, and a circuit breaker.

All kept on the Provider row as exponentially weighted averages, each updated by
one UPDATE in the database (no read-modify-write race), so routing reads them with
the offers at no extra cost.

Circuit breaker: after PROVIDER_CIRCUIT_FAILURES consecutive provider errors
(errors, timeouts, unreachable, unreadable replies; NO_NUMBERS and price refusals
are healthy answers) the provider is skipped for PROVIDER_CIRCUIT_COOLDOWN_SECONDS.
After the cooldown the next order probes it: a success closes the circuit, one more
failure opens it again at once (the failure count is still over the limit).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from upstream.models import Provider

WEIGHT = 0.1  # each new event counts for 10 % of the average


def _ewma(field: str, sample: float):
    return F(field) * (1 - WEIGHT) + Value(sample * WEIGHT)


def provider_record_attempt(*, provider_id: int, ok: bool, duration_ms: int) -> None:
    """A purchase attempt ended: `ok` is False for a provider error (circuit-relevant)."""
    if ok:
        Provider.objects.filter(pk=provider_id).update(
            success_rate=_ewma("success_rate", 1.0),
            latency_ms=_ewma("latency_ms", float(duration_ms)),
            consecutive_failures=0,
            circuit_open_until=None,
        )
        return
    limit = settings.PROVIDER_CIRCUIT_FAILURES
    cooldown = timedelta(seconds=settings.PROVIDER_CIRCUIT_COOLDOWN_SECONDS)
    Provider.objects.filter(pk=provider_id).update(
        success_rate=_ewma("success_rate", 0.0),
        latency_ms=_ewma("latency_ms", float(duration_ms)),
        consecutive_failures=F("consecutive_failures") + 1,
        circuit_open_until=Case(
            When(consecutive_failures__gte=limit - 1, then=Value(timezone.now() + cooldown)),
            default=F("circuit_open_until"),
        ),
    )


def provider_record_sms(*, provider_id: int, received: bool) -> None:
    """An activation of this provider ended, with or without an SMS."""
    Provider.objects.filter(pk=provider_id).update(sms_rate=_ewma("sms_rate", 1.0 if received else 0.0))


def circuit_open(provider: Provider, now: datetime | None = None) -> bool:
    return provider.circuit_open_until is not None and provider.circuit_open_until > (now or timezone.now())


def circuit_state(provider: Provider) -> str:
    if circuit_open(provider):
        return "open"
    if provider.consecutive_failures >= settings.PROVIDER_CIRCUIT_FAILURES:
        return "half-open"
    return "closed"


def low_balance(provider: Provider) -> bool:
    return (
        provider.balance is not None
        and provider.low_balance_threshold is not None
        and provider.balance < provider.low_balance_threshold
    )
