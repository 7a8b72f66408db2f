"""A fake OTPBuddy server (seeds/001 `stubs/handler_api.php`) over real HTTP, for tests.

    with FakeOtpBuddy(api_key="k") as fake:
        fake.set_offer(22, "bne", "13.00", 10, server=2)
        provider = Provider.objects.create(slot=1, protocol="otpbuddy", base_url=fake.url, api_key="k",
                                           config={"server_id": 2})
        purchase = OtpBuddyClient(provider).buy(BuyRequest(service="bne", country=22))
        fake.deliver_sms(purchase.upstream_id, "123456")

A standard-library WSGI app (`wsgiref` + a threading mixin: every request has
its own thread) on 127.0.0.1 and a free port, in a daemon thread, built like
`tests.fakes.sms_activate`. The protocol and its state live in
`tests.fakes.otpbuddy_state`; this module adds the server and the controls
that make an upstream misbehave: one-shot canned responses (HTML, 502, a
redirect), dropped connections and delays.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tests.fakes.otpbuddy_state import TEXT, FakeActivation, FakeOtpBuddyState

PATH = "/stubs/handler_api.php"
ANY_ACTION = "*"


@dataclass(frozen=True)
class _Canned:
    body: bytes | None  # None: drop the connection without answering
    status: int = 200
    content_type: str = TEXT
    headers: tuple[tuple[str, str], ...] = ()


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for requests sleeping in a delay
    request_queue_size = 128
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


class FakeOtpBuddy:
    """The fake server. State controls (`set_offer`, `deliver_sms`, `balance`, `activations`) act on `self.state`."""

    def __init__(self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("1000")):
        self.state = FakeOtpBuddyState(api_key=api_key, balance=balance)
        self._lock = threading.Lock()
        self._calls: list[tuple[str, dict[str, str]]] = []
        self._canned: dict[str, deque[_Canned]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeOtpBuddy:
        self._stopping.clear()
        self._server = make_server("127.0.0.1", 0, self, server_class=_Server, handler_class=_Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-otpbuddy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes requests sleeping in a delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOtpBuddy:
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
        """Full URL of handler_api.php: what goes into Provider.base_url."""
        return f"http://127.0.0.1:{self.port}{PATH}"

    # --- state controls ----------------------------------------------------------------

    def set_offer(
        self, country: int, service: str, price: Decimal | str | int, count: int, *, server: int | str = 1
    ) -> None:
        """Stock of one price tier of (server, country, service); adds the server and service if new."""
        self.state.set_offer(country, service, price, count, server=server)

    def deliver_sms(self, activation_id: str, code: str) -> None:
        self.state.deliver_sms(activation_id, code)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def activations(self) -> dict[str, FakeActivation]:
        return self.state.activations

    # --- misbehaviour controls -----------------------------------------------------------

    def next_response(
        self,
        action: str,
        body: str | bytes,
        status: int = 200,
        *,
        content_type: str = TEXT,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next request for `action` (`"*"`: any action) with this instead of the protocol.

        One-shot and queued (several calls answer several requests in order);
        the request is still recorded in `calls` but never reaches the state.
        """
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._canned[action].append(_Canned(data, status, content_type, tuple((headers or {}).items())))

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

    # --- the WSGI application ----------------------------------------------------------------

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", TEXT)])
            return [b"<html><body><h1>404 Not Found</h1></body></html>"]
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        action = params.get("action", "")
        with self._lock:
            self._calls.append((action, params))
            delay = self._delays.get(action, self._delays.get(ANY_ACTION, 0.0))
            queue = self._canned.get(action) or self._canned.get(ANY_ACTION)
            canned = queue.popleft() if queue else None
        if delay:
            self._stopping.wait(delay)
        if canned is None:
            content_type, body = self.state.handle(params)
            canned = _Canned(body.encode(), content_type=content_type)
        if canned.body is None:
            environ["fake.socket"].shutdown(socket.SHUT_RDWR)
            start_response("200 OK", [])
            return []
        phrase = HTTPStatus(canned.status).phrase if canned.status in HTTPStatus._value2member_map_ else "Status"
        start_response(f"{canned.status} {phrase}", [("Content-Type", canned.content_type), *canned.headers])
        return [canned.body]
