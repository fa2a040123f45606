"""WebSocket over HTTP/2 (RFC 8441 extended CONNECT; docs/websocket-h2.md): the client opens a
stream with :method CONNECT and :protocol websocket, causeway opens an HTTP/1.1 Upgrade to the
upstream, answers 200 on the stream when the upstream switches protocols, and carries the
WebSocket frames as the stream's DATA both ways. The client here is python3-h2 over h2c (prior
knowledge), framing messages with the tests' RFC 6455 helpers; the upstream is the tests'
WebSocket echo server (an HTTP/1.1 server).
"""
import socket
import ssl
import struct

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

import threading
import time

from harness import ScriptedUpstream, parse_head, to_yaml, wait_until
from tls_certs import Pki
from wsclient import OP_BINARY, OP_CLOSE, OP_CONT, OP_TEXT, accept_key, encode_frame


class H2Connection:
    """One h2c connection driven by python3-h2, with blocking helpers per stream."""

    def __init__(self, port, timeout=10, ca=None, sni=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if ca:  # TLS with ALPN h2, verifying the proxy's certificate
            ctx = ssl.create_default_context(cafile=ca)
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname=sni)
            assert self.sock.selected_alpn_protocol() == "h2"
        self.conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.flush()
        self.remote_settings = {}
        self.data = {}     # stream id → bytearray received
        self.headers = {}  # stream id → response headers
        self.ended = set()
        self.reset = {}    # stream id → error code
        self.closed = False
        while h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL not in self.remote_settings and not self.closed:
            self.pump()

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self):
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.RemoteSettingsChanged):
                for code, setting in event.changed_settings.items():
                    self.remote_settings[code] = setting.new_value
            elif isinstance(event, h2.events.ResponseReceived):
                self.headers[event.stream_id] = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h2.events.DataReceived):
                self.data.setdefault(event.stream_id, bytearray()).extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self.ended.add(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self.reset[event.stream_id] = event.error_code
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.closed = True
        self.flush()

    def wait(self, predicate):
        while not predicate():
            if self.closed:
                raise EOFError("the connection closed")
            self.pump()

    def request(self, headers, end_stream=False):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, headers, end_stream=end_stream)
        self.flush()
        return sid

    def send(self, sid, payload, end_stream=False):
        # Within the stream's and the connection's windows, as a real client does.
        view = memoryview(payload)
        while view or end_stream:
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if not view:
                self.conn.send_data(sid, b"", end_stream=True)
                self.flush()
                return
            if window <= 0:
                self.pump()
                continue
            piece, view = view[:window], view[window:]
            self.conn.send_data(sid, bytes(piece), end_stream=end_stream and not view)
            self.flush()
            if end_stream and not view:
                return

    def status(self, sid):
        self.wait(lambda: sid in self.headers or sid in self.reset)
        return int(self.headers[sid][":status"]) if sid in self.headers else None

    def close(self):
        self.sock.close()


def open_websocket(h2c, path="/echo", host="ws.test", protocol="websocket", extra=()):
    return h2c.request([(":method", "CONNECT"), (":protocol", protocol), (":scheme", "http"),
                        (":path", path), (":authority", host), ("sec-websocket-version", "13"),
                        *extra])


def recv_frame(h2c, sid):
    """(fin, opcode, payload) of the next WebSocket frame on stream sid."""
    def have(n):
        h2c.wait(lambda: len(h2c.data.get(sid, b"")) >= n or sid in h2c.ended or sid in h2c.reset)
        return len(h2c.data.get(sid, b"")) >= n
    if not have(2):
        raise EOFError(f"stream {sid} ended")
    buf = h2c.data[sid]
    b0, b1 = buf[0], buf[1]
    assert not b1 & 0x80, "server frames are not masked"
    n, at = b1 & 0x7F, 2
    if n == 126:
        assert have(4)
        n, at = struct.unpack("!H", bytes(buf[2:4]))[0], 4
    elif n == 127:
        assert have(10)
        n, at = struct.unpack("!Q", bytes(buf[2:10]))[0], 10
    if not have(at + n):
        raise EOFError(f"stream {sid} ended inside a frame")
    payload = bytes(buf[at:at + n])
    del buf[:at + n]
    return bool(b0 & 0x80), b0 & 0x0F, payload


