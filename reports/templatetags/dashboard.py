"""`{% dashboard %}`: the dashboard at the top of the admin index (templates/admin/index.html)."""

from django import template

from reports.dashboard import dashboard, money_cells

register = template.Library()


@register.inclusion_tag("admin/reports/dashboard.html", takes_context=True)
def dashboard_panel(context):
    request = context["request"]
    data = dashboard(request.user)
    if data["money"]:
        data["today_cells"] = money_cells(data["today"])
        data["month_cells"] = money_cells(data["month"])
    return data
