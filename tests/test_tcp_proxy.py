"""The test proxy really cuts: an idle client learns at once that its connection is gone
(a stopped server), not at its next write."""

import contextlib
import socket
import threading
import time

from tests.fakes.tcp_proxy import TcpProxy


def test_refuse_cuts_idle_connections_at_once():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)

    def echo():
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):  # the proxy resets its side when cut
            while data := conn.recv(100):
                conn.sendall(data)

    threading.Thread(target=echo, daemon=True).start()
    with TcpProxy("127.0.0.1", server.getsockname()[1]) as proxy:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        client.sendall(b"ping")
        assert client.recv(10) == b"ping"
        proxy.refuse()
        started = time.monotonic()
        try:
            assert client.recv(10) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 1
        client.close()
    server.close()
