from django.apps import AppConfig


class ResellerConfig(AppConfig):
    name = "reseller"
    verbose_name = "Reseller"

    def ready(self):
        from auditlog.registry import auditlog

        from reseller import checks  # noqa: F401 - registers the system checks
        from reseller.models import CheapServer, EmailServer, RentalServer

        auditlog.register(CheapServer, m2m_fields={"services"})
        auditlog.register(RentalServer)
        auditlog.register(EmailServer)
