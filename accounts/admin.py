from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin_forms import ReadOnlyAdmin, action_with_form
from accounts.models import AuditEvent, Customer
from accounts.services import customer_block, customer_rotate_key, customer_unblock


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
    fields = ("created_at", "action", "reason", "actor")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(UserAdmin):
    form = CustomerChangeForm
    add_form = CustomerCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "usable_password", "password1", "password2")}),
    )
    list_display = ("username", "email", "key_prefix", "is_blocked", "balance", "is_staff", "date_joined")
    list_filter = ("is_blocked", "is_staff", "is_active")
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

    @admin.action(description="Block selected customers (asks for a reason)")
    def block_customers(self, request, queryset):
        def apply(data):
            n = sum(customer_block(customer=c, reason=data["reason"], actor=request.user) for c in queryset)
            self.message_user(request, f"blocked {n} customer(s)")

        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            action="block_customers",
            title="Block customers",
            submit_label="Block",
            apply=apply,
            intro="Blocked customers get ACCOUNT_BLOCKED on every call and cannot spend.",
        )

    @admin.action(description="Unblock selected customers")
    def unblock_customers(self, request, queryset):
        n = sum(customer_unblock(customer=c, actor=request.user) for c in queryset)
        self.message_user(request, f"unblocked {n} customer(s)")

    @admin.action(description="Rotate API keys of selected customers (new keys shown once)")
    def rotate_keys(self, request, queryset):
        for customer in queryset:
            key = customer_rotate_key(customer=customer, actor=request.user, reason="rotated in admin")
            messages.warning(request, f"new API key of {customer.username} (shown once, copy it now): {key}")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "action", "reason", "actor")
    list_filter = ("action",)
    search_fields = ("customer__username", "reason")
    list_select_related = ("customer", "actor")
