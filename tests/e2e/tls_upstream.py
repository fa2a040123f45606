"""An HTTPS upstream for serversTransports tests that records, per TLS connection, what the
proxy presented: SNI, offered-and-chosen ALPN, TLS version, cipher, client certificate.

    up = TlsUpstream(cert)                          # offers h2 and http/1.1
    up = TlsUpstream(cert, client_ca=ca)            # requires a client certificate from ca
    up.connections  → [Seen(sni, alpn, version, cipher, client_cn, requests, error)]

It speaks HTTP/1.1 only: when h2 is negotiated it records that and closes. Requests get a
keep-alive `200` whose body names what was seen ("sni=... alpn=... version=... client=...").
"""
import socket
import ssl
import threading


class Seen:
    def __init__(self):
        self.sni = self.alpn = self.version = self.cipher = self.client_cn = self.error = None
        self.requests = 0

    def __repr__(self):
        return (f"<Seen sni={self.sni} alpn={self.alpn} {self.version} {self.cipher} client={self.client_cn} "
                f"requests={self.requests} error={self.error}>")


class TlsUpstream:
    def __init__(self, cert, alpn=("h2", "http/1.1"), client_ca=None, optional_client_cert=False,
                 min_version=None, max_version=None, ciphers=None, keep_alive=True):
        self.connections = []
        self.keep_alive = keep_alive
        self.lock = threading.Lock()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert.cert, cert.key)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        if client_ca is not None:
            ctx.load_verify_locations(client_ca.cert)
            ctx.verify_mode = ssl.CERT_OPTIONAL if optional_client_cert else ssl.CERT_REQUIRED
        if min_version:
            ctx.minimum_version = min_version
        if max_version:
            ctx.maximum_version = max_version
        if ciphers:
            ctx.set_ciphers(ciphers)
        ctx.sni_callback = self._sni
        self.ctx = ctx
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.threads = []
        self.open = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    @staticmethod
    def _sni(sock, name, ctx):
        sock.recorded_sni = name

    def _accept(self):
        while not self.stopping:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, raw):
        seen = Seen()
        with self.lock:
            self.connections.append(seen)
            self.open.append(raw)
        raw.settimeout(30)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            seen.error = str(e)
            raw.close()
            return
        with self.lock:
            self.open.append(s)
        try:
            seen.sni = getattr(s, "recorded_sni", None)
            seen.alpn = s.selected_alpn_protocol()
            seen.version = s.version()
            seen.cipher = s.cipher()[0]
            peer = s.getpeercert()
            if peer:
                seen.client_cn = dict(x[0] for x in peer.get("subject", ()))["commonName"]
            if seen.alpn == "h2":
                return
            buf = b""
            while not self.stopping:
                while b"\r\n\r\n" not in buf:
                    data = s.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(buf) < length:
                    data = s.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[length:]
                seen.requests += 1
                body = (f"sni={seen.sni} alpn={seen.alpn} version={seen.version} cipher={seen.cipher} "
                        f"client={seen.client_cn}").encode()
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                          str(len(body)).encode() + b"\r\n" +
                          (b"" if self.keep_alive else b"Connection: close\r\n") + b"\r\n" + body)
                if not self.keep_alive:
                    return
        except (OSError, ssl.SSLError) as e:
            seen.error = seen.error or str(e)
        finally:
            try:
                s.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.listener.close()
        with self.lock:
            for raw in self.open:
                try:
                    raw.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self.threads:
            t.join(timeout=5)
