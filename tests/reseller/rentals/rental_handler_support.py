"""What the rental-handler.php tests share: two sandbox upstreams behind Server 1 and Server 2, a
caller of the endpoint (GET, POST with a form body, POST with the query string only), and the
golden files (tests/reseller/protocol/golden/rental_handler/, `$name` filled from the database)."""

from datetime import UTC, timedelta, timezone
from pathlib import Path
from string import Template
from urllib.parse import urlencode

import pytest

from billing.markup import markup_set
from reseller.models import Rental
from reseller.rentals.servers import rental_server_set
from upstream.models import Provider, RentOffer, SandboxRental
from upstream.services import catalogue_sync

PATH = "/stubs/rental-handler.php"
METHODS = ["get", "post_form", "post_query"]
GOLDEN = Path(__file__).parents[1] / "protocol" / "golden" / "rental_handler"
PAKISTAN = timezone(timedelta(hours=5))


def send(client, method: str, params: dict):
    if method == "get":
        return client.get(PATH, params)
    if method == "post_form":
        return client.post(PATH, params)
    return client.post(f"{PATH}?{urlencode(params)}", data="", content_type="application/x-www-form-urlencoded")


@pytest.fixture
def servers():
    """Server 1: sandbox slot 1; Server 2: sandbox slot 2; an SMS every 60 s; +20 % on rentals."""
    config = {"rent_sms_every_seconds": 60}
    one = Provider.objects.create(slot=1, protocol="sandbox", name="one", config=config)
    two = Provider.objects.create(slot=2, protocol="sandbox", name="two", config=config)
    for provider in (one, two):
        catalogue_sync(provider=provider)
    markup_set(scope="global", percent="10")
    markup_set(scope="global", percent="20", product="rental")
    rental_server_set(server=1, provider=one)
    rental_server_set(server=2, provider=two)
    return one, two


@pytest.fixture
def rh(client, django_capture_on_commit_callbacks):
    """rh(key, action, method="get", **params) -> the response (on-commit work runs)."""

    def call(key: str, action: str, method: str = "get", **params):
        with django_capture_on_commit_callbacks(execute=True):
            return send(client, method, {"api_key": key, "action": action, **params})

    return call


def golden(case: str, **values) -> bytes:
    text = (GOLDEN / f"{case}.txt").read_text()
    return Template(text).substitute(**{k: str(v) for k, v in values.items()}).encode()


def expect(response, case: str, **values) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == golden(case, **values), (case, response.content)


def local(moment) -> str:
    return moment.astimezone(PAKISTAN).strftime("%Y-%m-%d %H:%M:%S")


def utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def offer_ids(provider, country: int) -> dict[str, int]:
    """`$o<hours>`: the full-rent offers' ids of a provider and country."""
    rows = RentOffer.objects.filter(provider=provider, country_id=country, service__isnull=True)
    return {f"o{row.hours}": row.pk for row in rows}


def back_in_time(rental: Rental, seconds: int) -> None:
    """Move both sides of a rental into the past instead of sleeping."""
    delta = timedelta(seconds=seconds)
    rental.refresh_from_db()
    Rental.objects.filter(pk=rental.pk).update(
        activated_at=rental.activated_at - delta,
        created_at=rental.created_at - delta,
        expires_at=rental.expires_at - delta,
    )
    row = SandboxRental.objects.get(pk=int(rental.upstream_id))
    row.started_at -= delta
    row.ends_at -= delta
    row.save()
    rental.refresh_from_db()
