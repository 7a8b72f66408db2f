"""The real PyPI `kopeechka` library (requirements-dev.txt, 8.0), unmodified, against the fake.

The library hard-codes `http://api.kopeechka.store/<method>` and calls `requests.get` itself, so the
fake is put in its way as the HTTP proxy (`HTTP_PROXY`, which requests honours): the absolute-URL
requests a client sends to a proxy land on the fake, which routes them by their path. The library
builds its result dataclasses with `**reply`, so a reply with a field too many or too few fails
here: this is the check that the fake's shapes are the ones a real client reads.

Not covered: `mailbox_zones` asks `https://` (a plain proxy would have to tunnel TLS to a server we
cannot certify), so its reply is fetched through the library's own `request` over http and built
into the library's `Zone`/`Popular` types the way `mailbox_zones` does; `AsyncMailActivations`
(aiohttp, which ignores proxy variables unless `trust_env`) would go to the real host.
"""

import pytest
from kopeechka import (
    Domains,
    GetEmail,
    GetMessage,
    GetTaskId,
    KopeechkaApiError,
    MailActivations,
    MailboxZones,
    Popular,
    Status,
    UserBalance,
    Zone,
)

from tests.upstream.kopeechka.conftest import KEY, SITE

HOST = "api.kopeechka.store"
LETTER = "<html><body><p>Your Instagram code is <b>483920</b>.</p></body></html>"


@pytest.fixture
def proxied(fake, monkeypatch):
    """Every plain-http request of `requests` goes to the fake, as to a proxy."""
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, fake.url)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return fake


def test_the_constructor_checks_the_token_with_a_balance_call(proxied):
    lib = MailActivations(KEY)
    assert proxied.actions() == ["user-balance"] and proxied.targets == [(HOST, "/user-balance")]
    params = proxied.calls[0][1]
    assert (params["token"], params["type"], params["api"]) == (KEY, "JSON", "2.0")
    assert lib.user_balance() == UserBalance(status="OK", balance=100.0)
    proxied.state.strings = True  # mailsapi's decimal string: the library keeps what it gets
    assert lib.user_balance().balance == "100.000000"


def test_a_bad_token_is_the_librarys_api_error(proxied):
    with pytest.raises(KopeechkaApiError) as caught:
        MailActivations("not-the-token")
    assert (caught.value.status, caught.value.value) == ("ERROR", "BAD_TOKEN")


def test_buy_wait_read_reorder_and_cancel(proxied):
    lib = MailActivations(KEY)
    bought = lib.mailbox_get_email(site=SITE, mail_type="gmail.com")
    assert isinstance(bought, GetEmail) and bought.status == "OK" and bought.mail.endswith("@gmail.com")
    assert bought.id == str(proxied.orders[0].id)  # a string on the wire, whatever the library's hint says
    params = proxied.calls[-1][1]
    assert (params["site"], params["mail_type"], params["soft"], params["password"]) == (SITE, "gmail.com", "109", "0")
    assert proxied.balance == 95

    with pytest.raises(KopeechkaApiError) as waiting:
        lib.mailbox_get_message(bought.id)
    assert waiting.value.value == "WAIT_LINK"

    assert proxied.deliver_letter(bought.id, LETTER, value="483920")
    assert lib.mailbox_get_message(bought.id) == GetMessage(status="OK", value="483920", fullmessage="")
    assert lib.mailbox_get_message(bought.id, full=1) == GetMessage(status="OK", value="483920", fullmessage=LETTER)

    again = lib.mailbox_reorder(SITE, bought.mail)
    assert isinstance(again, GetEmail) and again.mail == bought.mail and again.id != bought.id
    assert lib.mailbox_get_fresh_id(SITE, bought.mail) == GetTaskId(status="OK", id=again.id)

    second = lib.mailbox_get_email(site=SITE, mail_type="gmail.com")
    assert lib.mailbox_cancel(second.id) == Status(status="OK")
    assert proxied.balance == 90  # the first and the reorder paid, the cancelled one refunded
    with pytest.raises(KopeechkaApiError) as cancelled:
        lib.mailbox_cancel(second.id)
    assert cancelled.value.value == "ACTIVATION_CANCELED"
    with pytest.raises(KopeechkaApiError) as unknown:
        lib.mailbox_get_message("1")
    assert unknown.value.value == "NO_ACTIVATION"
    assert {host for host, _ in proxied.targets} == {HOST}


def test_the_librarys_errors_for_a_buy(proxied):
    lib = MailActivations(KEY)
    for mail_type, code in (("hotmail.com", "OUT_OF_STOCK"), ("yahoo.com", "BAD_DOMAIN")):
        with pytest.raises(KopeechkaApiError) as caught:
            lib.mailbox_get_email(site=SITE, mail_type=mail_type)
        assert caught.value.value == code
    with pytest.raises(KopeechkaApiError) as reorder:
        lib.mailbox_reorder(SITE, lib.mailbox_get_email(site=SITE, mail_type="outlook.com").mail)
    assert reorder.value.value == "Activation not found"


def test_domains_and_the_zones_reply_in_the_librarys_types(proxied):
    lib = MailActivations(KEY)
    assert lib.mailbox_get_domains() == Domains(status="OK", count=1, domains=["fastmailbox.net"])
    reply = lib.request(f"http://{HOST}/mailbox-zones", params={"popular": 1, "zones": 1}).json()
    zones = MailboxZones(
        reply.get("status"),
        zones=[Zone(**x) for x in reply["zones"]],
        popular=[Popular(**x) for x in reply["popular"]],
    )
    assert zones.popular[0] == Popular(name="gmail.com", cost=5.0, count=3)
    assert zones.zones == [Zone(name="fastmailbox.net", cost=1.0)]
