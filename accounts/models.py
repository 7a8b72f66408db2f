"""Customers and their API keys.

A customer is a Django user (custom model from day one). The API key is never
stored: only its SHA-256 digest, which is unique and indexed, so the lookup on
every request is one index probe. A 32-character key of 62 symbols carries 190
bits of entropy, so a fast digest is safe here (a slow password hasher would
cost milliseconds on every call for no gain).
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class Customer(AbstractUser):
    api_key_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # First four characters of the key, so an admin can tell keys apart.
    api_key_prefix = models.CharField(max_length=4, blank=True, editable=False)
    api_key_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_blocked = models.BooleanField(default=False, editable=False)
    blocked_reason = models.TextField(blank=True, editable=False)
    blocked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "customer"
        verbose_name_plural = "customers"

    def __str__(self) -> str:
        return self.username

    @property
    def is_staff_account(self) -> bool:
        """Staff (and superusers) run the business: they have no wallet and no API key."""
        return bool(self.is_staff or self.is_superuser)


class StaffUser(Customer):
    """The same table seen as staff: the admin lists staff apart from customers."""

    class Meta:
        proxy = True
        verbose_name = "staff user"
        verbose_name_plural = "staff users"


class AuditEvent(models.Model):
    """Append-only record of what was done to a customer account, and by whom."""

    class Action(models.TextChoices):
        CREATED = "created", "created"
        KEY_ROTATED = "key_rotated", "API key rotated"
        BLOCKED = "blocked", "blocked"
        UNBLOCKED = "unblocked", "unblocked"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who did it when there is no user, e.g. `cli:alice@host` for a management command.
    actor_label = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=32, choices=Action.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer} {self.action} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    @property
    def actor_display(self) -> str:
        return actor_display(self.actor, self.actor_label)


def actor_display(actor, label: str) -> str:
    """How a list shows who did something: the user, and the command-line label when there is one."""
    if actor is not None and label:
        return f"{actor} ({label})"
    return str(actor) if actor is not None else (label or "-")
