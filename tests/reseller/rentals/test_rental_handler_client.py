"""Our otpget-rental client pointed at a live instance of this server's rental-handler.php (its
Server 1 and Server 2 on the sandbox): the shapes this server really sends are the ones the client
reads, through a whole rental (prices, rent, SMS, renew, expiry)."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from reseller.models import Rental
from reseller.rentals.lifecycle import rentals_expire_due, rentals_sync
from tests.reseller.conftest import balance_of
from tests.reseller.rentals import rental_handler_support as support
from tests.reseller.rentals.rental_handler_support import back_in_time
from upstream.models import Provider
from upstream.providers import http
from upstream.providers.base import FULL_RENT, RentEnded, RentRequest, RentState
from upstream.providers.otpget_rental import OtpGetRentalClient

pytestmark = pytest.mark.django_db(transaction=True)
servers = support.servers  # fixture


@pytest.fixture
def client_of(live_server, servers, customer_with_key) -> Iterator:
    """client_of(server) -> (our otpget-rental client for that server, the live server's customer)."""
    customer, key = customer_with_key(balance="100000.00")

    def make(server: int) -> tuple[OtpGetRentalClient, object]:
        provider = Provider.objects.create(
            slot=2 + server,
            protocol="otpget-rental",
            base_url=f"{live_server.url}/stubs/rental-handler.php",
            api_key=key,
            currency="PKR",
            enabled=False,
            config={"provider": server},
        )
        return OtpGetRentalClient(provider), customer

    yield make
    http._session().close()  # let the live server's request thread close its database connection


def test_a_whole_rental_through_the_client(client_of):
    client, customer = client_of(1)
    prices = {(p.country, p.hours): p for p in client.rent_prices()}
    assert {c for c, _ in prices} == {0, 22, 66, 187} and {h for _, h in prices} == {12, 24, 168, 720, 4320, 8640}
    assert prices[(22, 24)].cost == Decimal("480.00") and prices[(22, 24)].service == FULL_RENT
    assert prices[(22, 24)].count > 0

    rented = client.rent(RentRequest(country=22, service=FULL_RENT, hours=24))
    rental = Rental.objects.get(pk=int(rented.upstream_id))
    assert rented.phone == rental.phone and rented.cost == Decimal("480.00")
    assert abs(rented.ends_at - rental.expires_at) < timedelta(seconds=1)  # Pakistan time, to the second
    assert balance_of(customer) == Decimal("99520.00")

    back_in_time(rental, 150)
    rentals_sync(provider_id=rental.provider_id)
    status = client.rent_status(rented.upstream_id)
    assert status.state == RentState.ACTIVE and len(status.sms) == 2
    ours = list(rental.messages.order_by("id"))
    assert [(s.sms_id, s.text, s.sender, s.code) for s in status.sms] == [
        (str(m.pk), m.text, m.sender, m.code) for m in ours
    ]
    assert [s.received_at for s in status.sms] == [m.received_at.replace(microsecond=0) for m in ours]

    prolonged = client.rent_prolong(rented.upstream_id, 24)
    rental.refresh_from_db()
    assert prolonged.upstream_id == rented.upstream_id and prolonged.cost == Decimal("480.00")
    assert abs(prolonged.ends_at - rental.expires_at) < timedelta(seconds=1)

    back_in_time(rental, 49 * 3600)
    rentals_expire_due()
    assert client.rent_status(rented.upstream_id).state == RentState.FINISHED
    with pytest.raises(RentEnded):
        client.rent_prolong(rented.upstream_id, 24)
    assert balance_of(customer) == Decimal("99040.00")


def test_server_2_through_the_client(client_of):
    client, _ = client_of(2)
    assert {p.hours for p in client.rent_prices()} == {720, 4320, 8640}
    rented = client.rent(RentRequest(country=66, service=FULL_RENT, hours=720))
    assert Rental.objects.get(pk=int(rented.upstream_id)).server == 2
    assert client.rent_prolong(rented.upstream_id, 4320).ends_at > rented.ends_at
