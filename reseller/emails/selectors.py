"""Reads of e-mail orders and the e-mail catalogue, for email_handler.php and the admin."""

from dataclasses import dataclass
from decimal import Decimal

from billing.pricing import PriceBook
from reseller.emails.purchase import email_quote
from reseller.models import EmailLetter, EmailOrder, EmailServer
from reseller.orders.errors import OrderNotFound
from upstream.models import EmailOffer, EmailService
from upstream.providers.base import ANY_SITE

HANDED_OUT = (EmailOrder.State.ACTIVE, EmailOrder.State.RECEIVED, EmailOrder.State.CANCELLED, EmailOrder.State.EXPIRED)


@dataclass(frozen=True)
class ServiceLine:
    service: EmailService
    price: Decimal
    count: int


@dataclass(frozen=True)
class DomainLine:
    domain: str
    price: Decimal
    count: int


def server_services(*, server: EmailServer, customer_id: int, domain: str) -> list[ServiceLine]:
    """Server 1 on `domain`: every enabled service it can sell there, at the customer's price: the
    upstream's price of that service where it has one, else its price of the domain for any site."""
    offers = {o.service: o for o in EmailOffer.objects.filter(provider_id=server.provider_id, domain=domain)}
    if not offers:
        return []
    book = PriceBook.load(customer_id=customer_id)
    provider = server.provider
    lines = []
    for service in EmailService.objects.filter(enabled=True).order_by("code"):
        offer = offers.get(service.code) or offers.get(ANY_SITE)
        if offer is None:
            continue
        offer.provider = provider
        lines.append(ServiceLine(service=service, price=email_quote(book, offer).price, count=max(offer.stock, 0)))
    return lines


def server_domains(*, server: EmailServer, customer_id: int) -> list[DomainLine]:
    """Server 2: every domain it sells for any site, at the customer's price."""
    book = PriceBook.load(customer_id=customer_id)
    provider = server.provider
    lines = []
    for offer in EmailOffer.objects.filter(provider_id=server.provider_id, service=ANY_SITE).order_by("domain"):
        offer.provider = provider
        lines.append(DomainLine(domain=offer.domain, price=email_quote(book, offer).price, count=max(offer.stock, 0)))
    return lines


def email_of(*, customer_id: int, email_id: int) -> EmailOrder:
    """The customer's e-mail order by our id; OrderNotFound for anyone else's (or a purchase that
    sold nothing)."""
    order = (
        EmailOrder.objects.select_related("provider", "service")
        .filter(pk=email_id, customer_id=customer_id, state__in=HANDED_OUT)
        .first()
    )
    if order is None:
        raise OrderNotFound()
    return order


def email_letters(order: EmailOrder) -> list[EmailLetter]:
    return list(EmailLetter.objects.filter(order=order).order_by("id"))


def email_history(*, customer_id: int, page: int, per_page: int) -> tuple[list[EmailOrder], int]:
    """One page of the customer's e-mail orders that were handed out, newest first, and the total."""
    rows = EmailOrder.objects.filter(customer_id=customer_id, state__in=HANDED_OUT)
    total = rows.count()
    start = (page - 1) * per_page
    orders = list(rows.select_related("service").order_by("-id")[start : start + per_page])
    codes = {}
    for letter in EmailLetter.objects.filter(order__in=orders).exclude(code="").order_by("id"):
        codes.setdefault(letter.order_id, letter.code)
    for order in orders:
        order.first_code = codes.get(order.pk, "")
    return orders, total
