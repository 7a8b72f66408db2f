"""One request id per request, carried into the tasks it queues (docs/logging.md, "Request ids").

- `RequestIdMiddleware` (first in MIDDLEWARE) takes the client's `X-Request-ID` when it is
  well-formed (`VALID`: 1-64 of letters, digits, `-`, `_`, `.`), else makes one (uuid4 hex); it is
  the context's request id for the whole request (also Django's own lines about it, and the dev
  server's request line, logged after the response) and is sent back as `X-Request-ID`.
- `RequestContextFilter` puts `request_id` (and `task_id` / `task_name` inside a task) on every
  log record.
- `connect_celery()`: a task published while a request id is current carries it in its message
  headers (`request_id`); the worker makes it current while the task runs, so the task's lines, the
  worker's own lines about it and the tasks it queues in turn carry the same id. A task published
  without one (beat's, an admin command's) gets a new id when it starts.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
MESSAGE_HEADER = "request_id"  # the Celery message header
VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_var: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("task", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


def accepted(value: str | None) -> str | None:
    """The client's request id when it is well-formed, else None (a new one is made)."""
    return value if value and VALID.fullmatch(value) else None


class RequestContextFilter(logging.Filter):
    """Adds `request_id`, `task_id` and `task_name` (None outside a request / task) to every record.
    A record that already has them (gunicorn's access line, from the response header) keeps its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        task = task_var.get()
        if getattr(record, "task_id", None) is None:
            record.task_id = task[0] if task else None
        if getattr(record, "task_name", None) is None:
            record.task_name = task[1] if task else None
        return True


class RequestIdMiddleware:
    """See the module doc. The id stays current until Django's `request_finished` (which the WSGI
    servers send after writing their request line), then is cleared."""

    def __init__(self, get_response):
        self.get_response = get_response
        _connect_request_finished()

    def __call__(self, request):
        rid = accepted(request.META.get(META_KEY)) or new_request_id()
        request.request_id = rid
        request_id_var.set(rid)
        response = self.get_response(request)
        response[HEADER] = rid
        return response


_finished_connected = False


def _clear(**_kwargs) -> None:
    request_id_var.set(None)


def _connect_request_finished() -> None:
    global _finished_connected
    if not _finished_connected:
        from django.core.signals import request_finished

        request_finished.connect(_clear, dispatch_uid="observability.request_id.clear")
        _finished_connected = True


# --- Celery -----------------------------------------------------------------------------------

_tokens: dict[str, tuple[contextvars.Token, contextvars.Token]] = {}


def _before_publish(headers=None, **_kwargs) -> None:
    rid = request_id_var.get()
    if rid and headers is not None and not headers.get(MESSAGE_HEADER):
        headers[MESSAGE_HEADER] = rid


def _prerun(task_id=None, task=None, **_kwargs) -> None:
    carried = accepted(getattr(task.request, MESSAGE_HEADER, None)) if task is not None else None
    # An eager task (the embedded run, tests) runs inside its caller: it keeps the caller's id.
    rid = carried or request_id_var.get() or new_request_id()
    name = getattr(task, "name", None) or ""
    _tokens[task_id] = (request_id_var.set(rid), task_var.set((task_id, name)))


def _postrun(task_id=None, **_kwargs) -> None:
    tokens = _tokens.pop(task_id, None)
    if tokens is not None:
        rid_token, task_token = tokens
        try:
            task_var.reset(task_token)
            request_id_var.reset(rid_token)
        except ValueError:  # set in another context (should not happen): clear instead
            task_var.set(None)
            request_id_var.set(None)


def connect_celery() -> None:
    """Connect the publish / prerun / postrun handlers (idempotent: dispatch uids)."""
    from celery import signals

    signals.before_task_publish.connect(_before_publish, weak=False, dispatch_uid="observability.rid.publish")
    signals.task_prerun.connect(_prerun, weak=False, dispatch_uid="observability.rid.prerun")
    signals.task_postrun.connect(_postrun, weak=False, dispatch_uid="observability.rid.postrun")
