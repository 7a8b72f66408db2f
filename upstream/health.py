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

import atexit
import logging
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from upstream.models import Provider

WEIGHT = 0.1  # each new event counts for 10 % of the average

# Successful attempts not yet written, per provider id: their durations in order (this process).
_pending: dict[int, list[int]] = defaultdict(list)
_pending_lock = threading.Lock()
_writing = threading.Lock()
_flusher: threading.Thread | None = None


def _ewma(field: str, sample: float):
    return F(field) * (1 - WEIGHT) + Value(sample * WEIGHT)


def provider_record_attempt(*, provider_id: int, ok: bool, duration_ms: int) -> None:
    """A purchase attempt ended: `ok` is False for a provider error (circuit-relevant).

    With PROVIDER_HEALTH_FLUSH_SECONDS > 0 a success is only noted in this process and written
    with the others of that interval in one UPDATE (`health_flush`, by a thread of this process,
    and at its exit): purchases do not queue on the provider's row. The figures are those of
    one UPDATE per attempt (the averages are applied in order). A failure is written at once, after
    this process's pending successes (the circuit breaker counts failures since the last success)."""
    if ok and settings.PROVIDER_HEALTH_FLUSH_SECONDS > 0:
        with _pending_lock:
            _pending[provider_id].append(duration_ms)
        _flusher_start()
        return
    health_flush(provider_id)
    _write_attempt(provider_id=provider_id, ok=ok, duration_ms=duration_ms)


def health_flush(provider_id: int | None = None) -> int:
    """Write this process's pending successes (of one provider, or all): one UPDATE per provider.
    Returns how many attempts were written. If an UPDATE fails, its batch and those not yet written
    go back in front of what came since, and the error is raised."""
    with _writing:  # one writer at a time: the exit flush waits for the thread's write in progress
        with _pending_lock:
            ids = [provider_id] if provider_id is not None else list(_pending)
            batches = {pid: _pending.pop(pid) for pid in ids if _pending.get(pid)}
        written = 0
        try:
            for pid in list(batches):
                _write_successes(pid, batches[pid])
                written += len(batches.pop(pid))
        except Exception:
            with _pending_lock:  # nothing lost: what is left in `batches` was not written
                for pid, durations in batches.items():
                    _pending[pid][:0] = durations
            raise
        return written


def _write_successes(pid: int, durations: list[int]) -> None:
    """n successes in one UPDATE: x <- x*(1-w) + w*s applied n times in order is
    x*(1-w)^n + sum(w*(1-w)^(n-1-i)*s_i).

    They happened up to one interval ago, so they close nothing opened since: while the circuit is
    open (another process counted the failures that opened it after these successes) the failure
    count and the circuit are left alone; once its cooldown has passed, they reset them as a
    success written at once would."""
    n = len(durations)
    keep = (1 - WEIGHT) ** n  # what is left of the old average after n samples
    latency = sum(WEIGHT * (1 - WEIGHT) ** (n - 1 - i) * d for i, d in enumerate(durations))
    open_now = Q(circuit_open_until__gt=timezone.now())
    Provider.objects.filter(pk=pid).update(
        success_rate=F("success_rate") * keep + Value(1 - keep),
        latency_ms=F("latency_ms") * keep + Value(float(latency)),
        attempts_seen=F("attempts_seen") + n,
        consecutive_failures=Case(When(open_now, then=F("consecutive_failures")), default=Value(0)),
        circuit_open_until=Case(When(open_now, then=F("circuit_open_until")), default=Value(None)),
    )


def _flush_loop() -> None:
    last = time.monotonic()
    while True:
        interval = settings.PROVIDER_HEALTH_FLUSH_SECONDS
        time.sleep(min(max(interval, 0.05), 1.0))  # short ticks: a changed interval applies soon
        if time.monotonic() - last < interval or not _pending:
            continue
        last = time.monotonic()
        try:
            health_flush()
        except Exception:  # noqa: BLE001 - kept for the next round; never kill the thread
            logging.getLogger(__name__).warning("provider health flush failed; retried", exc_info=True)
        finally:
            connection.close()  # this thread's own connection, back to the pool


