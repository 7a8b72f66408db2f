"""The PKR ledger: accounts, transfers, holds.

Overview (see docs/ledger.md):
- Every movement of money is a Transfer of a positive amount from one
  LedgerAccount to another. Transfers are append-only; a correction is a new
  transfer. Each carries a unique idempotency key.
- LedgerAccount.balance caches sum(incoming) - sum(outgoing), updated in the
  same transaction as the transfer. The sum of all balances is always zero:
  system accounts (cash, adjustments, refunds, ...) go negative as customers'
  wallets fill.
- A Hold reserves part of a wallet: LedgerAccount.held caches the sum of open
  holds and a CHECK keeps `balance - held >= 0` on wallets, so a wallet can
  never be overspent even if application code is wrong. A hold resolves once:
  captured (fully or partly, in one transfer that points back at it) or released.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing.money import MAX_DIGITS, PKR_PLACES, ZERO


@dataclass(frozen=True)
class OrderRef:
    """The order a hold or transfer belongs to: its kind (`activation`, `cheap`, ...) and id.
    billing stores it and indexes it; it never reads the order (that is the reseller's table)."""

    kind: str
    pk: int


def _order_fields():
    return (
        models.CharField(max_length=16, blank=True, default="", help_text="the order's kind, e.g. activation"),
        models.PositiveBigIntegerField(null=True, blank=True, help_text="the order's id within its kind"),
    )


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, **kwargs)


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        WALLET = "wallet", "customer wallet"
        CASH = "cash", "cash (top-ups)"
        ADJUSTMENTS = "adjustments", "admin adjustments"
        REVENUE = "revenue", "revenue"
        REFUNDS = "refunds", "refunds"
        LOSSES = "losses", "losses"
        UPSTREAM_COST = "upstream_cost", "upstream cost"
        PROVIDER_FLOAT = "provider_float", "provider float"

    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    customer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="wallet"
    )
    balance = _money(default=ZERO)
    held = _money(default=ZERO)
    allow_negative = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(held__gte=0), name="ledgeraccount_held_nonnegative"),
            models.CheckConstraint(
                condition=Q(allow_negative=True) | Q(balance__gte=F("held")),
                name="ledgeraccount_available_nonnegative",
            ),
            models.CheckConstraint(
                condition=~Q(kind="wallet") | Q(customer__isnull=False, allow_negative=False),
                name="ledgeraccount_wallet_has_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.code

    @property
    def available(self):
        return self.balance - self.held


class Transfer(models.Model):
    """An immutable movement of `amount` from `source` to `destination`."""

    class Kind(models.TextChoices):
        TOPUP = "topup", "top-up"
        ADJUSTMENT = "adjustment", "adjustment"
        CAPTURE = "capture", "capture"
        REFUND = "refund", "refund"
        LOSS = "loss", "loss"
        UPSTREAM_COST = "upstream_cost", "upstream cost"
        UPSTREAM_REFUND = "upstream_refund", "upstream refund"
        PROVIDER_FUNDING = "provider_funding", "provider funding"

    source = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="outgoing")
    destination = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="incoming")
    amount = _money()
    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    hold = models.OneToOneField(
        "billing.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="capture_transfer"
    )
    memo = models.TextField(blank=True)
    order_kind, order_pk = _order_fields()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who booked it when there is no user (or besides it), e.g. `cli:alice@host` for a management command.
    actor_label = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["order_kind", "order_pk"], condition=~Q(order_kind=""), name="transfer_order_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_distinct_accounts"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.amount} {self.source} -> {self.destination}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("transfers are append-only; post a correcting transfer instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("transfers are append-only; post a correcting transfer instead")


class Hold(models.Model):
    """Money reserved on a wallet until it is captured or released (at most once)."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        CAPTURED = "captured", "captured"
        RELEASED = "released", "released"

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    amount = _money()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    captured_amount = _money(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    expires_at = models.DateTimeField()
    memo = models.TextField(blank=True)
    order_kind, order_pk = _order_fields()
    release_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="open"), name="hold_open_expiry_idx"),
            models.Index(fields=["order_kind", "order_pk"], condition=~Q(order_kind=""), name="hold_order_idx"),
            # The reports read holds by when they were placed and resolved (docs/reports.md).
            models.Index(fields=["created_at"], name="hold_created_idx"),
            models.Index(fields=["resolved_at"], condition=Q(resolved_at__isnull=False), name="hold_resolved_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(
                condition=(
                    Q(status="open", captured_amount__isnull=True, resolved_at__isnull=True)
                    | Q(status="released", captured_amount__isnull=True, resolved_at__isnull=False)
                    | Q(
                        status="captured",
                        captured_amount__gt=0,
                        captured_amount__lte=F("amount"),
                        resolved_at__isnull=False,
                    )
                ),
                name="hold_status_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"hold #{self.pk} {self.amount} ({self.status})"

    @property
    def order(self) -> "OrderRef | None":
        return OrderRef(self.order_kind, self.order_pk) if self.order_kind else None


class MarkupRule(models.Model):
    """How a sell price is made from a PKR cost. See billing/pricing.py and docs/pricing.md.

    Scopes, least to most specific: global, provider, country, service, customer.
    A rule matches when every target it names equals the order's. The most
    specific matching rule wins (ties: the one naming more targets, then the
    newest): sell = cost * (1 + percent/100) + fixed, raised to cost + min_margin,
    then rounded up to a multiple of round_to.
    """

    class Scope(models.TextChoices):
        GLOBAL = "global", "global"
        PROVIDER = "provider", "provider"
        COUNTRY = "country", "country"
        SERVICE = "service", "service"
        CUSTOMER = "customer", "customer"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    # Foreign keys for integrity only: billing code reads the ids and never follows the provider,
    # country or service relation (docs/pricing.md, "billing and the upstream tables").
    provider = models.ForeignKey("upstream.Provider", on_delete=models.CASCADE, null=True, blank=True)
    country = models.ForeignKey("upstream.Country", on_delete=models.CASCADE, null=True, blank=True)
    service = models.ForeignKey("upstream.Service", on_delete=models.CASCADE, null=True, blank=True)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True)
    percent = models.DecimalField(max_digits=7, decimal_places=2, default=ZERO, help_text="% added to the cost")
    fixed = _money(default=ZERO, help_text="PKR added after the percentage")
    min_margin = _money(default=ZERO, help_text="the sell price is at least cost + this")
    round_to = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.01"), help_text="round the price up to a multiple of this"
    )
    product = models.CharField(
        max_length=16,
        choices=[("", "every product"), ("rental", "rentals only"), ("email", "e-mails only")],
        blank=True,
        default="",
        help_text="rentals or e-mails only: prices that product apart; its orders use a matching rule of it first",
    )
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scope", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(round_to__gt=0), name="markup_round_to_positive"),
            models.CheckConstraint(condition=Q(min_margin__gte=0), name="markup_min_margin_nonnegative"),
            models.CheckConstraint(condition=Q(percent__gt=-100), name="markup_percent_above_minus_100"),
            models.CheckConstraint(
                condition=~Q(scope="provider") | Q(provider__isnull=False), name="markup_provider_scope_has_provider"
            ),
            models.CheckConstraint(
                condition=~Q(scope="country") | Q(country__isnull=False), name="markup_country_scope_has_country"
            ),
            models.CheckConstraint(
                condition=~Q(scope="service") | Q(service__isnull=False), name="markup_service_scope_has_service"
            ),
            models.CheckConstraint(
                condition=~Q(scope="customer") | Q(customer__isnull=False), name="markup_customer_scope_has_customer"
            ),
            models.UniqueConstraint(
                fields=["scope", "product"], condition=Q(scope="global"), name="markup_one_global_rule"
            ),
        ]

    def __str__(self) -> str:
        from billing.pricing import rule_label  # the targets as pricing names them (never through the FKs)

        return f"{rule_label(self)}: {self.percent:+.2f}% {self.fixed:+.2f} PKR"


class LedgerVerifyRun(models.Model):
    """The outcome of the last `ledger_verify` (one row, pk 1, overwritten by each run), read by
    the metrics (docs/metrics.md: `reseller_ledger_verify_*`) wherever the run happened."""

    SINGLETON = 1

    ok = models.BooleanField()
    violations = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField()
    duration_seconds = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"ledger_verify at {self.finished_at:%Y-%m-%d %H:%M:%S}: {'OK' if self.ok else self.violations}"
