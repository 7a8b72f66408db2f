#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseller.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        if not hasattr(exc, "production_setting"):
            raise
        sys.exit(f"ImproperlyConfigured: {exc}")  # a missing production variable: one line, exit 1


if __name__ == "__main__":
    main()
