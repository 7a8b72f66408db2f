"""Orders. Activations and cheap numbers (one table, told apart by `kind`); rentals; e-mails.
The order core that buys and settles any kind: reseller/orders/.

An activation's life (docs/activations.md):

    requesting --bought--> active --SMS--> code_received --status 3--> waiting_retry --SMS--> code_received
        |                    |                  |                                               |
        |                    +--cancel/expiry--> cancelled / expired (hold released)           |
        |                                       +--status 6 / expiry--> finished (charged) <----+
        +--upstream error--> failed (hold released)
        +--timeout--------> unknown (hold released; reconciled upstream, a loss if charged)

The money follows the state: a hold while requesting/active, a capture at the
first SMS, a release when it ends without one.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.money import MAX_DIGITS, PKR_PLACES


class OrderKind(models.TextChoices):
    """What an order is. The ledger and the attempt history name an order by (kind, id)."""

    ACTIVATION = "activation", "activation (handler_api.php)"
    CHEAP = "cheap", "cheap number (cheap_handler.php)"
    RENTAL = "rental", "rental (rental-handler.php, handler_api.php rent actions)"
    RENEWAL = "renewal", "rental renewal"
    EMAIL = "email", "e-mail (email_handler.php)"


class CheapServer(models.Model):
    """A cheap-number product an admin defines (cheap_handler.php's `server`): under a cheap
    `type`, which provider slot supplies it (or any), for which services and country (or any),
    at a fixed PKR price or the provider's cost + the markup rules."""

    TYPES = (1, 2)

    type = models.PositiveSmallIntegerField(
        choices=[(1, "1 (Server 1)"), (2, "2 (Server 2)")], default=1, help_text="cheap_handler.php `type`"
    )
    name = models.CharField(max_length=100, help_text="shown by getServers")
    provider = models.ForeignKey(
        "upstream.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="the provider slot that supplies it; empty: any provider (cheapest first, with failover)",
    )
    services = models.ManyToManyField(
        "upstream.Service", related_name="+", help_text="what it sells; buyNumber's `service` picks one"
    )
    country = models.ForeignKey(
        "upstream.Country",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="empty: any country (the cheapest offer with stock)",
    )
    price = models.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=PKR_PLACES,
        null=True,
        blank=True,
        help_text="fixed sell price, PKR; empty: the provider's cost + the markup rules",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["type", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=(1, 2)), name="cheap_server_type_valid"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0), name="cheap_server_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"cheap server #{self.pk} {self.name} (type {self.type})"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.price is not None and self.price <= 0:
            raise ValidationError({"price": "A fixed price must be above 0 PKR; leave it empty for cost + markup."})


