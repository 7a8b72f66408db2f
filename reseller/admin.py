from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.admin_forms import AuditHistoryMixin, ReadOnlyAdmin, action_with_form
from reseller.models import (
    Activation,
    CheapServer,
    EmailLetter,
    EmailOrder,
    EmailServer,
    PurchaseAttempt,
    Rental,
    RentalRenewal,
    RentalServer,
    RentalSms,
    UpstreamOrphan,
)

ATTEMPT_COLUMNS = ("created_at", "provider", "price", "outcome", "raw", "duration_ms")


@admin.register(Activation)
class ActivationAdmin(ReadOnlyAdmin):
    """Orders (activations and cheap numbers, told apart by `kind`) are changed only by the
    lifecycle services; the admin reads them."""

    list_display = (
        "id",
        "kind",
        "created_at",
        "customer",
        "state",
        "provider",
        "service",
        "country",
        "phone",
        "price",
        "cost_pkr",
        "code",
        "upstream_pending",
        "hold_link",
    )
    list_filter = ("kind", "state", "provider", "upstream_pending", "service", "cheap_server")
    search_fields = ("=id", "phone", "upstream_id", "order_id", "customer__username", "code")
    list_select_related = ("customer", "provider", "service", "country")
    date_hierarchy = "created_at"
    raw_id_fields = ("customer", "parent")  # parent: never a select of every activation
    readonly_fields = ("attempts",)

    @admin.display(description="hold")
    def hold_link(self, obj):
        if not obj.hold_id:
            return "-"
        url = reverse("admin:billing_hold_change", args=[obj.hold_id])
        return format_html('<a href="{}">#{}</a>', url, obj.hold_id)

    @admin.display(description="purchase attempts (every provider tried, in order)")
    def attempts(self, obj):
        rows = PurchaseAttempt.objects.filter(order_kind=obj.kind, order_pk=obj.pk).select_related("provider")
        body = format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((getattr(a, c),) for c in ATTEMPT_COLUMNS)),) for a in rows),
        )
        head = format_html_join("", "<th>{}</th>", ((c,) for c in ATTEMPT_COLUMNS))
        return format_html("<table><tr>{}</tr>{}</table>", head, body) if rows else "-"


@admin.register(CheapServer)
class CheapServerAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """cheap_handler.php's servers: what getServers lists and buyNumber sells."""

    list_display = ("id", "type", "name", "provider", "country", "price", "enabled", "created_at")
    list_filter = ("type", "enabled", "provider")
    list_editable = ("enabled",)
    search_fields = ("name",)
    list_select_related = ("provider", "country")
    filter_horizontal = ("services",)
    autocomplete_fields = ("country",)


@admin.register(UpstreamOrphan)
class UpstreamOrphanAdmin(ReadOnlyAdmin):
    """Live upstream numbers reconciliation found unowned: watched until provably orphaned, then cancelled."""

    list_display = ("id", "provider", "upstream_id", "phone", "service_code", "first_seen_at", "outcome", "resolved_at")
    list_filter = ("outcome", "provider")
    search_fields = ("upstream_id", "phone")
    list_select_related = ("provider",)


class EndRentalForm(forms.Form):
    reason = forms.CharField(max_length=150, widget=forms.Textarea(attrs={"rows": 3}))


class RentalSmsInline(admin.TabularInline):
    model = RentalSms
    fields = ("received_at", "sender", "text", "code", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RentalRenewalInline(admin.TabularInline):
    model = RentalRenewal
    fields = ("created_at", "hours", "state", "price", "cost_pkr", "expires_before", "expires_after", "failure")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Rental)
