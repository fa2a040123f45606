"""A scriptable HTTP/1.1 upstream for the middleware end-to-end tests (buffering, circuit
breaker, compress, errors, retry): a ThreadingHTTPServer on loopback whose answers come from
a Python function, recording every request it receives.

    up = Upstream(lambda req: Reply(200, body=b"hi", headers={"Content-Type": "text/plain"}))
    ... up.url ... up.requests ... up.stop()

`req` is a Request(method, path, query, headers [(name, value)], body). A Reply may stream:
`chunks` (an iterable of bytes, sent with Transfer-Encoding: chunked, each chunk flushed)
instead of `body` (sent with Content-Length unless `length=False`).
"""
import http.server
import threading
import urllib.parse


class Request:
    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path
        self.query = parts.query
        self.headers = headers
        self.body = body

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def values(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Reply:
    def __init__(self, status=200, body=b"", headers=None, chunks=None, length=True):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.chunks = chunks
        self.length = length


class Upstream:
    def __init__(self, handler):
        self.handler = handler
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = self.headers.get("Content-Length")
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(int(length)) if length else b""
                req = Request(self.command, self.path, list(self.headers.items()), body)
                with outer.lock:
                    outer.requests.append(req)
                reply = outer.handler(req)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in reply.chunks:
                        if chunk:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if reply.length:
                    self.send_header("Content-Length", str(len(reply.body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_LOCK = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def count(self, path=None):
        with self.lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def text(n, seed=0):
    """n bytes of compressible text."""
    line = b"The quick brown fox %d jumps over the lazy dog.\n"
    out = bytearray()
    i = seed
    while len(out) < n:
        out += line % i
        i += 1
    return bytes(out[:n])


try:
    import pytest

    @pytest.fixture
    def start_upstream():
        """Starts Upstreams for one test and stops them afterwards."""
        started = []

        def start(handler):
            u = Upstream(handler)
            started.append(u)
            return u

        yield start
        for u in started:
            u.stop()
except ImportError:  # pragma: no cover - pytest is how these helpers are used
    pass
