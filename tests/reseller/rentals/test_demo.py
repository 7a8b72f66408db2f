"""The embedded demo's rental: both rental servers on the sandbox, and its printed curl lines work."""

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from reseller.models import Rental, RentalServer
from reseller.rentals.lifecycle import rentals_sync
from tests.reseller.cheap.test_commands import demo
from tests.reseller.rentals.test_lifecycle import back_in_time

pytestmark = pytest.mark.django_db


def test_demo_rental_lines_rent_and_receive_sms(tmp_path, client):
    out = demo(tmp_path)
    assert sorted(RentalServer.objects.values_list("server", "provider__slot")) == [(1, 1), (2, 1)]
    lines = [line.strip() for line in out.splitlines() if "rental-handler.php" in line]
    actions = [dict(parse_qsl(urlsplit(line.split('"')[1]).query))["action"] for line in lines]
    assert actions == ["getRentalPricing", "rentNumber", "getRentalSMS", "renewRental"]

    def curl(line: str, rental_id: str = "") -> dict:
        url = urlsplit(line.split('"')[1].replace("=ID", f"={rental_id}"))
        response = client.get(url.path, dict(parse_qsl(url.query)))
        assert response.status_code == 200
        return json.loads(response.content)

    assert curl(lines[0])["status"] == "200" and curl(lines[0])["pricing"]
    rented = curl(lines[1])
    assert rented["status"] == "200", rented
    rental = Rental.objects.get(pk=int(rented["order_id"]))
    back_in_time(rental, 130)
    rentals_sync(provider_id=rental.provider_id)
    assert len(curl(lines[2], rented["order_id"])["messages"]) >= 2
    assert curl(lines[3], rented["order_id"])["status"] == "200"
