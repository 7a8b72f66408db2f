import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_forms import ReadOnlyAdmin, action_with_form
from accounts.models import actor_display
from billing.errors import BillingError, InvalidAmount
from billing.models import Hold, LedgerAccount, Transfer
from billing.services import wallet_adjust, wallet_topup

# Markup rules are administered in upstream/markup_admin.py: their page names providers by slot and
# services by code, which billing does not know.


class CreditForm(forms.Form):
    KIND_CHOICES = (("topup", "Top-up (customer paid us)"), ("adjustment", "Correction (+ credits, - debits)"))
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    amount = forms.CharField(help_text="PKR with at most two decimals; a correction may be negative")
    reason = forms.CharField(max_length=500, help_text="stored on the transfer")
    # Made when the form is shown: sending the same form twice books once (the ledger's idempotency).
    key = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex)


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "customer", "balance", "held", "available", "transfers")
    list_filter = ("kind",)
    search_fields = ("code", "name", "customer__username")
    list_select_related = ("customer",)
    actions = ("credit_wallet",)

    @admin.display(description="transfers")
    def transfers(self, obj):
        url = reverse("admin:billing_transfer_changelist") + f"?account={obj.pk}"
        return format_html('<a href="{}">view</a>', url)

    def has_change_permission(self, request, obj=None):
        # Needed for the credit action; every field stays read-only.
        return request.user.has_perm("billing.change_ledgeraccount")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(description="Top up or correct the selected wallet", permissions=["change"])
    def credit_wallet(self, request, queryset):
        wallets = list(queryset.filter(kind=LedgerAccount.Kind.WALLET))
        if len(wallets) != 1:
            self.message_user(request, "select exactly one customer wallet", level=messages.ERROR)
            return None

        def apply(data):
            wallet = wallets[0]
            key = f"admin:credit:{wallet.pk}:{data['key']}"
            try:
                if data["kind"] == "topup":
                    outcome = wallet_topup(
                        wallet=wallet, amount=data["amount"], key=key, memo=data["reason"], actor=request.user
                    )
                else:
                    outcome = wallet_adjust(
                        wallet=wallet, amount=data["amount"], reason=data["reason"], key=key, actor=request.user
                    )
            except (InvalidAmount, BillingError, ValueError) as exc:
                self.message_user(request, f"nothing booked: {exc}", level=messages.ERROR)
                return
            self.message_user(request, f"booked {outcome.transfer}")

        return action_with_form(
            self,
            request,
            wallets,
            form_class=CreditForm,
            action="credit_wallet",
            title="Top up or correct a wallet",
            submit_label="Book",
            apply=apply,
        )


class AccountFilter(admin.SimpleListFilter):
    """`?account=<id>` or `?customer=<id>`: every transfer touching that account / customer's wallet."""

    title = "account"
    parameter_name = "account"

    def lookups(self, request, model_admin):
        return [(a.pk, a.code) for a in LedgerAccount.objects.exclude(kind=LedgerAccount.Kind.WALLET)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(Q(source_id=self.value()) | Q(destination_id=self.value()))
        return queryset


class CustomerFilter(admin.SimpleListFilter):
    title = "customer"
    parameter_name = "customer"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, f"customer #{value}")] if value else []

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(Q(source__customer_id=self.value()) | Q(destination__customer_id=self.value()))
        return queryset


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "amount", "source", "destination", "memo", "by")
    list_filter = ("kind", AccountFilter, CustomerFilter)
    search_fields = (
        "idempotency_key",
        "memo",
        "source__code",
        "destination__code",
        "source__customer__username",
        "destination__customer__username",
    )
    list_select_related = ("source", "destination", "actor")
    date_hierarchy = "created_at"

    @admin.display(description="by", ordering="actor")
    def by(self, obj):
        return actor_display(obj.actor, obj.actor_label)


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "account",
        "amount",
        "status",
        "captured_amount",
        "expires_at",
        "resolved_at",
        "release_reason",
    )
    list_filter = ("status",)
    search_fields = ("idempotency_key", "account__code", "account__customer__username")
    list_select_related = ("account",)
