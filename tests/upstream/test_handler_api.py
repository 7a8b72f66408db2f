"""The shared handler_api transport (upstream/providers/handler_api.py): dialect tables and one call."""

import re

import pytest

from tests.fakes.sms_activate import FakeSmsActivate
from upstream.models import Provider
from upstream.providers.base import BadResponse, MaxPriceRefused, NoNumbers, ProviderError, ProviderUnavailable
from upstream.providers.handler_api import Dialect, HandlerApi

pytestmark = pytest.mark.django_db

DIALECT = Dialect(
    "demo",
    {"NO_NUMBERS": NoNumbers, "BAD_KEY": ProviderError},
    patterns=((re.compile(r"BANNED:.*", re.DOTALL), ProviderError),),
    max_price=True,
)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("NO_NUMBERS", NoNumbers),
        ("BAD_KEY", ProviderError),
        ("BANNED:2026-01-01 10:00:00", ProviderError),
        ("WRONG_MAX_PRICE:12.50", MaxPriceRefused),
        ("NO_NUMBERS:1", None),
        ("ACCESS_BALANCE:1.00", None),
        ("no_numbers", None),
    ],
)
def test_a_dialect_names_its_error_tokens(body, error):
    found = DIALECT.error(body)
    assert (type(found) if found else None) is error
    if error is not None:
        assert found.raw == body
        with pytest.raises(error):
            DIALECT.raise_if_error(body)
    else:
        DIALECT.raise_if_error(body)
    assert Dialect("plain", {"NO_NUMBERS": NoNumbers}).error("WRONG_MAX_PRICE:1") is None  # max_price off


def test_clean_and_argument():
    assert DIALECT.clean("\ufeff ACCESS_BALANCE:1.00\r\n", "getBalance") == "ACCESS_BALANCE:1.00"
    for body, what in [(" \n", "empty reply to getBalance"), ("<html>", "HTML reply to getBalance")]:
        with pytest.raises(BadResponse, match=f"demo: {what}"):
            DIALECT.clean(body, "getBalance")
    assert DIALECT.argument("ACCESS_BALANCE:1.00", "ACCESS_BALANCE", "getBalance") == "1.00"
    assert DIALECT.argument("ACCESS_BALANCE:", "ACCESS_BALANCE", "getBalance") == ""
    for body in ["ACCESS_BALANCE", "BALANCE:1", "ACCESS_BALANCES:1"]:
        with pytest.raises(BadResponse, match="unexpected reply to getBalance") as caught:
            DIALECT.argument(body, "ACCESS_BALANCE", "getBalance")
        assert caught.value.raw == body


def test_one_call_sends_the_action_its_parameters_then_the_every_call_ones():
    with FakeSmsActivate(api_key="k") as fake:
        provider = Provider.objects.create(slot=1, protocol="smsactivate", base_url=fake.url, api_key="k")
        extra = {"type": 2}
        api = HandlerApi(provider, DIALECT, every_call=lambda: extra)
        assert api.reply("getBalance", country=None, service="tg") == "ACCESS_BALANCE:1000.00"
        assert fake.requests == [("GET", "api_key=k&action=getBalance&service=tg&type=2")]
        fake.next_response("getNumber", "NO_NUMBERS")
        with pytest.raises(NoNumbers):
            api.reply("getNumber")
        fake.next_response("getNumber", "NO_NUMBERS")
        assert api.get("getNumber") == "NO_NUMBERS"  # get: the caller looks first

        def broken():
            raise ProviderUnavailable(message="misconfigured")

        calls = len(fake.calls)
        with pytest.raises(ProviderUnavailable):
            HandlerApi(provider, DIALECT, every_call=broken).get("getBalance")
        assert len(fake.calls) == calls  # nothing sent
