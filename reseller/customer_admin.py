"""The customer page: accounts' CustomerAdmin with the money and the orders, assembled here because
only this layer may read accounts, billing and the reseller's orders together (tests/test_layers.py).

The change page shows available balance, balance, held and open holds; the latest orders of every
kind (activations, cheap numbers, rentals and their renewals, e-mails), each linking to its admin
page and to the full filtered list; the latest ledger transfers of the wallet; and a "Top up /
correct" form that books through billing.services (wallet_topup / wallet_adjust) with the admin as
actor. Every block is one bounded query (tests/reseller/test_customer_page.py counts them).
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.admin import CustomerAdmin
from accounts.models import Customer, actor_display
from billing.errors import BillingError
from billing.models import Hold, LedgerAccount, Transfer
from billing.money import ZERO, InvalidAmount, format_pkr
from billing.services import wallet_adjust, wallet_topup
from reseller.models import Activation, EmailOrder, OrderKind, Rental, RentalRenewal

RECENT = 10  # rows per block on the customer page; every block links to the full list
MONEY_PERMISSION = "billing.change_ledgeraccount"  # the same as the ledger accounts' credit action


class MoneyForm(forms.Form):
    KIND_CHOICES = (("topup", "Top-up (the customer paid us)"), ("adjustment", "Correction (+ credits, - debits)"))
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    amount = forms.CharField(help_text="PKR with at most two decimals; a correction may be negative")
    reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="stored on the transfer; required for a correction",
    )
    # Made when the form is shown: submitting the same form twice books once.
    key = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex, max_length=64)

    def clean(self):
        data = super().clean()
        if data.get("kind") == "adjustment" and not (data.get("reason") or "").strip():
            self.add_error("reason", "a correction needs a reason")
        return data


def _table(columns: tuple[str, ...], rows) -> str:
    head = format_html_join("", "<th>{}</th>", ((c,) for c in columns))
    cells = ((format_html_join("", "<td>{}</td>", ((v,) for v in row)),) for row in rows)
    body = format_html_join("", "<tr>{}</tr>", cells)
    return format_html("<table><tr>{}</tr>{}</table>", head, body)


def _link(viewname: str, pk, text) -> str:
    return format_html('<a href="{}">{}</a>', reverse(viewname, args=[pk]), text)


def _list_link(viewname: str, query: str, text: str) -> str:
    return format_html('<a href="{}?{}">{}</a>', reverse(viewname), query, text)


class CustomerPageAdmin(CustomerAdmin):
    change_form_template = "admin/customer_change_form.html"
    readonly_fields = (*CustomerAdmin.readonly_fields, "money", "orders", "recent_transfers")
    fieldsets = (
        ("Money", {"fields": ("money",)}),
        ("Orders", {"fields": ("orders",)}),
        ("Ledger", {"fields": ("recent_transfers",)}),
        *CustomerAdmin.fieldsets,
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)  # the add form
        return self.fieldsets

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("wallet")

    def get_urls(self):
        view = self.admin_site.admin_view(self.money_view)
        return [path("<path:object_id>/money/", view, name="accounts_customer_money"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"can_book_money": request.user.has_perm(MONEY_PERMISSION), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    # --- the blocks -----------------------------------------------------------------------------

    @staticmethod
    def _wallet(obj) -> LedgerAccount | None:
        try:
            return obj.wallet
        except LedgerAccount.DoesNotExist:
            return None

    @admin.display(description="balance")
    def money(self, obj):
        wallet = self._wallet(obj)
        if wallet is None:
            return "no wallet yet (created with the first top-up)"
        holds = Hold.objects.filter(account=wallet, status=Hold.Status.OPEN).aggregate(n=Count("id"), sum=Sum("amount"))
        holds_link = _list_link(
            "admin:billing_hold_changelist",
            f"account__id__exact={wallet.pk}&status__exact=open",
            f"{holds['n']} open hold(s), {format_pkr(holds['sum'] or ZERO)} PKR",
        )
        return format_html(
            "<strong>available {} PKR</strong> (balance {} PKR, held {} PKR); {}; wallet {}",
            format_pkr(wallet.available),
            format_pkr(wallet.balance),
            format_pkr(wallet.held),
            holds_link,
            _link("admin:billing_ledgeraccount_change", wallet.pk, wallet.code),
        )

    @admin.display(description="latest orders of every kind")
    def orders(self, obj):
        if not obj.pk:
            return "-"
        blocks = []
        for kind, label in ((OrderKind.ACTIVATION, "Activations"), (OrderKind.CHEAP, "Cheap numbers")):
            rows = (
                Activation.objects.filter(customer=obj, kind=kind)
                .select_related("service", "country", "provider")
                .order_by("-id")[:RECENT]
            )
            blocks.append(
                self._block(
                    label,
                    ("id", "created", "state", "service", "country", "provider", "phone", "price"),
                    [
                        (
                            _link("admin:reseller_activation_change", a.pk, f"#{a.pk}"),
                            a.created_at,
                            a.get_state_display(),
                            a.service.code,
                            a.country,
                            a.provider.slot,
                            a.phone,
                            a.price,
                        )
                        for a in rows
                    ],
                    _list_link(
                        "admin:reseller_activation_changelist",
                        f"customer__id__exact={obj.pk}&kind__exact={kind}",
                        "all of them",
                    ),
                )
            )
        rentals = Rental.objects.filter(customer=obj).select_related("service", "provider").order_by("-id")[:RECENT]
        blocks.append(
            self._block(
                "Rentals",
                ("id", "created", "state", "service", "provider", "phone", "hours", "price", "expires"),
                [
                    (
                        _link("admin:reseller_rental_change", r.pk, f"#{r.pk}"),
                        r.created_at,
                        r.get_state_display(),
                        r.service.code if r.service else "full",
                        r.provider.slot,
                        r.phone,
                        r.hours,
                        r.price,
                        r.expires_at or "-",
                    )
                    for r in rentals
                ],
                _list_link("admin:reseller_rental_changelist", f"customer__id__exact={obj.pk}", "all of them"),
            )
        )
        renewals = RentalRenewal.objects.filter(rental__customer=obj).order_by("-id")[:RECENT]
        blocks.append(
            self._block(
                "Rental renewals",
                ("id", "rental", "created", "state", "hours", "price"),
                [
                    (
                        f"#{n.pk}",
                        _link("admin:reseller_rental_change", n.rental_id, f"rental #{n.rental_id}"),
                        n.created_at,
                        n.get_state_display(),
                        n.hours,
                        n.price,
                    )
                    for n in renewals
                ],
                _list_link(
                    "admin:reseller_rental_changelist",
                    f"customer__id__exact={obj.pk}",
                    "all rentals (renewals are on each rental's page)",
                ),
            )
        )
        emails = EmailOrder.objects.filter(customer=obj).select_related("service").order_by("-id")[:RECENT]
        blocks.append(
            self._block(
                "E-mails",
                ("id", "created", "state", "server", "domain", "site", "email", "price"),
                [
                    (
                        _link("admin:reseller_emailorder_change", e.pk, f"#{e.pk}"),
                        e.created_at,
                        e.get_state_display(),
                        e.server,
                        e.domain,
                        e.site or (e.service.code if e.service else ""),
                        e.email,
                        e.price,
                    )
                    for e in emails
                ],
                _list_link("admin:reseller_emailorder_changelist", f"customer__id__exact={obj.pk}", "all of them"),
            )
        )
        return format_html_join("", "{}", ((b,) for b in blocks))

    @staticmethod
    def _block(title: str, columns, rows, all_link) -> str:
        table = _table(columns, rows) if rows else mark_safe("<p>none</p>")
        return format_html("<h3>{} (latest {}) — {}</h3>{}", title, RECENT, all_link, table)

    @admin.display(description="latest transfers of the wallet")
    def recent_transfers(self, obj):
        wallet = self._wallet(obj)
        if wallet is None:
            return "-"
        # The latest of each side (each an index scan of RECENT rows), then those rows with their names.
        latest = Transfer.objects.order_by("-id").values_list("id", flat=True)
        ids = latest.filter(source=wallet)[:RECENT].union(latest.filter(destination=wallet)[:RECENT])
        ids = sorted(ids, reverse=True)[:RECENT]
        rows = Transfer.objects.filter(pk__in=ids).select_related("source", "destination", "actor")
        full = _list_link("admin:billing_transfer_changelist", f"customer={obj.pk}", "every transfer of this customer")
        table = _table(
            ("id", "created", "kind", "amount", "from", "to", "memo", "order", "by"),
            [
                (
                    _link("admin:billing_transfer_change", t.pk, f"#{t.pk}"),
                    t.created_at,
                    t.get_kind_display(),
                    format_html("{}{}", "+" if t.destination_id == wallet.pk else "-", format_pkr(t.amount)),
                    t.source,
                    t.destination,
                    t.memo,
                    f"{t.order_kind} #{t.order_pk}" if t.order_kind else "",
                    actor_display(t.actor, t.actor_label),
                )
                for t in rows.order_by("-id")
            ],
        )
        return format_html("{}<p>{}</p>", table, full)

    # --- top-up / correction --------------------------------------------------------------------

    def money_view(self, request, object_id):
        if not request.user.has_perm(MONEY_PERMISSION):
            raise PermissionDenied
        customer = self.get_object(request, unquote(object_id))  # None for a bad or unknown id
        if customer is None:
            raise Http404("no such customer")
        change_url = reverse("admin:accounts_customer_change", args=[customer.pk])
        form = MoneyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            if self._book(request, customer, form.cleaned_data):
                return redirect(change_url)
        return TemplateResponse(
            request,
            "admin/action_form_page.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Top up or correct the wallet of {customer}",
                "intro": "A top-up moves money from cash to the wallet; a correction from or to admin "
                "adjustments, with a reason. Both are ledger transfers naming you.",
                "form": form,
                "queryset": [customer],
                "action": "",
                "submit_label": "Book",
                "opts": self.model._meta,
                "original": customer,
            },
        )

    def _book(self, request, customer: Customer, data) -> bool:
        from billing.selectors import wallet_of

        # Not the kind in the key: the same form re-sent with the kind switched conflicts, never books twice.
        key = f"admin:money:{customer.pk}:{data['key']}"
        try:
            wallet = wallet_of(customer)
            if data["kind"] == "topup":
                outcome = wallet_topup(
                    wallet=wallet, amount=data["amount"], key=key, memo=data["reason"].strip(), actor=request.user
                )
            else:
                outcome = wallet_adjust(
                    wallet=wallet, amount=data["amount"], reason=data["reason"], key=key, actor=request.user
                )
        except (InvalidAmount, BillingError, ValueError) as exc:
            self.message_user(request, f"nothing booked: {exc}", level=messages.ERROR)
            return False
        if outcome.replayed:
            self.message_user(request, f"already booked (this form was sent before): {outcome.transfer}")
        else:
            self.message_user(request, f"booked {outcome.transfer}")
        return True


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerPageAdmin)
