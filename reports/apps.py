from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Operators' side: financial reports from the ledger, the dashboard, upstream reconciliation.
    The top layer: it reads every other app and nothing imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "reports"
