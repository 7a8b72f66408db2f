from django.apps import AppConfig

# The audit trail keeps that a secret changed, never its value (accounts/redaction.py).
AUDIT_MASK = "accounts.redaction.audit_mask"


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from auditlog.registry import auditlog

        from accounts.models import Customer, StaffUser

        for model in (Customer, StaffUser):  # the proxy's saves (its admin) send their own signals
            auditlog.register(
                model,
                exclude_fields=["last_login"],  # every login would be an entry
                mask_fields=["password", "api_key_digest"],
                mask_callable=AUDIT_MASK,
            )
