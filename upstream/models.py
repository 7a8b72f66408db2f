"""Upstream providers and the canonical catalogue.

Countries use SMS-Activate's numbering (product decision P6); services are
identified by SMS-Activate short codes with a stable numeric id (#7). An Offer
is what one provider sells for one (country, service): its cost in the
provider's currency and its stock, refreshed by catalogue sync.
"""

from decimal import ROUND_CEILING, Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

SLOTS = range(1, 7)


class Country(models.Model):
    id = models.IntegerField(primary_key=True, help_text="SMS-Activate country number")
    name = models.CharField(max_length=200, help_text="English name")
    name_ru = models.CharField(max_length=200, blank=True)
    name_cn = models.CharField(max_length=200, blank=True)
    visible = models.BooleanField(default=True, help_text="SMS-Activate's own flag, shown by getCountries")
    enabled = models.BooleanField(
        default=True,
        help_text="Sold to customers. Off: left out of every listing and never bought (catalogue sync "
        "keeps its offers fresh, so switching it back on sells again at once).",
    )
    retry = models.BooleanField(default=True, help_text="another SMS can be requested")
    rent = models.BooleanField(default=False)
    multi_service = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


class Service(models.Model):
    """A service; `id` is its stable numeric id (OTPGet's getServices key)."""

    code = models.CharField(max_length=32, unique=True, help_text="SMS-Activate short code, e.g. tg")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(
        default=True,
        help_text="Sold to customers. Off: left out of every listing and never bought (catalogue sync "
        "keeps its offers fresh, so switching it back on sells again at once).",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class Provider(models.Model):
    """One upstream account in slot 1-6. Adding a provider of a known protocol is a row, not code."""

    class Protocol(models.TextChoices):
        SMSACTIVATE = "smsactivate", "SMS-Activate"
        SMSACTIVATE_COMPAT = "smsactivate-compat", "SMS-Activate-compatible (providerIds, price tables)"
        OTPBUDDY = "otpbuddy", "OTPBuddy"
        GETSMS = "getsms", "Get-SMS API v1"
        OTPGET = "otpget", "OTPGet-compatible reseller"
        OTPGET_CHEAP = "otpget-cheap", "OTPGet-compatible cheap numbers (cheap_handler.php)"
        OTPGET_RENTAL = "otpget-rental", "OTPGet-compatible rentals (rental-handler.php)"
        SANDBOX = "sandbox", "sandbox (in-process demo)"
        KOPEECHKA = "kopeechka", "Kopeechka-style e-mail activations (api 2.0)"
        OTPGET_EMAIL = "otpget-email", "OTPGet-compatible e-mails (email_handler.php)"

    slot = models.PositiveSmallIntegerField(
        unique=True, validators=[MinValueValidator(1), MaxValueValidator(6)], help_text="1-6 (OTPGet's `type`)"
    )
    name = models.CharField(max_length=100, blank=True)
    protocol = models.CharField(max_length=32, choices=Protocol.choices)
    base_url = models.CharField(
        max_length=500, blank=True, help_text="e.g. https://api.sms-activate.ae/stubs/handler_api.php"
    )
    api_key = models.CharField(max_length=500, blank=True)
    currency = models.CharField(max_length=3, default="PKR", help_text="ISO code of the provider's prices")
    rate_to_pkr = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("1"), help_text="PKR per unit")
    enabled = models.BooleanField(default=True)
    priority = models.IntegerField(default=0, help_text="higher wins between equal prices")
    config = models.JSONField(default=dict, blank=True, help_text="protocol-specific options (timeouts, sandbox)")
    balance = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True, editable=False)
    balance_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    low_balance_threshold = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True, help_text="warn below this upstream balance"
    )
    # Health, as exponentially weighted averages over recent events (upstream/health.py):
    # share of purchase attempts without a provider error, their latency, share of numbers that got an SMS.
    success_rate = models.FloatField(default=1.0, editable=False)
    latency_ms = models.FloatField(default=0.0, editable=False)
    sms_rate = models.FloatField(default=1.0, editable=False)
    # How many events each average has seen: none yet means "unknown", not 100 % (the averages
    # start at 1.0 so routing ranks a new provider as before, but nobody may read that as health).
    attempts_seen = models.PositiveBigIntegerField(default=0, editable=False)
    sms_outcomes_seen = models.PositiveBigIntegerField(default=0, editable=False)
    # The last catalogue sync and balance refresh: when one last succeeded, and the last error
    # (what may be shown of it: upstream.providers.base.error_summary, keys masked) and its time.
    last_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sync_error = models.CharField(max_length=400, blank=True, editable=False)
    last_sync_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_balance_error = models.CharField(max_length=400, blank=True, editable=False)
    last_balance_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Circuit breaker: after repeated errors the provider is skipped until circuit_open_until.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    circuit_open_until = models.DateTimeField(null=True, blank=True, editable=False)
    webhook_secret = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slot"]
        constraints = [models.CheckConstraint(condition=Q(slot__gte=1, slot__lte=6), name="provider_slot_1_6")]

    def __str__(self) -> str:
        return f"slot {self.slot}: {self.name or self.protocol}"

    def __repr__(self) -> str:  # never the API key
        return f"<Provider slot={self.slot} protocol={self.protocol} url={self.base_url!r}>"

    def to_pkr(self, amount: Decimal) -> Decimal:
        """Provider currency -> PKR, rounded up to the paisa (we never under-price a cost)."""
        return (Decimal(amount) * self.rate_to_pkr).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


