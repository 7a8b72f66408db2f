from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line

from upstream.models import Country, Offer, Provider, Service

pytestmark = pytest.mark.django_db

KEY = "7f3c9e1d5b2a4c6e8f0a1b3c5d7e9f11"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_provider_add_with_every_option():
    out, err = run(
        "provider_add",
        "--slot",
        "2",
        "--protocol",
        "smsactivate",
        "--url",
        "https://api.sms-activate.ae/stubs/handler_api.php",
        "--api-key",
        KEY,
        "--currency",
        "RUB",
        "--rate",
        "3.15",
        "--name",
        "SMS-Activate",
        "--config",
        '{"timeout": 15}',
    )
    provider = Provider.objects.get(slot=2)
    assert (provider.protocol, provider.api_key, provider.currency, provider.rate_to_pkr, provider.name) == (
        "smsactivate",
        KEY,
        "RUB",
        Decimal("3.15"),
        "SMS-Activate",
    )
    assert provider.config == {"timeout": 15}
    assert out.strip() == (
        "added provider slot 2: SMS-Activate (smsactivate at https://api.sms-activate.ae/stubs/handler_api.php; "
        "prices in RUB, 1 RUB = 3.15 PKR)"
    )
    assert KEY not in out + err


def test_provider_add_sandbox_needs_no_url_or_key():
    out, _ = run("provider_add", "--slot", "1", "--protocol", "sandbox", "--config", '{"sms_delay_seconds": 3}')
    provider = Provider.objects.get(slot=1)
    assert provider.protocol == "sandbox" and provider.config == {"sms_delay_seconds": 3}
    assert "added provider slot 1: sandbox" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slot", "9", "--protocol", "sandbox"], "slot must be an integer from 1 to 6"),
        (["--slot", "1", "--protocol", "nope", "--url", "https://x.example", "--api-key", KEY], "unknown protocol"),
        (["--slot", "1", "--protocol", "smsactivate", "--api-key", KEY], "a URL is required"),
        (["--slot", "1", "--protocol", "sandbox", "--rate", "zero"], "--rate must be a number"),
        (["--slot", "1", "--protocol", "sandbox", "--rate", "0"], "rate must be positive"),
        (["--slot", "1", "--protocol", "sandbox", "--config", "{oops"], "--config is not valid JSON"),
        (["--slot", "1", "--protocol", "sandbox", "--config", "[1]"], "config must be a JSON object"),
        (["--slot", "1", "--protocol", "smsactivate", "--url", "nope", "--api-key", KEY], "not an http(s) URL"),
    ],
)
def test_provider_add_errors(args, message):
    with pytest.raises(CommandError) as info:
        run("provider_add", *args)
    assert message in str(info.value) and KEY not in str(info.value)
    assert not Provider.objects.exists()


def test_provider_add_taken_slot():
    run("provider_add", "--slot", "1", "--protocol", "sandbox")
    with pytest.raises(CommandError, match="slot 1 is already taken"):
        run("provider_add", "--slot", "1", "--protocol", "sandbox")


def test_catalogue_seed_command():
    from upstream.models import EmailService

    EmailService.objects.filter(code__in=["ig", "tg"]).delete()  # the migration seeded them: two come back
    out, _ = run("catalogue_seed")
    assert out.startswith("catalogue seeded: ") and Country.objects.filter(id=66).exists()
    countries, services = Country.objects.count(), Service.objects.count()
    assert out.strip() == f"catalogue seeded: {countries} new countries, {services} new services, 2 new e-mail services"
    assert EmailService.objects.get(code="ig").site == "instagram.com"
    again = run("catalogue_seed")[0].strip()
    assert again == "catalogue seeded: 0 new countries, 0 new services, 0 new e-mail services"


def test_catalogue_sync_all_enabled_providers():
    run("provider_add", "--slot", "1", "--protocol", "sandbox", "--name", "demo")
    run("provider_add", "--slot", "3", "--protocol", "sandbox", "--currency", "USD", "--rate", "280")
    run("provider_add", "--slot", "4", "--protocol", "sandbox")
    Provider.objects.filter(slot=4).update(enabled=False)
    out, err = run("catalogue_sync")
    lines = out.splitlines()
    assert err == ""
    assert lines[0] == "slot 1: fetching catalogue from demo"
    assert "slot 1: 30 price entries" in lines
    assert any(line.startswith("slot 3: 30 new offers, 0 updated, 0 unchanged, 0 out of stock") for line in lines)
    assert not any(line.startswith("slot 4") for line in lines)
    assert lines[-1] == "synced 2 of 2 provider(s)"
    assert Offer.objects.filter(provider__slot=1).count() == 30 and not Offer.objects.filter(provider__slot=4).exists()
    out, _ = run("catalogue_sync", "--slot", "4")  # named explicitly: synced even though disabled
    assert out.splitlines()[-1] == "synced 1 of 1 provider(s)"
    assert Offer.objects.filter(provider__slot=4).count() == 30


def test_catalogue_sync_reports_failures_and_fails():
    run("provider_add", "--slot", "1", "--protocol", "sandbox")
    run(
        "provider_add",
        "--slot",
        "2",
        "--protocol",
        "sandbox",
        "--config",
        '{"fail": "error", "fail_actions": ["prices"]}',
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"catalogue sync failed for slot\(s\) 2") as info:
        call_command("catalogue_sync", stdout=out, stderr=err)
    assert info.value.returncode == 1
    assert err.getvalue().strip() == "slot 2: FAILED (ProviderError) ERROR_SQL"
    assert out.getvalue().splitlines()[-1] == "synced 1 of 2 provider(s)"
    assert Offer.objects.filter(provider__slot=1).count() == 30 and not Offer.objects.filter(provider__slot=2).exists()


def test_catalogue_sync_unknown_slot_and_no_providers():
    with pytest.raises(CommandError, match="no provider in slot 5"):
        run("catalogue_sync", "--slot", "5")
    assert run("catalogue_sync")[0].strip() == "no enabled providers; nothing to sync"


@pytest.mark.django_db(transaction=True)
def test_exit_codes_from_the_command_line(capsys):
    execute_from_command_line(["manage.py", "provider_add", "--slot", "1", "--protocol", "sandbox"])
    execute_from_command_line(["manage.py", "catalogue_sync"])  # returns: exit status 0
    assert "synced 1 of 1 provider(s)" in capsys.readouterr().out
    Provider.objects.filter(slot=1).update(config={"fail": "garbage", "fail_actions": ["countries"]})
    with pytest.raises(SystemExit) as info:
        execute_from_command_line(["manage.py", "catalogue_sync"])
    assert info.value.code == 1
    assert "slot 1: FAILED (BadResponse)" in capsys.readouterr().err
