import logging

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin_forms import AuditHistoryMixin, ReadOnlyAdmin
from billing.pricing import PriceBook
from upstream import markup_admin  # noqa: F401 - registers billing's MarkupRule admin
from upstream.destinations import RefusedDestination, url_check
from upstream.health import circuit_state, health_text, low_balance, sync_problem
from upstream.models import (
    Country,
    CountryMapping,
    EmailOffer,
    EmailService,
    Offer,
    Operator,
    Provider,
    RentOffer,
    Service,
    ServiceMapping,
)
from upstream.providers.base import ProviderError, error_detail
from upstream.providers.http import redact
from upstream.services import (
    InvalidProvider,
    catalogue_sync,
    provider_config_check,
    provider_currency_check,
    provider_webhook_secret,
)

log = logging.getLogger(__name__)


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
            "low_balance_threshold",
            "config",
        )

    def clean_base_url(self) -> str:
        url = (self.cleaned_data.get("base_url") or "").strip()
        if url:
            try:  # the rule of provider_add (upstream/destinations.py)
                url = url_check(url)
            except RefusedDestination as exc:
                raise forms.ValidationError(str(exc)) from None
        return url

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
        if protocol and data.get("currency"):
            try:
                provider_currency_check(protocol, data["currency"])
            except InvalidProvider as exc:
                self.add_error("currency", str(exc))
        if protocol and "config" in data:
            try:  # what provider_add refuses (the sandbox's keys, otpget-cheap's type and country)
                provider_config_check(protocol, data["config"], slot=data.get("slot"))
            except InvalidProvider as exc:
                self.add_error("config", str(exc))
        return data


@admin.register(Provider)
class ProviderAdmin(AuditHistoryMixin, admin.ModelAdmin):
    form = ProviderForm
    list_display = (
        "slot",
        "name",
        "protocol",
        "enabled",
        "priority",
        "currency",
        "rate_to_pkr",
        "balance_display",
        "balance_checked_at",
        "health",
        "circuit",
        "problems",
        "offers_link",
    )
    list_display_links = ("slot", "name")
    list_filter = ("protocol", "enabled")
    search_fields = ("name", "protocol", "base_url")
    readonly_fields = (
        "balance",
        "balance_checked_at",
        "health",
        "circuit",
        "last_sync_at",
        "last_sync_error",
        "last_sync_error_at",
        "last_balance_error",
        "last_balance_error_at",
        "webhook_url",
        "created_at",
    )
    actions = ("sync_catalogue", "close_circuit")

    @admin.display(description="balance")
    def balance_display(self, obj):
        if obj.balance is None:
            return "-"
        if low_balance(obj):
            return format_html(
                '<strong style="color:#ba2121">{} {} (low: below {})</strong>',
                obj.balance,
                obj.currency,
                obj.low_balance_threshold,
            )
        return f"{obj.balance} {obj.currency}"

    @admin.display(description="health (recent)")
    def health(self, obj):
        return health_text(obj)

    @admin.display(description="sync / balance")
    def problems(self, obj):
        """The last catalogue-sync or balance error not yet followed by a success, in red."""
        problem = sync_problem(obj)
        if problem:
            return format_html('<strong style="color:#ba2121">{}</strong>', problem)
        if obj.last_sync_at:
            return f"synced {timezone.localtime(obj.last_sync_at):%Y-%m-%d %H:%M}"
        return "never synced"

    @admin.display(description="circuit")
    def circuit(self, obj):
        state = circuit_state(obj)
        if state == "open":
            return format_html(
                '<strong style="color:#ba2121">open until {}</strong> ({} errors in a row)',
                obj.circuit_open_until.strftime("%H:%M:%S"),
                obj.consecutive_failures,
            )
        return f"{state} ({obj.consecutive_failures} errors in a row)" if obj.consecutive_failures else state

    @admin.display(description="webhook URL (give it to the upstream)")
    def webhook_url(self, obj):
        if not obj.pk:
            return "-"
        secret = provider_webhook_secret(provider=obj)
        path = reverse("upstream_webhook", kwargs={"provider_id": obj.pk, "secret": secret})
        return format_html("<code>{}</code>", self.request_root + path if hasattr(self, "request_root") else path)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self.request_root = request.build_absolute_uri("/").rstrip("/")
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.action(description="Close the circuit (retry the provider now)", permissions=["change"])
    def close_circuit(self, request, queryset):
        n = queryset.update(circuit_open_until=None, consecutive_failures=0)
        self.message_user(request, f"closed the circuit of {n} provider(s)")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj) and not (obj is None and self.has_add_permission(request)):
            # View-only pages render every field as text: neither the key nor the webhook URL (which
            # holds its secret, and would be created by showing it) may be one of them.
            fields = [name for name in fields if name not in ("api_key", "webhook_url")]
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
                # A summary, never the reply itself (an HTML page, an internal service's body): that goes to the log.
                log.warning(
                    "catalogue sync of provider slot %s failed: %s", provider.slot, redact(str(exc), provider.api_key)
                )
                detail = redact(error_detail(exc), provider.api_key)
                self.message_user(
                    request, f"slot {provider.slot}: sync failed ({type(exc).__name__}) {detail}", level=messages.ERROR
                )
                continue
            self.message_user(request, result.summary())


