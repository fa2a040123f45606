"""A raw recording upstream and a strict HTTP/1.1 request parser, for parser-differential tests.

The Recorder accepts on a loopback port (one thread per connection), keeps every byte it
receives per connection, and answers each request it can parse strictly with a minimal
keep-alive `200` whose body names the request target ("target=/path"). Anything that is
not a canonical HTTP/1.1 request (bare LF or CR, obs-fold, a field line without colon,
several or conflicting framing headers, a malformed chunk) marks the connection with an
`error` and the recorder stops answering on it; the bytes are still recorded.

docs/security.md §2: "A raw recording backend must see exactly the expected requests, each
well-formed (CRLF only, one framing header, no leftover bytes)".
"""
import re
import socket
import threading
import time

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/1\.([01])")
FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")


class Malformed(ValueError):
    pass


class Request:
    def __init__(self):
        self.method = self.target = None
        self.version = None
        self.headers = []  # [(name str, value str)] in order
        self.framing = "none"  # "none" | "content-length" | "chunked"
        self.body = b""  # decoded
        self.chunk_lines = []  # raw chunk-size lines (without CRLF) when chunked
        self.trailers = []
        self.raw = b""

    def values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return f"<Request {self.method} {self.target} {self.framing} body={len(self.body)}B>"


def _read_line(buf, pos):
    """Returns (line without CRLF, next pos) or None if incomplete; bare LF/CR is Malformed."""
    end = buf.find(b"\n", pos)
    if end < 0:
        if b"\r" in bytes(buf[pos:])[:-1]:
            raise Malformed("bare CR")
        return None
    if end == pos or buf[end - 1:end] != b"\r":
        raise Malformed("bare LF line end")
    line = buf[pos:end - 1]
    if b"\r" in line:
        raise Malformed("bare CR inside a line")
    return line, end + 1


def parse_request(buf, pos=0):
    """Parses one canonical request at buf[pos:]. Returns (Request, next pos), None when
    incomplete, raises Malformed when it is not canonical HTTP/1.1."""
    req = Request()
    got = _read_line(buf, pos)
    if got is None:
        return None
    line, p = got
    m = REQUEST_LINE.fullmatch(line)
    if not m:
        raise Malformed(f"request line {line[:80]!r}")
    req.method, req.target = m.group(1).decode(), m.group(2).decode("latin-1")
    req.version = "HTTP/1." + m.group(3).decode()
    while True:
        got = _read_line(buf, p)
        if got is None:
            return None
        line, p = got
        if line == b"":
            break
        if line[:1] in (b" ", b"\t"):
            raise Malformed("obs-fold")
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.fullmatch(name):
            raise Malformed(f"field line {line[:80]!r}")
        value = value.strip(b" \t")
        if not FIELD_VALUE.fullmatch(value):
            raise Malformed(f"field value {value[:80]!r}")
        req.headers.append((name.decode("latin-1"), value.decode("latin-1")))
    cl = req.values("Content-Length")
    te = req.values("Transfer-Encoding")
    if cl and te:
        raise Malformed("Content-Length and Transfer-Encoding")
    if len(cl) > 1 or len(te) > 1:
        raise Malformed("several framing fields")
    if cl:
        if not re.fullmatch(r"[0-9]+", cl[0]):
            raise Malformed(f"Content-Length {cl[0]!r}")
        n = int(cl[0])
        if len(buf) < p + n:
            return None
        req.framing, req.body = "content-length", bytes(buf[p:p + n])
        p += n
    elif te:
        if te[0] != "chunked":
            raise Malformed(f"Transfer-Encoding {te[0]!r}")
        req.framing = "chunked"
        body = bytearray()
        while True:
            got = _read_line(buf, p)
            if got is None:
                return None
            line, p = got
            req.chunk_lines.append(line)
            size_text = line.split(b";", 1)[0]
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):
                raise Malformed(f"chunk-size line {line[:80]!r}")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(buf) < p + size + 2:
                return None
            body += buf[p:p + size]
            if buf[p + size:p + size + 2] != b"\r\n":
                raise Malformed("chunk data not followed by CRLF")
            p += size + 2
        while True:  # trailer section
            got = _read_line(buf, p)
            if got is None:
                return None
            line, p = got
            if line == b"":
                break
            name, colon, value = line.partition(b":")
            if not colon or not TOKEN.fullmatch(name) or line[:1] in (b" ", b"\t"):
                raise Malformed(f"trailer line {line[:80]!r}")
            req.trailers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        req.body = bytes(body)
    req.raw = bytes(buf[pos:p])
    return req, p


