"""A customer's webhook endpoint for tests: a real HTTP server on loopback, in a thread.

`answers` is the list of HTTP statuses to give, one per request (the last one repeats);
`hang=True` accepts and reads the request, then answers nothing until `release()` (or stop).
Every request is kept: (monotonic time, headers, raw body)."""

from __future__ import annotations

import dataclasses
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclasses.dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, answers=(200,), *, hang: bool = False, host: str = "127.0.0.1"):
        self.answers = list(answers)
        self.hang = hang
        self.received: list[Received] = []
        self._released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(time.monotonic(), self.path, dict(self.headers), body))
                    index = len(receiver.received) - 1
                    status = receiver.answers[min(index, len(receiver.answers) - 1)]
                if receiver.hang:
                    receiver._released.wait(60)
                    return
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
