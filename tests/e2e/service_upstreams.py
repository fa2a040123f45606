"""Upstreams and clients for the service-layer tests (test_services.py, test_health.py).

Python upstreams run in threads of the test process (loopback only) and are stopped by the
test; `causeway whoami` upstreams come from harness.Whoami. Every upstream answers with a
"Name: <name>" first line, like whoami, so `name_of(body)` tells who answered.
"""

import collections
import http.client
import http.server
import socket
import socketserver
import threading
import time


def name_of(body):
    first = body.split(b"\n", 1)[0].decode("latin-1")
    return first[len("Name: "):] if first.startswith("Name: ") else first


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # a client (causeway) that went away mid-answer is not news here


class PyUpstream:
    """A threaded HTTP/1.1 upstream: waits `delay` seconds, then answers `status` with
    "Name: <name>". Records (method, path, headers, body) of every request in `requests`."""

    def __init__(self, name, delay=0.0, status=200, port=0, tls=None):
        self.name = name
        self.delay = delay
        self.status = status
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.lock:
                    outer.requests.append((self.command, self.path, dict(self.headers), body))
                if outer.delay:
                    time.sleep(outer.delay)
                payload = f"Name: {outer.name}\n".encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_HEAD = _serve

        self.server = _Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.scheme = "http"
        if tls:  # tls: a tls_certs.Cert; the server then speaks HTTPS (HTTP/1.1 only)
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert, tls.key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def count(self, path_prefix="/"):
        with self.lock:
            return sum(1 for r in self.requests if r[1].startswith(path_prefix))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SseUpstream:
    """Answers one Server-Sent Events stream per connection: `events` events, `interval`
    seconds apart, each announced in `sent` (time.monotonic()) just before it is written."""

    def __init__(self, events=5, interval=0.2, chunked=True):
        self.events = events
        self.interval = interval
        self.chunked = chunked
        self.sent = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            head += b"Transfer-Encoding: chunked\r\n\r\n" if self.chunked else b"Connection: close\r\n\r\n"
            conn.sendall(head)
            for i in range(self.events):
                event = f"id: {i}\ndata: event {i}\n\n".encode()
                self.sent.append(time.monotonic())
                conn.sendall(b"%x\r\n%s\r\n" % (len(event), event) if self.chunked else event)
                time.sleep(self.interval)
            if self.chunked:
                conn.sendall(b"0\r\n\r\n")

    def stop(self):
        self.listener.close()


def get(port, host, path="/", source=None, headers=None, timeout=10):
    """One request on a new connection: (status, headers dict (lower-case), body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body, response.msg
    finally:
        conn.close()


def hammer(port, host, total, connections=4, path="/"):
    """`total` GETs over `connections` keep-alive connections in parallel threads.
    Returns (Counter of names, Counter of statuses)."""
    names, statuses = collections.Counter(), collections.Counter()
    lock = threading.Lock()
    per = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]

    def run(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local_names, local_statuses = collections.Counter(), collections.Counter()
        for _ in range(n):
            conn.request("GET", path, headers={"Host": host})
            response = conn.getresponse()
            body = response.read()
            local_statuses[response.status] += 1
            local_names[name_of(body)] += 1
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        with lock:
            names.update(local_names)
            statuses.update(local_statuses)

    threads = [threading.Thread(target=run, args=(n,)) for n in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return names, statuses


class Load:
    """`clients` threads sending GETs back to back until stop(); every outcome is recorded
    as (start, end, status or exception name, upstream name)."""

    def __init__(self, port, host, clients=8, path="/"):
        self.port, self.host, self.path = port, host, path
        self.results = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self):
        conn = None
        while not self.stopping.is_set():
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            start = time.monotonic()
            try:
                conn.request("GET", self.path, headers={"Host": self.host})
                response = conn.getresponse()
                body = response.read()
                outcome, name = response.status, name_of(body)
                if response.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # noqa: BLE001 - recorded as a failure
                outcome, name = type(e).__name__, ""
                conn.close()
                conn = None
            with self.lock:
                self.results.append((start, time.monotonic(), outcome, name))
        if conn is not None:
            conn.close()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=15)
        return self.results