class Activation(models.Model):
    class State(models.TextChoices):
        REQUESTING = "requesting", "requesting"
        ACTIVE = "active", "active (waiting for SMS)"
        CODE_RECEIVED = "code_received", "code received"
        WAITING_RETRY = "waiting_retry", "waiting for another SMS"
        FINISHED = "finished", "finished"
        CANCELLED = "cancelled", "cancelled"
        EXPIRED = "expired", "expired"
        FAILED = "failed", "purchase failed"
        UNKNOWN = "unknown", "unknown outcome"

    LIVE_STATES = (State.REQUESTING, State.ACTIVE, State.CODE_RECEIVED, State.WAITING_RETRY)
    ENDED_STATES = (State.FINISHED, State.CANCELLED, State.EXPIRED, State.FAILED, State.UNKNOWN)

    class Upstream(models.TextChoices):
        """A setStatus still to be forwarded upstream (by a task, with retries)."""

        NONE = "", "nothing pending"
        READY = "ready", "ready (1)"
        RETRY = "retry", "another SMS (3)"
        FINISH = "finish", "finish (6)"
        CANCEL = "cancel", "cancel (8)"
        RECONCILE = "reconcile", "find the number of an unknown outcome"

    kind = models.CharField(max_length=16, choices=OrderKind.choices, default=OrderKind.ACTIVATION)
    cheap_server = models.ForeignKey(
        CheapServer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders", help_text="cheap orders"
    )
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activations")
    provider = models.ForeignKey("upstream.Provider", on_delete=models.PROTECT, related_name="activations")
    service = models.ForeignKey("upstream.Service", on_delete=models.PROTECT, related_name="+")
    country = models.ForeignKey("upstream.Country", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTING)
    order_id = models.CharField(max_length=100, null=True, blank=True, help_text="the customer's getNumberV2 orderId")
    operator = models.CharField(max_length=50, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    upstream_id = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, help_text="sell price, PKR")
    cost = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True, help_text="provider currency")
    cost_pkr = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, null=True, blank=True)
    hold = models.OneToOneField("billing.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    code = models.CharField(max_length=64, blank=True)
    sms_text = models.TextField(blank=True)
    sms_at = models.DateTimeField(null=True, blank=True)
    previous_code = models.CharField(max_length=64, blank=True, help_text="shown as STATUS_WAIT_RETRY:<code>")
    upstream_pending = models.CharField(max_length=10, choices=Upstream.choices, blank=True, default="")
    upstream_attempts = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="raw upstream error or reason")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        db_index=False,  # the partial index below: most rows have none
        help_text="the first activation of a multi-service number, or the one an extra activation repeats",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "order_id"], condition=Q(order_id__isnull=False), name="activation_order_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "state"], name="activation_provider_state_idx"),
            models.Index(
                fields=["expires_at"],
                condition=Q(state__in=["requesting", "active", "code_received", "waiting_retry"]),
                name="activation_live_expiry_idx",
            ),
            models.Index(fields=["upstream_pending"], condition=~Q(upstream_pending=""), name="activation_pending_idx"),
            models.Index(fields=["customer", "-id"], name="activation_customer_idx"),
            models.Index(fields=["kind", "-id"], name="activation_kind_idx"),
            models.Index(fields=["parent"], condition=Q(parent__isnull=False), name="activation_parent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.phone or '-'} ({self.state})"


class PurchaseAttempt(models.Model):
    """One try at one provider for one order, any kind (`order_kind`, `order_pk`): the routing
    history an admin sees."""

    class Outcome(models.TextChoices):
        BOUGHT = "bought", "bought"
        NO_NUMBERS = "no_numbers", "no numbers"
        PRICE = "price", "price refused"
        ERROR = "error", "provider error"
        UNAVAILABLE = "unavailable", "unreachable"
        UNKNOWN = "unknown", "unknown outcome (timeout / unreadable)"
        SKIPPED = "skipped", "skipped (circuit open)"

    order_kind = models.CharField(max_length=16, choices=OrderKind.choices)
    order_pk = models.PositiveBigIntegerField()
    provider = models.ForeignKey("upstream.Provider", on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    raw = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["provider", "created_at"], name="attempt_provider_time_idx"),
            models.Index(fields=["order_kind", "order_pk"], name="attempt_order_idx"),
        ]


class UpstreamOrphan(models.Model):
    """A live upstream number that no order owned when reconciliation saw it.

    An order in flight looks the same (its upstream call returned, its phase 3
    has not committed yet), so a number without our order reference is only
    cancelled once it has stayed unowned for longer than any purchase can take
    (docs/activations.md, reconciliation). The row keeps when it was first seen
    and how it ended, for the admin.
    """

    class Outcome(models.TextChoices):
        PENDING = "", "seen, not yet old enough to cancel"
        OWNED = "owned", "owned by an order after all"
        CANCELLED = "cancelled", "cancelled upstream"
        LOSS = "loss", "cancelled upstream; its code was billed (a loss)"
        GONE = "gone", "ended upstream by itself"

    provider = models.ForeignKey("upstream.Provider", on_delete=models.CASCADE, related_name="+")
    upstream_id = models.CharField(max_length=100)
    phone = models.CharField(max_length=32, blank=True)
    service_code = models.CharField(max_length=32, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    activation = models.ForeignKey(
        Activation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="the unknown order"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "upstream_id"], name="orphan_provider_upstream_unique"),
        ]
        indexes = [
            models.Index(fields=["provider"], condition=Q(resolved_at__isnull=True), name="orphan_open_idx"),
        ]

    def __str__(self) -> str:
        return f"orphan {self.upstream_id} at provider {self.provider_id} ({self.outcome or 'pending'})"


