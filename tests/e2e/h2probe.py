"""A raw HTTP/2 client for the end-to-end tests: frames from hyperframe, header blocks built by
hand (so that anything, however malformed, can be sent), responses decoded with hpack.

Needs Debian's python3-h2 (which brings python3-hyperframe and python3-hpack); run with
/usr/bin/python3.

    c = H2Client(port)                                   # h2c prior knowledge (tls=True: ALPN h2)
    sid = c.request(authority="a.test", path="/x")      # a valid GET
    r = c.wait_stream(sid)                              # r.status, r.headers, r.body, r.reset
    sid = c.send_headers([(":method", "GET"), ...], end_stream=True)   # any header list
    c.close()

Header blocks use literal fields without indexing and without Huffman coding (`literal`), so
a block the server rejects cannot leave the two HPACK tables out of step; `indexed` and
`literal(..., index=True)` are there for the HPACK tests.
"""
import select
import socket
import ssl
import time

import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Error codes (RFC 9113 §7).
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM = 0x4, 0x5, 0x6, 0x7
CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM = 0x8, 0x9, 0xA, 0xB
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
               8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
               12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}

# SETTINGS identifiers.
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 0x1, 0x2, 0x3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 0x4, 0x5, 0x6


def _b(x):
    return x if isinstance(x, bytes) else x.encode("latin-1")