class Offer(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="offers")
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="offers")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="offers")
    cost = models.DecimalField(max_digits=18, decimal_places=4, help_text="in the provider's currency")
    stock = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "country", "service"], name="offer_unique"),
        ]
        indexes = [models.Index(fields=["service", "country"], name="offer_service_country_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.service.code}/{self.country_id} {self.cost} x{self.stock}"


class CodeMapping(models.Model):
    """An upstream's own code for one of our services or countries (null: not mapped yet).
    Filled by catalogue_sync where the upstream publishes names; editable in the admin."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE)
    upstream_code = models.CharField(max_length=64)
    upstream_name = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True


class ServiceMapping(CodeMapping):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="mappings")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "upstream_code"], name="servicemapping_upstream_unique"),
            models.UniqueConstraint(
                fields=["provider", "service"], condition=Q(service__isnull=False), name="servicemapping_ours_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.upstream_code} -> {self.service.code if self.service else '?'}"


class CountryMapping(CodeMapping):
    country = models.ForeignKey(Country, on_delete=models.CASCADE, null=True, blank=True, related_name="mappings")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "upstream_code"], name="countrymapping_upstream_unique"),
            models.UniqueConstraint(
                fields=["provider", "country"], condition=Q(country__isnull=False), name="countrymapping_ours_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.upstream_code} -> {self.country_id if self.country else '?'}"


class SandboxActivation(models.Model):
    """State of the in-process sandbox upstream (protocol `sandbox`): what a real
    provider would keep on its side. Lives in the database so every process sees it."""

    class Status(models.TextChoices):
        WAITING = "waiting"
        CODE = "code"
        WAIT_RETRY = "wait_retry"
        CANCELLED = "cancelled"
        FINISHED = "finished"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sandbox_activations")
    service = models.CharField(max_length=32)
    country = models.IntegerField()
    phone = models.CharField(max_length=32)
    cost = models.DecimalField(max_digits=18, decimal_places=4)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    code = models.CharField(max_length=32, blank=True)
    text = models.TextField(blank=True)
    sms_due_at = models.DateTimeField()
    order_ref = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "status"], name="sandbox_provider_status_idx")]


class RentOffer(models.Model):
    """What one provider rents for one (country, service, period): a number kept `hours` hours
    receiving any SMS. `service` null: the number for every service (SMS-Activate's "full").
    Refreshed by catalogue sync from providers whose client `supports_rent`."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="rent_offers")
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="rent_offers")
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="rent_offers", help_text="empty: full"
    )
    hours = models.PositiveIntegerField(help_text="the period this cost buys")
    cost = models.DecimalField(max_digits=18, decimal_places=4, help_text="in the provider's currency")
    stock = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One row per (provider, country, service, hours), and one full-rental row (service
            # null) per (provider, country, hours): a partial index, which SQLite has too.
            models.UniqueConstraint(fields=["provider", "country", "service", "hours"], name="rentoffer_unique"),
            models.UniqueConstraint(
                fields=["provider", "country", "hours"], condition=Q(service__isnull=True), name="rentoffer_full_unique"
            ),
        ]
        indexes = [models.Index(fields=["country", "service", "hours"], name="rentoffer_lookup_idx")]

    def __str__(self) -> str:
        service = self.service.code if self.service_id else "full"
        return f"{self.provider} rent {service}/{self.country_id} {self.hours}h {self.cost} x{self.stock}"


class SandboxRental(models.Model):
    """A rental at the in-process sandbox upstream (see upstream/providers/sandbox_rent.py)."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        FINISHED = "finished"
        CANCELLED = "cancelled"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sandbox_rentals")
    service = models.CharField(max_length=32, blank=True, help_text="empty: full")
    country = models.IntegerField()
    phone = models.CharField(max_length=32)
    hours = models.PositiveIntegerField()
    cost = models.DecimalField(max_digits=18, decimal_places=4, help_text="paid so far, prolongations included")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="finished or cancelled before its end")
    order_ref = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "status"], name="sandboxrental_provider_idx")]


class EmailService(models.Model):
    """A service of email_handler.php's Server 1 (`service_id`, OTPGet's table): the site whose
    letter the mailbox waits for. Seeded from upstream/data/email_services.csv."""

    code = models.CharField(max_length=32, unique=True, help_text="OTPGet's service_id, e.g. ig")
    name = models.CharField(max_length=100)
    site = models.CharField(max_length=200, blank=True, help_text="the site that writes (instagram.com); empty: any")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class EmailOffer(models.Model):
    """What one provider sells of one mailbox domain: for any site (`service` empty: Kopeechka's
    per-domain zones, OTPGet's Server 2) or for one of its services (OTPGet's Server 1)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="email_offers")
    domain = models.CharField(max_length=100)
    service = models.CharField(max_length=64, blank=True, help_text="the upstream's service code; empty: any site")
    name = models.CharField(max_length=100, blank=True, help_text="the upstream's service name")
    cost = models.DecimalField(max_digits=18, decimal_places=4, help_text="in the provider's currency")
    stock = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "domain", "service"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "domain", "service"], name="emailoffer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.domain}/{self.service or '*'} {self.cost} x{self.stock}"


