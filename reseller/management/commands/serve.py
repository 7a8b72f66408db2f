from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from reseller.embedded import start_embedded_beat


class Command(RunserverCommand):
    help = "Embedded run: the development server plus the periodic tasks (beat schedule) run in-process."

    def inner_run(self, *args, **options):
        start_embedded_beat()
        super().inner_run(*args, **options)
