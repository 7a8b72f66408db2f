"""The "operators" group (docs/operators-guide.md, "Operators"): staff in it read the reports,
the dashboard, the reconciliation, orders, the ledger, providers, offers, customers and the rest
of the admin, and change nothing. `operators_group_sync()` creates it or brings it up to date
(idempotent): after every migrate (reports.apps) and by the command `operators_group`."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

GROUP = "operators"
REPORT_PERMISSION = ("reports", "view_reports")
# The apps whose `view_*` permissions an operator has: every model of ours in the admin, and the
# audit trail (django-auditlog: who changed providers, services, markups, customers).
APPS = ("accounts", "billing", "upstream", "reseller", "reports", "auditlog")


def operators_permissions(using: str = "default"):
    return Permission.objects.using(using).filter(
        Q(content_type__app_label__in=APPS, codename__startswith="view_")
        | Q(content_type__app_label=REPORT_PERMISSION[0], codename=REPORT_PERMISSION[1])
    )


def operators_group_sync(*, using: str = "default") -> tuple[Group, bool, int]:
    """(group, created, number of permissions). Permissions it should not have are removed."""
    for label in APPS:  # the permissions of apps later in INSTALLED_APPS may not exist yet
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using)
    group, created = Group.objects.using(using).get_or_create(name=GROUP)
    wanted = list(operators_permissions(using))
    group.permissions.set(wanted)
    return group, created, len(wanted)
