"""The report page inside the admin (docs/reports.md, "Page"): /admin/reports/report/, URL name
`admin:reports_report`, for staff with `reports.view_reports` (superusers too). The `Report`
proxy model gives it its entry in the admin index; nothing can be added, changed or deleted."""

import logging

from django.contrib import admin
from django.db import OperationalError
from django.http import HttpResponse
from django.template.response import TemplateResponse

from reports.export import cell, csv_rows, csv_text
from reports.figures import MEASURES, ReportError, report
from reports.forms import ReportForm
from reports.models import Report
from reports.pages import ReportPageAdmin

CHARTED = ("revenue", "upstream_cost", "margin", "losses", "refunds")

log = logging.getLogger(__name__)


def chart_data(result) -> dict:
    """What the chart draws: one dataset per charted money figure, one label per row."""
    labels = dict(MEASURES)
    return {
        "type": "line" if result.by in ("day", "week", "month") else "bar",
        "labels": [row.label for row in result.rows],
        "datasets": [
            {"label": labels[name], "data": [float(cell(row, name) or 0) for row in result.rows]} for name in CHARTED
        ],
    }


@admin.register(Report)
class ReportAdmin(ReportPageAdmin):
    url_name = "reports_report"

    def page(self, request):
        form = ReportForm(request.GET if "date_from" in request.GET else ReportForm.initial_data())
        result, error = None, ""
        if form.is_valid():
            try:
                result = report(
                    date_from=form.cleaned_data["date_from"],
                    date_to=form.cleaned_data["date_to"],
                    by=form.cleaned_data["by"],
                    kind=form.cleaned_data["kind"] or None,
                    filters=form.filters(),
                )
            except ReportError as exc:
                error = str(exc)
            except OperationalError:  # e.g. a long range from the ledger past DB_STATEMENT_TIMEOUT_MS
                log.warning("report refused by the database", exc_info=True)
                error = (
                    "the database took too long for this report; a long range reads the daily rollup: "
                    "run report_rollup (or wait for the rollup task), then ask again"
                )
        if result is not None and request.GET.get("format") == "csv":
            response = HttpResponse(csv_text(result), content_type="text/csv; charset=utf-8")
            name = f"report-{result.by}-{result.date_from}-{result.date_to}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        csv_query = ""
        if result is not None:
            params = request.GET.copy()
            if "date_from" not in params:
                for key, value in ReportForm.initial_data().items():
                    params[key] = str(value)
            params["format"] = "csv"
            csv_query = params.urlencode()
        table = csv_rows(result) if result else None
        context = {
            **self.admin_site.each_context(request),
            "title": "Financial report",
            "opts": self.model._meta,
            "form": form,
            "error": error,
            "result": result,
            # The very cells of the CSV (reports.export.csv_rows): the header, the rows, the totals.
            "header": table[0] if table else [],
            "lines": table[1:-1] if table else [],
            "totals": table[-1] if table else [],
            "chart": chart_data(result) if result else None,
            "csv_query": csv_query,
        }
        return TemplateResponse(request, "admin/reports/report.html", context)