class SwitchActions:
    """The "Enable selected" and "Disable selected" actions for the operator's `enabled` switch of services and
    countries. Each row is saved on its own (not a bulk update), so the audit trail records who
    switched what; the next API request already sees it (no catalogue cache)."""

    actions = ("enable_selected", "disable_selected")

    def _switch(self, request, queryset, on: bool) -> None:
        changed = 0
        for row in queryset.filter(enabled=not on):
            row.enabled = on
            row.save(update_fields=["enabled"])
            self.log_change(request, row, [{"changed": {"fields": ["enabled"]}}])
            changed += 1
        what = "switched on: sold again from the next request" if on else "switched off: no longer listed or sold"
        self.message_user(request, f"{changed} {self.model._meta.verbose_name_plural} {what}.", messages.SUCCESS)

    @admin.action(description="Enable selected (sell them)", permissions=["change"])
    def enable_selected(self, request, queryset):
        self._switch(request, queryset, True)

    @admin.action(description="Disable selected (stop selling them)", permissions=["change"])
    def disable_selected(self, request, queryset):
        self._switch(request, queryset, False)


@admin.register(Country)
class CountryAdmin(SwitchActions, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("id", "name", "name_ru", "enabled", "visible", "retry", "rent", "multi_service")
    list_display_links = ("id", "name")
    list_editable = ("enabled",)
    list_filter = ("enabled", "visible", "rent")
    search_fields = ("=id", "name", "name_ru")


@admin.register(Service)
class ServiceAdmin(SwitchActions, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("id", "code", "name", "enabled")
    list_display_links = ("id", "code")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("code", "name")


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = (
        "provider",
        "country",
        "service",
        "cost",
        "cost_pkr",
        "sell_price",
        "price_explained",
        "stock",
        "updated_at",
    )
    readonly_fields = ("cost_pkr", "sell_price", "price_explained")
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

    def _quote(self, obj):
        """The price for customers without customer-specific rules, and how it was made."""
        book = getattr(self, "_book", None) or PriceBook.load(customer_id=None)
        return book.quote(
            cost_pkr=obj.provider.to_pkr(obj.cost),
            provider_id=obj.provider_id,
            country_id=obj.country_id,
            service_id=obj.service_id,
        )

    @admin.display(description="sell price (PKR)")
    def sell_price(self, obj):
        return self._quote(obj).price

    @admin.display(description="how the sell price is made")
    def price_explained(self, obj):
        return self._quote(obj).explanation


@admin.register(RentOffer)
class RentOfferAdmin(ReadOnlyAdmin):
    """What providers rent (catalogue sync fills it); service empty: the number for every service."""

    list_display = ("provider", "country", "service_display", "hours", "cost", "cost_pkr", "stock", "updated_at")
    list_filter = ("provider", "hours", ("country", admin.RelatedOnlyFieldListFilter))
    search_fields = ("service__code", "service__name", "country__name", "provider__name")
    list_select_related = ("provider", "country", "service")
    show_full_result_count = False

    @admin.display(description="service", ordering="service__code")
    def service_display(self, obj):
        return obj.service if obj.service_id else "full (every service)"

    @admin.display(description="cost (PKR)")
    def cost_pkr(self, obj):
        return obj.provider.to_pkr(obj.cost)


@admin.register(Operator)
class OperatorAdmin(ReadOnlyAdmin):
    """Mobile operators each provider sells per country (catalogue sync fills it from the upstream's
    own list); a purchase naming an operator goes only to providers listed here for it."""

    list_display = ("provider", "country", "code", "name", "first_seen_at", "updated_at")
    list_filter = ("provider", ("country", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "country__name")
    list_select_related = ("provider", "country")


@admin.register(EmailOffer)
class EmailOfferAdmin(ReadOnlyAdmin):
    """What providers sell of each mailbox domain (catalogue sync fills it); service empty: any site."""

    list_display = ("provider", "domain", "service_display", "name", "cost", "cost_pkr", "stock", "updated_at")
    list_filter = ("provider", "domain")
    search_fields = ("domain", "service", "name")
    list_select_related = ("provider",)

    @admin.display(description="service", ordering="service")
    def service_display(self, obj):
        return obj.service or "any site"

    @admin.display(description="cost (PKR)")
    def cost_pkr(self, obj):
        return obj.provider.to_pkr(obj.cost)


@admin.register(EmailService)
class EmailServiceAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """email_handler.php Server 1's services (`service_id`) and the site each waits a letter from."""

    list_display = ("code", "name", "site", "enabled")
    list_editable = ("enabled",)
    search_fields = ("code", "name", "site")


class MappedFilter(admin.SimpleListFilter):
    title = "mapped"
    parameter_name = "mapped"
    target = ""

    def lookups(self, request, model_admin):
        return (("no", "not mapped yet"), ("yes", "mapped"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(**{f"{self.target}__isnull": self.value() == "no"})
        return queryset


class ServiceMappedFilter(MappedFilter):
    target = "service"


class CountryMappedFilter(MappedFilter):
    target = "country"


@admin.register(ServiceMapping)
class ServiceMappingAdmin(admin.ModelAdmin):
    """An upstream's own service codes and ours. catalogue_sync adds every code an upstream
    with codes of its own publishes (matched by name where it can); map the rest here."""

    list_display = ("provider", "upstream_code", "upstream_name", "service")
    list_editable = ("service",)
    list_filter = ("provider", ServiceMappedFilter)
    search_fields = ("upstream_code", "upstream_name", "service__code", "service__name")
    list_select_related = ("provider", "service")
    autocomplete_fields = ("service",)


@admin.register(CountryMapping)
class CountryMappingAdmin(admin.ModelAdmin):
    list_display = ("provider", "upstream_code", "upstream_name", "country")
    list_editable = ("country",)
    list_filter = ("provider", CountryMappedFilter)
    search_fields = ("upstream_code", "upstream_name", "country__name")
    list_select_related = ("provider", "country")
    autocomplete_fields = ("country",)
