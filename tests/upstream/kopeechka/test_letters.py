"""KopeechkaClient reading letters and cancelling: WAIT_LINK, the letter and its code, the 20-minute
lifetime, cancel's look at the letter first, the error codes of both."""

import json
from decimal import Decimal

import pytest

from tests.upstream.kopeechka.conftest import GMAIL, error
from upstream.providers.base import (
    BadResponse,
    EmailEnded,
    EmailState,
    ProviderError,
    UnknownActivation,
)
from upstream.providers.kopeechka import letter_digest

pytestmark = pytest.mark.django_db


# --- status ------------------------------------------------------------------------------------------


def test_status_waiting_then_the_letter(fake, client):
    order = client.email_buy(GMAIL).upstream_id
    assert client.email_status(order).state == EmailState.WAITING
    assert fake.calls[-1][1]["full"] == "1" and fake.calls[-1][1]["id"] == order
    text = "<html><body><p>Hi!</p><p>Your Instagram code is <b>483920</b>.</p></body></html>"
    fake.deliver_letter(order, text, value="483920")
    status = client.email_status(order)
    [letter] = status.letters
    assert status.state == EmailState.RECEIVED and json.loads(status.raw)["fullmessage"] == text
    assert (letter.text, letter.code, letter.sender, letter.received_at) == (text, "483920", "", None)
    assert letter.letter_id == letter_digest(text) == client.email_status(order).letters[0].letter_id


def test_a_link_value_finds_the_code_in_the_letters_visible_text(fake, client):
    order = client.email_buy(GMAIL).upstream_id
    text = (
        "<html><head><style>p{color:#333333;width:6000px}</style></head><body>"
        '<p>Confirm: <a href="https://instagram.com/c/?uid=99887766">https://instagram.com/c/?uid=99887766</a></p>'
        "<p>Sent 12:40, code&nbsp;<b>204518</b></p></body></html>"
    )
    fake.deliver_letter(order, text)  # the fake's value: the first link
    [letter] = client.email_status(order).letters
    assert fake.orders[0].value.startswith("https://instagram.com/")
    assert letter.code == "204518"  # not the style's colour or width, not the link's uid


def test_the_regex_match_is_the_code(fake, make_client):
    client = make_client(regex=r"code is (\d{6})")
    order = client.email_buy(GMAIL).upstream_id
    fake.deliver_letter(order, "Hello 2024! Your code is 123456. https://example.com/x")
    assert client.email_status(order).letters[0].code == "123456"


@pytest.mark.parametrize(
    "value,fullmessage,text,code",
    [
        ("AB12CD", "", "AB12CD", "AB12CD"),  # no full letter: the value is the text
        ("", "Your code: 8812 (valid 10 min)", "Your code: 8812 (valid 10 min)", "8812"),
        ("https://x.io/verify/abc", "Click https://x.io/verify/abc", "Click https://x.io/verify/abc", None),
        ("Code: 33445566", "x", "x", "33445566"),
    ],
)
def test_letters_as_the_reply_gives_them(fake, client, value, fullmessage, text, code):
    fake.next_response("mailbox-get-message", json.dumps({"status": "OK", "value": value, "fullmessage": fullmessage}))
    [letter] = client.email_status("1").letters
    assert (letter.text, letter.code) == (text, code)


def test_a_letter_without_fullmessage_field_reads_value(fake, client):
    fake.next_response("mailbox-get-message", json.dumps({"status": "OK", "value": "654321"}))
    assert client.email_status("1").letters[0].text == "654321"


@pytest.mark.parametrize(
    "reply", [{"value": "", "fullmessage": ""}, {"value": 5, "fullmessage": "x"}, {"value": "x", "fullmessage": None}]
)
def test_a_wrong_letter_is_bad_response(fake, client, reply):
    fake.next_response("mailbox-get-message", json.dumps({"status": "OK", **reply}))
    with pytest.raises(BadResponse):
        client.email_status("1")


def test_an_order_expires_after_20_minutes_with_a_refund(fake, client):
    order = client.email_buy(GMAIL).upstream_id
    fake.advance(19 * 60)
    assert client.email_status(order).state == EmailState.WAITING
    fake.advance(61)
    assert client.email_status(order).state == EmailState.CANCELLED and fake.balance == Decimal("100")
    assert fake.deliver_letter(order, "too late 123456") is False


def test_a_letter_stays_readable_after_20_minutes(fake, client):
    order = client.email_buy(GMAIL).upstream_id
    fake.deliver_letter(order, "code 123456")
    fake.advance(3600)
    assert client.email_status(order).state == EmailState.RECEIVED and fake.balance == Decimal("95")


def test_status_of_an_unknown_order(fake, client):
    with pytest.raises(UnknownActivation) as caught:
        client.email_status("42")
    assert caught.value.raw == "NO_ACTIVATION"


@pytest.mark.parametrize("code", ["BAD_TOKEN", "SYSTEM_ERROR"])
def test_other_status_errors_raise(fake, client, code):
    fake.next_response("mailbox-get-message", f"ERROR|{code}")
    with pytest.raises(ProviderError) as caught:
        client.email_status("1")
    assert caught.value.raw == code


# --- cancel ------------------------------------------------------------------------------------------


def test_cancel_refunds_then_it_has_ended(fake, client):
    order = client.email_buy(GMAIL).upstream_id
    cancelled = client.email_cancel(order)
    assert (cancelled.refunded, cancelled.letters, json.loads(cancelled.raw)) == (True, (), {"status": "OK"})
    assert fake.balance == Decimal("100") and fake.actions()[-2:] == ["mailbox-get-message", "mailbox-cancel"]
    assert client.email_status(order).state == EmailState.CANCELLED
    with pytest.raises(EmailEnded) as again:
        client.email_cancel(order)
    assert again.value.raw == "ACTIVATION_CANCELED" and fake.actions()[-1] == "mailbox-get-message"


def test_cancel_after_a_letter_cancels_nothing_and_gives_the_letter(fake, client):
    order = client.email_buy(GMAIL).upstream_id
    fake.deliver_letter(order, "Your code is 483920")
    result = client.email_cancel(order)
    assert (result.refunded, [letter.code for letter in result.letters]) == (False, ["483920"])
    assert "mailbox-cancel" not in fake.actions() and fake.orders[0].status == "DONE"


def test_cancel_of_an_unknown_order(fake, client):
    with pytest.raises(UnknownActivation):
        client.email_cancel("42")
    assert "mailbox-cancel" not in fake.actions()


@pytest.mark.parametrize(
    "code,exception",
    [("ACTIVATION_CANCELED", EmailEnded), ("NO_ACTIVATION", UnknownActivation), ("SYSTEM_ERROR", ProviderError)],
)
def test_cancel_errors_of_mailbox_cancel(fake, client, code, exception):
    order = client.email_buy(GMAIL).upstream_id
    fake.next_response("mailbox-cancel", error(code))
    with pytest.raises(exception) as caught:
        client.email_cancel(order)
    assert type(caught.value) is exception and caught.value.raw == code
