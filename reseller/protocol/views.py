"""One view for all four endpoints: parse, authenticate, dispatch, render.

Nothing escapes as a 500: domain errors map through the endpoint's table,
anything else is logged with its traceback and answered with the endpoint's
generic error. A database that is down or failing (connection refused or
lost, pool timeout, statement or lock timeout) gets the generic error too,
logged as one line without a traceback: an outage must not write a traceback
per request.

Only GET and POST (and the other methods a PHP script treats alike) run an action.
HEAD and OPTIONS never do: a HEAD caller never sees the body, so a `getNumber` sent as
HEAD would buy a number nobody receives (decisions.md "HEAD and OPTIONS"). They are
answered at once, touching neither the database nor the limits.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from reseller.client_ip import client_ip
from reseller.protocol import throttle
from reseller.protocol.actions import activations, inputs
from reseller.protocol.auth import authenticate
from reseller.protocol.context import Call
from reseller.protocol.endpoints import Endpoint
from reseller.protocol.errors import UnknownAction
from reseller.protocol.params import Params
from reseller.protocol.render import Reply, render
from upstream.routing_state import request_scope

log = logging.getLogger("reseller.protocol")


ALLOWED_METHODS = "GET, POST, HEAD, OPTIONS"
INERT_METHODS = ("HEAD", "OPTIONS")


def _dispatch(request: HttpRequest, endpoint: Endpoint) -> Reply:
    ip = client_ip(request)
    throttle.check_ip(ip)
    params = Params.from_request(request)
    action = params.get("action")
    handler = endpoint.actions.get(action) if action is not None else None
    principal = authenticate(params.get("api_key"), ip, status_of=_status_of(handler, params))
    if handler is None:
        raise UnknownAction(action)
    return handler(Call(principal=principal, params=params, endpoint=endpoint.name))


def _status_of(handler, params: Params) -> int | None:
    """handler_api.php's getStatus: its activation id, read with the key in one statement; None for
    every other action and for an id getStatus itself refuses (it reads and answers as before)."""
    return inputs.positive_int(params.get("id")) if handler is activations.get_status else None


def one_line(exc: BaseException) -> str:
    """`Class: message` on one line (psycopg's messages span several)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]


def endpoint_view(endpoint: Endpoint):
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        if request.method in INERT_METHODS:
            return _inert(request, endpoint)
        try:
            with request_scope():  # the routing state read at most once per request
                reply = _dispatch(request, endpoint)
        except Exception as exc:  # noqa: BLE001 - the wire must never see a traceback
            factory = endpoint.errors.lookup(exc)
            if factory is None:
                if isinstance(exc, OperationalError | InterfaceError):
                    log.warning("database error on %s: %s", endpoint.name, one_line(exc))
                else:
                    log.exception("unexpected error on %s", endpoint.name)
                factory = endpoint.errors.generic
            reply = factory(exc)
        return render(reply)

    view.__name__ = f"{endpoint.name}_view"
    return view


def _inert(request: HttpRequest, endpoint: Endpoint) -> HttpResponse:
    """HEAD/OPTIONS: HTTP 200, the endpoint's content type, no body; OPTIONS adds `Allow`."""
    response = HttpResponse(b"", content_type=endpoint.content_type)
    if request.method == "OPTIONS":
        response["Allow"] = ALLOWED_METHODS
    return response
