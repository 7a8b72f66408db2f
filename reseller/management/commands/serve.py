from pathlib import Path

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from reseller.embedded import start_embedded_beat


class Command(RunserverCommand):
    help = "Embedded run: the development server plus the periodic tasks (beat schedule) run in-process."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--banner",
            help="a file (demo_setup --banner-file) printed once the server listens, after Django's own lines",
        )

    def inner_run(self, *args, **options):
        self._banner = options.get("banner")
        start_embedded_beat()
        super().inner_run(*args, **options)

    def on_bind(self, server_port):
        """Called once the socket is bound and listening, before the first request is served: the
        demo banner (its URLs work from now on) comes after "Starting development server at ..."."""
        super().on_bind(server_port)
        if getattr(self, "_banner", None):
            self.stdout.write(Path(self._banner).read_text().rstrip("\n"))
        self.stdout.flush()
