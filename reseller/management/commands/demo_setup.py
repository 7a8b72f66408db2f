"""First-run demo data for the embedded run: an admin, a funded demo customer,
a sandbox upstream in slot 1 with its catalogue synced, a 20 % markup, two cheap
servers (cheap_handler.php): Telegram from any provider and country at cost + markup, and
WhatsApp India from slot 1 at a fixed price; both rental servers and both e-mail servers on
the sandbox.

Credentials are written once to var/demo-credentials.txt (the API key is never
stored in the database, only its digest) and printed on every run.
"""

import secrets
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction

from accounts.actors import ActorCommand
from accounts.models import Customer
from accounts.services import customer_create, customer_rotate_key
from billing.models import MarkupRule
from billing.selectors import wallet_of
from billing.services import markup_set, wallet_topup
from reseller.cheap.servers import cheap_server_add
from reseller.emails.servers import email_server_set
from reseller.models import CheapServer, EmailServer, RentalServer
from reseller.rentals.servers import rental_server_set
from upstream.models import EmailOffer, Provider
from upstream.selectors import country_get, service_by_code_or_id
from upstream.services import catalogue_sync, provider_add

DEMO_BALANCE = "1000.00"
CHEAP_TELEGRAM = "Telegram \u2014 any country"
CHEAP_WHATSAPP = "WhatsApp India"
CHEAP_WHATSAPP_PRICE = Decimal("130.00")  # the sandbox's cost is 120.00 PKR (markup would make it 144.00)


