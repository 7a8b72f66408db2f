"""Admin helpers shared by every app: a read-only base and actions that ask for a form first."""

from django.contrib import admin
from django.template.response import TemplateResponse


class ReadOnlyAdmin(admin.ModelAdmin):
    """For append-only records (ledger rows, audit events): view, never add, change or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def action_with_form(modeladmin, request, queryset, *, form_class, action, title, submit_label, apply, intro=""):
    """Show `form_class` for the selected rows; on a valid POST call `apply(form.cleaned_data)`."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        apply(form.cleaned_data)
        return None
    return TemplateResponse(
        request,
        "admin/action_form_page.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "form": form,
            "queryset": queryset,
            "action": action,
            "submit_label": submit_label,
            "opts": modeladmin.model._meta,
        },
    )


def audit_trail_url(model, object_id) -> str:
    """The audit trail (django-auditlog's entries) of one object, in the admin."""
    from django.contrib.contenttypes.models import ContentType
    from django.urls import reverse

    content_type = ContentType.objects.get_for_model(model)
    return reverse("admin:auditlog_logentry_changelist") + f"?object={content_type.pk}:{object_id}"


class AuditHistoryMixin:
    """The change page's "History" button opens the object's audit trail: who changed what, and when."""

    def history_view(self, request, object_id, extra_context=None):
        from django.shortcuts import redirect

        return redirect(audit_trail_url(self.model, object_id))
