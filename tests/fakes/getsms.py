"""A fake Get-SMS API v1 server (seeds/003 `/api/v1/`) over real HTTP, for tests.

    with FakeGetSms(api_key="k") as fake:
        fake.set_offer("indiia", "tg", "12.50", 10)
        provider = Provider.objects.create(slot=1, protocol="getsms", base_url=fake.url, api_key="k", ...)
        purchase = GetSmsClient(provider).buy(BuyRequest(service="tg", country=22))
        fake.deliver_sms(purchase.upstream_id, "123456", "Your code is 123456")

A standard-library WSGI app on 127.0.0.1 and a free port, in a daemon thread,
on the server classes of `tests.fakes.sms_activate` (a thread per request).
It takes GET and POST (form) parameters, the query string winning, as the
document allows both. The protocol and its state live in
`tests.fakes.getsms_state`; this module adds the server and the controls that
make an upstream misbehave: one-shot canned responses (HTML, 502, a redirect,
a slow body), dropped connections and delays, keyed by the `method` parameter.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import parse_qsl
from wsgiref.simple_server import make_server

from tests.fakes.getsms_state import ANY, JSON, FakeGetSmsState, FakeOrder
from tests.fakes.sms_activate import _Canned, _Handler, _Server

PATH = "/api/v1/"
ANY_METHOD = "*"


class FakeGetSms:
    """The fake server. State controls (`set_offer`, `deliver_sms`, `expire`, `balance`, `blocked`,
    `maintenance`, `orders`) act on `self.state`."""

    def __init__(self, *, api_key: str = "test-key", balance: Decimal | str | int = Decimal("1000")):
        self.state = FakeGetSmsState(api_key=api_key, balance=balance)
        self._lock = threading.Lock()
        self._calls: list[tuple[str, dict[str, str]]] = []
        self._requests: list[tuple[str, str]] = []  # (HTTP verb, query string)
        self._canned: dict[str, deque[_Canned]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeGetSms:
        self._stopping.clear()
        self._server = make_server("127.0.0.1", 0, self, server_class=_Server, handler_class=_Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-getsms", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGetSms:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The v1 endpoint: what goes into Provider.base_url."""
        if self._server is None:
            raise RuntimeError("the fake is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"

    # --- state controls ----------------------------------------------------------------

    def set_offer(
        self, country: str, service: str, price: Decimal | str | int, count: int, operator: str = ANY
    ) -> None:
        self.state.set_offer(country, service, price, count, operator)

    def deliver_sms(
        self,
        order_id: int | str,
        code: str | None,
        text: str | None = None,
        *,
        sender: str = "",
        sms_id: int | None = None,
    ) -> int:
        return self.state.deliver_sms(order_id, code, text, sender=sender, sms_id=sms_id)

    def expire(self, order_id: int | str) -> None:
        self.state.expire(order_id)

    @property
    def balance(self) -> Decimal:
        return self.state.balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        self.state.balance = value

    @property
    def orders(self) -> dict[int, FakeOrder]:
        return self.state.orders

    # --- misbehaviour controls -----------------------------------------------------------

    def next_response(
        self,
        method: str,
        body: str | bytes,
        status: int = 200,
        *,
        content_type: str = JSON,
        headers: dict[str, str] | None = None,
        chunk_delay: float | None = None,
    ) -> None:
        """Answer the next request for `method` (`"*"`: any) with this instead of the protocol. One-shot and
        queued; the request is recorded in `calls` but never reaches the state. `chunk_delay`: send the body
        a byte at a time with this many seconds between bytes (a slow body)."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._canned[method].append(
                _Canned(data, status, content_type, tuple((headers or {}).items()), chunk_delay)
            )

    def next_disconnect(self, method: str) -> None:
        """Close the connection of the next request for `method` after reading it, without answering."""
        with self._lock:
            self._canned[method].append(_Canned(None))

    def delay(self, seconds: float, methods: Iterable[str] | None = None) -> None:
        """Sleep `seconds` before answering `methods` (None: every method); 0 removes the delay."""
        with self._lock:
            for method in [ANY_METHOD] if methods is None else [methods] if isinstance(methods, str) else methods:
                if seconds > 0:
                    self._delays[method] = float(seconds)
                else:
                    self._delays.pop(method, None)

    @property
    def calls(self) -> list[tuple[str, dict[str, str]]]:
        """(method, params) of every request received, in order (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(HTTP verb, query string) of every request received, in order."""
        with self._lock:
            return list(self._requests)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    # --- the WSGI application ----------------------------------------------------------------

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/html; charset=UTF-8")])
            return [b"<html><body><h1>404 Not Found</h1></body></html>"]
        params = self._params(environ)
        method = params.get("method", "")
        with self._lock:
            self._calls.append((method, params))
            self._requests.append((environ.get("REQUEST_METHOD", ""), environ.get("QUERY_STRING", "")))
            delay = self._delays.get(method, self._delays.get(ANY_METHOD, 0.0))
            queue = self._canned.get(method) or self._canned.get(ANY_METHOD)
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
        return [canned.body] if canned.chunk_delay is None else self._drip(canned.body, canned.chunk_delay)

    def _drip(self, body: bytes, pause: float) -> Iterator[bytes]:
        for index in range(len(body)):
            if index and self._stopping.wait(pause):
                return
            yield body[index : index + 1]

    @staticmethod
    def _params(environ: dict) -> dict[str, str]:
        """Form body and query string, the query string winning; the last of repeated names."""
        form: dict[str, str] = {}
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = dict(parse_qsl(environ["wsgi.input"].read(length).decode("utf-8", "replace"), True))
        return {**form, **dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))}
