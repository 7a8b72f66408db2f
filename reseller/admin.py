from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_forms import ReadOnlyAdmin
from reseller.models import Activation, PurchaseAttempt, UpstreamOrphan


class PurchaseAttemptInline(admin.TabularInline):
    """Every provider tried for this order, in order: the routing history."""

    model = PurchaseAttempt
    fields = ("created_at", "provider", "price", "outcome", "raw", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Activation)
class ActivationAdmin(ReadOnlyAdmin):
    """Orders are changed only by the lifecycle services; the admin reads them."""

    list_display = (
        "id",
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
    list_filter = ("state", "provider", "upstream_pending", "service")
    search_fields = ("=id", "phone", "upstream_id", "order_id", "customer__username", "code")
    list_select_related = ("customer", "provider", "service", "country")
    date_hierarchy = "created_at"
    raw_id_fields = ("customer",)
    inlines = (PurchaseAttemptInline,)

    @admin.display(description="hold")
    def hold_link(self, obj):
        if not obj.hold_id:
            return "-"
        url = reverse("admin:billing_hold_change", args=[obj.hold_id])
        return format_html('<a href="{}">#{}</a>', url, obj.hold_id)


@admin.register(UpstreamOrphan)
class UpstreamOrphanAdmin(ReadOnlyAdmin):
    """Live upstream numbers reconciliation found unowned: watched until provably orphaned, then cancelled."""

    list_display = ("id", "provider", "upstream_id", "phone", "service_code", "first_seen_at", "outcome", "resolved_at")
    list_filter = ("outcome", "provider")
    search_fields = ("upstream_id", "phone")
    list_select_related = ("provider",)
