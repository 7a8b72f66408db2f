from django.apps import AppConfig


class UpstreamConfig(AppConfig):
    name = "upstream"

    def ready(self) -> None:
        # billing's markup rules know providers and services by id; their labels get slots and codes here.
        from billing.pricing import register_target_names
        from upstream.markup import RuleTargetNames

        register_target_names(RuleTargetNames())

        # The audit trail (docs/admin-guide.md): the provider's key and webhook secret never reach it.
        from auditlog.registry import auditlog

        from accounts.apps import AUDIT_MASK
        from upstream.models import Country, EmailService, Provider, Service

        auditlog.register(
            Provider,
            mask_fields=["api_key", "webhook_secret"],
            mask_callable=AUDIT_MASK,
            # kept by the machine (balance checks, health, circuit), not changed by anyone
            exclude_fields=[
                "balance",
                "balance_checked_at",
                "success_rate",
                "latency_ms",
                "sms_rate",
                "consecutive_failures",
                "circuit_open_until",
            ],
        )
        auditlog.register(Service)
        auditlog.register(Country)
        auditlog.register(EmailService)
