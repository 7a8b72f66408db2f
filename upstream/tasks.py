import logging

from celery import shared_task

from upstream.models import Provider
from upstream.providers.base import ProviderError
from upstream.services import catalogue_sync, provider_balance_sync

log = logging.getLogger(__name__)


@shared_task(name="upstream.sync_catalogues", acks_late=True, reject_on_worker_lost=True)
def sync_catalogues() -> int:
    """Beat: refresh every enabled provider's countries, services, prices, stock and balance."""
    done = 0
    for provider in Provider.objects.filter(enabled=True):
        try:
            catalogue_sync(provider=provider)
            done += 1
        except ProviderError as exc:
            log.warning("catalogue sync of provider slot %s failed: %r", provider.slot, exc)
    return done


@shared_task(name="upstream.sync_balances", acks_late=True, reject_on_worker_lost=True)
def sync_balances() -> int:
    """Beat: every enabled provider's upstream balance; a warning is logged below its threshold."""
    done = 0
    for provider in Provider.objects.filter(enabled=True):
        try:
            provider_balance_sync(provider=provider)
            done += 1
        except ProviderError as exc:
            log.warning("balance sync of provider slot %s failed: %r", provider.slot, exc)
    return done
