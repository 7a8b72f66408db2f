from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_forms import ReadOnlyAdmin
from billing.pricing import PriceBook
from upstream.models import Country, Offer, Provider, Service
from upstream.providers.base import ProviderError
from upstream.providers.sandbox import parse_config
from upstream.services import catalogue_sync


class ProviderForm(forms.ModelForm):
    """The API key is write-only: a password input that never shows the stored key
    and keeps it when left empty."""

    api_key = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="our API key at the upstream; leave empty to keep the current one",
    )

    class Meta:
        model = Provider
        fields = (
            "slot",
            "name",
            "protocol",
            "base_url",
            "api_key",
            "currency",
            "rate_to_pkr",
            "enabled",
            "priority",
            "config",
        )

    def clean_api_key(self) -> str:
        key = (self.cleaned_data.get("api_key") or "").strip()
        return key or (self.instance.api_key if self.instance.pk else "")

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("a 3-letter ISO code, e.g. PKR, USD, RUB")
        return currency

    def clean_rate_to_pkr(self):
        rate = self.cleaned_data.get("rate_to_pkr")
        if rate is not None and rate <= 0:
            raise forms.ValidationError("the rate must be positive (PKR per unit of the provider's currency)")
        return rate

    def clean(self):
        data = super().clean()
        protocol = data.get("protocol")
        if protocol and protocol != Provider.Protocol.SANDBOX:
            if not data.get("base_url"):
                self.add_error("base_url", "required for this protocol")
            if not data.get("api_key") and "api_key" not in self.errors:
                self.add_error("api_key", "required for this protocol")
        if protocol == Provider.Protocol.SANDBOX and "config" in data:
            try:
                parse_config(data["config"])
            except ProviderError as exc:
                self.add_error("config", str(exc))
        return data


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = (
        "slot",
        "name",
        "protocol",
        "enabled",
        "priority",
        "currency",
        "rate_to_pkr",
        "balance",
        "balance_checked_at",
        "offers_link",
    )
    list_display_links = ("slot", "name")
    list_filter = ("protocol", "enabled")
    search_fields = ("name", "base_url")
    readonly_fields = ("balance", "balance_checked_at", "created_at")
    actions = ("sync_catalogue",)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj) and not (obj is None and self.has_add_permission(request)):
            # View-only pages render every field as text: the key must not be one of them.
            fields = [name for name in fields if name != "api_key"]
        return fields

    @admin.display(description="offers")
    def offers_link(self, obj):
        url = reverse("admin:upstream_offer_changelist") + f"?provider__id__exact={obj.pk}"
        return format_html('<a href="{}">view</a>', url)

    @admin.action(description="Sync catalogue now", permissions=["change"])
    def sync_catalogue(self, request, queryset):
        for provider in queryset.order_by("slot"):
            try:
                result = catalogue_sync(provider=provider)
            except ProviderError as exc:
                detail = str(exc).replace(provider.api_key, "***") if provider.api_key else str(exc)
                self.message_user(
                    request, f"slot {provider.slot}: sync failed ({type(exc).__name__}) {detail}", level=messages.ERROR
                )
                continue
            self.message_user(request, result.summary())


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "name_ru", "visible", "retry", "rent", "multi_service")
    list_filter = ("visible", "rent")
    search_fields = ("=id", "name", "name_ru")


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "name")
    search_fields = ("code", "name")


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ("provider", "country", "service", "cost", "cost_pkr", "sell_price", "stock", "updated_at")
    list_filter = (
        "provider",
        ("country", admin.RelatedOnlyFieldListFilter),
        ("service", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("service__code", "service__name", "country__name", "provider__name")
    list_select_related = ("provider", "country", "service")
    show_full_result_count = False  # a real price list has ~100k rows

    @admin.display(description="cost (PKR)")
    def cost_pkr(self, obj):
        return obj.provider.to_pkr(obj.cost)

    def changelist_view(self, request, extra_context=None):
        self._book = PriceBook.load(customer_id=None)  # the rules, once per page
        return super().changelist_view(request, extra_context)

    @admin.display(description="sell price (PKR)")
    def sell_price(self, obj):
        """The price for customers without customer-specific rules."""
        book = getattr(self, "_book", None) or PriceBook.load(customer_id=None)
        quote = book.quote(
            cost_pkr=obj.provider.to_pkr(obj.cost),
            provider_id=obj.provider_id,
            country_id=obj.country_id,
            service_id=obj.service_id,
        )
        return format_html('<span title="{}">{}</span>', quote.explanation, quote.price)
