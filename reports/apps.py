from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    """Operators' side: financial reports from the ledger, the dashboard, upstream reconciliation.
    The top layer: it reads every other app and nothing imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = "reports"

    def ready(self):
        from reports import reconcile_admin  # noqa: F401  (registers the reconciliation page)

        post_migrate.connect(_operators_group, sender=self, dispatch_uid="reports.operators_group")


def _operators_group(sender, using="default", **kwargs):
    """After every migrate (and flush): the "operators" group exists with exactly its
    permissions (reports/operators.py)."""
    from reports.operators import operators_group_sync

    operators_group_sync(using=using)
