from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_forms import AuditHistoryMixin, ReadOnlyAdmin, action_with_form
from accounts.errors import StaffAccount
from accounts.models import AuditEvent, Customer, StaffUser, actor_display
from accounts.services import customer_block, customer_rotate_key, customer_unblock

STAFF = Q(is_staff=True) | Q(is_superuser=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class CustomerCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = Customer
        fields = ("username", "email")


class CustomerChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = Customer


class AuditEventInline(admin.TabularInline):
    model = AuditEvent
    fk_name = "customer"
    fields = ("created_at", "action", "reason", "by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description="by")
    def by(self, obj):
        return obj.actor_display


@admin.register(Customer)
class CustomerAdmin(AuditHistoryMixin, UserAdmin):
    """Customers: the accounts that buy through the API. Staff users are listed apart (StaffUserAdmin);
    the customer page with balance, orders and the ledger is assembled in reseller/customer_admin.py."""

    form = CustomerChangeForm
    add_form = CustomerCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "usable_password", "password1", "password2")}),
    )
    list_display = ("username", "email", "key_prefix", "is_blocked", "balance", "is_active", "date_joined")
    list_filter = ("is_blocked", "is_active")
    list_select_related = ("wallet",)
    readonly_fields = ("api_key_prefix", "api_key_created_at", "is_blocked", "blocked_reason", "blocked_at", "ledger")
    fieldsets = UserAdmin.fieldsets + (
        (
            "API access",
            {
                "fields": (
                    "api_key_prefix",
                    "api_key_created_at",
                    "is_blocked",
                    "blocked_reason",
                    "blocked_at",
                    "ledger",
                )
            },
        ),
    )
    inlines = (AuditEventInline,)
    actions = ("block_customers", "unblock_customers", "rotate_keys")

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(STAFF)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description="key")
    def key_prefix(self, obj):
        return f"{obj.api_key_prefix}…" if obj.api_key_prefix else "-"

    @admin.display(description="available PKR")
    def balance(self, obj):
        wallet = getattr(obj, "wallet", None)
        return wallet.available if wallet else "-"

    @admin.display(description="ledger")
    def ledger(self, obj):
        if not obj.pk:
            return "-"
        url = reverse("admin:billing_transfer_changelist") + f"?customer={obj.pk}"
        return format_html('<a href="{}">every transfer of this customer</a>', url)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            AuditEvent.objects.create(customer=obj, actor=request.user, action=AuditEvent.Action.CREATED)
            key = customer_rotate_key(customer=obj, actor=request.user, reason="first key")
            messages.warning(request, f"API key of {obj.username} (shown once, copy it now): {key}")

    @admin.action(description="Block selected customers (asks for a reason)", permissions=["change"])
    def block_customers(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            customer_block,
            verb="block",
            intro="Blocked customers get ACCOUNT_BLOCKED on every call and cannot spend.",
        )

    @admin.action(description="Unblock selected customers (asks for a reason)", permissions=["change"])
    def unblock_customers(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            customer_unblock,
            verb="unblock",
            intro="Unblocked customers can use the API and spend again. The reason is kept in their audit events.",
        )

    def _with_reason(self, request, queryset, service, *, verb: str, intro: str):
        """Block or unblock (`service`) the selected customers, for the reason the form asks for."""

        def apply(data):
            n = sum(service(customer=c, reason=data["reason"], actor=request.user) for c in queryset)
            self.message_user(request, f"{verb}ed {n} customer(s)")

        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            action=f"{verb}_customers",
            title=f"{verb.capitalize()} customers",
            submit_label=verb.capitalize(),
            apply=apply,
            intro=intro,
        )

    @admin.action(description="Rotate API keys of selected customers (new keys shown once)", permissions=["change"])
    def rotate_keys(self, request, queryset):
        for customer in queryset:
            try:
                key = customer_rotate_key(customer=customer, actor=request.user, reason="rotated in admin")
            except StaffAccount as exc:
                messages.error(request, str(exc))
                continue
            messages.warning(request, f"new API key of {customer.username} (shown once, copy it now): {key}")


class StaffUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = StaffUser
        fields = ("username", "email")


class StaffUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = StaffUser


@admin.register(StaffUser)
class StaffUserAdmin(AuditHistoryMixin, UserAdmin):
    """Staff users (is_staff or is_superuser): they run the admin, have no wallet and no API key."""

    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    add_fieldsets = CustomerAdmin.add_fieldsets

    list_display = ("username", "email", "is_superuser", "is_active", "last_login", "date_joined")
    list_filter = ("is_superuser", "is_active", "groups")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(STAFF)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.is_staff = True  # added here: staff, never a customer
        super().save_model(request, obj, form, change)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "action", "reason", "by")
    list_filter = ("action",)
    search_fields = ("customer__username", "reason")
    list_select_related = ("customer", "actor")

    @admin.display(description="by", ordering="actor")
    def by(self, obj):
        return actor_display(obj.actor, obj.actor_label)


# --- the audit trail (django-auditlog) ----------------------------------------------------------


class ObjectFilter(admin.SimpleListFilter):
    """`?object=<content type id>:<pk>`: the entries of one object (its page's History button)."""

    title = "object"
    parameter_name = "object"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, f"object {value}")] if value else []

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        content_type, _, pk = self.value().partition(":")
        if not (content_type.isascii() and content_type.isdecimal() and len(content_type) <= 10):
            return queryset.none()
        return queryset.filter(content_type_id=int(content_type), object_pk=pk)


admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditTrailAdmin(LogEntryAdmin):
    """Who changed providers, services, countries, markups, customers and servers, and when.
    An entry written by a management command names its label (`cli:<OS user>@<host>`)."""

    list_display = ["created", "resource_url", "action", "msg_short", "by"]
    list_filter = ["action", ObjectFilter, *LogEntryAdmin.list_filter[1:]]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="by")
    def by(self, obj):
        label = (obj.additional_data or {}).get("actor_label", "") if isinstance(obj.additional_data, dict) else ""
        return actor_display(obj.actor, label) if (obj.actor or label) else "system"
