"""Admin of customer webhooks: each customer's URL, secret and private-address permission, and
every delivery with its tries (retry action for those given up). Registered by reseller/admin.py."""

import socket
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin

from accounts.admin import CustomerAdmin
from accounts.admin_forms import ReadOnlyAdmin
from reseller.models import CustomerWebhook, WebhookDelivery, new_webhook_secret
from reseller.notify import http
from reseller.notify.deliveries import webhook_retry


def destination_problem(url: str, *, allow_private: bool) -> str:
    """What is wrong with `url` as a webhook URL now ("" if nothing): its form, and, unless
    private addresses are allowed, what its host resolves to."""
    problem = http.url_problem(url)
    if problem or allow_private or settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return problem
    parts = urlsplit(url)
    try:
        http.resolve_allowed(parts.hostname, parts.port or (443 if parts.scheme.lower() == "https" else 80))
    except (socket.gaierror, UnicodeError):
        return f"the host {parts.hostname!r} does not resolve"
    except ValueError as exc:
        return f"{exc}; an address on your own network needs 'allow private'"
    return ""


class CustomerWebhookForm(forms.ModelForm):
    class Meta:
        model = CustomerWebhook
        fields = ("customer", "url", "allow_private")

    def clean(self):  # shared by the inline's form below
        data = super().clean()
        url = (data.get("url") or "").strip()
        data["url"] = url
        if url:
            problem = destination_problem(url, allow_private=bool(data.get("allow_private")))
            if problem:
                self.add_error("url", problem)
        return data


class CustomerWebhookInlineForm(CustomerWebhookForm):
    class Meta(CustomerWebhookForm.Meta):
        fields = ("url", "allow_private")


class CustomerWebhookInline(admin.StackedInline):
    """On the customer's own page (accounts' CustomerAdmin): the URL, the permission, the secret."""

    model = CustomerWebhook
    form = CustomerWebhookInlineForm
    fields = ("url", "allow_private", "secret")
    readonly_fields = ("secret",)
    extra = 1
    max_num = 1
    verbose_name = verbose_name_plural = "webhook (SMS POSTed to the customer, docs/webhooks.md)"

    def get_fields(self, request, obj=None):
        return without_secret(self, request, obj, super().get_fields(request, obj))


def without_secret(modeladmin, request, obj, fields):
    """The signing secret only for those who may change the webhook: with it anyone could sign
    (forge) deliveries to the customer, so view-only staff (operators) never see it."""
    if modeladmin.has_change_permission(request, obj):
        return fields
    return [name for name in fields if name != "secret"]


CustomerAdmin.inlines = (*CustomerAdmin.inlines, CustomerWebhookInline)


@admin.register(CustomerWebhook)
class CustomerWebhookAdmin(admin.ModelAdmin):
    form = CustomerWebhookForm
    list_display = ("customer", "url", "allow_private", "updated_at")
    list_filter = ("allow_private",)
    search_fields = ("customer__username", "url")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    readonly_fields = ("secret", "created_at", "updated_at")
    fields = ("customer", "url", "allow_private", "secret", "created_at", "updated_at")
    actions = ("rotate_secrets",)

    def get_fields(self, request, obj=None):
        return without_secret(self, request, obj, super().get_fields(request, obj))

    @admin.action(
        description="Rotate the signing secret of the selected webhooks (tell the customers)", permissions=["change"]
    )
    def rotate_secrets(self, request, queryset):
        for hook in queryset:
            CustomerWebhook.objects.filter(pk=hook.pk).update(secret=new_webhook_secret())
        self.message_user(request, f"new secret for {queryset.count()} webhook(s): shown on each one's page")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "customer",
        "order_kind",
        "order_pk",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "next_try_at",
        "delivered_at",
    )
    list_filter = ("state", "order_kind")
    search_fields = ("customer__username", "=uid", "url", "=order_pk")
    list_select_related = ("customer",)
    actions = ("retry",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_retry_permission(self, request):
        """The list is read-only for everyone; retrying needs the change permission of deliveries."""
        return request.user.has_perm("reseller.change_webhookdelivery")

    @admin.action(description="Retry the selected deliveries (8 new tries, to the URL set now)", permissions=["retry"])
    def retry(self, request, queryset):
        n = sum(webhook_retry(delivery=d) for d in queryset)
        self.message_user(request, f"{n} delivery(ies) queued again (delivered ones are left alone)")
