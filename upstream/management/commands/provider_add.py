import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError

from accounts.actors import ActorCommand
from upstream.services import InvalidProvider, provider_add


class Command(ActorCommand):
    help = "Add an upstream provider in a free slot (1-6). The API key is stored, never printed."

    def add_arguments(self, parser):
        parser.add_argument("--slot", type=int, required=True, help="1-6 (OTPGet's `type`)")
        parser.add_argument("--protocol", required=True, help="wire protocol, e.g. smsactivate or sandbox")
        parser.add_argument("--url", default="", help="the upstream's handler URL (not needed for sandbox)")
        parser.add_argument("--api-key", default="", help="our API key at the upstream (not needed for sandbox)")
        parser.add_argument("--currency", default="PKR", help="ISO code of the provider's prices (default PKR)")
        parser.add_argument("--rate", default="1", help="PKR per unit of the provider's currency (default 1)")
        parser.add_argument("--name", default="", help="a label for the admin")
        parser.add_argument("--config", default="", help="protocol options as a JSON object")

    def handle(self, *args, slot, protocol, url, api_key, currency, rate, name, config, **options):
        try:
            rate_value = Decimal(rate)
        except InvalidOperation:
            raise CommandError(f"--rate must be a number (PKR per unit), not {rate!r}") from None
        try:
            config_value = json.loads(config) if config.strip() else {}
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not valid JSON: {exc}") from None
        try:
            provider = provider_add(
                slot=slot,
                protocol=protocol,
                url=url,
                api_key=api_key,
                currency=currency,
                rate=rate_value,
                name=name,
                config=config_value,
            )
        except InvalidProvider as exc:
            raise CommandError(str(exc)) from None
        where = f" at {provider.base_url}" if provider.base_url else ""
        self.stdout.write(
            f"added provider slot {provider.slot}: {provider.name or provider.protocol} "
            f"({provider.protocol}{where}; prices in {provider.currency}, 1 {provider.currency} = "
            f"{provider.rate_to_pkr.normalize():f} PKR)"
        )
