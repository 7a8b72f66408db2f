"""The admin of billing's markup rules, here in upstream: the page shows, filters and searches rules
by provider slot, service code and country name, which billing does not know (billing never reads
upstream's tables; upstream may import billing). Registered by upstream/admin.py."""

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from accounts.admin_forms import AuditHistoryMixin
from billing.models import MarkupRule
from billing.pricing import EXAMPLE_COST, rule_label, rule_quote, with_target_names
from billing.services import markup_check_targets


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
class MarkupRuleAdmin(AuditHistoryMixin, admin.ModelAdmin):
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
    list_select_related = ("customer",)
    # Search boxes, not raw ids: each target's own admin answers the search (its search_fields).
    autocomplete_fields = ("provider", "country", "service", "customer")
    readonly_fields = ("example_explained", "updated_at")

    def get_queryset(self, request):
        return with_target_names(super().get_queryset(request))  # slots and codes in the page's query

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
