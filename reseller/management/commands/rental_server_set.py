from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from reseller.rentals.servers import rental_server_set
from upstream.models import SLOTS, Provider


class Command(ActorCommand):
    help = (
        'Say which provider slot serves rental-handler.php\'s `provider` N ("Server N"). '
        "Creates or updates the row; --disabled makes that server answer 503 unavailable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--server", required=True, type=int, help="rental-handler.php `provider`: 1 or 2")
        parser.add_argument("--slot", required=True, type=int, help="the provider slot 1-6 that serves it")
        parser.add_argument("--disabled", action="store_true", help="keep the mapping but answer 503 unavailable")

    def handle(self, *args, server, slot, disabled, **options):
        if server not in (1, 2):
            raise CommandError("--server: 1 or 2")
        if slot not in SLOTS:
            raise CommandError("--slot: a provider slot 1-6")
        provider = Provider.objects.filter(slot=slot).first()
        if provider is None:
            raise CommandError(f"--slot {slot}: no provider in that slot (provider_add first)")
        row, created = rental_server_set(server=server, provider=provider, enabled=not disabled)
        note = "" if provider.enabled else " (the provider is disabled: the server answers 503 until it is enabled)"
        self.stdout.write(
            f"{'set' if created else 'updated'} rental server {row.server}: provider slot {provider.slot} "
            f"({provider.name or provider.protocol}), {'enabled' if row.enabled else 'disabled'}{note}"
        )
