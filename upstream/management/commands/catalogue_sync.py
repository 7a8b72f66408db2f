import logging

from django.core.management.base import BaseCommand, CommandError

from upstream.providers.base import ProviderError
from upstream.selectors import providers_for_sync
from upstream.services import catalogue_sync

logger = logging.getLogger(__name__)


def _redact(text: str, secret: str) -> str:
    """An error message may quote a URL with our key in its query string: never print it."""
    return text.replace(secret, "***") if secret else text


class Command(BaseCommand):
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
                failed.append(provider.slot)
                message = _redact(exc.raw or str(exc), provider.api_key)
                self.stderr.write(f"slot {provider.slot}: FAILED ({type(exc).__name__}) {message}")
                continue
            except Exception as exc:  # noqa: BLE001 - one broken provider must not stop the others
                logger.exception("catalogue sync of provider slot %s failed", provider.slot)
                failed.append(provider.slot)
                self.stderr.write(
                    f"slot {provider.slot}: FAILED ({type(exc).__name__}) {_redact(str(exc), provider.api_key)}"
                )
                continue
            self.stdout.write(result.summary())
        ok = len(providers) - len(failed)
        self.stdout.write(f"synced {ok} of {len(providers)} provider(s)")
        if failed:
            raise CommandError(f"catalogue sync failed for slot(s) {', '.join(map(str, failed))}")
