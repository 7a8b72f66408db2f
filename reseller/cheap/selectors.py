"""Reads of cheap servers for cheap_handler.php (getServers, getServices) and for buying."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from reseller.models import CheapServer
from reseller.orders.errors import NoCheapServers, NoCheapServices, ProviderFailed, UnknownCheapServer, UnknownCheapType
from reseller.orders.routing import candidates_for
from upstream.models import Service

TYPES = CheapServer.TYPES


@dataclass(frozen=True)
class CheapService:
    service: Service
    price: Decimal  # PKR, what buyNumber would charge now


# A server customers see: enabled, in a switched-on country or for any country.
_LIVE = Q(enabled=True) & (Q(country__isnull=True) | Q(country__enabled=True))


def cheap_type(value: int | None) -> int | None:
    """A cheap `type` (1 or 2); None stays None (omitted). Anything else: UnknownCheapType."""
    if value is not None and value not in TYPES:
        raise UnknownCheapType()
    return value


def cheap_servers(*, type: int | None = None) -> dict[int, list[CheapServer]]:
    """The enabled servers by type (every type when `type` is None), each list by id.
    NoCheapServers when there is none. A server of a switched-off country is left out, as disabled."""
    servers = CheapServer.objects.filter(_LIVE).order_by("type", "id")
    if cheap_type(type) is not None:
        servers = servers.filter(type=type)
    found: dict[int, list[CheapServer]] = {}
    for server in servers:
        found.setdefault(server.type, []).append(server)
    if not found:
        raise NoCheapServers()
    return found


def cheap_server(*, server_id: int | None, type: int | None) -> CheapServer:
    """The enabled server with this id. `type` None: the server's own type; another type
    than the server's: UnknownCheapServer (as missing, unknown, disabled or in a switched-off country)."""
    cheap_type(type)
    server = (
        CheapServer.objects.select_related("provider", "country").filter(_LIVE, pk=server_id).first()
        if server_id is not None
        else None
    )
    if server is None or (type is not None and server.type != type):
        raise UnknownCheapServer()
    return server


def _services(server: CheapServer) -> list[Service]:
    """The server's switched-on services (a switched-off one is not sold: NO_SERVICES)."""
    return list(server.services.filter(enabled=True).order_by("id"))


def cheap_service(server: CheapServer, *, service: Service | None) -> Service:
    """What buyNumber sells: the requested service (one of the server's), else the server's
    first. NoCheapServices when the server sells none (or not that one)."""
    services = _services(server)
    if service is None:
        if not services:
            raise NoCheapServices()
        return services[0]
    if service not in services:
        raise NoCheapServices()
    return service


def cheap_services(server: CheapServer, *, customer_id: int) -> list[CheapService]:
    """Each service of the server with the price buyNumber would charge now: the server's
    fixed price, else the cheapest offer with stock priced by the markup rules (a service
    without stock then is left out). NoCheapServices when nothing is left."""
    found = []
    for service in _services(server):
        if server.price is not None:
            found.append(CheapService(service=service, price=server.price))
            continue
        try:
            offers = candidates_for(
                customer_id=customer_id,
                service=service,
                country=server.country,
                provider_slot=server.provider.slot if server.provider_id else None,
            )
        except ProviderFailed:  # the server's provider is failing (circuit open): no price to show
            continue
        if offers:
            found.append(CheapService(service=service, price=offers[0].quote.price))
    if not found:
        raise NoCheapServices()
    return found
