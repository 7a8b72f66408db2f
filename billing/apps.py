from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from auditlog.registry import auditlog

        from billing import signals  # noqa: F401
        from billing.models import MarkupRule

        auditlog.register(MarkupRule, exclude_fields=["updated_at"])
