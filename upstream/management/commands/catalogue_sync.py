import logging

from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from upstream.providers.base import ProviderError, error_detail
from upstream.providers.http import redact
from upstream.selectors import providers_for_sync
from upstream.services import catalogue_sync

logger = logging.getLogger(__name__)


class Command(ActorCommand):
    help = "Refresh offers (cost, stock), new countries/services and the balance from every enabled provider."

    def add_arguments(self, parser):
        parser.add_argument("--slot", type=int, help="only this provider (even if disabled)")

    def handle(self, *args, slot, **options):
        providers = providers_for_sync(slot=slot)
        if not providers:
            if slot is not None:
                raise CommandError(f"no provider in slot {slot}")
            self.stdout.write("no enabled providers; nothing to sync")
            return
        failed = []
        for provider in providers:
            try:
                result = catalogue_sync(provider=provider, progress=self.stdout.write)
            except ProviderError as exc:
                # A summary, never the reply itself (an internal service's page): the full message goes to the log.
                failed.append(provider.slot)
                logger.warning(
                    "catalogue sync of provider slot %s failed: %s", provider.slot, redact(str(exc), provider.api_key)
                )
                detail = redact(error_detail(exc), provider.api_key)
                self.stderr.write(f"slot {provider.slot}: FAILED ({type(exc).__name__}) {detail}")
                continue
            except Exception as exc:  # noqa: BLE001 - one broken provider must not stop the others
                logger.exception("catalogue sync of provider slot %s failed", provider.slot)
                failed.append(provider.slot)
                self.stderr.write(f"slot {provider.slot}: FAILED ({type(exc).__name__}; details in the log)")
                continue
            self.stdout.write(result.summary())
        ok = len(providers) - len(failed)
        self.stdout.write(f"synced {ok} of {len(providers)} provider(s)")
        if failed:
            raise CommandError(f"catalogue sync failed for slot(s) {', '.join(map(str, failed))}")
