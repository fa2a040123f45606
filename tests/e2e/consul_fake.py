"""A FAKE of Consul's KV HTTP API (Debian 12 ships no Consul), kept to what the consul provider
uses and shaped after Consul's documentation (https://developer.hashicorp.com/consul/api-docs/kv
and .../features/blocking):

- `GET /v1/kv/<key>?recurse` lists the keys under a prefix as Consul does: a JSON array of
  {LockIndex, Key, Flags, Value (base64, null for none), CreateIndex, ModifyIndex}, 404 when
  nothing matches; `X-Consul-Index` is the highest modify index under the prefix, deletions
  (tombstones) included, and `X-Consul-KnownLeader`/`X-Consul-LastContact` are sent.
- Blocking queries: with `index=N` and `wait=<duration>` (Consul's forms: "55s", "100ms",
  "1m"), the answer is held until the prefix's index differs from N or the wait ends.
- `PUT /v1/kv/<key>` stores the body, `DELETE /v1/kv/<key>[?recurse]` removes.
- With `token`, every request needs `X-Consul-Token` (403 "Permission denied" otherwise).
- `stop()`/`start()` take it off the port and back with the same data; `restore()` replaces the
  data with a lower index, as a snapshot restore does (blocked queries wake up)."""
import base64
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import free_port


def parse_wait(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)?", text or "")
    if not m:
        return 300.0
    n, unit = int(m.group(1)), m.group(2) or "s"
    return min(600.0, n / 1000 if unit == "ms" else n * 60 if unit == "m" else n)


class ConsulFake:
    def __init__(self, token=None):
        self.token = token
        self.garbage = False  # True: every KV answer is a 200 with a body that is not JSON
        self.port = free_port()
        self.index = 1
        self.keys = {}        # key -> (value bytes or None, create index, modify index)
        self.tombstones = {}  # key -> index of its deletion
        self.cond = threading.Condition()
        self.server = None
        self.start()

    def prefix_index(self, prefix):
        idx = [m for k, (_, _, m) in self.keys.items() if k.startswith(prefix)]
        idx += [i for k, i in self.tombstones.items() if k.startswith(prefix)]
        return max(idx) if idx else self.index

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def reply(self, status, body, index=None):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if index is not None:
                    self.send_header("X-Consul-Index", str(index))
                    self.send_header("X-Consul-KnownLeader", "true")
                    self.send_header("X-Consul-LastContact", "0")
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (a reload, a stop)

            def parsed(self):
                url = urllib.parse.urlsplit(self.path)
                if not url.path.startswith("/v1/kv/"):
                    self.reply(404, "")
                    return None, None
                if fake.token and self.headers.get("X-Consul-Token") != fake.token:
                    self.reply(403, "Permission denied")
                    return None, None
                return urllib.parse.unquote(url.path[len("/v1/kv/"):]), urllib.parse.parse_qs(
                    url.query, keep_blank_values=True)

            def do_GET(self):
                key, q = self.parsed()
                if key is None:
                    return
                if fake.garbage:
                    return self.reply(200, "<html>this is not Consul</html>", fake.index)
                recurse = "recurse" in q
                with fake.cond:
                    if "index" in q:
                        want = int(q["index"][0])
                        deadline = time.time() + parse_wait(q.get("wait", [""])[0])
                        while fake.prefix_index(key) == want and time.time() < deadline and fake.server:
                            fake.cond.wait(min(0.2, max(0.0, deadline - time.time())))
                    match = sorted(k for k in fake.keys if (k.startswith(key) if recurse else k == key))
                    index = fake.prefix_index(key)
                    entries = [{"LockIndex": 0, "Key": k, "Flags": 0,
                                "Value": None if fake.keys[k][0] is None else base64.b64encode(fake.keys[k][0]).decode(),
                                "CreateIndex": fake.keys[k][1], "ModifyIndex": fake.keys[k][2]} for k in match]
                self.reply(200 if entries else 404, json.dumps(entries) if entries else "", index)

            def do_PUT(self):
                key, q = self.parsed()
                if key is None:
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake.cond:
                    fake.index += 1
                    created = fake.keys.get(key, (None, fake.index, 0))[1]
                    fake.keys[key] = (body, created, fake.index)
                    fake.tombstones.pop(key, None)
                    fake.cond.notify_all()
                self.reply(200, "true")

            def do_DELETE(self):
                key, q = self.parsed()
                if key is None:
                    return
                with fake.cond:
                    fake.index += 1
                    for k in [k for k in fake.keys if (k.startswith(key) if "recurse" in q else k == key)]:
                        del fake.keys[k]
                        fake.tombstones[k] = fake.index
                    fake.cond.notify_all()
                self.reply(200, "true")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # What `consul kv put` / `consul kv delete` do, through the API as they do.
    def put(self, key, value):
        self._call("PUT", key, value.encode())

    def delete(self, key, recurse=False):
        self._call("DELETE", key, query="?recurse" if recurse else "")

    def _call(self, method, key, data=None, query=""):
        import urllib.request
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/kv/{urllib.parse.quote(key)}{query}",
                                     data=data, method=method)
        if self.token:
            req.add_header("X-Consul-Token", self.token)
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def restore(self, pairs, index=2):
        """Replaces the data, at a lower index, as a snapshot restore does."""
        with self.cond:
            self.index = index
            self.keys = {k: (v.encode(), index, index) for k, v in pairs.items()}
            self.tombstones = {}
            self.cond.notify_all()

    def stop(self):
        server, self.server = self.server, None
        if server:
            with self.cond:
                self.cond.notify_all()
            server.shutdown()
            server.server_close()
