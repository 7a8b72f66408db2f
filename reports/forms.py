"""The report page's form: the range, the grouping, the order kind and the filters."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from accounts.models import Customer
from reports.figures import GROUPINGS, KINDS, MAX_PERIOD_ROWS, too_many_periods, tz
from upstream.models import Country, EmailService, Provider, Service


def _today():
    return timezone.now().astimezone(tz()).date()


def check_range(data) -> None:
    """The range a page may ask for: ending before the calendar's last day; at most MAX_PERIOD_ROWS
    rows of days, weeks or months."""
    start, end = data.get("date_from"), data.get("date_to")
    if end and end >= date.max:
        raise forms.ValidationError(f"the range must end before {date.max}")
    by = data.get("by")
    if start and end and by and too_many_periods(start, end, by):
        raise forms.ValidationError(f"by {by} lists at most {MAX_PERIOD_ROWS} rows: group by a longer period")


class ReportForm(forms.Form):
    date_from = forms.DateField(label="from", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="to", widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(choices=[(g, g) for g in GROUPINGS], initial="day")
    kind = forms.ChoiceField(choices=[("", "every kind"), *((k, k) for k in KINDS)], required=False)
    service = forms.ChoiceField(required=False)
    country = forms.ChoiceField(required=False)
    provider = forms.ChoiceField(required=False)
    customer = forms.CharField(required=False, help_text="id or username", max_length=150)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["service"].choices = [
            ("", "every service"),
            ("SMS services", [(str(s.pk), str(s)) for s in Service.objects.order_by("code")]),
            ("e-mail services", [(f"email:{s.pk}", str(s)) for s in EmailService.objects.order_by("code")]),
        ]
        self.fields["country"].choices = [("", "every country")] + [
            (str(c.pk), str(c)) for c in Country.objects.order_by("name")
        ]
        self.fields["provider"].choices = [("", "every provider")] + [
            (str(p.pk), str(p)) for p in Provider.objects.all()
        ]

    @staticmethod
    def initial_data() -> dict:
        today = _today()
        return {"date_from": today - timedelta(days=29), "date_to": today, "by": "day"}

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        if not value:
            return ""
        numeric = value.isascii() and value.isdecimal() and len(value) <= 18
        found = Customer.objects.filter(pk=int(value)) if numeric else Customer.objects.filter(username=value)
        pk = found.values_list("pk", flat=True).first()
        if pk is None:
            raise forms.ValidationError(f"no customer {value!r}")
        return str(pk)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("'from' is after 'to'")
        check_range(data)
        return data

    def filters(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("service", "country", "provider", "customer")}
