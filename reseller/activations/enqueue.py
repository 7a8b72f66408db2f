"""Sending tasks to the broker: after the transaction commits, at most one queued copy of a
piece of work, and never a long wait on a dead broker.

A failed publish is logged, never turned into an error for the customer: every task's work is
found again in PostgreSQL by a periodic sweeper (forward_pending, sync_statuses, expiry...).
After a failed publish the process stops trying for CELERY_PUBLISH_PAUSE_SECONDS, so during a
broker outage only the first request pays the bounded publish retry.

"Queued" marks (`queued_mark`) are cache keys with a TTL: a sweeper that finds the mark of a
piece of work sends no second message for it. The task clears the mark when it is done; if the
message is lost (broker or worker died), the mark expires and the sweeper sends it again. With
the cache down the marks are skipped: a duplicate message is harmless (every task is
idempotent), a missing one only waits for the next sweep.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)
_paused_until = 0.0  # monotonic time before which this process does not try the broker


def queued_key(kind: str, ident) -> str:
    return f"{settings.CELERY_QUEUE_PREFIX}queued:{kind}:{ident}"


def queued_mark(key: str, ttl: int, *, replace: bool = False) -> bool:
    """Mark the work as queued. False when it already was (and `replace` is off)."""
    try:
        if replace:
            cache.set(key, 1, ttl)
            return True
        return bool(cache.add(key, 1, ttl))
    except Exception:  # noqa: BLE001 - cache down: better a duplicate than nothing
        log.warning("cache unavailable: queued mark %s not checked", key, exc_info=True)
        return True


def queued_clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # noqa: BLE001 - the mark expires by itself
        log.warning("cache unavailable: queued mark %s not cleared", key, exc_info=True)


def publish(task, *args, **options) -> bool:
    """Send one message; False (logged) when the broker did not take it."""
    global _paused_until
    if time.monotonic() < _paused_until:
        log.warning("broker unreachable a moment ago: %s%r left to the sweepers", task.name, args)
        return False
    try:
        task.apply_async(args, **options)
    except Exception as exc:  # noqa: BLE001 - the sweepers find the work again
        if task.app.conf.task_always_eager:  # embedded run: the task itself failed in-process
            log.exception("task %s%r failed", task.name, args)
        elif isinstance(exc, OperationalError | OSError):
            _paused_until = time.monotonic() + settings.CELERY_PUBLISH_PAUSE_SECONDS
            log.error("broker unreachable (%r): %s%r left to the sweepers", exc, task.name, args)
        else:
            log.exception("could not enqueue %s%r", task.name, args)
        return False
    return True


def publish_once(task, key: str, ttl: int, *args, replace: bool = False, **options) -> bool:
    """Send unless a copy is already queued (see the module doc); True when sent."""
    if not queued_mark(key, ttl, replace=replace):
        return False
    if publish(task, *args, **options):
        return True
    queued_clear(key)
    return False


def after_commit(task, *args, once: tuple[str, int] | None = None, replace: bool = False) -> None:
    """Send the task once the current transaction commits. With `once=(key, ttl)` the message is
    marked queued (`replace=False`: not sent when a copy already is)."""

    def send():
        if once is None:
            publish(task, *args)
        else:
            publish_once(task, once[0], once[1], *args, replace=replace)

    transaction.on_commit(send)