def recv_message(h2c, sid):
    fin, opcode, payload = recv_frame(h2c, sid)
    parts = [payload]
    while not fin:
        fin, op, more = recv_frame(h2c, sid)
        assert op == OP_CONT
        parts.append(more)
    return opcode, b"".join(parts)


def route(url, host="ws.test"):
    return f"""http:
  routers:
    ws:
      rule: "Host(`{host}`)"
      service: upstream
    plain:
      rule: "Host(`plain.test`)"
      service: plain
  services:
    upstream:
      loadBalancer:
        servers:
          - url: "{url}"
    plain:
      loadBalancer:
        servers:
          - url: "{url}"
"""


@pytest.fixture
def proxy(start_whoami, start_causeway):
    whoami = start_whoami("ws")
    cw = start_causeway(dynamic={"a.yml": route(whoami.url)})

    def ready():
        h2c = H2Connection(cw.port())
        try:
            sid = open_websocket(h2c)
            return h2c.status(sid) == 200
        finally:
            h2c.close()
    wait_until(ready, message="a WebSocket over HTTP/2 through the proxy")
    return cw


def test_the_server_offers_extended_connect(proxy):
    h2c = H2Connection(proxy.port())
    try:
        assert h2c.remote_settings[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL] == 1
    finally:
        h2c.close()


@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY], ids=["text", "binary"])
def test_messages_of_every_length_encoding_echo_over_a_stream(proxy, opcode):
    h2c = H2Connection(proxy.port())
    try:
        sid = open_websocket(h2c)
        assert h2c.status(sid) == 200
        # RFC 8441 §5: a 200, without the HTTP/1.1 handshake's fields.
        assert "sec-websocket-accept" not in h2c.headers[sid] and "upgrade" not in h2c.headers[sid]
        for size in [1, 125, 126, 65535, 65 * 1024, 1 << 20]:
            payload = (b"x" * size) if opcode == OP_TEXT else bytes((i * 7) % 251 for i in range(size))
            h2c.send(sid, encode_frame(opcode, payload))
            op, echoed = recv_message(h2c, sid)
            assert (op, len(echoed)) == (opcode, size)
            assert echoed == payload, f"{size}-byte message corrupted"
        # The closing handshake, then both ends of the stream close.
        h2c.send(sid, encode_frame(OP_CLOSE, struct.pack("!H", 1000)))
        op, payload = recv_message(h2c, sid)
        assert op == OP_CLOSE and payload[:2] == struct.pack("!H", 1000)
        h2c.send(sid, b"", end_stream=True)
        h2c.wait(lambda: sid in h2c.ended or sid in h2c.reset)
        assert sid in h2c.ended, f"the stream was reset ({h2c.reset.get(sid)}) instead of ended"
    finally:
        h2c.close()


def test_websockets_and_requests_share_one_connection(proxy):
    h2c = H2Connection(proxy.port())
    try:
        a, b = open_websocket(h2c), open_websocket(h2c)
        assert h2c.status(a) == 200 and h2c.status(b) == 200
        get = h2c.request([(":method", "GET"), (":scheme", "http"), (":path", "/"),
                           (":authority", "plain.test")], end_stream=True)
        for i in range(20):
            h2c.send(a, encode_frame(OP_TEXT, f"a{i}".encode()))
            h2c.send(b, encode_frame(OP_TEXT, f"b{i}".encode()))
        for i in range(20):
            assert recv_message(h2c, a) == (OP_TEXT, f"a{i}".encode())
            assert recv_message(h2c, b) == (OP_TEXT, f"b{i}".encode())
        assert h2c.status(get) == 200
        h2c.wait(lambda: get in h2c.ended)
    finally:
        h2c.close()


def test_a_stream_the_client_resets_leaves_the_connection_working(proxy):
    h2c = H2Connection(proxy.port())
    try:
        sid = open_websocket(h2c)
        assert h2c.status(sid) == 200
        h2c.send(sid, encode_frame(OP_TEXT, b"before"))
        assert recv_message(h2c, sid) == (OP_TEXT, b"before")
        h2c.conn.reset_stream(sid, error_code=8)  # CANCEL
        h2c.flush()
        again = open_websocket(h2c)
        assert h2c.status(again) == 200
        h2c.send(again, encode_frame(OP_TEXT, b"after"))
        assert recv_message(h2c, again) == (OP_TEXT, b"after")
    finally:
        h2c.close()


