from celery import shared_task

from billing.services import holds_release_expired


@shared_task(name="billing.release_expired_holds", acks_late=True, reject_on_worker_lost=True)
def release_expired_holds() -> int:
    """Periodic sweeper (beat). Idempotent: releasing is conditional per hold."""
    return holds_release_expired()
