"""A small RFC 6455 WebSocket client for the end-to-end tests (standard library only).

    ws = WebSocket.connect(port, "/echo", host="ws.test")
    ws.send_text("hi"); assert ws.recv() == (OP_TEXT, b"hi")
    ws.ping(b"x"); assert ws.recv() == (OP_PONG, b"x")
    ws.close()  # sends a close frame, waits for the peer's, returns (code, reason)

connect() raises HandshakeError (with the status, headers and body) when the answer is not a
valid 101; `handshake()` returns the raw answer instead, for tests of refused upgrades.
"""

import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeError(Exception):
    def __init__(self, message, status=None, headers=None, body=b""):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body = body


class ProtocolError(Exception):
    pass


def accept_key(key):
    """The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (bytes or str)."""
    if isinstance(key, str):
        key = key.encode()
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()


def encode_frame(opcode, payload, fin=True, mask=True):
    """One frame; client frames are masked with a random key (RFC 6455 §5.3)."""
    header = bytearray([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        header.append(bit | n)
    elif n <= 0xFFFF:
        header.append(bit | 126)
        header += struct.pack("!H", n)
    else:
        header.append(bit | 127)
        header += struct.pack("!Q", n)
    if not mask:
        return bytes(header) + bytes(payload)
    key = os.urandom(4)
    return bytes(header) + key + mask_bytes(payload, key)


def mask_bytes(payload, key):
    if not payload:
        return b""
    # XOR with the repeated 4-byte key, done on big integers (fast for megabytes).
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def _read_head(sock, limit=65536):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(4096)
        if not data:
            raise HandshakeError(f"connection closed during the handshake (got {buf!r})", body=buf)
        buf += data
        if len(buf) > limit:
            raise HandshakeError("handshake answer too long")
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return status, {k: ", ".join(v) for k, v in headers.items()}, rest


def handshake(port, path="/echo", host="ws.test", headers=(), timeout=10, address="127.0.0.1"):
    """Sends an upgrade request; returns (sock, status, headers, rest, key) without judging it."""
    sock = socket.create_connection((address, port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *headers, "", ""]
    try:
        sock.sendall("\r\n".join(lines).encode("latin-1"))
        status, hdrs, rest = _read_head(sock)
    except BaseException:
        sock.close()
        raise
    return sock, status, hdrs, rest, key


class WebSocket:
    def __init__(self, sock, rest=b""):
        self.sock = sock
        self.buf = bytearray(rest)
        self.closed = False

    @classmethod
    def connect(cls, port, path="/echo", host="ws.test", headers=(), timeout=10, address="127.0.0.1",
                check_connection=True):
        """Opens a WebSocket; raises HandshakeError unless the answer is a valid 101.
        check_connection=False skips the `Connection: Upgrade` check only (RFC 6455 §4.1
        item 3), for tests of other behaviour while a proxy is known to drop that field."""
        sock, status, hdrs, rest, key = handshake(port, path, host, headers, timeout, address)
        try:
            if status != 101:
                raise HandshakeError(f"expected 101, got {status}", status, hdrs, rest)
            if hdrs.get("upgrade", "").lower() != "websocket":
                raise HandshakeError(f"bad Upgrade field {hdrs.get('upgrade')!r}", status, hdrs)
            if check_connection and "upgrade" not in [
                    t.strip().lower() for t in hdrs.get("connection", "").split(",")]:
                raise HandshakeError(f"bad Connection field {hdrs.get('connection')!r}", status, hdrs)
            if hdrs.get("sec-websocket-accept") != accept_key(key):
                raise HandshakeError(f"bad Sec-WebSocket-Accept {hdrs.get('sec-websocket-accept')!r}",
                                     status, hdrs)
        except BaseException:
            sock.close()
            raise
        ws = cls(sock, rest)
        ws.status, ws.headers = status, hdrs
        return ws

    # -- sending
    def send(self, opcode, payload, fin=True):
        if isinstance(payload, str):
            payload = payload.encode()
        self.sock.sendall(encode_frame(opcode, payload, fin))

    def send_text(self, text):
        self.send(OP_TEXT, text.encode() if isinstance(text, str) else text)

    def send_binary(self, data):
        self.send(OP_BINARY, data)

    def ping(self, payload=b""):
        self.send(OP_PING, payload)

    # -- receiving
    def _need(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                raise EOFError(f"connection closed with {len(self.buf)} of {n} bytes buffered")
            self.buf += data

    def recv_frame(self):
        """(fin, opcode, payload) of the next frame; server frames must not be masked."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        if b0 & 0x70:
            raise ProtocolError(f"reserved bits set: {b0:#x}")
        if b1 & 0x80:
            raise ProtocolError("server frame is masked")
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(at + n)
        payload = bytes(self.buf[at:at + n])
        del self.buf[:at + n]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv(self):
        """The next message as (opcode, payload): data messages reassembled from fragments,
        control frames (ping, pong, close) returned as they come."""
        fin, opcode, payload = self.recv_frame()
        if opcode >= 0x8 or fin:
            if opcode == OP_CONT:
                raise ProtocolError("continuation frame without a start")
            return opcode, payload
        parts = [payload]
        while True:
            fin, op, more = self.recv_frame()
            if op >= 0x8:
                raise ProtocolError("control frame inside a fragmented message (not handled here)")
            if op != OP_CONT:
                raise ProtocolError(f"expected a continuation frame, got opcode {op}")
            parts.append(more)
            if fin:
                return opcode, b"".join(parts)

    def echo(self, payload, opcode=OP_BINARY):
        """Sends one message and returns the next message's payload (asserting its opcode)."""
        self.send(opcode, payload)
        op, data = self.recv()
        if op != opcode:
            raise ProtocolError(f"expected opcode {opcode}, got {op} ({data[:60]!r})")
        return data

    def close(self, code=1000, reason=b"", timeout=5):
        """Close handshake: sends a close frame and reads until the peer's close frame.
        Returns (code, reason) of the peer's frame, or (None, b"") for an empty close frame."""
        if isinstance(reason, str):
            reason = reason.encode()
        self.send(OP_CLOSE, struct.pack("!H", code) + reason)
        self.sock.settimeout(timeout)
        while True:
            opcode, payload = self.recv()
            if opcode == OP_CLOSE:
                self.closed = True
                if len(payload) >= 2:
                    return struct.unpack("!H", payload[:2])[0], payload[2:]
                return None, b""

    def wait_eof(self, timeout=5):
        """True when the server closes the TCP connection within `timeout` (after a close)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def shutdown(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
