"""The upstream reconciliation page inside the admin (docs/operators-guide.md, "Reconciliation"):
/admin/reports/reconciliation/, URL name `admin:reports_reconciliation`, for staff with
`reports.view_reports` (superusers too). Read-only: nothing can be added, changed or deleted.
Registered by reports.apps.ReportsConfig.ready."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from reports.figures import tz
from reports.forms import check_range
from reports.models import Reconciliation
from reports.pages import ReportPageAdmin
from reports.reconcile import reconcile, tolerance
from upstream.models import Provider

SHOWN = 50  # most recent intervals shown per provider (every flagged one is shown)


class ReconcileForm(forms.Form):
    date_from = forms.DateField(label="from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="to", widget=forms.DateInput(attrs={"type": "date"}))
    provider = forms.ChoiceField(required=False)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["provider"].choices = [("", "every provider")] + [
            (str(p.pk), str(p)) for p in Provider.objects.order_by("slot")
        ]

    @staticmethod
    def initial_data() -> dict:
        today = timezone.now().astimezone(tz()).date()
        return {"date_from": today - timedelta(days=6), "date_to": today, "provider": ""}

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("the range ends before it starts")
        check_range(data)
        return data


@admin.register(Reconciliation)
class ReconciliationAdmin(ReportPageAdmin):
    url_name = "reports_reconciliation"

    def page(self, request):
        form = ReconcileForm(request.GET if "date_from" in request.GET else ReconcileForm.initial_data())
        results = []
        if form.is_valid():
            zone = tz()
            since = datetime.combine(form.cleaned_data["date_from"], time(0), tzinfo=zone)
            until = datetime.combine(form.cleaned_data["date_to"] + timedelta(days=1), time(0), tzinfo=zone)
            providers = Provider.objects.order_by("slot")
            if form.cleaned_data["provider"]:
                providers = providers.filter(pk=form.cleaned_data["provider"])
            for rec in reconcile(since=since, until=until, providers=providers):
                recent = list(reversed(rec.intervals))
                shown = [i for n, i in enumerate(recent) if n < SHOWN or i.status != "ok"]
                results.append((rec, shown, len(recent) - len(shown)))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upstream reconciliation",
            "opts": self.model._meta,
            "form": form,
            "results": results,
            "tolerance": tolerance(),
        }
        return TemplateResponse(request, "admin/reports/reconciliation.html", context)
