"""The fake Kopeechka itself, where no client reads it: the TEXT envelope, the exact JSON shapes,
`password`, `subject`, the `mail_type` forms, reorder's refusals (the proxy form of a request:
test_library.py)."""

import json

import pytest

from tests.fakes.kopeechka import METHODS
from tests.upstream.kopeechka.conftest import KEY, SITE


def ask(fake, method: str, **params: str) -> tuple[str, str]:
    return fake.state.handle(method, {"token": KEY, **params})


def reply(fake, method: str, **params: str) -> dict:
    return json.loads(ask(fake, method, **params)[1])


def test_the_json_shapes_have_exactly_the_librarys_fields(fake):
    bought = reply(fake, "mailbox-get-email", site=SITE, mail_type="gmail.com", password="0")
    assert list(bought) == ["status", "id", "mail"] and isinstance(bought["id"], str)
    assert list(reply(fake, "user-balance")) == ["status", "balance"]
    fake.deliver_letter(bought["id"], "code 123456")
    assert reply(fake, "mailbox-get-message", id=bought["id"]) == {"status": "OK", "value": "", "fullmessage": ""}
    assert reply(fake, "mailbox-cancel", id=bought["id"]) == {"status": "OK"}
    zones = reply(fake, "mailbox-zones", popular="1")
    assert zones["popular"][0] == {"name": "gmail.com", "cost": 5.0, "count": 2} and "zones" not in zones
    assert reply(fake, "mailbox-get-email", site=SITE, password="1")["password"]


def test_the_text_envelope(fake):
    assert ask(fake, "user-balance", type="TEXT")[1] == "OK|100.000000"
    assert ask(fake, "mailbox-get-email", type="TEXT", site=SITE, mail_type="hotmail.com")[1] == "ERROR|OUT_OF_STOCK"
    body = ask(fake, "mailbox-get-email", type="TEXT", site=SITE, mail_type="gmail.com")[1]
    status, order, mail = body.split("|")
    assert status == "OK" and order.isdigit() and mail.endswith("@gmail.com")
    assert ask(fake, "mailbox-get-message", type="TEXT", id=order)[1] == "ERROR|WAIT_LINK"
    fake.deliver_letter(order, "Your code 654321, or https://x.io/v")
    assert ask(fake, "mailbox-get-message", type="TEXT", id=order)[1] == "https://x.io/v"
    assert ask(fake, "mailbox-get-message", type="TEXT", id=order, full="1")[1] == "Your code 654321, or https://x.io/v"
    assert ask(fake, "mailbox-get-fresh-id", type="TEXT", site=SITE, email=mail)[1] == f"OK|{order}"
    assert ask(fake, "user-balance", token="x", type="TEXT")[1] == "ERROR|BAD_TOKEN"
    assert json.loads(ask(fake, "mailbox-get-domains", type="TEXT")[1])["domains"] == ["fastmailbox.net"]


def test_mail_types(fake):
    def domain_of(mail_type: str) -> str:
        got = reply(fake, "mailbox-get-email", site=SITE, mail_type=mail_type)
        return got["mail"].partition("@")[2] if got["status"] == "OK" else got["value"]

    assert domain_of("ALL") == domain_of("") == "fastmailbox.net"
    assert domain_of("REAL") == "gmail.com"
    assert domain_of("OUTLOOK") == "outlook.com"  # hotmail.com has none left
    assert domain_of("hotmail.com,Outlook.com") == "outlook.com"
    assert domain_of("OUTLOOK") == "OUT_OF_STOCK"
    assert domain_of("mine") == domain_of("GMX") == domain_of("gmail.com,nowhere.org") == "BAD_DOMAIN"
    assert reply(fake, "mailbox-get-email", mail_type="gmail.com")["value"] == "BAD_SITE"


def test_a_subject_filter_drops_other_letters(fake):
    order = reply(fake, "mailbox-get-email", site=SITE, subject="Instagram")["id"]
    assert fake.deliver_letter(order, "spam", subject="Win a prize") is False
    assert fake.deliver_letter(order, "code 1", subject="Your instagram code") is True
    assert fake.deliver_letter(order, "code 2", subject="Instagram") is False  # one letter per order


def test_reorder_refusals_and_the_documents_text_quirk(fake):
    mail = reply(fake, "mailbox-get-email", site=SITE, mail_type="gmail.com")["mail"]
    assert reply(fake, "mailbox-reorder", site=SITE, email="stranger@gmail.com")["value"] == "NO_ACTIVATION"
    assert json.loads(ask(fake, "mailbox-reorder", type="TEXT", site=SITE, email=mail)[1]) == {
        "status": "ERROR",
        "value": "Activation not found",
    }
    fake.state.banned.add(mail)
    assert json.loads(ask(fake, "mailbox-reorder", type="TEXT", site=SITE, email=mail)[1])["value"] == "BAD_EMAIL"


def test_cancel_after_a_letter_does_not_refund(fake):
    order = reply(fake, "mailbox-get-email", site=SITE, mail_type="gmail.com")["id"]
    fake.deliver_letter(order, "code 1")
    assert reply(fake, "mailbox-cancel", id=order) == {"status": "OK"}
    assert fake.balance == 95 and reply(fake, "mailbox-get-message", id=order)["value"] == "ACTIVATION_CANCELED"


@pytest.mark.parametrize("method", METHODS)
def test_every_method_checks_the_token_first(fake, method):
    assert fake.state.handle(method, {"id": "1"})[1] == '{"status":"ERROR","value":"BAD_TOKEN"}'
