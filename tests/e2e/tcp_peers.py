"""Small TCP peers and clients for the TCP router tests (test_tcp.py).

Peers run in threads of the test process, on loopback, each with start() (returns the peer),
stop() and a port:

    echo = EchoServer().start()                  # echoes; on EOF writes "BYE\\n", then closes
    named = EchoServer(greeting=b"a\\n").start()  # says its name on accept, then echoes
    banner = BannerServer().start()              # "220 hello\\r\\n" on accept, then echoes
    tls = TlsEchoServer(cert).start()            # the same over TLS; records SNI and ALPN
    pp = ProxyProtocolRecorder().start()         # records a PROXY v1/v2 header, echoes the rest

Every accepted connection is a Conn in `peer.conns` (peer address, bytes received, whether
the client half-closed, and per kind: sni/alpn/version, or the PROXY header). A peer stops
echoing, says BYE and closes when the client half-closes, or once it has received its
`close_on` marker (so `openssl s_client -ign_eof` ends). Half-close is forwarded: the echo
is written, then "BYE\\n", then the peer's FIN (a TLS peer: its close_notify, then FIN).

Clients: `read_all`/`read_until` on a plain socket (bounded; they say how the read ended),
`TlsClient` (TLS over memory BIOs on a socket the test holds: it can write its first flight
a byte at a time and half-close with close_notify + FIN while still reading), and
`client_hello(sni)`, the bytes of a real ClientHello.
"""
import select
import socket
import ssl
import struct
import threading
import time

BYE = b"BYE\n"
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


class Conn:
    """One connection a peer accepted."""

    def __init__(self, peer):
        self.peer = peer              # (host, port) of the connecting side: causeway
        self.received = bytearray()   # application bytes received (after TLS, after a PROXY header)
        self.eof = False              # the client half-closed (FIN or close_notify)
        self.closed = False           # this peer is done with the connection
        self.error = None
        self.sni = self.alpn = self.version = None   # TLS peers
        self.proxy = None                            # ProxyProtocolRecorder: a ProxyHeader or None

    def __repr__(self):
        return (f"<Conn from {self.peer} received={bytes(self.received)[:60]!r} eof={self.eof} "
                f"closed={self.closed} sni={self.sni} alpn={self.alpn} proxy={self.proxy} error={self.error}>")