class Command(ActorCommand):
    help = "Create the demo admin and customer on first run; print their credentials."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--banner-file",
            help="write the banner (credentials, examples) to this file (mode 600) instead of printing it: "
            "`serve --banner FILE` prints it once the server listens (scripts/run.sh)",
        )

    def handle(self, *args, base_url, banner_file=None, **options):
        path = settings.BASE_DIR / "var" / "demo-credentials.txt"
        if not path.exists() or not Customer.objects.filter(username="demo").exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self._create())
            path.chmod(0o600)
        if not Provider.objects.exists():
            provider = provider_add(
                slot=1, protocol="sandbox", url="", api_key="", name="Sandbox (demo)", config={"sms_delay_seconds": 10}
            )
            result = catalogue_sync(provider=provider)
            self.stdout.write(f"sandbox provider in slot 1, catalogue synced: {result}")
        if not MarkupRule.objects.filter(scope=MarkupRule.Scope.GLOBAL).exists():
            markup_set(scope=MarkupRule.Scope.GLOBAL, percent=Decimal("20"), note="demo markup")
        if not CheapServer.objects.exists():
            self._cheap_servers()
        if not RentalServer.objects.exists() and Provider.objects.filter(slot=1, protocol="sandbox").exists():
            sandbox = Provider.objects.get(slot=1)
            for server in RentalServer.SERVERS:  # both rental servers rent from the sandbox
                rental_server_set(server=server, provider=sandbox)
            self.stdout.write("rental servers 1 and 2: the sandbox in slot 1")
        if not EmailServer.objects.exists() and Provider.objects.filter(slot=1, protocol="sandbox").exists():
            self._email_servers(Provider.objects.get(slot=1))
        cheap = CheapServer.objects.filter(enabled=True).order_by("id").first()
        creds = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        key = creds["DEMO_API_KEY"]
        banner = "\n".join(
            [
                "",
                "=== Demo ready ===",
                f"admin:       {base_url}/admin/  user admin / password {creds['ADMIN_PASSWORD']}",
                f"API key:     {key}  (customer 'demo', opening balance {DEMO_BALANCE} PKR)",
                "try (the sandbox delivers an SMS about 10 s after purchase):",
                f'  curl "{base_url}/stubs/handler_api.php?api_key={key}&action=getBalance"',
                f'  curl "{base_url}/stubs/handler_api.php?api_key={key}&action=getNumber&service=tg&country=22"',
                f'  curl "{base_url}/stubs/handler_api.php?api_key={key}&action=getStatus&id=ID"',
                f'  curl "{base_url}/stubs/handler_api.php?api_key={key}&action=setStatus&id=ID&status=6"',
                *self._cheap_lines(f"{base_url}/stubs/cheap_handler.php?api_key={key}", cheap),
                *self._rental_lines(f"{base_url}/stubs/rental-handler.php?api_key={key}"),
                *self._email_lines(f"{base_url}/stubs/email_handler.php?api_key={key}"),
                f"(credentials kept in {path})",
                "",
            ]
        )
        if banner_file:
            target = Path(banner_file)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch(mode=0o600)
            target.chmod(0o600)  # the admin password and the API key
            target.write_text(banner + "\n")
        else:
            self.stdout.write(banner)

    def _cheap_servers(self) -> None:
        """The demo's cheap servers, once (an admin may change or delete them afterwards)."""
        telegram, whatsapp = service_by_code_or_id("tg", disabled=True), service_by_code_or_id("wa", disabled=True)
        india, sandbox = country_get(22, disabled=True), Provider.objects.filter(slot=1, protocol="sandbox").first()
        if telegram is None or whatsapp is None or india is None or sandbox is None:
            self.stdout.write("no sandbox catalogue in slot 1: no demo cheap servers")
            return
        with transaction.atomic():
            first = cheap_server_add(type=1, name=CHEAP_TELEGRAM, provider=None, services=[telegram], country=None)
            second = cheap_server_add(
                type=2,
                name=CHEAP_WHATSAPP,
                provider=sandbox,
                services=[whatsapp],
                country=india,
                price=CHEAP_WHATSAPP_PRICE,
            )
        self.stdout.write(
            f"cheap servers: #{first.pk} {first.name} (type 1, any provider, cost + markup), "
            f"#{second.pk} {second.name} (type 2, slot 1, fixed {CHEAP_WHATSAPP_PRICE} PKR)"
        )

    @staticmethod
    def _cheap_lines(url: str, server: CheapServer | None) -> list[str]:
        if server is None:
            return []
        return [
            "cheap numbers (15 minutes; ORD_ID is what buyNumber answers first):",
            f'  curl "{url}&action=getServers"',
            f'  curl "{url}&action=getServices&server={server.pk}"',
            f'  curl "{url}&action=buyNumber&server={server.pk}"',
            f'  curl "{url}&action=getStatus&id=ORD_ID"',
            f'  curl "{url}&action=setStatus&id=ORD_ID&status=6"',
        ]

    @staticmethod
    def _rental_lines(url: str) -> list[str]:
        if not RentalServer.objects.filter(enabled=True).exists():
            return []
        return [
            "a rental (a number for 24 hours; the sandbox sends it an SMS every minute; ID is rentNumber's order_id):",
            f'  curl "{url}&action=getRentalPricing&country_code=in&provider=1"',
            f'  curl "{url}&action=rentNumber&country_code=in&provider=1&duration_hours=24"',
            f'  curl "{url}&action=getRentalSMS&order_id=ID"',
            f'  curl "{url}&action=renewRental&rental_id=ID&duration_hours=24"',
        ]

    def _email_servers(self, sandbox: Provider) -> None:
        """Both e-mail servers sell the sandbox's mailboxes (its e-mail catalogue synced first, for
        a database made before the sandbox sold e-mails)."""
        if not EmailOffer.objects.filter(provider=sandbox).exists():
            catalogue_sync(provider=sandbox)
        for server in EmailServer.SERVERS:
            email_server_set(server=server, provider=sandbox)
        self.stdout.write("e-mail servers 1 and 2: the sandbox in slot 1")

    @staticmethod
    def _email_lines(url: str) -> list[str]:
        if not EmailServer.objects.filter(enabled=True).exists():
            return []
        return [
            "an e-mail (the sandbox's letter with a code arrives about 8 s after purchase; ID is buyEmail's email_id):",
            f'  curl "{url}&action=getEmailServices&server=1&domain=gmail.com"',
            f'  curl "{url}&action=buyEmail&server=1&service_id=ig&domain=gmail.com"',
            f'  curl "{url}&action=getEmailCode&email_id=ID"',
            f'  curl "{url}&action=getEmailServices&server=2"',
            f'  curl "{url}&action=buyEmail&server=2&domain=mail.com&site=telegram.org"',
        ]

    @transaction.atomic
    def _create(self) -> str:
        password = secrets.token_urlsafe(12)
        admin = Customer.objects.filter(username="admin").first()
        if admin is None:
            Customer.objects.create_superuser("admin", "admin@example.com", password)
        else:
            admin.set_password(password)
            admin.save(update_fields=["password"])
        demo = Customer.objects.filter(username="demo").first()
        if demo is None:
            demo, key = customer_create(username="demo", email="demo@example.com", actor_label=self.actor.label)
            wallet_topup(
                wallet=wallet_of(demo),
                amount=DEMO_BALANCE,
                key="demo:opening",
                memo="demo opening balance",
                actor_label=self.actor.label,
            )
        else:
            key = customer_rotate_key(
                customer=demo, reason="demo credentials file was missing", actor_label=self.actor.label
            )
        return f"ADMIN_PASSWORD={password}\nDEMO_API_KEY={key}\n"
