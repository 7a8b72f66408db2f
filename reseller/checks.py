"""System checks of our own settings, run by `manage.py check` (the `deploy` ones by `check --deploy`)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def metrics_token_set(app_configs, **kwargs):
    """Without METRICS_TOKEN the metrics answer any loopback caller without forwarding headers: a
    proxy or tunnel on the same host that adds none would publish them (docs/metrics.md, "Access")."""
    if settings.METRICS_TOKEN or settings.EMBEDDED:
        return []
    return [
        checks.Warning(
            "METRICS_TOKEN is not set: the metrics answer every loopback caller that sends no forwarding header.",
            hint="Set METRICS_TOKEN (16+ characters: python -c 'import secrets; print(secrets.token_urlsafe(32))').",
            id="reseller.W001",
        )
    ]
