"""The daily rollup of the report figures (docs/reports.md, "Rollup").

`DailyFigure` holds the ledger's figures of one day at the finest grain a report groups by
(order kind, service, e-mail service, country, provider, customer); `RollupDay` records when
each day was last computed. The dimension columns are plain ids, not foreign keys: a rollup row
never blocks deleting a service or a customer, and it is rebuilt from the ledger at will.
"""

from django.db import models

from billing.money import MAX_DIGITS, PKR_PLACES, ZERO
from upstream.models import ProviderBalanceSnapshot


def _money():
    # A day's sum of one account's movements stays within the ledger's range (every balance does).
    return models.DecimalField(max_digits=MAX_DIGITS + 2, decimal_places=PKR_PLACES, default=ZERO)


class DailyFigure(models.Model):
    day = models.DateField(help_text="the day in the server's TIME_ZONE")
    kind = models.CharField(
        max_length=16, blank=True, help_text="order kind (a renewal counts as rental); empty: no order"
    )
    service_id = models.BigIntegerField(null=True, blank=True)
    email_service_id = models.BigIntegerField(null=True, blank=True)
    country_id = models.BigIntegerField(null=True, blank=True)
    provider_id = models.BigIntegerField(null=True, blank=True)
    customer_id = models.BigIntegerField(null=True, blank=True)
    revenue = _money()
    upstream_cost = _money()
    refunds_released = _money()
    refunds_paid = _money()
    losses = _money()
    topups = _money()
    corrections = _money()
    orders = models.IntegerField(default=0)
    succeeded = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)

    class Meta:
        ordering = ["day", "id"]
        indexes = [models.Index(fields=["day"], name="dailyfigure_day_idx")]
        permissions = [("view_reports", "Can view financial reports")]
        verbose_name = "daily figure"

    def __str__(self) -> str:
        return f"{self.day} {self.kind or '-'} revenue {self.revenue}"


class RollupDay(models.Model):
    """One rolled-up day: when it was computed and the highest transfer id it had seen."""

    day = models.DateField(primary_key=True)
    computed_at = models.DateTimeField()
    max_transfer_id = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} (computed {self.computed_at:%Y-%m-%d %H:%M})"


class Report(DailyFigure):
    """The admin's report page (reports/admin.py): a proxy, so the page has its own admin entry."""

    class Meta:
        proxy = True
        verbose_name = "report"
        verbose_name_plural = "reports"


class Reconciliation(ProviderBalanceSnapshot):
    """The admin's upstream reconciliation page (reports/reconcile_admin.py): a proxy of the
    balance snapshots, so the page has its own admin entry."""

    class Meta:
        proxy = True
        verbose_name = "upstream reconciliation"
        verbose_name_plural = "upstream reconciliation"