def _flusher_start() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    with _pending_lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flush_loop, name="provider-health-flush", daemon=True)
            _flusher.start()


def _flush_at_exit() -> None:
    # The flusher thread may be writing what it popped: health_flush waits for it (`_writing`).
    if not _pending and not _writing.locked():
        return
    try:
        health_flush()
    except Exception:  # noqa: BLE001 - the process is ending: say what was not written
        logging.getLogger(__name__).warning("provider health: %s successes not written at exit", _pending)


atexit.register(_flush_at_exit)


def _write_attempt(*, provider_id: int, ok: bool, duration_ms: int) -> None:
    if ok:
        Provider.objects.filter(pk=provider_id).update(
            success_rate=_ewma("success_rate", 1.0),
            latency_ms=_ewma("latency_ms", float(duration_ms)),
            attempts_seen=F("attempts_seen") + 1,
            consecutive_failures=0,
            circuit_open_until=None,
        )
        return
    limit = settings.PROVIDER_CIRCUIT_FAILURES
    cooldown = timedelta(seconds=settings.PROVIDER_CIRCUIT_COOLDOWN_SECONDS)
    Provider.objects.filter(pk=provider_id).update(
        success_rate=_ewma("success_rate", 0.0),
        latency_ms=_ewma("latency_ms", float(duration_ms)),
        attempts_seen=F("attempts_seen") + 1,
        consecutive_failures=F("consecutive_failures") + 1,
        circuit_open_until=Case(
            When(consecutive_failures__gte=limit - 1, then=Value(timezone.now() + cooldown)),
            default=F("circuit_open_until"),
        ),
    )


def provider_record_sms(*, provider_id: int, received: bool) -> None:
    """An activation of this provider ended, with or without an SMS."""
    Provider.objects.filter(pk=provider_id).update(
        sms_rate=_ewma("sms_rate", 1.0 if received else 0.0), sms_outcomes_seen=F("sms_outcomes_seen") + 1
    )


def health_text(provider: Provider) -> str:
    """The recent health as an operator reads it: "unknown" for what no event has measured yet
    (a new provider is not 100 % healthy, it is untried)."""
    if provider.attempts_seen:
        attempts = f"success {provider.success_rate:.0%} · latency {provider.latency_ms:.0f} ms"
    else:
        attempts = "success unknown (no purchase yet)"
    sms = f"SMS {provider.sms_rate:.0%}" if provider.sms_outcomes_seen else "SMS unknown"
    return f"{attempts} · {sms}"


def sync_problem(provider: Provider) -> str:
    """The newest catalogue-sync or balance error not followed by a success of the same call,
    as `what failed at <time>: <error>`; empty when both last ran fine (or never failed)."""
    problems = []
    if provider.last_sync_error_at and not (
        provider.last_sync_at and provider.last_sync_at > provider.last_sync_error_at
    ):
        problems.append((provider.last_sync_error_at, "catalogue sync", provider.last_sync_error))
    balance_ok = provider.balance_checked_at
    if provider.last_balance_error_at and not (balance_ok and balance_ok > provider.last_balance_error_at):
        problems.append((provider.last_balance_error_at, "balance", provider.last_balance_error))
    return "; ".join(
        f"{what} failed at {timezone.localtime(at):%Y-%m-%d %H:%M:%S}: {error}" for at, what, error in sorted(problems)
    )


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


def provider_record_sms_many(*, provider_id: int, received: bool, count: int) -> None:
    """`count` activations of this provider ended alike: `provider_record_sms` `count` times, in
    one UPDATE (the average moved as `count` events would move it, one after the other)."""
    if count <= 0:
        return
    keep = (1 - WEIGHT) ** count
    Provider.objects.filter(pk=provider_id).update(
        sms_rate=F("sms_rate") * keep + Value((1.0 if received else 0.0) * (1 - keep)),
        sms_outcomes_seen=F("sms_outcomes_seen") + count,
    )
