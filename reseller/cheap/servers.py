"""Writes of cheap servers: what an admin (or `manage.py cheap_server_add`) defines for
cheap_handler.php to list and sell (docs/cheap.md)."""

from decimal import Decimal

from django.db import transaction

from reseller.models import CheapServer
from upstream.models import Country, Provider, Service

NAME_MAX = CheapServer._meta.get_field("name").max_length


class InvalidCheapServer(ValueError):
    """cheap_server_add was given something it cannot store (the message says what)."""


@transaction.atomic
def cheap_server_add(
    *,
    type: int,
    name: str,
    provider: Provider | None,
    services: list[Service],
    country: Country | None,
    price: Decimal | None = None,
    enabled: bool = True,
) -> CheapServer:
    """Create a cheap server. `provider` None: any enabled provider (cheapest first, with
    failover); `country` None: any country; `price` None: the provider's cost + the markup
    rules, else that fixed PKR price (offers that cost us more are never used)."""
    name = (name or "").strip()
    if type not in CheapServer.TYPES:
        raise InvalidCheapServer(f"type must be 1 or 2, not {type!r}")
    if not name:
        raise InvalidCheapServer("a name is required (getServers shows it)")
    if len(name) > NAME_MAX:
        raise InvalidCheapServer(f"the name is longer than {NAME_MAX} characters")
    if not services:
        raise InvalidCheapServer("at least one service is required")
    if price is not None and price <= 0:
        raise InvalidCheapServer("a fixed price must be more than 0 PKR")
    server = CheapServer.objects.create(
        type=type, name=name, provider=provider, country=country, price=price, enabled=enabled
    )
    server.services.set(services)
    return server
