from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from reseller.emails.servers import email_server_set
from upstream.models import SLOTS, Provider


class Command(ActorCommand):
    help = (
        "Say which provider slot serves email_handler.php's `server` N (1: services on a domain, "
        "2: domains). Creates or updates the row; --disabled makes that server answer 503 disabled."
    )

    def add_arguments(self, parser):
        parser.add_argument("--server", required=True, type=int, help="email_handler.php `server`: 1 or 2")
        parser.add_argument("--slot", required=True, type=int, help="the provider slot 1-6 that serves it")
        parser.add_argument("--disabled", action="store_true", help="keep the mapping but answer 503 disabled")
        parser.add_argument(
            "--lifetime", type=int, default=None, help="seconds to wait for a letter (if under the upstream's)"
        )

    def handle(self, *args, server, slot, disabled, lifetime, **options):
        if server not in (1, 2):
            raise CommandError("--server: 1 or 2")
        if slot not in SLOTS:
            raise CommandError("--slot: a provider slot 1-6")
        if lifetime is not None and lifetime <= 0:
            raise CommandError("--lifetime: a number of seconds above 0")
        provider = Provider.objects.filter(slot=slot).first()
        if provider is None:
            raise CommandError(f"--slot {slot}: no provider in that slot (provider_add first)")
        from upstream.providers import client_for

        if not client_for(provider).supports_email:
            raise CommandError(f"--slot {slot}: its protocol ({provider.protocol}) sells no e-mails")
        row, created = email_server_set(
            server=server, provider=provider, enabled=not disabled, lifetime_seconds=lifetime
        )
        note = "" if provider.enabled else " (the provider is disabled: the server answers 503 until it is enabled)"
        life = f", letters awaited {row.lifetime_seconds} s" if row.lifetime_seconds else ""
        self.stdout.write(
            f"{'set' if created else 'updated'} e-mail server {row.server}: provider slot {provider.slot} "
            f"({provider.name or provider.protocol}), {'enabled' if row.enabled else 'disabled'}{life}{note}"
        )
