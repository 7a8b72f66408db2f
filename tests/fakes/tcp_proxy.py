"""A loopback TCP proxy that a test can cut and restore: the outage of a service
(PostgreSQL, Redis, RabbitMQ) without touching the shared server behind it.

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = f"postgres://postgres@127.0.0.1:{proxy.port}/db"
        ...
        proxy.refuse()    # every open connection is cut; new ones are refused (RST)
        proxy.restore()   # new connections are forwarded again, on the same port

While refusing, the listening socket is closed, so a client sees "connection
refused" at once, as it would from a stopped server. `hang()` instead keeps
accepting connections and never answers (a server that is up but stuck).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int = 0):
        self.target = (target_host, target_port)
        self.port = port or _free_port()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._mode = "forward"  # forward | refuse | hang
        self._closed = False

    # --- control -----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def refuse(self) -> None:
        """Cut every connection and refuse new ones (a stopped server)."""
        with self._lock:
            self._mode = "refuse"
            listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        self._cut_all()

    def hang(self) -> None:
        """Cut every connection; accept new ones and never answer (a stuck server)."""
        self._cut_all()
        with self._lock:
            self._mode = "hang"
        if self._listener is None:
            self._listen()

    def restore(self) -> None:
        with self._lock:
            self._mode = "forward"
        if self._listener is None:
            self._listen()

    def stop(self) -> None:
        self._closed = True
        self.refuse()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- plumbing ------------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(512)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._closed:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse()/stop()
            with self._lock:
                mode = self._mode
                self._conns.add(client)
            if mode == "hang":
                continue  # kept open, never read, cut by the next refuse()/hang()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._drop(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns.add(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src)
            self._drop(dst)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.discard(sock)
        _close(sock)

    def _cut_all(self) -> None:
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for sock in conns:
            _close(sock, reset=True)


def _close(sock: socket.socket, *, reset: bool = False) -> None:
    with contextlib.suppress(OSError):
        if reset:  # RST instead of FIN: the peer sees the connection die, as when a server is killed
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Wake the pipe thread blocked in recv() on it: until that call returns, close() does
            # not release the socket, and an idle peer would never learn that it was cut.
            sock.shutdown(socket.SHUT_RD)
        else:
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
