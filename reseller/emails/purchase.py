"""Buying a mailbox: the order core's engine (reseller.orders.engine) with the e-mail table's
adapter. Held at purchase like an activation; the first letter charges it (lifecycle.py).

A server (email_handler.php `server`) is one provider slot, so an order has one candidate: the
server's offer for the domain. Server 1 sells a service (a site) on a domain: the upstream's own
price for that service where it has one (an OTPGet-style upstream's Server 1), else its price of
the domain for any site (Kopeechka zones). Server 2 sells the domain for any site. The sell price
is the markup rules' quote of the PKR cost with the product `email` (e-mail rules first).
"""

from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from billing.pricing import PriceBook, Quote
from reseller.emails.errors import EmailNoStock, EmailServiceUnavailable
from reseller.emails.servers import email_server
from reseller.models import EmailOrder, EmailServer
from reseller.orders.engine import OrderAdapter, order_purchase
from reseller.orders.errors import ProviderFailed
from upstream.health import circuit_open
from upstream.models import EmailOffer, EmailService
from upstream.providers import client_for
from upstream.providers.base import ANY_SITE, EmailBought, EmailRequest

ORDER_REF_PREFIX = "eml"
PRODUCT = "email"


def email_ref(order_id: int) -> str:
    return f"{ORDER_REF_PREFIX}{order_id}"


@dataclass(frozen=True)
class EmailCandidate:
    offer: EmailOffer  # provider, domain, service ("" any site), cost, stock
    quote: Quote


@dataclass(frozen=True)
class EmailPurchaseRequest:
    customer_id: int
    wallet_id: int
    server: int
    domain: str
    service: EmailService | None = None  # Server 1's service_id
    site: str = ""  # Server 2's site (Server 1: the service's)
    lifetime_seconds: int = 0  # set by email_purchase from the server


def email_quote(book: PriceBook, offer: EmailOffer) -> Quote:
    return book.quote(
        cost_pkr=offer.provider.to_pkr(offer.cost),
        provider_id=offer.provider_id,
        country_id=None,
        service_id=None,
        product=PRODUCT,
    )


def offer_for(*, provider_id: int, domain: str, service: EmailService | None) -> EmailOffer | None:
    """The offer an order of (domain, service) buys from: the upstream's price of that service,
    else its price of the domain for any site; None if it sells neither."""
    codes = [ANY_SITE] if service is None else [service.code, ANY_SITE]
    offers = {
        o.service: o
        for o in EmailOffer.objects.filter(provider_id=provider_id, domain=domain, service__in=codes).select_related(
            "provider"
        )
    }
    return next((offers[code] for code in codes if code in offers), None)


def email_lifetime(server: EmailServer) -> int:
    """The upstream's mailbox lifetime, or the server's shorter one where configured."""
    upstream = int(client_for(server.provider).email_lifetime_seconds or settings.EMAIL_LIFETIME_SECONDS)
    configured = server.lifetime_seconds
    return min(upstream, configured) if configured else upstream


class EmailOrders(OrderAdapter):
    model = EmailOrder
    pricing_product = PRODUCT

    def lifetime_seconds(self, order) -> int:
        return order.lifetime_seconds

    def create(self, request: EmailPurchaseRequest, first: EmailCandidate) -> EmailOrder:
        return EmailOrder.objects.create(
            customer_id=request.customer_id,
            provider=first.offer.provider,
            server=request.server,
            service=request.service,
            domain=request.domain,
            site=request.site,
            upstream_service=first.offer.service,
            price=first.quote.price,
            cost=first.offer.cost,
            cost_pkr=first.quote.cost_pkr,
            lifetime_seconds=request.lifetime_seconds,
        )

    def buy(self, order, candidate: EmailCandidate, request: EmailPurchaseRequest) -> EmailBought:
        return client_for(candidate.offer.provider).email_buy(
            EmailRequest(
                domain=order.domain,
                site=order.site,
                service=candidate.offer.service,
                max_price=candidate.offer.cost,
                order_ref=email_ref(order.pk),
            )
        )

    def bought_fields(self, bought: EmailBought) -> dict:
        return {"email": bought.email[:254]}

    def recorded(self, order, bought: EmailBought, now) -> dict:
        return {"activated_at": now}

    def cancel_bought(self, order, candidate: EmailCandidate, upstream_id: str) -> None:
        client_for(candidate.offer.provider).email_cancel(upstream_id)

    def quote_again(self, order, candidate: EmailCandidate, cost_pkr: Decimal) -> Decimal:
        return (
            PriceBook.load(customer_id=order.customer_id)
            .quote(
                cost_pkr=cost_pkr,
                provider_id=candidate.offer.provider_id,
                country_id=None,
                service_id=None,
                product=PRODUCT,
            )
            .price
        )


ADAPTER = EmailOrders()


def email_candidate(req: EmailPurchaseRequest, server: EmailServer | None = None) -> EmailCandidate:
    """The server's offer for the request, priced for the customer. EmailServerUnavailable,
    EmailServiceUnavailable (nothing sold for it), EmailNoStock, ProviderFailed (circuit open)."""
    server = server or email_server(req.server)
    if req.service is not None and not req.service.enabled:
        raise EmailServiceUnavailable()
    offer = offer_for(provider_id=server.provider_id, domain=req.domain, service=req.service)
    if offer is None:
        raise EmailServiceUnavailable()
    if offer.stock <= 0:
        raise EmailNoStock()
    if circuit_open(offer.provider, timezone.now()):
        raise ProviderFailed(offer.provider.slot, "UNAVAILABLE")
    return EmailCandidate(offer=offer, quote=email_quote(PriceBook.load(customer_id=req.customer_id), offer))


def email_purchase(req: EmailPurchaseRequest) -> EmailOrder:
    """Buy one mailbox, held until its letter. Raises EmailServerUnavailable,
    EmailServiceUnavailable, EmailNoStock, InsufficientFunds, NoNumbers (the upstream had none),
    ProviderFailed, PriceChanged."""
    server = email_server(req.server)
    candidate = email_candidate(req, server)
    return order_purchase(ADAPTER, replace(req, lifetime_seconds=email_lifetime(server)), [candidate])