def test_an_upstream_that_does_not_switch_is_answered_as_it_answered(proxy):
    # The echo server answers / with a page, not a switch: a 2xx would tell the client its tunnel
    # is open, so the gateway answers 502.
    h2c = H2Connection(proxy.port())
    try:
        sid = open_websocket(h2c, path="/", host="plain.test")
        status = h2c.status(sid)
        assert status == 502, h2c.headers.get(sid)
        h2c.wait(lambda: sid in h2c.ended or sid in h2c.reset)
        # The connection still serves.
        again = open_websocket(h2c)
        assert h2c.status(again) == 200
    finally:
        h2c.close()


def test_other_protocols_are_not_implemented(proxy):
    h2c = H2Connection(proxy.port())
    try:
        sid = open_websocket(h2c, protocol="connect-udp")
        assert h2c.status(sid) == 501
    finally:
        h2c.close()


def silent_upstream():
    """Answers the Upgrade with 101, then only reads until its peer's EOF (a half-close or a
    close). After that it sends a byte every 100 ms, as a server that ignores a half-close:
    when causeway has closed the connection the byte draws a reset, and `closed` is set."""
    closed = threading.Event()

    def handler(conn, head, rest, upstream, index):
        _, fields = parse_head(head)
        key = fields.get("sec-websocket-key", [""])[0]
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode())
        try:
            while conn.recv(65536):
                pass
            conn.settimeout(0.1)
            while True:
                conn.send(encode_frame(OP_TEXT, b".", mask=False))
                try:
                    conn.recv(65536)
                except socket.timeout:
                    pass
                time.sleep(0.1)
        except OSError:  # the reset: causeway closed its end
            closed.set()

    return ScriptedUpstream(handler), closed


@pytest.mark.parametrize("half_close_first", [False, True], ids=["reset", "end-then-reset"])
def test_a_reset_tunnel_closes_its_silent_upstream(start_causeway, half_close_first):
    upstream, closed = silent_upstream()
    try:
        cw = start_causeway(dynamic={"a.yml": route(upstream.url, host="silent.test")})
        h2c = wait_until(lambda: H2Connection(cw.port()), message="the proxy")
        try:
            sid = wait_until(lambda: (lambda s: s if h2c.status(s) == 200 else None)(
                open_websocket(h2c, host="silent.test")), message="a tunnel to the silent upstream")
            request_line, fields = parse_head(upstream.requests[-1])
            assert request_line == "GET /echo HTTP/1.1" and fields.get("x-forwarded-proto") == ["ws"]
            assert len(fields.get("sec-websocket-key", [])) == 1
            h2c.send(sid, encode_frame(OP_TEXT, b"into the void"))
            if half_close_first:
                h2c.send(sid, b"", end_stream=True)
                time.sleep(0.3)
            h2c.conn.reset_stream(sid, error_code=8)  # CANCEL
            h2c.flush()
            assert closed.wait(10), "the upstream connection outlived the client's stream"
            # The connection serves on.
            get = h2c.request([(":method", "GET"), (":scheme", "http"), (":path", "/"),
                               (":authority", "plain.test")], end_stream=True)
            assert h2c.status(get) is not None
        finally:
            h2c.close()
    finally:
        upstream.stop()


def test_a_websocket_over_http2_with_tls(tmp_path, start_whoami, start_causeway):
    pki = Pki(tmp_path)
    ca = pki.ca("causeway test CA")
    front = pki.issue(ca, "ws.test", dns=["ws.test"])
    whoami = start_whoami("ws")
    dynamic = {"http": {"routers": {"ws": {"rule": "Host(`ws.test`)", "service": "s", "tls": {}}},
                        "services": {"s": {"loadBalancer": {"servers": [{"url": whoami.url}]}}}},
               "tls": {"certificates": [{"certFile": front.cert, "keyFile": front.key}]}}
    cw = start_causeway(dynamic={"tls.yml": to_yaml(dynamic) + "\n"})

    def opened():
        h2c = H2Connection(cw.port(), ca=str(ca.cert), sni="ws.test")
        sid = open_websocket(h2c)
        if h2c.status(sid) != 200:
            h2c.close()
            return None
        return h2c, sid
    h2c, sid = wait_until(opened, message="a WebSocket over HTTP/2 with TLS")
    try:
        for size in [5, 70000]:
            payload = bytes((i * 13) % 256 for i in range(size))
            h2c.send(sid, encode_frame(OP_BINARY, payload))
            assert recv_message(h2c, sid) == (OP_BINARY, payload)
    finally:
        h2c.close()
