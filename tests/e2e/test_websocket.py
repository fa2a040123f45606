"""WebSocket through the proxy (Traefik §9.3: upgrades proxied transparently; §9.1
X-Forwarded-Proto ws; reliability S63 and R02).
"""
import os
import socket
import threading
import time

import pytest

from harness import ScriptedUpstream, parse_head, wait_log, wait_until
from wsclient import OP_BINARY, OP_PONG, OP_TEXT, WebSocket, accept_key, encode_frame, handshake


# Every handshake is checked as a browser would (101, Upgrade, Connection, Accept).
connect = WebSocket.connect


def route(url, host="ws.test", extra_routers=""):
    return f"""http:
  routers:
    ws:
      rule: "Host(`{host}`)"
      service: upstream
{extra_routers}  services:
    upstream:
      loadBalancer:
        servers:
          - url: "{url}"
"""


def wait_ws(cw, host="ws.test"):
    def ok():
        ws = connect(cw.port(), "/echo", host=host, timeout=5)
        try:
            return ws.echo(b"ready") == b"ready"
        finally:
            ws.shutdown()
    wait_until(ok, message="a WebSocket through the proxy")


@pytest.fixture
def echo_proxy(start_whoami, start_causeway):
    whoami = start_whoami("ws")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})
    wait_ws(cw)
    return cw


SIZES = [1, 125, 126, 65535, 65 * 1024, 1 << 20]


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_echo_messages_of_every_length_encoding(echo_proxy, opcode):
    with connect(echo_proxy.port(), "/echo") as ws:
        for size in SIZES:
            if opcode == OP_TEXT:
                payload = (b"causeway-\xc3\xa9" * (size // 11 + 1))[:size]
                payload = payload.decode("utf-8", "ignore").encode()  # valid UTF-8, maybe shorter
                payload += b"x" * (size - len(payload))
            else:
                payload = os.urandom(size)
            assert len(payload) == size
            echoed = ws.echo(payload, opcode)
            assert len(echoed) == size, f"{size}-byte message came back as {len(echoed)} bytes"
            assert echoed == payload, f"{size}-byte message corrupted"
        assert ws.close() == (1000, b"")


def test_101_answer_carries_connection_upgrade(echo_proxy):
    sock, status, fields, rest, key = handshake(echo_proxy.port(), "/echo", host="ws.test")
    with sock:
        assert status == 101
        assert fields.get("upgrade", "").lower() == "websocket"
        assert fields.get("sec-websocket-accept") == accept_key(key)
        assert "upgrade" in [t.strip().lower() for t in fields.get("connection", "").split(",")], fields
    # A strict client (a browser) accepts the handshake.
    with WebSocket.connect(echo_proxy.port(), "/echo") as ws:
        assert ws.echo(b"strict") == b"strict"


def test_ping_gets_pong(echo_proxy):
    with connect(echo_proxy.port(), "/echo") as ws:
        ws.ping(b"are you there?")
        assert ws.recv() == (OP_PONG, b"are you there?")
        ws.ping(b"")
        assert ws.recv() == (OP_PONG, b"")
        # Still echoing after control frames.
        assert ws.echo(b"after ping") == b"after ping"


def test_close_handshake_then_tcp_close(echo_proxy):
    with connect(echo_proxy.port(), "/echo") as ws:
        assert ws.echo(b"hello", OP_TEXT) == b"hello"
        code, reason = ws.close(1000, b"bye")
        assert (code, reason) == (1000, b"bye")
        # After the close handshake the server side ends the TCP connection, through the proxy.
        assert ws.wait_eof(timeout=5), "the proxy kept the connection open after the close handshake"


def test_upstream_sees_websocket_upgrade_with_x_forwarded_proto_ws(start_causeway):
    def handler(conn, head, rest, upstream, index):
        _, fields = parse_head(head)
        key = fields.get("sec-websocket-key", [""])[0]
        # The 101 and a first frame in one write: the frame arrives with the response head.
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept_key(key)}\r\nSec-WebSocket-Protocol: chat\r\n\r\n").encode()
                     + encode_frame(OP_TEXT, b"recorded", mask=False))
        while upstream.recv(conn, index):
            pass

    upstream = ScriptedUpstream(handler)
    try:
        cw = start_causeway(dynamic={"a.yml": route(upstream.url)})
        ws = wait_until(lambda: connect(cw.port(), "/chat?room=1", host="ws.test", timeout=5,
                                        headers=["Sec-WebSocket-Protocol: chat, superchat"]),
                        message="the upgrade through the proxy")
        with ws:
            assert ws.headers.get("sec-websocket-protocol") == "chat"
            assert ws.recv() == (OP_TEXT, b"recorded")
        request_line, fields = parse_head(upstream.requests[-1])
        assert request_line == "GET /chat?room=1 HTTP/1.1"
        assert fields.get("x-forwarded-proto") == ["ws"], upstream.requests[-1]
        assert fields.get("upgrade") == ["websocket"]
        assert "upgrade" in [t.strip().lower() for t in fields.get("connection", [""])[0].split(",")]
        assert len(fields.get("sec-websocket-key", [])) == 1
        assert fields.get("sec-websocket-version") == ["13"]
        assert fields.get("sec-websocket-protocol") == ["chat, superchat"]
        assert fields.get("x-forwarded-host") == ["ws.test"]
        assert fields.get("x-forwarded-port") == ["80"]
    finally:
        upstream.stop()


