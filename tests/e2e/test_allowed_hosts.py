"""DNS rebinding: the real server (with dashboard/.streamlit/config.toml) opens its WebSocket only for
localhost names in the Host header."""

import base64
import os
import socket
from urllib.parse import urlparse

import pytest


def handshake(url: str, host: str) -> str:
    """Send a browser-like WebSocket upgrade for the app's stream with `host` as Host and Origin; return
    the status line of the answer."""
    port = urlparse(url).port
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(1024)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]"])
def test_localhost_names_open_the_websocket(server, name):
    port = urlparse(server).port
    assert handshake(server, f"{name}:{port}") == "HTTP/1.1 101 Switching Protocols"


@pytest.mark.parametrize("name", ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io"])
def test_a_rebinding_host_is_refused(server, name):
    port = urlparse(server).port
    status = handshake(server, f"{name}:{port}")
    assert status.startswith("HTTP/1.1 403"), status
