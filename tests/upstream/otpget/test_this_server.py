"""OtpGetClient pointed at a live instance of this server (its handler_api.php with `type`), whose
slot 1 is the sandbox upstream: the shapes this server really sends parse, and a whole activation runs."""

from collections.abc import Iterator
from decimal import Decimal

import pytest

from reseller.models import Activation
from tests.reseller.conftest import age, deliver_sms
from upstream.models import Provider
from upstream.providers import http
from upstream.providers.base import (
    BuyRequest,
    CancelTooEarly,
    MaxPriceRefused,
    ProviderError,
    SetStatus,
    UnknownActivation,
    UpstreamState,
)
from upstream.providers.otpget import OtpGetClient
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upstream(live_server, customer_with_key) -> Iterator[OtpGetClient]:
    """Our client (a disabled slot-2 row) for a customer account of the live server, type 1 = its sandbox."""
    sandbox = provider_add(slot=1, protocol="sandbox", url="", api_key="", config={"sms_delay_seconds": 3600})
    catalogue_sync(provider=sandbox)
    _, key = customer_with_key(balance="500.00")
    provider = Provider.objects.create(
        slot=2,
        protocol="otpget",
        base_url=f"{live_server.url}/stubs/handler_api.php",
        api_key=key,
        currency="PKR",
        enabled=False,
        config={"type": 1, "active_list": True, "full_sms": True},
    )
    yield OtpGetClient(provider)
    # Drop our keep-alive connection: the live server's request thread then ends and closes its database
    # connection (CONN_MAX_AGE keeps it open otherwise, and the test database could not be dropped).
    http._session().close()


def telegram_in_india(client: OtpGetClient) -> tuple[str, Decimal]:
    service_id = next(s.code for s in client.services() if s.name == "Telegram")
    price = next(p.cost for p in client.prices(country=22) if p.service == service_id)
    return service_id, price


def test_catalogue_and_balance(upstream):
    countries = {c.id: c.name for c in upstream.countries()}
    assert countries[22] == "India" and countries[66] == "Pakistan"
    entries = upstream.prices()
    assert entries and all(e.count == 1 and e.cost > 0 and e.service.isdigit() for e in entries)
    assert {e.country for e in entries} <= set(countries)
    assert {e.service for e in entries} == {s.code for s in upstream.services()}
    assert upstream.balance() == Decimal("500.00")


def test_an_activation_with_another_sms_then_finish(upstream):
    service_id, price = telegram_in_india(upstream)
    purchase = upstream.buy(BuyRequest(service=service_id, country=22, max_price=price))
    assert purchase.upstream_id.isdigit() and purchase.phone.isdigit() and purchase.cost is None
    assert upstream.status(purchase.upstream_id).state == UpstreamState.WAITING
    assert upstream.set_status(purchase.upstream_id, SetStatus.READY) == "ACCESS_READY"
    [live] = upstream.active_activations()
    assert (live.upstream_id, live.phone, live.state) == (purchase.upstream_id, purchase.phone, UpstreamState.WAITING)

    ours = Activation.objects.get(pk=int(purchase.upstream_id))
    deliver_sms(ours)
    ours.refresh_from_db()
    result = upstream.status(purchase.upstream_id)
    assert (result.state, result.code, result.text) == (UpstreamState.CODE, ours.code, ours.sms_text)
    [live] = upstream.active_activations()
    assert (live.state, live.code, live.text) == (UpstreamState.CODE, ours.code, ours.sms_text)

    assert upstream.set_status(purchase.upstream_id, SetStatus.RETRY) == "ACCESS_RETRY_GET"
    retry = upstream.status(purchase.upstream_id)
    assert (retry.state, retry.code) == (UpstreamState.WAIT_RETRY, ours.code)
    assert upstream.active_activations()[0].state == UpstreamState.WAIT_RETRY
    assert upstream.set_status(purchase.upstream_id, SetStatus.FINISH) == "ACCESS_ACTIVATION"
    assert upstream.status(purchase.upstream_id).state == UpstreamState.CANCELLED
    assert upstream.active_activations() == []
    with pytest.raises(ProviderError) as again:
        upstream.set_status(purchase.upstream_id, SetStatus.CANCEL)
    assert again.value.raw == "STATUS_ALREADY_CHANGED"
    assert upstream.balance() == Decimal("500.00") - price


def test_cancel_max_price_and_unknown_ids(upstream):
    service_id, price = telegram_in_india(upstream)
    with pytest.raises(MaxPriceRefused) as refused:
        upstream.buy(BuyRequest(service=service_id, country=22, max_price=price - Decimal("0.01")))
    assert refused.value.min_price == price
    purchase = upstream.buy(BuyRequest(service=service_id, country=22))
    with pytest.raises(CancelTooEarly):
        upstream.set_status(purchase.upstream_id, SetStatus.CANCEL)
    with pytest.raises(ProviderError) as no_sms:
        upstream.set_status(purchase.upstream_id, SetStatus.FINISH)
    assert no_sms.value.raw == "NO_SMS_RECEIVED"
    age(Activation.objects.get(pk=int(purchase.upstream_id)), 180)
    assert upstream.set_status(purchase.upstream_id, SetStatus.CANCEL) == "ACCESS_CANCEL"
    assert upstream.status(purchase.upstream_id).state == UpstreamState.CANCELLED
    assert upstream.balance() == Decimal("500.00")
    with pytest.raises(UnknownActivation):
        upstream.status("999999")
    with pytest.raises(ProviderError) as bad_service:
        upstream.buy(BuyRequest(service="999999", country=22))
    assert bad_service.value.raw == "BAD_SERVICE"