class SandboxEmail(models.Model):
    """An e-mail order at the in-process sandbox upstream (upstream/providers/sandbox_email.py)."""

    class Status(models.TextChoices):
        WAITING = "waiting"
        RECEIVED = "received"
        CANCELLED = "cancelled"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sandbox_emails")
    domain = models.CharField(max_length=100)
    site = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254)
    cost = models.DecimalField(max_digits=18, decimal_places=4)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    letter_due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    order_ref = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["provider", "status"], name="sandboxemail_provider_idx")]


class Operator(models.Model):
    """A mobile operator one provider sells numbers of in one country (SMS-Activate's `operator`:
    `kyivstar`, `beeline`, ...), from the upstream's own list (`ProviderClient.operators`), kept
    by catalogue sync (upstream/operator_catalogue.py): rows the upstream stops listing go.
    Purchases naming an operator route only to providers listing it for the country."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="operators")
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="operators")
    code = models.CharField(max_length=50, help_text="the operator as the upstream names it, lower case")
    name = models.CharField(max_length=100, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="last seen in the upstream's list")

    class Meta:
        ordering = ["provider", "country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "country", "code"], name="operator_unique"),
        ]
        indexes = [models.Index(fields=["country", "code"], name="operator_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.provider} {self.country_id}/{self.code}"


class ProviderBalanceSnapshot(models.Model):
    """The balance an upstream reported at one moment, written at every refresh of
    `Provider.balance` (upstream.services: balance sync and catalogue sync). The upstream
    reconciliation (docs/operators-guide.md, "Reconciliation") compares how it moves with what
    the ledger booked against the provider's float account between two snapshots."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="balance_snapshots")
    balance = models.DecimalField(max_digits=18, decimal_places=4, help_text="in the provider's currency")
    rate_to_pkr = models.DecimalField(max_digits=14, decimal_places=6, help_text="the provider's rate at that time")
    balance_pkr = models.DecimalField(max_digits=20, decimal_places=2, help_text="balance x rate, to the paisa")
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["provider", "taken_at", "id"]
        indexes = [models.Index(fields=["provider", "taken_at"], name="balancesnapshot_taken_idx")]
        verbose_name = "provider balance snapshot"

    def __str__(self) -> str:
        return f"{self.provider_id} {self.balance} at {self.taken_at:%Y-%m-%d %H:%M}"


def balance_snapshot_record(provider: Provider, balance: Decimal, taken_at) -> ProviderBalanceSnapshot:
    """Store one reported balance (called where Provider.balance is refreshed)."""
    rate = provider.rate_to_pkr
    return ProviderBalanceSnapshot.objects.create(
        provider=provider,
        balance=balance,
        rate_to_pkr=rate,
        balance_pkr=(Decimal(balance) * rate).quantize(Decimal("0.01")),
        taken_at=taken_at,
    )