def hpack_int(value, prefix_bits, first=0):
    """RFC 7541 §5.1 integer with an N-bit prefix; `first` holds the bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(s):
    s = _b(s)
    return hpack_int(len(s), 7) + s  # no Huffman


def literal(name, value, index=False):
    """A literal field with a literal name: without indexing (0x00) or, with index=True, with
    incremental indexing (0x40, the entry enters the dynamic table)."""
    return (b"\x40" if index else b"\x00") + hpack_string(name) + hpack_string(value)


def indexed(index):
    """An indexed field (static table 1..61, dynamic table from 62)."""
    return hpack_int(index, 7, 0x80)


def block(headers):
    """A header block of literal fields (list of (name, value), str or bytes, sent as given)."""
    return b"".join(literal(n, v) for n, v in headers)


def request_headers(method="GET", path="/", authority="x.test", scheme="http", extra=()):
    return [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path), *extra]


class Stream:
    def __init__(self, sid):
        self.id = sid
        self.headers = None  # [(name str, value str)] of the response head
        self.informational = []
        self.trailers = None
        self.body = bytearray()
        self.ended = False  # END_STREAM received
        self.reset = None  # RST_STREAM error code received

    @property
    def status(self):
        if not self.headers:
            return None
        for k, v in self.headers:
            if k == ":status":
                return int(v)
        return None

    def header(self, name):
        return [v for k, v in (self.headers or []) if k == name]

    @property
    def done(self):
        return self.ended or self.reset is not None

    def __repr__(self):
        reset = f" reset={ERROR_NAMES.get(self.reset, self.reset)}" if self.reset is not None else ""
        return f"<Stream {self.id} status={self.status} body={len(self.body)}B ended={self.ended}{reset}>"


class H2Client:
    def __init__(self, port, host="127.0.0.1", tls=False, sni=None, settings=None, timeout=5.0,
                 window=1 << 24, alpn=("h2",), rcvbuf=None):
        if rcvbuf:  # a small receive buffer, set before connecting (for tests that stop reading)
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            raw.settimeout(timeout)
            raw.connect((host, port))
        else:
            raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(list(alpn))
            self.sock = ctx.wrap_socket(raw, server_hostname=sni)
            self.alpn = self.sock.selected_alpn_protocol()
        else:
            self.sock = raw
            self.alpn = None
        self.timeout = timeout
        self.buf = bytearray()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 26
        self.decoder.max_allowed_table_size = 1 << 16
        self.streams = {}
        self.goaway = None  # GoAwayFrame
        self.closed = False  # the peer closed (EOF or reset)
        self.server_settings = {}
        self.settings_acked = False
        self.ping_acks = 0
        self.received = []  # (type name, stream id, flags) of every frame, in order
        self.next_id = 1
        self.bytes_sent = 0
        self._block = None  # (stream id, first frame, fragments) while a header block is open
        self.auto_window = True
        my_settings = {INITIAL_WINDOW_SIZE: min(window, (1 << 31) - 1), ENABLE_PUSH: 0}
        my_settings.update(settings or {})
        self.send_raw(PREFACE + SettingsFrame(0, settings=my_settings).serialize() +
                      (WindowUpdateFrame(0, window_increment=window).serialize() if window > 65535 else b""))

    # ---- sending
    def send_raw(self, data):
        self.sock.sendall(data)
        self.bytes_sent += len(data)

    def send(self, *frames):
        self.send_raw(b"".join(f.serialize() for f in frames))

    def new_stream_id(self):
        sid = self.next_id
        self.next_id += 2
        return sid

    def headers_frames(self, header_block, sid, end_stream=True, end_headers=True, max_frame=16384):
        """HEADERS (+ CONTINUATION) frames carrying `header_block` (bytes)."""
        chunks = [header_block[i:i + max_frame] for i in range(0, len(header_block), max_frame)] or [b""]
        frames = []
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            flags = []
            if last and end_headers:
                flags.append("END_HEADERS")
            if i == 0:
                if end_stream:
                    flags.append("END_STREAM")
                frames.append(HeadersFrame(sid, data=chunk, flags=flags))
            else:
                frames.append(ContinuationFrame(sid, data=chunk, flags=flags))
        return frames

    def send_headers(self, headers=None, sid=None, end_stream=True, header_block=None, extra=b""):
        """Sends a header block (from `headers` or the raw `header_block`) on a new stream
        (or `sid`), with `extra` raw bytes in the same write. Returns the stream id."""
        if sid is None:
            sid = self.new_stream_id()
        hb = header_block if header_block is not None else block(headers)
        self.streams.setdefault(sid, Stream(sid))
        self.send_raw(b"".join(f.serialize() for f in self.headers_frames(hb, sid, end_stream)) + extra)
        return sid

    def request(self, method="GET", path="/", authority="x.test", scheme="http", headers=(), body=None,
                trailers=None):
        """A valid request; body (bytes) goes in one DATA frame (up to 16 KiB per frame)."""
        sid = self.new_stream_id()
        self.streams[sid] = Stream(sid)
        hb = block(request_headers(method, path, authority, scheme, headers))
        out = [f.serialize() for f in self.headers_frames(hb, sid, end_stream=body is None and not trailers)]
        if body is not None:
            pieces = [body[i:i + 16384] for i in range(0, len(body), 16384)] or [b""]
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1 and not trailers
                out.append(DataFrame(sid, data=piece, flags=["END_STREAM"] if last else []).serialize())
        if trailers:
            out += [f.serialize() for f in self.headers_frames(block(trailers), sid, end_stream=True)]
        self.send_raw(b"".join(out))
        return sid

    def data(self, sid, payload, end_stream=True):
        self.send(DataFrame(sid, data=payload, flags=["END_STREAM"] if end_stream else []))

    def rst(self, sid, code=CANCEL):
        self.send(RstStreamFrame(sid, error_code=code))

    def ping(self, payload=b"\0" * 8):
        self.send(PingFrame(0, opaque_data=payload))

    # ---- receiving
    def pump(self, timeout=None):
        """Reads once (waiting up to `timeout`) and handles every complete frame.
        Returns False once the peer has closed the connection."""
        if self.closed:
            return False
        t = self.timeout if timeout is None else timeout
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not pending:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, t))
            if not ready:
                return True
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            data = b""
        if not data:
            self.closed = True
            self._frames()
            return False
        self.buf += data
        self._frames()
        return True

    def _frames(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                return
            header = bytes(self.buf[:9])
            body = memoryview(bytes(self.buf[9:9 + length]))
            del self.buf[:9 + length]
            frame, _ = Frame.parse_frame_header(header)
            frame.parse_body(body)
            self._handle(frame)

    def _handle(self, f):
        self.received.append((type(f).__name__, f.stream_id, tuple(sorted(f.flags))))
        if isinstance(f, SettingsFrame):
            if "ACK" in f.flags:
                self.settings_acked = True
            else:
                self.server_settings.update(f.settings)
                try:
                    self.send(SettingsFrame(0, flags=["ACK"]))
                except OSError:
                    pass
        elif isinstance(f, PingFrame):
            if "ACK" in f.flags:
                self.ping_acks += 1
            else:
                try:
                    self.send(PingFrame(0, opaque_data=f.opaque_data, flags=["ACK"]))
                except OSError:
                    pass
        elif isinstance(f, GoAwayFrame):
            self.goaway = f
        elif isinstance(f, RstStreamFrame):
            self.streams.setdefault(f.stream_id, Stream(f.stream_id)).reset = f.error_code
        elif isinstance(f, (HeadersFrame, ContinuationFrame)):
            if isinstance(f, HeadersFrame):
                self._block = (f.stream_id, f, bytearray(f.data))
            elif self._block:
                self._block[2].extend(f.data)
            if "END_HEADERS" in f.flags and self._block:
                sid, first, data = self._block
                self._block = None
                fields = [(_s(k), _s(v)) for k, v in self.decoder.decode(bytes(data), raw=True)]
                s = self.streams.setdefault(sid, Stream(sid))
                status = next((v for k, v in fields if k == ":status"), None)
                if s.headers is None and status is not None and status.startswith("1"):
                    s.informational.append(fields)
                elif s.headers is None:
                    s.headers = fields
                else:
                    s.trailers = fields
                if "END_STREAM" in first.flags:
                    s.ended = True
        elif isinstance(f, DataFrame):
            s = self.streams.setdefault(f.stream_id, Stream(f.stream_id))
            s.body += f.data
            if "END_STREAM" in f.flags:
                s.ended = True
            if self.auto_window and f.flow_controlled_length:
                try:
                    self.send(WindowUpdateFrame(0, window_increment=f.flow_controlled_length),
                              *([] if s.ended else [WindowUpdateFrame(f.stream_id,
                                                                       window_increment=f.flow_controlled_length)]))
                except OSError:
                    pass

    def wait(self, predicate, timeout=None):
        """Pumps until predicate() is true (returns True), the peer closes, or timeout."""
        deadline = time.time() + (self.timeout if timeout is None else timeout)
        while not predicate():
            left = deadline - time.time()
            if left <= 0:
                return False
            if not self.pump(left):
                return bool(predicate())
        return True

    def wait_stream(self, sid, timeout=None):
        """Waits until stream `sid` ends, is reset, or the connection ends (GOAWAY or close)."""
        s = self.streams.setdefault(sid, Stream(sid))
        self.wait(lambda: s.done or self.closed or
                  (self.goaway is not None and self.goaway.last_stream_id < sid), timeout)
        return s

    def wait_settings(self, timeout=None):
        self.wait(lambda: bool(self.server_settings) and self.settings_acked, timeout)
        return self.server_settings

    def wait_closed(self, timeout=None):
        """True when the peer closes the connection within `timeout` (frames are still handled)."""
        return self.wait(lambda: self.closed, timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _s(x):
    return x.decode("latin-1") if isinstance(x, bytes) else x