class RentalAdmin(ReadOnlyAdmin):
    """Rentals with their SMS and renewals; changed only by the lifecycle services."""

    list_display = (
        "id",
        "created_at",
        "customer",
        "state",
        "server",
        "provider",
        "country",
        "service",
        "phone",
        "hours",
        "price",
        "cost_pkr",
        "expires_at",
    )
    list_filter = ("state", "server", "provider", "country")
    search_fields = ("=id", "phone", "upstream_id", "customer__username")
    list_select_related = ("customer", "provider", "service", "country")
    date_hierarchy = "created_at"
    raw_id_fields = ("customer",)
    inlines = (RentalSmsInline, RentalRenewalInline)
    actions = ("end_rentals",)

    def has_end_permission(self, request):
        """The list is read-only for everyone; ending rentals needs the change permission of rentals."""
        return request.user.has_perm("reseller.change_rental")

    @admin.action(
        description="End selected rentals (with a reason; refunded only as the rules allow)", permissions=["end"]
    )
    def end_rentals(self, request, queryset):
        from reseller.rentals.admin_actions import rental_end_by_admin

        def apply(data):
            for rental in queryset.select_related("provider"):
                outcome = rental_end_by_admin(rental=rental, actor=request.user, reason=data["reason"])
                self.log_change(request, rental, f"ended by admin: {outcome} ({data['reason']})")
                messages.info(request, f"rental #{rental.pk}: {outcome}")

        return action_with_form(
            self,
            request,
            queryset,
            form_class=EndRentalForm,
            action="end_rentals",
            title="End rentals",
            submit_label="End",
            apply=apply,
            intro=(
                "A rental still inside the upstream's refund window (20 minutes, no SMS, never renewed) is "
                "cancelled and refunded in full when the upstream refunds it; any other is finished without "
                "a refund. The reason and your name are kept on the rental and in its history."
            ),
        )


@admin.register(RentalServer)
class RentalServerAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """rental-handler.php's `provider` 1 and 2: which provider slot serves each."""

    list_display = ("server", "provider", "enabled")
    list_editable = ("enabled",)


# --- e-mails -------------------------------------------------------------------------------------

MONEY_COLUMNS = ("created_at", "kind", "amount", "source", "destination", "memo")


class EmailLetterInline(admin.TabularInline):
    model = EmailLetter
    fields = ("received_at", "sender", "subject", "code", "text", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EmailOrder)
class EmailOrderAdmin(ReadOnlyAdmin):
    """E-mail orders with their letters and money; changed only by the lifecycle services."""

    list_display = (
        "id",
        "created_at",
        "customer",
        "state",
        "server",
        "provider",
        "domain",
        "service",
        "email",
        "price",
        "cost_pkr",
        "expires_at",
        "upstream_pending",
    )
    list_filter = (
        "state",
        "server",
        "provider",
        "domain",
        "upstream_pending",
        ("customer", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("=id", "email", "upstream_id", "customer__username", "site")
    list_select_related = ("customer", "provider", "service")
    date_hierarchy = "created_at"
    raw_id_fields = ("customer",)
    readonly_fields = ("money", "attempts")
    inlines = (EmailLetterInline,)

    @admin.display(description="money (every ledger transfer of this order)")
    def money(self, obj):
        from billing.models import Transfer

        rows = Transfer.objects.filter(order_kind=obj.kind, order_pk=obj.pk).select_related("source", "destination")
        body = format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((getattr(t, c),) for c in MONEY_COLUMNS)),) for t in rows),
        )
        head = format_html_join("", "<th>{}</th>", ((c,) for c in MONEY_COLUMNS))
        hold = ""
        if obj.hold_id:
            url = reverse("admin:billing_hold_change", args=[obj.hold_id])
            hold = format_html('hold <a href="{}">#{}</a>; ', url, obj.hold_id)
        table = format_html("<table><tr>{}</tr>{}</table>", head, body) if rows else "no transfers"
        return format_html("{}{}", hold, table)

    @admin.display(description="purchase attempts")
    def attempts(self, obj):
        return ActivationAdmin.attempts(self, obj)


@admin.register(EmailServer)
class EmailServerAdmin(AuditHistoryMixin, admin.ModelAdmin):
    """email_handler.php's `server` 1 and 2: which provider slot serves each."""

    list_display = ("server", "provider", "enabled", "lifetime_seconds")
    list_editable = ("enabled", "lifetime_seconds")


import reseller.customer_admin  # noqa: E402,F401 - the customer page: balance, orders, ledger, top-up
import reseller.notify.admin  # noqa: E402,F401 - customer webhooks and their deliveries
