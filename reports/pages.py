"""The operators' read-only pages inside the admin (the report, the reconciliation): who may see
them, and the admin entry each one hangs on (a proxy model whose only URL is the page)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path

PERMISSION = "reports.view_reports"


def can_view_reports(user) -> bool:
    """Staff with the report permission (superusers have it): money figures, reports, reconciliation."""
    return user.is_active and user.is_staff and user.has_perm(PERMISSION)


class ReportPageAdmin(admin.ModelAdmin):
    """A page, not a list: shown to `can_view_reports` users, nothing to add, change or delete.
    `url_name` is the page's URL name (also `<url_name>_changelist`, which the admin index links);
    `page(request)` renders it."""

    url_name = ""

    def has_module_permission(self, request):
        return can_view_reports(request.user)

    def has_view_permission(self, request, obj=None):
        return can_view_reports(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self._page)
        return [path("", view, name=self.url_name), path("", view, name=f"{self.url_name}_changelist")]

    def _page(self, request):
        if not can_view_reports(request.user):
            raise PermissionDenied
        return self.page(request)

    def page(self, request):
        raise NotImplementedError
