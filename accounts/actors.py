"""Who is acting: the admin user on a web request, the person at the shell for a management command.

A command records `cli:<OS user>@<host>` as the actor label of what it writes (AuditEvent, ledger
Transfer, the audit trail's entry), and with `--actor <staff username>` also that staff user.
"""

import getpass
import socket
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer


class UnknownActor(ValueError):
    pass


@dataclass(frozen=True)
class Actor:
    user: Customer | None
    label: str


def cli_label() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def cli_actor(username: str | None = None) -> Actor:
    """The actor of a management command; `username` (from --actor) must name an active staff user."""
    user = None
    if username:
        user = Customer.objects.filter(username=username).first()
        if user is None or not user.is_staff_account or not user.is_active:
            raise UnknownActor(f"--actor {username!r} is not an active staff user")
    return Actor(user=user, label=cli_label())


@contextmanager
def audit_context(actor: Actor):
    """Inside it, the audit trail (django-auditlog) records `actor.user` and, in the entry's
    additional data, `actor.label`. The web's AuditlogMiddleware does the same for requests."""
    from auditlog.context import set_extra_data

    with set_extra_data(context_data={"actor": actor.user, "additional_data": {"actor_label": actor.label}}):
        yield


class ActorCommand(BaseCommand):
    """A management command that changes customers, money or the catalogue: it takes `--actor
    <staff username>` and runs `handle` with `self.actor` set (the user, if named, and the label
    `cli:<OS user>@<host>`), inside the audit trail's context."""

    actor: Actor

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--actor",
            metavar="STAFF_USERNAME",
            help="the staff user on whose behalf this runs (recorded with cli:<OS user>@<host>)",
        )
        return parser

    def execute(self, *args, **options):
        try:
            self.actor = cli_actor(options.pop("actor", None))
        except UnknownActor as exc:
            raise CommandError(str(exc)) from None
        with audit_context(self.actor):
            return super().execute(*args, **options)
