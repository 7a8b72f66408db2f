"""What the reports' commands share: reading a `--from` / `--to` day, one line per mistake."""

from datetime import date

from django.core.management.base import CommandError


def option_day(name: str, value: str | None, *, required: bool) -> date | None:
    """The day given as `--<name> YYYY-MM-DD`; None when omitted and not required."""
    if not value:
        if required:
            raise CommandError(f"--{name} is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name} {value!r} is not a date: use YYYY-MM-DD") from None
