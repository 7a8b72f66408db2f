import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_forms import ReadOnlyAdmin, action_with_form
from billing.errors import BillingError, InvalidAmount
from billing.models import Hold, LedgerAccount, MarkupRule, Transfer
from billing.pricing import EXAMPLE_COST, rule_label, rule_quote
from billing.services import markup_check_targets, wallet_adjust, wallet_topup


class CreditForm(forms.Form):
    KIND_CHOICES = (("topup", "Top-up (customer paid us)"), ("adjustment", "Correction (+ credits, - debits)"))
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    amount = forms.CharField(help_text="PKR with at most two decimals; a correction may be negative")
    reason = forms.CharField(max_length=500, help_text="stored on the transfer")


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

    @admin.action(description="Top up or correct the selected wallet")
    def credit_wallet(self, request, queryset):
        wallets = list(queryset.filter(kind=LedgerAccount.Kind.WALLET))
        if len(wallets) != 1:
            self.message_user(request, "select exactly one customer wallet", level=messages.ERROR)
            return None

        def apply(data):
            wallet = wallets[0]
            key = f"admin:{data['kind']}:{uuid.uuid4()}"
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
    list_display = ("id", "created_at", "kind", "amount", "source", "destination", "memo", "actor")
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


class MarkupRuleForm(forms.ModelForm):
    """The model's constraints, plus the rules of markup_set: targets consistent with the scope
    (docs/pricing.md) and one rule per scope and target combination."""

    class Meta:
        model = MarkupRule
        fields = (
            "scope",
            "provider",
            "country",
            "service",
            "customer",
            "percent",
            "fixed",
            "min_margin",
            "round_to",
            "enabled",
            "note",
        )

    def clean(self):
        data = super().clean()
        targets = {f"{name}_id": getattr(data.get(name), "pk", None) for name in ("provider", "country", "service")}
        targets["customer_id"] = getattr(data.get("customer"), "pk", None)
        if "scope" not in data:
            return data
        try:
            markup_check_targets(scope=data["scope"], **targets)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        twin = MarkupRule.objects.filter(scope=data["scope"], **targets).exclude(pk=self.instance.pk).first()
        if twin is not None:
            raise forms.ValidationError(f"rule #{twin.pk} already has this scope and these targets: edit that one")
        return data


@admin.register(MarkupRule)
class MarkupRuleAdmin(admin.ModelAdmin):
    form = MarkupRuleForm
    list_display = (
        "id",
        "scope",
        "targets",
        "percent",
        "fixed",
        "min_margin",
        "round_to",
        "enabled",
        "note",
        "updated_at",
        "example",
    )
    list_display_links = ("id", "scope")
    list_filter = ("scope", "enabled", "provider")
    search_fields = ("note", "customer__username", "service__code", "service__name", "country__name")
    list_select_related = ("provider", "country", "service", "customer")
    raw_id_fields = ("country", "service", "customer")
    readonly_fields = ("example_explained", "updated_at")

    @admin.display(description="targets")
    def targets(self, obj):
        return rule_label(obj)

    @admin.display(description=f"price for cost {EXAMPLE_COST}")
    def example(self, obj):
        quote = rule_quote(rule=obj, cost_pkr=EXAMPLE_COST)
        return format_html('<span title="{}">{}</span>', quote.explanation, quote.price)

    @admin.display(description=f"example (cost {EXAMPLE_COST} PKR)")
    def example_explained(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return rule_quote(rule=obj, cost_pkr=EXAMPLE_COST).explanation
