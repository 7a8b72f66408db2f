"""Log lines: JSON (production) or text (the embedded run), every secret masked (docs/logging.md).

`LOG_FORMAT=json` writes one JSON object per line:

    {"timestamp": "2026-12-03T08:00:00.123456+00:00", "level": "INFO", "logger": "django.server",
     "message": "...", "request_id": "...", "task_id": null, "task_name": null, ...}

plus `exc_info` (the traceback, as one string) and `stack_info` when the record has them, and the
record's own extra fields (`status_code`, gunicorn's access fields...). Every string in the line is
masked (observability/masking.py) before it is serialised. `LOG_FORMAT=text` writes
`<time> <level> <logger> [<request id>] <message>`, masked the same way.

Plain Python, no Django: gunicorn's master uses the formatters (reseller/gunicorn_logging.py).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from observability.masking import RedactApiKeyFilter, redact, redact_data
from observability.request_id import RequestContextFilter

FORMATS = ("json", "text")
# Record attributes never copied into a JSON line as extra fields: the standard ones (shown under
# their own names or not at all) and objects whose repr would carry the whole request (Django's
# `request`, the dev server's socket) or nothing useful.
_SKIPPED = {
    "args", "asctime", "created", "exc_info", "exc_text", "filename", "funcName", "levelname", "levelno",
    "lineno", "module", "msecs", "msg", "message", "name", "pathname", "process", "processName",
    "relativeCreated", "stack_info", "thread", "threadName", "taskName",
    "request", "server_time", "request_id", "task_id", "task_name", "data",
}  # fmt: skip
_BASIC = (str, int, float, bool, type(None))


def log_format(embedded: bool) -> str:
    """LOG_FORMAT from the environment: `json` or `text`; default `text` in the embedded run."""
    value = os.environ.get("LOG_FORMAT", "").strip().lower() or ("text" if embedded else "json")
    if value not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def _jsonable(value):
    if isinstance(value, _BASIC):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


class JsonFormatter(_JsonFormatter):
    """One JSON object per line, masked (see the module doc)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        log_data["timestamp"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat()
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        log_data["request_id"] = getattr(record, "request_id", None)
        log_data["task_id"] = getattr(record, "task_id", None)
        log_data["task_name"] = getattr(record, "task_name", None)
        for key, value in message_dict.items():  # exc_info, stack_info, a logged dict's items
            log_data[key] = value
        for key, value in record.__dict__.items():
            if key not in _SKIPPED and not key.startswith("_") and key not in log_data:
                log_data[key] = value

    def process_log_record(self, log_data):
        return redact_data(_jsonable(log_data))


class TextFormatter(logging.Formatter):
    """`<time> <level> <logger> [<request id>] <message>`, the whole line masked."""

    def __init__(self, fmt=None, datefmt=None, style="%", **kwargs):
        super().__init__(
            fmt or "%(asctime)s %(levelname)s %(name)s %(request_part)s%(message)s", datefmt, style, **kwargs
        )

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.request_part = f"[{rid}] " if rid else ""
        return redact(super().format(record))


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def filters() -> list[logging.Filter]:
    """The filters every handler carries: masking and the request context."""
    return [RedactApiKeyFilter(), RequestContextFilter()]


def logging_config(fmt: str, level: str = "INFO") -> dict:
    """The LOGGING dict of reseller/settings.py: one console handler (stderr) in format `fmt`,
    masking and the request context on it, used by the root logger and by the loggers Django and
    Celery would otherwise give handlers of their own."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact_api_keys": {"()": "observability.masking.RedactApiKeyFilter"},
            "request_context": {"()": "observability.request_id.RequestContextFilter"},
        },
        "formatters": {
            "json": {"()": "observability.logs.JsonFormatter"},
            "text": {"()": "observability.logs.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["redact_api_keys", "request_context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # Django's own handlers for these (the dev server's request lines; admin e-mails) would skip the mask.
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.request": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
