"""rental-handler.php's servers (`provider` 1, 2): which provider slot serves each."""

from reseller.models import RentalServer
from reseller.rentals.errors import BadDuration, RentalServerUnavailable

DURATIONS = (12, 24, 168, 720, 4320, 8640)  # the periods rental-handler.php sells, hours


def rental_server_set(*, server: int, provider, enabled: bool = True) -> tuple[RentalServer, bool]:
    row, created = RentalServer.objects.update_or_create(
        server=server, defaults={"provider": provider, "enabled": enabled}
    )
    return row, created


def rental_server(server: int) -> RentalServer:
    """The configured, enabled server whose provider is enabled; RentalServerUnavailable else."""
    row = RentalServer.objects.select_related("provider").filter(server=server).first()
    if row is None or not row.enabled or not row.provider.enabled:
        raise RentalServerUnavailable(server)
    return row


def check_duration(server: int | None, hours: int) -> int:
    """A period we sell; Server 2 takes monthly periods only (BadDuration)."""
    if hours not in DURATIONS:
        raise BadDuration(server)
    if server == 2 and hours not in RentalServer.SERVER_2_HOURS:
        raise BadDuration(server)
    return hours