class RentalServer(models.Model):
    """rental-handler.php's `provider` ("Server 1", "Server 2"): which provider slot serves it
    (`manage.py rental_server_set --server N --slot S`)."""

    SERVERS = (1, 2)
    # Server 2 sells monthly periods only (its documented 400 message).
    SERVER_2_HOURS = (720, 4320, 8640)

    server = models.PositiveSmallIntegerField(unique=True, choices=[(1, "Server 1"), (2, "Server 2")])
    provider = models.ForeignKey("upstream.Provider", on_delete=models.PROTECT, related_name="+")
    enabled = models.BooleanField(default=True, help_text="off: the server answers 503 unavailable")

    class Meta:
        ordering = ["server"]
        constraints = [models.CheckConstraint(condition=Q(server__in=(1, 2)), name="rental_server_valid")]

    def __str__(self) -> str:
        return f"rental server {self.server} -> provider slot {self.provider.slot}"


class Rental(models.Model):
    """A number kept for a period, receiving any number of SMS (docs/rentals.md). Paid up front:
    the hold of phase 1 is captured when the upstream rents the number; each renewal is its
    own order (`RentalRenewal`) and its own charge.

        requesting --rented--> active --period over--> expired
            |                    +--finish--> finished
            |                    +--cancel (upstream refunds)--> cancelled (refunded)
            +--upstream error--> failed (hold released)
            +--timeout--------> unknown (hold released; reconciled)
    """

    class State(models.TextChoices):
        REQUESTING = "requesting", "requesting"
        ACTIVE = "active", "active"
        FINISHED = "finished", "finished"
        CANCELLED = "cancelled", "cancelled (refunded)"
        EXPIRED = "expired", "expired"
        FAILED = "failed", "purchase failed"
        UNKNOWN = "unknown", "unknown outcome"

    LIVE_STATES = (State.REQUESTING, State.ACTIVE)
    ENDED_STATES = (State.FINISHED, State.CANCELLED, State.EXPIRED, State.FAILED, State.UNKNOWN)

    class Upstream(models.TextChoices):
        NONE = "", "nothing pending"
        FINISH = "finish", "finish"
        CANCEL = "cancel", "cancel"
        RECONCILE = "reconcile", "find the number of an unknown outcome"

    kind = OrderKind.RENTAL  # not a column: every row is a rental
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rentals")
    provider = models.ForeignKey("upstream.Provider", on_delete=models.PROTECT, related_name="rentals")
    service = models.ForeignKey(
        "upstream.Service", on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="empty: full"
    )
    country = models.ForeignKey("upstream.Country", on_delete=models.PROTECT, related_name="+")
    server = models.PositiveSmallIntegerField(null=True, blank=True, help_text="rental-handler.php `provider` (1, 2)")
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTING)
    phone = models.CharField(max_length=32, blank=True)
    upstream_id = models.CharField(max_length=100, blank=True)
    hours = models.PositiveIntegerField(help_text="the period first bought")
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, help_text="sell price, PKR")
    cost = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True, help_text="provider currency")
    cost_pkr = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, null=True, blank=True)
    hold = models.OneToOneField("billing.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    webhook_url = models.CharField(max_length=500, blank=True, help_text="getRentNumber `url`")
    upstream_pending = models.CharField(max_length=10, choices=Upstream.choices, blank=True, default="")
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True, help_text="who ended it and why (admin: audited)")
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["provider", "state"], name="rental_provider_state_idx"),
            models.Index(fields=["expires_at"], condition=Q(state="active"), name="rental_live_expiry_idx"),
            models.Index(fields=["customer", "-id"], name="rental_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"rental #{self.pk} {self.phone or '-'} ({self.state})"


class RentalRenewal(models.Model):
    """One extension of a rental, bought like an order of its own (kind `renewal`): a hold, the
    upstream's prolong call, a capture. `request_key` makes a repeated request one renewal."""

    class State(models.TextChoices):
        REQUESTING = "requesting", "requesting"
        DONE = "done", "renewed (charged)"
        FAILED = "failed", "failed (hold released)"
        UNKNOWN = "unknown", "unknown outcome (hold released)"

    kind = OrderKind.RENEWAL
    rental = models.ForeignKey(Rental, on_delete=models.PROTECT, related_name="renewals")
    request_key = models.CharField(max_length=100)
    hours = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTING)
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES)
    cost_pkr = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, null=True, blank=True)
    hold = models.OneToOneField("billing.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expires_before = models.DateTimeField(null=True, blank=True)
    expires_after = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["rental", "request_key"], name="renewal_request_unique"),
        ]

    def __str__(self) -> str:
        return f"renewal #{self.pk} of rental {self.rental_id} (+{self.hours} h, {self.state})"

    @property
    def provider(self):
        return self.rental.provider