def test_fifty_concurrent_websockets_echo_a_hundred_messages_each(echo_proxy):
    errors = []
    counts = [0] * 50
    start = threading.Barrier(50, timeout=20)

    def client(i):
        try:
            with connect(echo_proxy.port(), "/echo", timeout=20) as ws:
                start.wait()
                for j in range(100):
                    payload = f"client {i} message {j} ".encode() * (1 + j % 7)
                    opcode = OP_TEXT if j % 2 else OP_BINARY
                    ws.send(opcode, payload)
                    got = ws.recv()
                    if got != (opcode, payload):
                        errors.append((i, j, got[:2]))
                        return
                    counts[i] += 1
                assert ws.close() == (1000, b"")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert counts == [100] * 50


def test_websocket_stays_open_across_five_reloads(start_whoami, start_causeway):
    whoami = start_whoami("ws")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})
    wait_log(cw, "causeway started")  # the file watch is set up (see test_reload.py)
    wait_ws(cw)
    with connect(cw.port(), "/echo") as ws:
        assert ws.echo(b"before") == b"before"
        for i in range(1, 6):
            host = f"other{i}.test"
            extra = f"""    other:
      rule: "Host(`{host}`)"
      service: upstream
"""
            cw.write("a.yml", route(whoami.url, extra_routers=extra))

            def applied():
                with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
                    s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                    return s.recv(12) == b"HTTP/1.1 200"
            wait_until(applied, message=f"reload {i}")
            message = f"after reload {i}".encode()
            assert ws.echo(message, OP_TEXT) == message
            ws.ping(b"%d" % i)
            assert ws.recv() == (OP_PONG, b"%d" % i)
        payload = os.urandom(100000)
        assert ws.echo(payload) == payload
        assert ws.close() == (1000, b"")


def test_switch_to_another_protocol_is_a_502_not_a_tunnel(start_causeway):
    # Reliability S63, as Go's ReverseProxy: a 101 to a protocol the client did not ask for
    # (here h2c for a websocket request) is a bad gateway; nothing is tunnelled.
    def handler(conn, head, rest, upstream, index):
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"
                     b"UPSTREAM-BYTES")
        try:
            while upstream.recv(conn, index):
                pass
        except OSError:
            pass

    upstream = ScriptedUpstream(handler)
    try:
        cw = start_causeway(dynamic={"a.yml": route(upstream.url)})

        def answered():
            sock, status, hdrs, rest, key = handshake(cw.port(), "/echo", host="ws.test", timeout=5)
            if status == 404:
                sock.close()
                return None
            return sock, status, hdrs, rest
        sock, status, hdrs, rest = wait_until(answered, message="the upstream's answer")
        with sock:
            assert status == 502, (status, hdrs)
            assert hdrs.get("upgrade") is None
            assert b"UPSTREAM-BYTES" not in rest
    finally:
        upstream.stop()


def test_upgrade_answered_with_200_is_not_a_tunnel(start_causeway):
    def handler(conn, head, rest, upstream, index):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nno upgrade\n")
        # Record whatever else arrives on this upstream connection.
        try:
            while upstream.recv(conn, index):
                pass
        except OSError:
            pass

    upstream = ScriptedUpstream(handler)
    try:
        cw = start_causeway(dynamic={"a.yml": route(upstream.url)})

        def answered():
            sock, status, hdrs, rest, key = handshake(cw.port(), "/echo", host="ws.test", timeout=5)
            if status != 200:
                sock.close()
                return None
            return sock, status, hdrs, rest
        sock, status, hdrs, rest = wait_until(answered, message="the upstream's 200")
        with sock:
            assert status == 200
            assert "sec-websocket-accept" not in hdrs
            assert hdrs.get("upgrade") is None
            assert hdrs.get("content-length") == "11"
            while len(rest) < 11:
                rest += sock.recv(100)
            assert rest == b"no upgrade\n"
            requests_before = len(upstream.requests)
            # Frames the client sends now must not reach the upstream as tunnel bytes.
            frame = encode_frame(OP_TEXT, b"TUNNELED-PAYLOAD")
            try:
                sock.sendall(frame)
            except OSError:
                pass
            sock.settimeout(1)
            answer = b""
            try:
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    answer += data
            except (socket.timeout, ConnectionResetError):
                pass
        time.sleep(0.3)
        with upstream.lock:
            seen = b"".join(bytes(r) for r in upstream.received)
        assert frame not in seen, "bytes sent after a refused upgrade were tunnelled upstream"
        assert len(upstream.requests) == requests_before
        # Whatever the proxy said to the stray bytes, it is not a WebSocket frame from a tunnel.
        assert not answer or answer.startswith(b"HTTP/1.1 4"), answer[:200]
    finally:
        upstream.stop()
