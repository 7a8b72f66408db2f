"""The HTTP side shared by every fake upstream (tests/fakes/): a standard-library WSGI
server on 127.0.0.1 and a free port, one thread per request (so many delayed requests
are answered in parallel), and the controls that make an upstream misbehave: one-shot
canned responses (HTML, 502, a redirect, a slow or huge body), dropped connections,
delays, and a record of every request.

A fake is a FakeUpstream with a protocol `state` object whose `handle(params)`
returns (content type, body); subclasses add that protocol's state controls.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import ClassVar
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

TEXT = "text/html; charset=UTF-8"
ANY_ACTION = "*"


@dataclass(frozen=True)
class _Canned:
    body: bytes | None  # None: drop the connection without answering
    status: int = 200
    content_type: str = TEXT
    headers: tuple[tuple[str, str], ...] = ()
    chunk_delay: float | None = None
    chunk_size: int = 1
    carry_out: bool = False  # the state handles the request first; this replaces its answer
    normal: bool = False  # a place in the queue answered by the protocol itself (next_normal)


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for requests sleeping in a delay
    request_queue_size = 1024  # the default backlog of 5 drops connections under a concurrent benchmark
    allow_reuse_address = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); there is no DNS to ask.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class _Handler(WSGIRequestHandler):
    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ["fake.socket"] = self.connection
        return environ

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class FakeUpstream:
    path: ClassVar[str] = "/stubs/handler_api.php"
    action_param: ClassVar[str] = "action"  # the parameter naming the call ("method" at Get-SMS)
    content_type: ClassVar[str] = TEXT  # of canned responses, unless given
    thread_name: ClassVar[str] = "fake-upstream"

    def __init__(self, state) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._calls: list[tuple[str, dict[str, str]]] = []
        self._requests: list[tuple[str, str]] = []  # (HTTP verb, query string)
        self._canned: dict[str, deque[_Canned]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeUpstream:
        self._stopping.clear()
        self._server = make_server("127.0.0.1", 0, self, server_class=_Server, handler_class=_Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes requests sleeping in a delay or a slow body
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Full URL of the fake endpoint: what goes into Provider.base_url."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    # --- misbehaviour controls -----------------------------------------------------------

    def next_response(
        self,
        action: str,
        body: str | bytes,
        status: int = 200,
        *,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        chunk_delay: float | None = None,
        chunk_size: int = 1,
        carry_out: bool = False,
    ) -> None:
        """Answer the next request for `action` (`"*"`: any action) with this instead of the protocol.

        One-shot and queued (several calls answer several requests in order);
        the request is still recorded in `calls` but never reaches the state,
        unless `carry_out`: then the state handles it first (a purchase sells,
        a cancel cancels) and this is answered instead of its reply, as by an
        upstream whose application failed after committing.
        `chunk_delay`: send the body in `chunk_size`-byte pieces with this
        many seconds between them and without Content-Length (a slow or
        streamed body); None sends it at once with Content-Length.
        """
        data = body.encode() if isinstance(body, str) else body
        canned = _Canned(
            data,
            status,
            content_type or self.content_type,
            tuple((headers or {}).items()),
            chunk_delay,
            max(1, chunk_size),
            carry_out,
        )
        with self._lock:
            self._canned[action].append(canned)

    def next_normal(self, action: str) -> None:
        """Answer the next request for `action` as the protocol does: a place in the queue of
        canned responses, so a test can script a sequence (a failure, a sale, a failure...)."""
        with self._lock:
            self._canned[action].append(_Canned(b"", normal=True))

    def next_disconnect(self, action: str) -> None:
        """Close the connection of the next request for `action` after reading it, without answering."""
        with self._lock:
            self._canned[action].append(_Canned(None))

    def delay(self, seconds: float, actions: Iterable[str] | None = None) -> None:
        """Sleep `seconds` before answering `actions` (None: every action); 0 removes the delay."""
        if isinstance(actions, str):
            actions = [actions]
        with self._lock:
            for action in [ANY_ACTION] if actions is None else list(actions):
                if seconds > 0:
                    self._delays[action] = float(seconds)
                else:
                    self._delays.pop(action, None)

    def calm(self) -> None:
        """Drop every canned response and delay still pending: the upstream behaves again."""
        with self._lock:
            self._canned.clear()
            self._delays.clear()

    @property
    def calls(self) -> list[tuple[str, dict[str, str]]]:
        """(action, params) of every request received, in order (a copy)."""
        with self._lock:
            return list(self._calls)

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(HTTP verb, query string) of every request received, in order."""
        with self._lock:
            return list(self._requests)

    # --- the WSGI application ----------------------------------------------------------------

    def route(self, environ: dict, params: dict[str, str]) -> str | None:
        """The action a request asks for; None: not this fake's path (404). By default the path is
        `path` and the action the `action_param` parameter; a fake naming the call in the path
        (Kopeechka's `/<method>`) overrides this, and `respond`."""
        if environ.get("PATH_INFO") != self.path:
            return None
        return params.get(self.action_param, "")

    def respond(self, action: str, params: dict[str, str]) -> tuple[str, str]:
        """(content type, body) of the protocol's answer: the state's."""
        return self.state.handle(params)

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        params = self._params(environ)
        action = self.route(environ, params)
        if action is None:
            start_response("404 Not Found", [("Content-Type", "text/html; charset=UTF-8")])
            return [b"<html><body><h1>404 Not Found</h1></body></html>"]
        with self._lock:
            self._calls.append((action, params))
            self._requests.append((environ.get("REQUEST_METHOD", ""), environ.get("QUERY_STRING", "")))
            delay = self._delays.get(action, self._delays.get(ANY_ACTION, 0.0))
            queue = self._canned.get(action) or self._canned.get(ANY_ACTION)
            canned = queue.popleft() if queue else None
        if delay:
            self._stopping.wait(delay)
        if canned is None or canned.carry_out or canned.normal:
            content_type, body = self.respond(action, params)
            if canned is None or canned.normal:
                canned = _Canned(body.encode(), content_type=content_type)
        if canned.body is None:
            environ["fake.socket"].shutdown(socket.SHUT_RDWR)
            start_response("200 OK", [])
            return []
        headers = [("Content-Type", canned.content_type), *canned.headers]
        phrase = HTTPStatus(canned.status).phrase if canned.status in HTTPStatus._value2member_map_ else "Status"
        start_response(f"{canned.status} {phrase}", headers)
        if canned.chunk_delay is None:
            return [canned.body]
        return self._drip(canned)

    def _drip(self, canned: _Canned) -> Iterator[bytes]:
        body, size = canned.body or b"", canned.chunk_size
        for start in range(0, len(body), size):
            if start and canned.chunk_delay and self._stopping.wait(canned.chunk_delay):
                return
            yield body[start : start + size]

    @staticmethod
    def _params(environ: dict) -> dict[str, str]:
        """Query string and form body, the query string winning; the last of repeated names (as PHP)."""
        form: dict[str, str] = {}
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = dict(parse_qsl(environ["wsgi.input"].read(length).decode("utf-8", "replace"), True))
        return {**form, **dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))}