class RentalSms(models.Model):
    """An SMS a rental received (kept in the order the status sync saw them)."""

    rental = models.ForeignKey(Rental, on_delete=models.CASCADE, related_name="messages")
    sms_id = models.CharField(max_length=100, help_text="the upstream's id, or a digest of date, sender and text")
    sender = models.CharField(max_length=64, blank=True)
    text = models.TextField()
    code = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(null=True, blank=True, help_text="as the upstream dates it")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["rental", "sms_id"], name="rental_sms_unique")]

    def __str__(self) -> str:
        return f"sms #{self.pk} of rental {self.rental_id}"


class EmailServer(models.Model):
    """email_handler.php's `server` ("Server 1": services on a domain; "Server 2": domains):
    which provider slot serves it (`manage.py email_server_set --server N --slot S`)."""

    SERVERS = (1, 2)

    server = models.PositiveSmallIntegerField(unique=True, choices=[(1, "Server 1"), (2, "Server 2")])
    provider = models.ForeignKey("upstream.Provider", on_delete=models.PROTECT, related_name="+")
    enabled = models.BooleanField(default=True, help_text="off: the server answers 503 disabled")
    lifetime_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="shorter than the upstream's (20 minutes) if set"
    )

    class Meta:
        ordering = ["server"]
        constraints = [models.CheckConstraint(condition=Q(server__in=(1, 2)), name="email_server_valid")]

    def __str__(self) -> str:
        return f"e-mail server {self.server} -> provider slot {self.provider.slot}"


