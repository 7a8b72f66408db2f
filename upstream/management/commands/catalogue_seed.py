from accounts.actors import ActorCommand
from upstream.services import catalogue_seed, email_services_seed


class Command(ActorCommand):
    help = "Load the reference countries and services (upstream/data/*.csv); idempotent, renames nothing."

    def handle(self, *args, **options):
        countries, services = catalogue_seed()
        emails = email_services_seed()
        self.stdout.write(
            f"catalogue seeded: {countries} new countries, {services} new services, {emails} new e-mail services"
        )
