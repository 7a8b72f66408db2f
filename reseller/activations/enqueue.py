"""Enqueue a task once the current transaction commits; a broker hiccup is
logged, never turned into an error for the customer (the sweepers catch up)."""

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def after_commit(task, *args) -> None:
    def send():
        try:
            task.delay(*args)
        except Exception:  # noqa: BLE001 - the periodic sweeper will find the work again
            log.exception("could not enqueue %s%r", task.name, args)

    transaction.on_commit(send)