class EmailOrder(models.Model):
    """A mailbox bought for one site, until its first letter (docs/emails.md). Held at purchase,
    charged when a letter with a code arrives, refunded in full when it ends without one.

        requesting --bought--> active --letter--> received (charged)
            |                    +--cancel--> cancelled (refunded)
            |                    +--no letter in its lifetime--> expired (refunded)
            +--upstream error--> failed (hold released)
            +--timeout--------> unknown (hold released; reconciled)
    """

    class State(models.TextChoices):
        REQUESTING = "requesting", "requesting"
        ACTIVE = "active", "waiting for a letter"
        RECEIVED = "received", "letter received (charged)"
        CANCELLED = "cancelled", "cancelled (refunded)"
        EXPIRED = "expired", "expired (refunded)"
        FAILED = "failed", "purchase failed"
        UNKNOWN = "unknown", "unknown outcome"

    LIVE_STATES = (State.REQUESTING, State.ACTIVE)
    ENDED_STATES = (State.RECEIVED, State.CANCELLED, State.EXPIRED, State.FAILED, State.UNKNOWN)

    class Upstream(models.TextChoices):
        NONE = "", "nothing pending"
        CANCEL = "cancel", "cancel"
        RECONCILE = "reconcile", "find the mailbox of an unknown outcome"

    kind = OrderKind.EMAIL  # not a column: every row is an e-mail order
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="email_orders")
    provider = models.ForeignKey("upstream.Provider", on_delete=models.PROTECT, related_name="email_orders")
    server = models.PositiveSmallIntegerField(help_text="email_handler.php `server` (1, 2)")
    service = models.ForeignKey(
        "upstream.EmailService",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Server 1's service_id; empty on Server 2",
    )
    domain = models.CharField(max_length=100)
    site = models.CharField(max_length=200, blank=True, help_text="the site that will write")
    upstream_service = models.CharField(max_length=64, blank=True, help_text="the upstream's service code, if any")
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTING)
    email = models.CharField(max_length=254, blank=True)
    upstream_id = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, help_text="sell price, PKR")
    cost = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True, help_text="provider currency")
    cost_pkr = models.DecimalField(max_digits=MAX_DIGITS, decimal_places=PKR_PLACES, null=True, blank=True)
    hold = models.OneToOneField("billing.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lifetime_seconds = models.PositiveIntegerField(help_text="how long it waits for a letter")
    upstream_pending = models.CharField(max_length=10, choices=Upstream.choices, blank=True, default="")
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["provider", "state"], name="email_provider_state_idx"),
            models.Index(fields=["expires_at"], condition=Q(state="active"), name="email_live_expiry_idx"),
            models.Index(fields=["customer", "-id"], name="email_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"e-mail #{self.pk} {self.email or '-'} ({self.state})"


class EmailLetter(models.Model):
    """A letter an e-mail order received (code, whole text, sender, time)."""

    order = models.ForeignKey(EmailOrder, on_delete=models.CASCADE, related_name="letters")
    letter_id = models.CharField(max_length=100, help_text="the upstream's id, or a digest of the text")
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    code = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(null=True, blank=True, help_text="as the upstream dates it")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "letter_id"], name="email_letter_unique")]

    def __str__(self) -> str:
        return f"letter #{self.pk} of e-mail {self.order_id}"


def new_webhook_secret() -> str:
    """A customer's webhook signing secret: 32 random bytes as 64 hex characters."""
    import secrets

    return secrets.token_hex(32)


class CustomerWebhook(models.Model):
    """Where a customer's SMS are POSTed (docs/webhooks.md), and the secret that signs them. Set by
    an admin; a rental's own `getRentNumber` `url` wins over it for that rental's SMS."""

    customer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook")
    url = models.CharField(max_length=500, blank=True, help_text="http(s); empty: no webhooks")
    secret = models.CharField(
        max_length=64, default=new_webhook_secret, help_text="signs every request (X-Signature); give it to them"
    )
    allow_private = models.BooleanField(
        default=False,
        help_text="this customer's URLs may resolve to private, loopback or link-local addresses (your own network)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return f"webhook of {self.customer} -> {self.url or '(none)'}"


class WebhookDelivery(models.Model):
    """One SMS to POST to one customer URL: created in the transaction that records the SMS (so
    nothing is lost and a re-sync adds nothing: `event_key` is unique), sent by the
    `reseller.deliver_webhook` task with retries, given up after WEBHOOK_RETRY_DELAYS."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        GIVEN_UP = "given_up", "given up"

    uid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False, help_text="X-Delivery-Id")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    order_kind = models.CharField(max_length=16, choices=OrderKind.choices)
    order_pk = models.PositiveBigIntegerField()
    event_key = models.CharField(max_length=120, unique=True, help_text="the SMS it tells of")
    url = models.CharField(max_length=500)
    body = models.TextField(help_text="the exact JSON sent (and signed)")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the last try")
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    window_from = models.DateTimeField(default=timezone.now, help_text="its tries end 2 hours after this")
    last_try_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["next_try_at"], condition=Q(state="pending"), name="webhook_delivery_due_idx"),
            models.Index(fields=["customer", "-id"], name="webhook_delivery_customer_idx"),
            models.Index(fields=["order_kind", "order_pk"], name="webhook_delivery_order_idx"),
        ]

    def __str__(self) -> str:
        return f"webhook {self.uid} ({self.state}, {self.attempts} tries)"
