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
