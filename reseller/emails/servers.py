"""email_handler.php's servers (`server` 1, 2): which provider slot serves each."""

from reseller.emails.errors import EmailServerUnavailable
from reseller.models import EmailServer


def email_server_set(
    *, server: int, provider, enabled: bool = True, lifetime_seconds: int | None = None
) -> tuple[EmailServer, bool]:
    row, created = EmailServer.objects.update_or_create(
        server=server, defaults={"provider": provider, "enabled": enabled, "lifetime_seconds": lifetime_seconds}
    )
    return row, created


def email_server(server: int) -> EmailServer:
    """The configured, enabled server whose provider is enabled; EmailServerUnavailable else."""
    row = EmailServer.objects.select_related("provider").filter(server=server).first()
    if row is None:
        raise EmailServerUnavailable(server, configured=False)
    if not row.enabled or not row.provider.enabled:
        raise EmailServerUnavailable(server, configured=True)
    return row
