"""Errors to Sentry when SENTRY_DSN is set (docs/logging.md, "Sentry"); nothing at all without it.

`init_sentry()` is called at the end of reseller/settings.py, so the web processes and the Celery
workers and beat (which load the settings) all report: unhandled exceptions in views and tasks,
and log records of level ERROR and above (Sentry's logging integration; lower levels become
breadcrumbs). No personal data (no user, cookies, request bodies or frame variables), and every
event is masked before it leaves the process (`before_send`): every string in it, the request's
URL, query string and headers, the breadcrumbs, the exception values, by the rules of
observability/masking.py. The request id rides along as the `request_id` tag.
"""

from __future__ import annotations

import logging

from observability.masking import redact_data
from observability.request_id import current_request_id

log = logging.getLogger(__name__)


def before_send(event, hint=None):
    """The event with every secret masked and the current request id as a tag."""
    event = redact_data(event)
    rid = current_request_id()
    if rid:
        event.setdefault("tags", {})
        if isinstance(event["tags"], dict):
            event["tags"].setdefault("request_id", rid)
    return event


def before_breadcrumb(crumb, hint=None):
    return redact_data(crumb)


def init_sentry(
    dsn: str,
    *,
    environment: str = "",
    release: str = "",
    traces_sample_rate: float = 0.0,
    transport=None,
) -> bool:
    """Initialise the Sentry SDK with the Django and Celery integrations; False (nothing done)
    when `dsn` is empty. `transport` replaces the network (tests record events with it)."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    options = {
        "dsn": dsn,
        # No personal data: send_default_pii is left unset, which is off (sentry-sdk 2.75 deprecates
        # passing it in favour of `data_collection`, whose default without it derives from it: off).
        "integrations": [
            DjangoIntegration(),
            CeleryIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        "before_send": before_send,
        "before_send_transaction": before_send,
        "before_breadcrumb": before_breadcrumb,
        "traces_sample_rate": traces_sample_rate,
        "max_request_body_size": "never",  # a POSTed form holds the key (Get-SMS-style clients)
        # A frame's local variables hold keys under any name (`account`, `payload`, `url`): never sent.
        "include_local_variables": False,
    }
    if environment:
        options["environment"] = environment
    if release:
        options["release"] = release
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    return True
