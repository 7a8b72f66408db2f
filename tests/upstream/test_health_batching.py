"""Provider health with successes batched per process (PROVIDER_HEALTH_FLUSH_SECONDS > 0): the
figures are exactly those of one UPDATE per attempt, and a failure is counted after the successes
that came before it."""

import time

import pytest
from django.test import override_settings

from upstream.health import health_flush, provider_record_attempt
from upstream.models import Provider

pytestmark = pytest.mark.django_db

SEQUENCE = [(True, 120), (True, 80), (True, 300), (False, 30000), (True, 95), (True, 110)]


def _figures(provider: Provider) -> tuple:
    p = Provider.objects.get(pk=provider.pk)
    return (round(p.success_rate, 9), round(p.latency_ms, 6), p.attempts_seen, p.consecutive_failures)


def test_batched_figures_equal_one_update_per_attempt():
    direct = Provider.objects.create(slot=1, protocol="sandbox")
    batched = Provider.objects.create(slot=2, protocol="sandbox")
    for ok, ms in SEQUENCE:
        provider_record_attempt(provider_id=direct.pk, ok=ok, duration_ms=ms)
    with override_settings(PROVIDER_HEALTH_FLUSH_SECONDS=3600):
        for ok, ms in SEQUENCE:
            provider_record_attempt(provider_id=batched.pk, ok=ok, duration_ms=ms)
        # the failure wrote the three successes before it, then itself; the last two are pending
        assert Provider.objects.get(pk=batched.pk).attempts_seen == 4
        assert Provider.objects.get(pk=batched.pk).consecutive_failures == 1
        assert health_flush() == 2
    assert _figures(batched) == _figures(direct)
    assert _figures(direct)[2:] == (6, 0)


def test_failures_after_pending_successes_open_the_circuit(settings):
    settings.PROVIDER_CIRCUIT_FAILURES = 2
    provider = Provider.objects.create(slot=1, protocol="sandbox")
    with override_settings(PROVIDER_HEALTH_FLUSH_SECONDS=3600):
        provider_record_attempt(provider_id=provider.pk, ok=True, duration_ms=10)
        provider_record_attempt(provider_id=provider.pk, ok=False, duration_ms=10)
        provider_record_attempt(provider_id=provider.pk, ok=False, duration_ms=10)
    p = Provider.objects.get(pk=provider.pk)
    assert (p.attempts_seen, p.consecutive_failures) == (3, 2)
    assert p.circuit_open_until is not None


@pytest.mark.django_db(transaction=True)
def test_the_flusher_thread_writes_pending_successes():
    provider = Provider.objects.create(slot=1, protocol="sandbox")
    with override_settings(PROVIDER_HEALTH_FLUSH_SECONDS=0.1):
        for _ in range(3):
            provider_record_attempt(provider_id=provider.pk, ok=True, duration_ms=50)
        deadline = time.monotonic() + 10
        while Provider.objects.get(pk=provider.pk).attempts_seen < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert Provider.objects.get(pk=provider.pk).attempts_seen == 3
    assert health_flush() == 0


def test_a_late_batch_does_not_close_a_circuit_opened_since(settings):
    """Process A's successes are pending while process B's failures open the circuit: A's flush
    moves the averages but the circuit stays open; after the cooldown a batch closes it."""
    from datetime import timedelta

    from django.utils import timezone

    provider = Provider.objects.create(slot=1, protocol="sandbox")
    with override_settings(PROVIDER_HEALTH_FLUSH_SECONDS=3600):
        provider_record_attempt(provider_id=provider.pk, ok=True, duration_ms=40)
        until = timezone.now() + timedelta(minutes=5)
        Provider.objects.filter(pk=provider.pk).update(consecutive_failures=5, circuit_open_until=until)  # B
        assert health_flush() == 1
        p = Provider.objects.get(pk=provider.pk)
        assert (p.attempts_seen, p.consecutive_failures, p.circuit_open_until) == (1, 5, until)
        assert p.success_rate > 0
        Provider.objects.filter(pk=provider.pk).update(circuit_open_until=timezone.now() - timedelta(seconds=1))
        provider_record_attempt(provider_id=provider.pk, ok=True, duration_ms=40)  # the probe after the cooldown
        assert health_flush() == 1
    p = Provider.objects.get(pk=provider.pk)
    assert (p.attempts_seen, p.consecutive_failures, p.circuit_open_until) == (2, 0, None)


def test_a_failed_write_puts_back_every_batch_not_written(monkeypatch):
    """Three providers' batches in one flush, the second UPDATE fails: the first stays written, the
    second and the third (never tried) are written by the next flush."""
    from upstream import health

    providers = [Provider.objects.create(slot=slot, protocol="sandbox") for slot in (1, 2, 3)]
    real = health._write_successes
    calls = []

    def second_fails(pid, durations):
        calls.append(pid)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        real(pid, durations)

    with override_settings(PROVIDER_HEALTH_FLUSH_SECONDS=3600):
        for provider in providers * 2:
            provider_record_attempt(provider_id=provider.pk, ok=True, duration_ms=20)
        monkeypatch.setattr(health, "_write_successes", second_fails)
        with pytest.raises(RuntimeError):
            health_flush()
        assert len(calls) == 2
        monkeypatch.setattr(health, "_write_successes", real)
        assert health_flush() == 4  # the failed batch and the untried one, nothing written twice
    seen = sorted(Provider.objects.filter(pk__in=[p.pk for p in providers]).values_list("attempts_seen", flat=True))
    assert seen == [2, 2, 2]
