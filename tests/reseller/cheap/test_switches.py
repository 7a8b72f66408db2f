"""Switched-off services and countries on cheap_handler.php: golden bytes. A server of a
switched-off country is as a disabled one (left out of getServers, BAD_SERVER); a switched-off
service is left out of a server's getServices and buyNumber of it is NO_SERVICES, as one the
server does not sell; a server for any country never buys in a switched-off one."""

from decimal import Decimal

import pytest

from billing.verify import ledger_verify
from reseller.models import Activation
from tests.reseller.cheap import test_golden as golden
from tests.reseller.conftest import balance_of
from upstream.models import Country, Service

pytestmark = pytest.mark.django_db
shop, key, expect, buy = golden.shop, golden.key, golden.expect, golden.buy


def switch(model, pk, on: bool) -> None:
    model.objects.filter(pk=pk).update(enabled=on)


def test_listings_leave_them_out_and_come_back(shop, key, cheap):
    expect(cheap(key, "getServers"), "getServers")
    expect(cheap(key, "getServices", server="1"), "getServices_server1")
    switch(Country, 66, False)  # Pakistan: server 3's country, and the cheapest tg
    switch(Service, 102, False)  # wa
    expect(cheap(key, "getServers"), "switched_getServers")
    expect(cheap(key, "getServers", type="2"), "NO_SERVERS")
    expect(cheap(key, "getServices", server="1"), "switched_getServices_server1")  # tg from India now
    expect(cheap(key, "getServices", server="3"), "BAD_SERVER")
    switch(Country, 66, True)
    switch(Service, 102, True)
    expect(cheap(key, "getServers"), "getServers")
    expect(cheap(key, "getServices", server="1"), "getServices_server1")


def test_buy_number_refused_or_routed_around(shop, cheap, customer_with_key):
    customer, key = customer_with_key(balance="500.00")
    switch(Service, 102, False)
    expect(cheap(key, "buyNumber", server="1", service="wa"), "NO_SERVICES")
    expect(cheap(key, "buyNumber", server="1", service="102"), "NO_SERVICES")
    switch(Country, 66, False)
    expect(cheap(key, "buyNumber", server="3"), "BAD_SERVER")
    assert not Activation.objects.exists() and balance_of(customer) == Decimal("500.00")
    order = buy(cheap, key)  # server 1: tg from any country; Pakistan is cheaper but switched off
    assert (order.service.code, order.country_id, order.price) == ("tg", 22, Decimal("12.00"))
    switch(Country, 66, True)
    switch(Service, 102, True)
    assert buy(cheap, key, service="wa").service.code == "wa"
    assert buy(cheap, key).country_id == 66
    assert ledger_verify().ok
