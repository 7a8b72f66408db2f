"""`manage.py cheap_server_add`, and the demo's cheap servers (`demo_setup`)."""

import re
from decimal import Decimal
from io import StringIO
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.test import override_settings

from reseller.models import CheapServer
from tests.reseller.cheap.conftest import order_of, sms_through_sync
from upstream.models import Provider, Service

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("cheap_server_add", *args, stdout=out)
    return out.getvalue()


def added(out: str) -> CheapServer:
    """The server whose id is alone on the output's last line."""
    last = out.rstrip("\n").split("\n")[-1]
    assert last.isdigit(), out
    return CheapServer.objects.get(pk=int(last))


def test_fixed_price_on_one_slot(sandbox):
    out = run(
        "--type", "2", "--name", "WhatsApp India", "--slot", "1", "--service", "wa", "--country", "22",
        "--price", "130",
    )  # fmt: skip
    server = added(out)
    assert (server.type, server.name, server.provider_id, server.country_id) == (2, "WhatsApp India", sandbox.pk, 22)
    assert server.price == Decimal("130.00") and server.enabled
    assert [s.code for s in server.services.all()] == ["wa"]
    assert "fixed price 130.00 PKR" in out and "from slot 1" in out and "country 22 (India)" in out
    assert "note:" not in out  # the sandbox sells wa/22 at 120.00


def test_any_slot_any_country_several_services_disabled(sandbox):
    tg_id = str(Service.objects.get(code="tg").pk)
    out = run(
        "--type", "1", "--name", "Anything", "--slot", "ANY", "--service", tg_id, "--service", "wa",
        "--service", "tg", "--country", "any", "--disabled",
    )  # fmt: skip
    server = added(out)
    assert server.provider is None and server.country is None and server.price is None
    assert not server.enabled
    assert sorted(s.code for s in server.services.all()) == ["tg", "wa"]  # tg named twice: once
    assert "any provider" in out and "any country" in out and "cost + markup rules" in out and "disabled" in out


def test_warns_when_nothing_can_sell_yet(sandbox):
    out = run("--type", "1", "--name", "Other", "--slot", "1", "--service", "ot", "--country", "22")
    assert "note: no offer in stock for ot" in out
    added(out)
    out = run("--type", "1", "--name", "Too cheap", "--slot", "1", "--service", "wa", "--country", "22", "--price", "5")
    assert "costs more than 5.00 PKR" in out
    added(out)
    Provider.objects.filter(slot=1).update(enabled=False)
    out = run("--type", "1", "--name", "Off", "--slot", "1", "--service", "wa", "--country", "22")
    assert "provider slot 1 is disabled" in out
    assert CheapServer.objects.count() == 3


BASE = ["--type", "1", "--name", "X", "--slot", "1", "--service", "tg", "--country", "22"]


def replaced(option: str, value: str | None) -> list[str]:
    args = list(BASE)
    i = args.index(option)
    if value is None:
        del args[i : i + 2]
    else:
        args[i + 1] = value
    return args


@pytest.mark.parametrize(
    "args,message",
    [
        (replaced("--type", "3"), "--type must be 1 or 2"),
        (replaced("--type", "x"), "--type must be 1 or 2"),
        (replaced("--slot", "7"), "--slot must be a provider slot 1-6 or 'any'"),
        (replaced("--slot", "first"), "--slot must be a provider slot 1-6 or 'any'"),
        (replaced("--slot", "2"), "no provider in slot 2"),
        (replaced("--service", "zz"), "unknown --service 'zz'"),
        (replaced("--service", "99999"), "unknown --service '99999'"),
        (replaced("--country", "999"), "unknown --country '999'"),
        (replaced("--country", "India"), "unknown --country 'India'"),
        (replaced("--name", "  "), "a name is required"),
        (replaced("--name", "n" * 101), "longer than 100 characters"),
        ([*BASE, "--price", "0"], "--price: amount must not be zero"),
        ([*BASE, "--price", "-5"], "--price: amount must be positive"),
        ([*BASE, "--price", "1.234"], "at most two decimals"),
        ([*BASE, "--price", "abc"], "--price: invalid amount 'abc'"),
        ([*BASE, "--price", "1e9"], "--price: invalid amount"),
        (replaced("--service", None), "--service"),
        (replaced("--type", None), "--type"),
    ],
)
def test_bad_input_is_a_clear_error(sandbox, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)
    assert not CheapServer.objects.exists()


@pytest.mark.django_db(transaction=True)  # run_from_argv closes the connection at its end
def test_bad_input_from_the_command_line_has_no_traceback(sandbox, capsys):
    with pytest.raises(SystemExit) as info:
        execute_from_command_line(["manage.py", "cheap_server_add", *replaced("--slot", "9")])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "CommandError: --slot must be a provider slot 1-6 or 'any', not '9'" in err and "Traceback" not in err
    execute_from_command_line(["manage.py", "cheap_server_add", *BASE])
    assert capsys.readouterr().out.splitlines()[-1] == str(CheapServer.objects.get().pk)


# --- the demo ---------------------------------------------------------------------------------


def demo(tmp_path) -> str:
    out = StringIO()
    with override_settings(BASE_DIR=tmp_path):
        call_command("demo_setup", "--base-url", "http://testserver", stdout=out)
    return out.getvalue()


def test_demo_cheap_servers_once_and_its_curl_lines_work(tmp_path, client, django_capture_on_commit_callbacks):
    out = demo(tmp_path)
    servers = list(CheapServer.objects.order_by("id"))
    assert [(s.type, s.name, s.provider_id is None, s.country_id, s.price) for s in servers] == [
        (1, "Telegram \u2014 any country", True, None, None),
        (2, "WhatsApp India", False, 22, Decimal("130.00")),
    ]
    again = demo(tmp_path)
    assert CheapServer.objects.count() == 2  # idempotent
    lines = [line.strip() for line in out.splitlines() if "cheap_handler.php" in line]
    assert lines == [line.strip() for line in again.splitlines() if "cheap_handler.php" in line]
    actions = [dict(parse_qsl(urlsplit(line.split('"')[1]).query))["action"] for line in lines]
    assert actions == ["getServers", "getServices", "buyNumber", "getStatus", "setStatus"]

    def curl(line: str, order_id: str = "") -> str:
        url = urlsplit(line.split('"')[1].replace("ORD_ID", order_id))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(url.path, dict(parse_qsl(url.query)))
        assert response.status_code == 200
        return response.content.decode()

    first = servers[0].pk
    assert curl(lines[0]) == (
        f'{{"1":[{{"id":"{first}","name":"Telegram \\u2014 any country"}}],'
        f'"2":[{{"id":"{servers[1].pk}","name":"WhatsApp India"}}]}}'
    )
    tg = servers[0].services.get()
    assert curl(lines[1]) == f'{{"{tg.pk}":"Telegram \\u2014 \\u20a886.40"}}'  # Indonesia 72.00 + 20 %
    order = order_of(curl(lines[2]))
    ref = f"ORD_{order.pk}"
    assert curl(lines[3], ref) == "STATUS_WAIT_CODE"
    sms_through_sync(order)
    assert curl(lines[3], ref) == f"STATUS_OK:{order.code}"
    assert curl(lines[4], ref) == "ACCESS_FINISH"
