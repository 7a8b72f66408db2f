"""Shared by the OtpGetRentalClient tests: the fake rental-handler.php and clients for provider rows."""

import pytest

from tests.fakes.otpget_rental import FakeOtpGetRental
from upstream.models import Provider
from upstream.providers.otpget_rental import OtpGetRentalClient

KEY = "rental-SECRET-0123456789abcdef"
SERVER1_PRICES = {12: "100.00", 24: "180.00", 168: "900.00", 720: "3000.00"}
SERVER2_PRICES = {720: "840.00", 4320: "5040.00"}


@pytest.fixture
def fake():
    """Server 1 rents Pakistan (2 areas, 3 + 4 numbers) and the UK; Server 2 rents Canada and the USA
    (monthly tiers) and "xx", a code without a number. Balance 5060 PKR."""
    with FakeOtpGetRental(api_key=KEY) as server:
        server.add_country(1, "pk", "Pakistan", SERVER1_PRICES, {"pk-1": ("Punjab", 3), "pk-2": ("Sindh", 4)})
        server.add_country(1, "gb", "United Kingdom", {24: "400.00"})
        server.add_country(2, "ca", "Canada", SERVER2_PRICES, {"ca": ("Canada", 3338)})
        server.add_country(2, "us", "United States of America", {720: "1200.00"})
        server.add_country(2, "xx", "Atlantis", {720: "1.00"})
        yield server


@pytest.fixture
def make_client(fake):
    """make(slot=1, *, url=fake.url, key=KEY, **config) -> OtpGetRentalClient for a new provider row."""

    def make(slot: int = 1, *, url: str | None = None, key: str = KEY, **config) -> OtpGetRentalClient:
        provider = Provider.objects.create(
            slot=slot, protocol="otpget-rental", base_url=url or fake.url, api_key=key, currency="PKR", config=config
        )
        return OtpGetRentalClient(provider)

    return make


@pytest.fixture
def client(make_client):
    """Server 1 (the default)."""
    return make_client()


@pytest.fixture
def server2(make_client):
    return make_client(slot=2, provider=2)