def parse_stream(data):
    """Every request of a connection's bytes; raises Malformed on anything left over."""
    out, pos = [], 0
    while pos < len(data):
        got = parse_request(data, pos)
        if got is None:
            raise Malformed(f"incomplete request at byte {pos}: {bytes(data[pos:pos + 80])!r}")
        req, pos = got
        out.append(req)
    return out


class Connection:
    def __init__(self, sock):
        self.sock = sock
        self.data = bytearray()
        self.requests = []
        self.error = None
        self.closed = False


class Recorder:
    """Raw recording upstream on 127.0.0.1 (see the module comment)."""

    def __init__(self, host="127.0.0.1", head_extra=b""):
        # head_extra: bytes sent right after every HEAD response, in the same write (a
        # misbehaving upstream that sends a body, or a whole second response, to HEAD).
        self.head_extra = head_extra
        self.host = host
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.lock = threading.Lock()
        self.stopping = False
        self.threads = []
        self.accept_thread = threading.Thread(target=self._accept, daemon=True)
        self.accept_thread.start()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def _accept(self):
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn = Connection(sock)
            with self.lock:
                self.connections.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn):
        sock = conn.sock
        sock.settimeout(0.05)
        pos = 0
        while not self.stopping:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
            with self.lock:
                conn.data += chunk
            while conn.error is None and pos < len(conn.data):
                try:
                    got = parse_request(conn.data, pos)
                except Malformed as e:
                    conn.error = str(e)
                    break
                if got is None:
                    break
                req, pos = got
                with self.lock:
                    conn.requests.append(req)
                body = f"target={req.target}".encode("latin-1")
                head = (f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: text/plain\r\n"
                        f"X-Recorder-Connection: {self.connections.index(conn)}\r\n\r\n").encode()
                try:
                    sock.sendall(head + (self.head_extra if req.method == "HEAD" else body))
                except OSError:
                    break
        conn.closed = True
        try:
            sock.close()
        except OSError:
            pass

    def total_bytes(self):
        with self.lock:
            return sum(len(c.data) for c in self.connections)

    def data_since(self, mark):
        """Bytes received after total_bytes() returned `mark` (connections in accept order)."""
        with self.lock:
            everything = b"".join(bytes(c.data) for c in self.connections)
        return everything[mark:]

    def requests(self):
        with self.lock:
            return [r for c in self.connections for r in c.requests]

    def errors(self):
        with self.lock:
            return [c.error for c in self.connections if c.error]

    def wait_for_requests(self, count, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.requests()) >= count:
                return self.requests()
            time.sleep(0.01)
        return self.requests()

    def stop(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in [self.accept_thread, *self.threads]:
            t.join(timeout=2)


def exchange(port, payload, timeout=3.0, host="127.0.0.1", until=None, linger=0.2):
    """Sends `payload` on a fresh connection while reading the answer.

    Reads until the peer closes, `timeout` passes, or (when `until` is given) what was
    received ends with `until`; then waits `linger` seconds more to see whether the peer
    closes. Returns (received bytes, how the connection ended: "eof", "reset" or "open")."""
    sock = socket.create_connection((host, port), timeout=5)
    sock.settimeout(timeout)

    def send():
        try:
            sock.sendall(payload)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    chunks, ended = [], "open"
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            try:
                sock.settimeout(max(0.01, deadline - time.time()))
                data = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                ended = "reset"
                break
            if not data:
                ended = "eof"
                break
            chunks.append(data)
            if until is not None and b"".join(chunks).endswith(until):
                deadline = min(deadline, time.time() + linger)
    finally:
        sender.join(timeout=5)
        sock.close()
    return b"".join(chunks), ended