class _Peer:
    """A threaded loopback listener; handle(sock, conn) serves one connection."""

    def __init__(self, greeting=b"", bye=True, close_on=None, host="127.0.0.1", port=0, timeout=30.0):
        self.greeting = greeting
        self.bye = bye
        self.close_on = close_on
        self.host = host
        self.port = port
        self.timeout = timeout        # every blocking operation on a connection is bounded
        self.conns = []
        self.lock = threading.Lock()
        self._sockets = []
        self._threads = []
        self._stopping = False
        self._listener = None
        self._acceptor = None

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((self.host, self.port))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()
        return self

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    @property
    def accepted(self):
        with self.lock:
            return len(self.conns)

    def wait_connections(self, n, timeout=5.0):
        """Waits until at least n connections were accepted; returns the count."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.accepted >= n:
                return self.accepted
            time.sleep(0.02)
        return self.accepted

    def wait_closed(self, conn, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline and not conn.closed:
            time.sleep(0.02)
        return conn.closed

    def _accept(self):
        while not self._stopping:
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.1)
                if not ready:
                    continue
                sock, addr = self._listener.accept()
            except (OSError, ValueError):
                return
            conn = Conn(addr)
            with self.lock:
                if self._stopping:
                    sock.close()
                    return
                self.conns.append(conn)
                self._sockets.append(sock)
            t = threading.Thread(target=self._serve, args=(sock, conn), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, sock, conn):
        sock.settimeout(self.timeout)
        try:
            self.handle(sock, conn)
        except (OSError, ssl.SSLError, ValueError) as e:
            conn.error = conn.error or f"{type(e).__name__}: {e}"
        finally:
            try:
                sock.close()
            except OSError:
                pass
            conn.closed = True

    def handle(self, sock, conn):
        self._echo(sock, conn)

    def _echo(self, sock, conn, initial=b""):
        """Greets, echoes (initial first) until EOF or the close_on marker, then says BYE and
        ends its side."""
        if self.greeting:
            sock.sendall(self.greeting)
        data = initial
        while True:
            if data:
                conn.received += data
                sock.sendall(data)
                if self.close_on and self.close_on in conn.received:
                    break
            data = sock.recv(65536)
            if not data:
                conn.eof = True
                break
        if self.bye:
            sock.sendall(BYE)
        self._end(sock)

    def _end(self, sock):
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        # Let the client read the FIN before the close (a close with unread input sends RST).
        try:
            sock.settimeout(2.0)
            while sock.recv(65536):
                pass
        except OSError:
            pass

    def stop(self):
        self._stopping = True
        if self._listener is not None:
            try:
                self._listener.close()
            except OSError:
                pass
        with self.lock:
            sockets = list(self._sockets)
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)


class EchoServer(_Peer):
    """Echoes every byte; on EOF from the client writes "BYE\\n" and closes its side.
    greeting: bytes sent on accept (a name, to tell servers apart)."""


class BannerServer(_Peer):
    """A server that speaks first (SMTP-like): "220 hello\\r\\n" on accept, then echoes."""

    def __init__(self, banner=b"220 hello\r\n", **kwargs):
        super().__init__(greeting=banner, **kwargs)


class TlsEchoServer(_Peer):
    """A TLS echo server with `cert` (a tls_certs.Cert). Records per connection the SNI it saw,
    the ALPN protocol it selected (from `alpn`, in its own order of preference) and the TLS
    version. On close_notify or FIN from the client it writes "BYE\\n", its close_notify and FIN.
    greeting: bytes sent right after the handshake."""

    def __init__(self, cert, alpn=("h2", "http/1.1"), **kwargs):
        super().__init__(**kwargs)
        self.cert = cert
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert.cert, cert.key)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        ctx.sni_callback = self._sni
        self.ctx = ctx

    @staticmethod
    def _sni(sslsock, name, ctx):
        sslsock.recorded_sni = name

    def handle(self, sock, conn):
        try:
            s = self.ctx.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError) as e:
            conn.error = f"handshake: {e}"
            return
        conn.sni = getattr(s, "recorded_sni", None)
        conn.alpn = s.selected_alpn_protocol()
        conn.version = s.version()
        try:
            self._echo(s, conn)
        finally:
            try:
                s.close()
            except OSError:
                pass

    def _end(self, s):
        try:
            s.settimeout(2.0)
            raw = s.unwrap()  # our close_notify (the client's was already read, or never comes)
            raw.shutdown(socket.SHUT_WR)
        except (OSError, ssl.SSLError, ValueError):
            try:
                s.shutdown(socket.SHUT_WR)
            except (OSError, ValueError):
                pass


class ProxyHeader:
    """A PROXY protocol header as received: raw bytes, version (1 or 2), command ("PROXY" or
    "LOCAL"), family ("TCP4", "TCP6", "UNKNOWN"), src/sport, dst/dport, v2 TLV bytes."""

    def __init__(self, raw, version, command="PROXY", family="UNKNOWN", src=None, sport=None, dst=None,
                 dport=None, tlvs=b""):
        self.raw, self.version, self.command, self.family = raw, version, command, family
        self.src, self.sport, self.dst, self.dport, self.tlvs = src, sport, dst, dport, tlvs

    def __repr__(self):
        return (f"<PROXY v{self.version} {self.command} {self.family} {self.src}:{self.sport} → "
                f"{self.dst}:{self.dport} raw={self.raw!r}>")


class BadProxyHeader(ValueError):
    pass


def parse_proxy_header(buf):
    """(ProxyHeader or None, rest, complete): None when buf does not start with a PROXY
    header; complete False while more bytes are needed. Raises BadProxyHeader."""
    if not buf:
        return None, buf, False
    if b"PROXY "[:len(buf)] == buf[:6]:
        if len(buf) < 6:
            return None, buf, False
        end = buf.find(b"\r\n")
        if end < 0:
            if len(buf) > 107:
                raise BadProxyHeader("v1 header longer than 107 bytes")
            return None, buf, False
        raw, rest = buf[:end + 2], buf[end + 2:]
        parts = raw[:-2].decode("ascii", "replace").split(" ")
        if len(parts) < 2 or parts[1] not in ("TCP4", "TCP6", "UNKNOWN"):
            raise BadProxyHeader(f"v1 header {raw!r}")
        if parts[1] == "UNKNOWN":
            return ProxyHeader(raw, 1), rest, True
        if len(parts) != 6:
            raise BadProxyHeader(f"v1 header {raw!r}")
        return ProxyHeader(raw, 1, "PROXY", parts[1], parts[2], int(parts[4]), parts[3], int(parts[5])), rest, True
    if V2_SIGNATURE[:len(buf)] == buf[:12]:
        if len(buf) < 16:
            return None, buf, False
        length = struct.unpack("!H", buf[14:16])[0]
        if len(buf) < 16 + length:
            return None, buf, False
        raw, rest = buf[:16 + length], buf[16 + length:]
        ver_cmd, fam = raw[12], raw[13]
        if ver_cmd >> 4 != 2 or (ver_cmd & 0xF) not in (0, 1):
            raise BadProxyHeader(f"v2 version/command byte {ver_cmd:#x}")
        command = "PROXY" if ver_cmd & 0xF else "LOCAL"
        body = raw[16:]
        if fam == 0x11 and len(body) >= 12:
            src, dst = socket.inet_ntoa(body[0:4]), socket.inet_ntoa(body[4:8])
            sport, dport = struct.unpack("!HH", body[8:12])
            return ProxyHeader(raw, 2, command, "TCP4", src, sport, dst, dport, body[12:]), rest, True
        if fam == 0x21 and len(body) >= 36:
            src = socket.inet_ntop(socket.AF_INET6, body[0:16])
            dst = socket.inet_ntop(socket.AF_INET6, body[16:32])
            sport, dport = struct.unpack("!HH", body[32:36])
            return ProxyHeader(raw, 2, command, "TCP6", src, sport, dst, dport, body[36:]), rest, True
        return ProxyHeader(raw, 2, command, "UNKNOWN", tlvs=body), rest, True
    return None, buf, True


class ProxyProtocolRecorder(_Peer):
    """Reads a PROXY protocol v1 or v2 header at the start of each connection (conn.proxy; None
    when the connection did not start with one), then echoes what follows like EchoServer.
    A malformed header: conn.error is set and the connection closed."""

    def handle(self, sock, conn):
        buf = b""
        while True:
            header, rest, complete = parse_proxy_header(buf)
            if complete:
                break
            data = sock.recv(65536)
            if not data:
                conn.eof = True
                conn.error = f"EOF inside the header: {buf!r}"
                return
            buf += data
        conn.proxy = header
        self._echo(sock, conn, initial=rest)

    # A BadProxyHeader is a ValueError: _Peer._serve records it in conn.error and closes.


# ---------------------------------------------------------------------------------------------
# Clients

def connect(port, host="127.0.0.1", timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_all(sock, timeout=5.0):
    """Reads until the peer closes, within `timeout` in all: (data, how) where how is "eof",
    "reset" or "timeout"."""
    deadline = time.time() + timeout
    chunks = []
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            return b"".join(chunks), "timeout"
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return b"".join(chunks), "timeout"
        except OSError:  # ECONNRESET mostly
            return b"".join(chunks), "reset"
        if not data:
            return b"".join(chunks), "eof"
        chunks.append(data)


def read_until(sock, needle, timeout=5.0):
    """Reads until `needle` was received (or EOF, reset, timeout): (data, how) with how
    "found", "eof", "reset" or "timeout"."""
    deadline = time.time() + timeout
    data = b""
    while needle not in data:
        remaining = deadline - time.time()
        if remaining <= 0:
            return data, "timeout"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, "timeout"
        except OSError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk
    return data, "found"


def exchange(port, payload, timeout=5.0, host="127.0.0.1"):
    """Connects, sends payload, half-closes, reads until the peer closes: (data, how)."""
    with connect(port, host, timeout) as s:
        try:
            if payload:
                s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the peer closed first (EPIPE, ECONNRESET, ENOTCONN): read how it ended
        return read_all(s, timeout)


def first_line(port, timeout=5.0, send=b""):
    """Connects, (sends), reads one line and closes: the line (b"" when closed first)."""
    with connect(port, timeout=timeout) as s:
        if send:
            s.sendall(send)
        data, _ = read_until(s, b"\n", timeout)
        return data.split(b"\n", 1)[0] + (b"\n" if b"\n" in data else b"")


def _client_context(alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def client_hello(sni, alpn=None):
    """The bytes of a real TLS ClientHello for `sni` (Python's ssl through a memory BIO)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = _client_context(alpn).wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class TlsClient:
    """A TLS client over memory BIOs on a plain socket (no certificate verification).

    trickle: write the first flight (the ClientHello) one byte at a time with this many
    seconds between bytes. half_close() sends close_notify then FIN and keeps reading;
    read_all() reads until close_notify or EOF ("close_notify", "eof", "reset", "timeout").
    """

    def __init__(self, port, sni, alpn=None, timeout=5.0, trickle=None, host="127.0.0.1"):
        self.sock = connect(port, host, timeout)
        self.timeout = timeout
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = _client_context(alpn).wrap_bio(self.incoming, self.outgoing, server_hostname=sni)
        self.pending = b""   # application data read before the caller asked for it
        self.ended = None    # how the server's side ended, once it did
        deadline = time.time() + timeout
        first = True
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush(trickle if first else None)
                first = False
                failed = self._fill(deadline)
                if failed:
                    self.close()
                    raise ConnectionError(f"connection ended during the TLS handshake ({failed})")
        self._flush()

    def _flush(self, trickle=None):
        data = self.outgoing.read()
        if not data:
            return
        if trickle is None:
            self.sock.sendall(data)
            return
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(trickle)

    def _fill(self, deadline):
        """Reads more bytes from the socket into the BIO: None, or why not ("eof", "reset",
        "timeout"; the first two also end the connection: self.ended)."""
        if self.ended:
            return self.ended
        remaining = deadline - time.time()
        if remaining <= 0:
            return "timeout"
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return "timeout"
        except (ConnectionResetError, BrokenPipeError):
            self.ended = "reset"
            return self.ended
        if not data:
            self.ended = "eof"
            self.incoming.write_eof()
            return self.ended
        self.incoming.write(data)
        return None

    @property
    def peer_der(self):
        return self.obj.getpeercert(binary_form=True)

    @property
    def alpn(self):
        return self.obj.selected_alpn_protocol()

    def send(self, data):
        self.obj.write(data)
        self._flush()

    def _drain(self):
        """Decrypts what is already buffered (without reading the socket)."""
        while True:
            try:
                data = self.obj.read(65536)
            except ssl.SSLWantReadError:
                return
            except ssl.SSLZeroReturnError:
                self.ended = "close_notify"
                return
            except ssl.SSLError:
                self.ended = self.ended or "tls error"
                return
            if not data:
                return
            self.pending += data

    def half_close(self):
        """close_notify, then FIN; reading stays open."""
        self._drain()
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        self._flush()
        self.sock.shutdown(socket.SHUT_WR)

    def read_until(self, needle, timeout=None):
        """(data, how): how is "found", or how the connection ended."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            self._drain()
            if needle in self.pending:
                data, self.pending = self.pending, b""
                return data, "found"
            failed = self.ended or self._fill(deadline)
            if failed:
                self._drain()
                data, self.pending = self.pending, b""
                return data, self.ended or failed

    def read_all(self, timeout=None):
        """Everything until the server ends (close_notify or EOF): (data, how)."""
        deadline = time.time() + (timeout or self.timeout)
        while True:
            self._drain()
            failed = self.ended or self._fill(deadline)
            if failed:
                self._drain()
                data, self.pending = self.pending, b""
                return data, self.ended or failed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
