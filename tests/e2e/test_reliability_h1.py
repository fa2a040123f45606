"""HTTP/1.1 reliability rows of docs/security.md that need a raw client and a raw upstream.

Covered cases (docs/security.md; Traefik semantics from docs/compatibility.md):

- S25 / S66, early answer: causeway answers (basicAuth 401, redirectScheme 302, buffering 413
  from Content-Length) before the request body is read. A pipelined canary that follows must
  never run as a request: with the body only partly sent, causeway closes the connection after
  the answer; with the whole body sent (in one write, after the early answer, or after an
  `Expect: 100-continue` that was answered without 100), the canary is either answered as a
  proper second request or the connection is closed, and the body bytes (themselves a request,
  `GET /smuggled`) never reach the recording upstream as a request.
- S64: bytes sent right behind an upgrade request, before the 101: delivered in order through
  the tunnel when the upgrade is accepted; never sent raw to the upstream when it is refused.
- R05: dial to a blackholed server (a loopback listener with backlog 0 whose accept queue is
  full, so SYNs are dropped) with `forwardingTimeouts.dialTimeout: 1s` → 504 after about 1 s
  (docs/compatibility.md: "dial/connection error → 502, timeout → 504"); a refused dial → 502 at once.
- R08: a response broken mid-body (bad chunk size after good chunks, Content-Length body cut
  short) is cut for the client (no clean end, connection closed) and the upstream connection is
  closed and never reused; a malformed response head → 502, same upstream-side rule.
- P02, P05–P08: path attacks sent raw (the client does not normalise) against `/public` (open)
  and `/admin` (basicAuth), both routed to a recording upstream that logs the request target.
"""
import base64
import hashlib
import socket
import time

import pytest

from harness import Causeway, ScriptedUpstream, curl, free_port, responses, to_yaml, wait_until
from recorder import Recorder, exchange
from wsclient import OP_BINARY, WebSocket, accept_key, encode_frame

USER, PASSWORD = "alice", "s3cret"
USERS = [f"{USER}:{{SHA}}" + base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()]
CREDENTIALS = "Authorization: Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x.test\r\n\r\n"
CANARY = b"GET /canary HTTP/1.1\r\nHost: x.test\r\n\r\n"


def lb(url, **options):
    return {"loadBalancer": {"servers": [{"url": url}], **options}}


def start(dynamic, workers=1):
    """A causeway with one dynamic file (module fixtures manage its life)."""
    return Causeway(dynamic={"rel.yml": to_yaml({"http": dynamic}) + "\n"}, workers=workers)


def read_all(sock, timeout=3.0, until=None, linger=0.2):
    """Reads until EOF/reset, `timeout`, or (with `until`: bytes the data ends with, or a
    predicate on the data) `linger` more seconds once it is satisfied, to see a close.
    Returns (bytes, "eof" | "reset" | "open")."""
    done = until if callable(until) else (lambda raw: until is not None and raw.endswith(until))
    raw, ended = b"", "open"
    deadline = time.time() + timeout
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            ended = "reset"
            break
        if not data:
            ended = "eof"
            break
        raw += data
        if done(raw):
            deadline = min(deadline, time.time() + linger)
    return raw, ended


def complete_response(raw):
    """True when raw holds at least one complete final response (Content-Length framed or
    bodiless), skipping 1xx interim answers."""
    while True:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            return False
        status = int(head.split(b" ", 2)[1])
        if 100 <= status < 200:
            raw = rest
            continue
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                return len(rest) >= int(value.strip())
        return True


def send_ignoring_errors(sock, data):
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


# =======================================================================================
# S25 / S66: early answers before the request body is read

@pytest.fixture(scope="module")
def early():
    rec = Recorder()
    cw = start({
        "routers": {
            "all": {"rule": "Host(`x.test`)", "service": "rec"},
            "auth": {"rule": "Host(`auth.test`)", "service": "rec", "middlewares": ["auth"]},
            "redir": {"rule": "Host(`redir.test`)", "service": "rec", "middlewares": ["redir"]},
            "buf": {"rule": "Host(`buf.test`)", "service": "rec", "middlewares": ["buf"]},
        },
        "middlewares": {
            "auth": {"basicAuth": {"users": USERS}},
            "redir": {"redirectScheme": {"scheme": "https"}},
            "buf": {"buffering": {"maxRequestBodyBytes": 10}},
        },
        "services": {"rec": lb(rec.url)},
    }, workers=2)
    try:
        wait_until(lambda: curl(cw.url("web", "/ready"), host="x.test")[0] == 200, message="route")
        wait_until(lambda: curl(cw.url("web", "/"), host="buf.test")[0] == 200, message="buf route")
        yield cw, rec
    finally:
        cw.stop()
        rec.stop()


# redirectScheme answers 302 or 307 (307 keeps the method of a POST), basicAuth 401, buffering
# 413 from the announced Content-Length.
EARLY = {"auth": (401,), "redir": (302, 307), "buf": (413,)}


def post_head(host, length, extra=""):
    return (f"POST /upload HTTP/1.1\r\nHost: {host}.test\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def seen_ids(rec):
    """What the recorder has seen so far (its requests are listed per connection, so a new
    request on an old pooled connection is not at the end of the list: compare identities)."""
    return {id(r) for r in rec.requests()}


def targets_since(rec, before):
    return [r.target for r in rec.requests() if id(r) not in before]


def upstream_targets_since(rec, before):
    time.sleep(0.2)  # let anything causeway forwarded arrive
    return targets_since(rec, before)


def check_whole_body_outcome(raw, ended, targets, expected_status):
    """The canary is either answered as a second request, or the connection is closed and
    the canary never ran; the body (a request) is never parsed as one."""
    answers = responses(raw)
    finals = [a for a in answers if not 100 <= a[0] < 200]
    assert finals, f"no final answer (connection {ended}): {raw[:300]!r}"
    assert finals[0][0] in expected_status, raw[:300]
    assert "/smuggled" not in targets, f"body bytes ran as a request upstream: {targets}"
    if len(finals) == 1:
        assert ended in ("eof", "reset"), f"canary neither answered nor connection closed: {raw!r}"
        assert targets == [], targets
    else:
        assert finals[0][0] in expected_status and finals[1][0] == 200, raw[:500]
        assert finals[1][2] == b"target=/canary", raw[:500]
        assert len(finals) == 2, raw[:500]
        assert targets == ["/canary"], targets


@pytest.mark.parametrize("mw", list(EARLY))
def test_S66_partial_body_then_canary_closes(early, mw):
    """Content-Length 200 but only a smuggled request + canary (< 200 bytes) sent: they are
    body bytes; after the early answer the connection must close and nothing run upstream."""
    cw, rec = early
    before = seen_ids(rec)
    raw, ended = exchange(cw.port(), post_head(mw, 200) + SMUGGLED + CANARY, timeout=3.0)
    targets = upstream_targets_since(rec, before)
    answers = responses(raw)
    assert len(answers) == 1 and answers[0][0] in EARLY[mw], raw[:300]
    assert ended in ("eof", "reset"), "connection left open with an unread request body"
    assert targets == [], f"upstream saw {targets}"


@pytest.mark.parametrize("mw", list(EARLY))
def test_S66_whole_body_then_canary(early, mw):
    cw, rec = early
    before = seen_ids(rec)
    raw, ended = exchange(cw.port(), post_head(mw, len(SMUGGLED)) + SMUGGLED + CANARY, timeout=3.0,
                          until=b"target=/canary")
    check_whole_body_outcome(raw, ended, upstream_targets_since(rec, before), EARLY[mw])


def two_phase(port, first, second, timeout=3.0):
    """Sends `first`, waits (≤ 1.5 s) for a complete final answer, then sends `second`
    (ignoring a closed socket) and reads on. Returns (raw, ended, answered_before_second)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(first)
        raw, deadline, ended = b"", time.time() + 1.5, "open"
        while time.time() < deadline and not complete_response(raw):
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                ended = "reset"
                break
            if not data:
                ended = "eof"
                break
            raw += data
        answered = complete_response(raw)
        if ended != "open":
            return raw, ended, answered
        time.sleep(0.05)
        send_ignoring_errors(s, second)
        more, ended = read_all(s, timeout=timeout, until=b"target=/canary")
        return raw + more, ended, answered


@pytest.mark.parametrize("mw", list(EARLY))
def test_S66_body_sent_after_the_early_answer(early, mw):
    """0.CL: the head goes first, the early answer comes back, then the client sends the
    announced body (a request) and a canary."""
    cw, rec = early
    before = seen_ids(rec)
    raw, ended, answered = two_phase(cw.port(), post_head(mw, len(SMUGGLED)), SMUGGLED + CANARY)
    check_whole_body_outcome(raw, ended, upstream_targets_since(rec, before), EARLY[mw])


@pytest.mark.parametrize("mw", list(EARLY))
def test_S25_expect_100_continue_answered_early(early, mw):
    """Expect: 100-continue answered with a final status (no 100): if the client then sends
    the body anyway it must be discarded or the connection closed, never parsed."""
    cw, rec = early
    before = seen_ids(rec)
    raw, ended, answered = two_phase(cw.port(), post_head(mw, len(SMUGGLED), "Expect: 100-continue\r\n"),
                                     SMUGGLED + CANARY)
    assert answered, f"no early answer to an Expect: 100-continue request: {raw[:300]!r}"
    check_whole_body_outcome(raw, ended, upstream_targets_since(rec, before), EARLY[mw])


# =======================================================================================
# S64: bytes behind an upgrade request

def upgrade_request(path="/echo", host="ws.test", key="dGhlIHNhbXBsZSBub25jZQ=="):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def read_head(sock, timeout=5.0):
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        assert data, f"connection closed before a response head: {buf!r}"
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def ws_route(url):
    return {"routers": {"ws": {"rule": "Host(`ws.test`)", "service": "up"}}, "services": {"up": lb(url)}}


def test_S64_early_frames_reach_whoami_echo_in_order(start_whoami):
    w = start_whoami("ws")
    cw = start(ws_route(w.url))
    try:
        wait_until(lambda: curl(cw.url("web", "/"), host="ws.test")[0] == 200, message="route")
        key = base64.b64encode(b"0123456789abcdef").decode()
        early_msgs = [b"early-1", b"early-2" * 100, b"early-3"]
        with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
            # The head and three frames in one write: they sit behind the head in causeway's buffer.
            s.sendall(upgrade_request(key=key) + b"".join(encode_frame(OP_BINARY, m) for m in early_msgs))
            head, rest = read_head(s)
            assert head.startswith(b"HTTP/1.1 101 "), head
            fields = {k.strip().lower(): v.strip() for k, _, v in
                      (l.partition(b":") for l in head.split(b"\r\n")[1:])}
            assert fields.get(b"sec-websocket-accept") == accept_key(key).encode(), head
            ws = WebSocket(s, rest)
            got = [ws.recv() for _ in early_msgs]
            assert got == [(OP_BINARY, m) for m in early_msgs]
            assert ws.echo(b"after") == b"after"
    finally:
        cw.stop()


def delayed_upgrade_upstream(answer_101):
    """Answers an upgrade after 300 ms (so the client's early bytes are at causeway first):
    with a 101 and then a raw byte echo, or with a 403 and then only records."""
    def handler(conn, head, rest, up, index):
        keys = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
                if l.lower().startswith(b"sec-websocket-key:")]
        if not keys:  # the readiness probe
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
            return
        time.sleep(0.3)
        if answer_101:
            key = keys[0]
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n")
            if rest:
                conn.sendall(rest)
            while True:
                data = up.recv(conn, index)
                if not data:
                    return
                conn.sendall(data)
        else:
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nno")
            while up.recv(conn, index):
                pass
    return handler


def test_S64_early_bytes_tunnelled_in_order_when_accepted():
    up = ScriptedUpstream(delayed_upgrade_upstream(True))
    cw = start(ws_route(up.url))
    try:
        wait_until(lambda: curl(cw.url("web", "/warm"), host="ws.test",
                                timeout=3)[0] == 403, message="route")
        first, second = encode_frame(OP_BINARY, b"EARLY-ONE"), encode_frame(OP_BINARY, b"LATE-TWO")
        with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
            s.sendall(upgrade_request(path="/tunnel") + first)
            head, rest = read_head(s)
            assert head.startswith(b"HTTP/1.1 101 "), head
            s.sendall(second)
            raw, _ = read_all(s, timeout=3, until=second, linger=0)
            echoed = rest + raw
        assert echoed == first + second, echoed
        with up.lock:
            carriers = [bytes(r) for r in up.received if b"/tunnel" in r]
        assert len(carriers) == 1
        assert carriers[0].partition(b"\r\n\r\n")[2] == first + second
    finally:
        cw.stop()
        up.stop()


@pytest.mark.parametrize("early_bytes", ["frame", "pipelined-request"])
def test_S64_early_bytes_never_reach_upstream_raw_when_refused(early_bytes):
    up = ScriptedUpstream(delayed_upgrade_upstream(False))
    cw = start(ws_route(up.url))
    try:
        wait_until(lambda: curl(cw.url("web", "/warm"), host="ws.test", timeout=3)[0] == 403, message="route")
        if early_bytes == "frame":
            early = encode_frame(OP_BINARY, b"EARLY-TUNNEL-PAYLOAD")
        else:
            early = b"GET /smuggled HTTP/1.1\r\nHost: ws.test\r\nX-Raw-Marker: early\r\n\r\n"
        with socket.create_connection(("127.0.0.1", cw.port()), timeout=5) as s:
            s.sendall(upgrade_request(path="/refused") + early)
            raw, ended = read_all(s, timeout=1.0)  # a pipelined request may keep it open
        answers = responses(raw)
        assert answers and answers[0][0] == 403, raw[:300]
        time.sleep(0.2)
        with up.lock:
            conns = [bytes(r) for r in up.received]
        carrier = [c for c in conns if b"/refused" in c]
        assert len(carrier) == 1
        assert carrier[0].partition(b"\r\n\r\n")[2] == b"", \
            f"bytes sent before the refused 101 reached the upstream on the upgrade connection: {carrier[0]!r}"
        everything = b"".join(conns)
        assert early not in everything, "the client's early bytes reached the upstream verbatim"
        if early_bytes == "pipelined-request":
            # Acceptable: answered as a proper second request (re-serialised, on another upstream
            # connection), or refused / the connection closed.
            for c in conns:
                if b"/smuggled" in c:
                    assert b"/refused" not in c
                    assert b"X-Forwarded-For" in c, c
    finally:
        cw.stop()
        up.stop()


# =======================================================================================
# R05: dial failures

class Blackhole:
    """A loopback port that never completes a TCP handshake: backlog 0 and an accept queue
    filled with connections that are never accepted, so further SYNs are dropped."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(s)
        time.sleep(0.1)
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", self.port))
            raise RuntimeError("the blackhole accepted a connection: SYNs are not dropped here")
        except socket.timeout:
            pass
        finally:
            probe.close()

    def close(self):
        for s in self.fillers:
            s.close()
        self.listener.close()


def test_R05_dial_timeout_is_504_within_the_dial_timeout():
    hole = Blackhole()
    rec = Recorder()
    closed_port = free_port()
    cw = start({
        "routers": {
            "ready": {"rule": "Host(`ready.test`)", "service": "rec"},
            "hole": {"rule": "Host(`hole.test`)", "service": "hole"},
            "refused": {"rule": "Host(`refused.test`)", "service": "refused"},
        },
        "services": {
            "rec": lb(rec.url),
            "hole": lb(f"http://127.0.0.1:{hole.port}", serversTransport="fast"),
            "refused": lb(f"http://127.0.0.1:{closed_port}", serversTransport="fast"),
        },
        "serversTransports": {"fast": {"forwardingTimeouts": {"dialTimeout": "1s"}}},
    })
    try:
        wait_until(lambda: curl(cw.url("web", "/"), host="ready.test")[0] == 200, message="route")
        started = time.monotonic()
        status, _, body = curl(cw.url("web", "/x"), host="hole.test", timeout=10)
        elapsed = time.monotonic() - started
        assert status == 504, (status, body)
        assert 0.8 <= elapsed < 2.5, f"504 after {elapsed:.2f}s with dialTimeout 1s"
        started = time.monotonic()
        status, _, body = curl(cw.url("web", "/x"), host="refused.test", timeout=10)
        elapsed = time.monotonic() - started
        assert status == 502, (status, body)
        assert elapsed < 0.8, f"refused dial answered after {elapsed:.2f}s"
    finally:
        cw.stop()
        rec.stop()
        hole.close()


# =======================================================================================
# R08: upstream response framing errors

class BreakingUpstream:
    """A keep-alive scripted upstream: `scripts[path](conn)` sends the answer to a request for
    that path and returns "keep" (serve the next request on this connection), "hold" (record
    and never answer again) or "close" (close it here). Unknown paths get a small 200. `log`
    is [(connection index, path)]; `closed` the set of connections that ended (closed by
    causeway, or by the script's "close")."""

    def __init__(self, scripts):
        self.scripts = scripts
        self.log = []
        self.closed = set()
        self.up = ScriptedUpstream(self._handler)
        self.url = self.up.url

    def _handler(self, conn, head, rest, up, index):
        buf = rest
        while True:
            path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
            with up.lock:
                self.log.append((index, path))
            script = self.scripts.get(path)
            if script is None:
                body = f"ok {path}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                action = "keep"
            else:
                action = script(conn)
            if action == "close":
                with up.lock:
                    self.closed.add(index)
                return
            if action == "hold":
                while True:
                    try:
                        data = up.recv(conn, index)
                    except OSError:
                        data = b""
                    if not data:
                        with up.lock:
                            self.closed.add(index)
                        return
            while b"\r\n\r\n" not in buf:
                data = up.recv(conn, index)
                if not data:
                    with up.lock:
                        self.closed.add(index)
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            head += b"\r\n\r\n"
            with up.lock:
                up.requests.append(head)

    def index_of(self, path):
        with self.up.lock:
            return [i for i, p in self.log if p == path]

    def requests_on(self, index):
        with self.up.lock:
            return [p for i, p in self.log if i == index]

    def stop(self):
        self.up.stop()


def bad_chunk_midway(conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
                 b"5\r\nhello\r\n5\r\nworld\r\n")
    time.sleep(0.3)  # the head and the good chunks are on their way to the client
    conn.sendall(b"ZZ\r\nbad-chunk\r\n0\r\n\r\n")
    return "hold"


def short_content_length(conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n0123456789")
    time.sleep(0.3)
    return "close"


def response_done(raw):
    """True when raw holds one complete response (Content-Length or chunked framing)."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    fields = head.lower()
    if b"transfer-encoding: chunked" in fields:
        return chunked_body_complete(rest)[0]
    return complete_response(raw)


def raw_get(port, path, timeout=3.0):
    """One keep-alive GET; reads until a complete response (then 0.2 s more to see a close),
    EOF/reset or `timeout`. Returns (raw, "eof" | "reset" | "open")."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: up.test\r\n\r\n".encode())
        return read_all(s, timeout=timeout, until=response_done)


def chunked_body_complete(rest):
    """(complete?, decoded data) of a chunked body, strictly parsed."""
    data = b""
    while True:
        line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            return False, data
        try:
            size = int(line.split(b";")[0], 16)
        except ValueError:
            return False, data
        if size == 0:
            return rest.startswith(b"\r\n"), data
        if len(rest) < size + 2 or rest[size:size + 2] != b"\r\n":
            return False, data + rest[:size]
        data += rest[:size]
        rest = rest[size + 2:]


@pytest.fixture
def breaking():
    started = []

    def make(scripts):
        up = BreakingUpstream(scripts)
        cw = start({"routers": {"up": {"rule": "Host(`up.test`)", "service": "up"}},
                    "services": {"up": lb(up.url)}})
        started.append((cw, up))
        wait_until(lambda: curl(cw.url("web", "/warm"), host="up.test")[0] == 200, message="route")
        return cw, up

    yield make
    for cw, up in started:
        cw.stop()
        up.stop()


def assert_upstream_connection_dropped(cw, up, bad_path):
    """The next request goes on a new upstream connection; the broken one is closed."""
    (bad,) = up.index_of(bad_path)
    raw, _ = raw_get(cw.port(), "/next", timeout=3)
    answers = responses(raw)
    assert answers and answers[0][0] == 200 and answers[0][2] == b"ok /next", \
        f"next request after {bad_path}: {raw[:300]!r} (upstream log {up.log})"
    on_bad = up.requests_on(bad)
    assert on_bad[-1] == bad_path, f"broken upstream connection reused: {up.log}"
    (nxt,) = up.index_of("/next")
    assert nxt != bad
    wait_until(lambda: bad in up.closed, timeout=3, message="causeway closing the broken upstream connection")


def test_R08_bad_chunk_mid_body_cuts_client_and_drops_upstream_connection(breaking):
    cw, up = breaking({"/bad-chunk": bad_chunk_midway})
    raw, ended = raw_get(cw.port(), "/bad-chunk", timeout=3)
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, raw
    if head.startswith(b"HTTP/1.1 502"):
        pass  # nothing had gone to the client yet: a 502 is the R08 answer
    else:
        assert head.startswith(b"HTTP/1.1 200"), raw[:300]
        assert b"transfer-encoding: chunked" in head.lower(), head
        complete, data = chunked_body_complete(rest)
        assert not complete, f"a broken upstream body reached the client as a complete response: {raw!r}"
        assert b"bad-chunk" not in data
        assert ended in ("eof", "reset"), "client connection left open after a cut response"
    assert_upstream_connection_dropped(cw, up, "/bad-chunk")


def test_R08_content_length_body_cut_short_is_cut_for_the_client(breaking):
    cw, up = breaking({"/short": short_content_length})
    raw, ended = raw_get(cw.port(), "/short", timeout=3)
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), raw[:300]
    assert b"content-length: 100" in head.lower(), head
    assert rest == b"0123456789", rest
    assert ended in ("eof", "reset"), "client connection left open after a cut response"
    assert_upstream_connection_dropped(cw, up, "/short")


BAD_HEADS = [
    ("bad-status-code", b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok"),
    ("not-http", b"HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ("two-different-CL", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"),
    ("CL-and-TE", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
    ("negative-CL", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"),
    ("space-before-colon", b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"),
    ("obs-fold", b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"),
    ("bare-CR-in-value", b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok"),
    ("NUL-in-value", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok"),
]


@pytest.mark.parametrize("response", [c[1] for c in BAD_HEADS], ids=[c[0] for c in BAD_HEADS])
def test_R08_malformed_response_head_is_502(breaking, response):
    def script(conn):
        conn.sendall(response)
        return "hold"

    cw, up = breaking({"/bad-head": script})
    raw, ended = raw_get(cw.port(), "/bad-head", timeout=3)
    answers = responses(raw)
    assert answers and answers[0][0] == 502, raw[:300]
    assert b"ok" not in answers[0][2], raw[:300]  # nothing of the broken response
    assert_upstream_connection_dropped(cw, up, "/bad-head")


# =======================================================================================
# P02, P05–P08: path attacks against an open /public and an authenticated /admin

@pytest.fixture(scope="module")
def paths():
    rec = Recorder()
    cw = start({
        "routers": {
            "public": {"rule": "PathPrefix(`/public`)", "service": "rec"},
            "admin": {"rule": "PathPrefix(`/admin`)", "service": "rec", "middlewares": ["auth"]},
        },
        "middlewares": {"auth": {"basicAuth": {"users": USERS}}},
        "services": {"rec": lb(rec.url)},
    }, workers=2)
    try:
        wait_until(lambda: curl(cw.url("web", "/public/ready"), host="x.test")[0] == 200, message="route")
        wait_until(lambda: curl(cw.url("web", "/admin/ready"), host="x.test")[0] == 401, message="auth route")
        yield cw, rec
    finally:
        cw.stop()
        rec.stop()


def raw_path_request(cw, path, credentials=False):
    extra = CREDENTIALS + "\r\n" if credentials else ""
    payload = f"GET {path} HTTP/1.1\r\nHost: x.test\r\n{extra}Connection: close\r\n\r\n".encode("latin-1")
    raw, ended = exchange(cw.port(), payload, timeout=3)
    answers = responses(raw)
    assert len(answers) == 1, f"{path}: {raw[:300]!r}"
    return answers[0]


# (id, raw path, status without credentials; nothing may reach the upstream then)
UNAUTHENTICATED = [
    ("P02-lower", "/public/%2e%2e/admin/x", 401),
    ("P02-mixed", "/public/%2E%2e/admin/x", 401),
    ("P02-dot-encoded-dot", "/public/.%2e/admin/x", 401),
    ("P05-NUL", "/admin%00/x", 400),
    ("P05-lone-percent", "/admin%", 400),
    ("P05-bad-hex", "/admin%zz", 400),
    ("P06-double-encoded", "/admin%252e%252e/x", 401),
    ("P07-params-in-segment", "/admin;x=y/secret", 401),
    ("P07-param-then-dotdot", "/public;/../admin", 401),
    ("P07-dotdot-with-param", "/public/..;/admin/x", 401),
    ("P08-upper-case", "/ADMIN/x", 404),
    ("P08-upper-case-via-dotdot", "/public/%2e%2e/ADMIN/x", 404),
]


@pytest.mark.parametrize("path,status", [c[1:] for c in UNAUTHENTICATED], ids=[c[0] for c in UNAUTHENTICATED])
def test_path_attack_never_reaches_admin_without_credentials(paths, path, status):
    cw, rec = paths
    before = seen_ids(rec)
    got, _, body = raw_path_request(cw, path)
    time.sleep(0.1)
    seen = targets_since(rec, before)
    assert seen == [], f"{path} reached the upstream as {seen} (answer {got})"
    assert got == status, f"{path}: {got} {body[:100]!r}"


# (id, raw path, target the upstream must receive with credentials)
AUTHENTICATED = [
    ("P02-lower", "/public/%2e%2e/admin/x", "/admin/x"),
    ("P02-dot-encoded-dot", "/public/.%2e/admin/x", "/admin/x"),
    ("P06-double-encoded", "/admin%252e%252e/x", "/admin%252e%252e/x"),
    ("P07-params-in-segment", "/admin;x=y/secret", "/admin;x=y/secret"),
    ("P07-param-then-dotdot", "/public;/../admin", "/admin"),
    ("P07-dotdot-with-param", "/public/..;/admin/x", "/admin/x"),
]


@pytest.mark.parametrize("path,target", [c[1:] for c in AUTHENTICATED], ids=[c[0] for c in AUTHENTICATED])
def test_path_attack_with_credentials_forwards_the_normalised_path(paths, path, target):
    cw, rec = paths
    before = seen_ids(rec)
    got, _, body = raw_path_request(cw, path, credentials=True)
    assert got == 200, f"{path}: {got} {body[:100]!r}"
    assert body == f"target={target}".encode(), body
    assert targets_since(rec, before) == [target]


def test_P06_public_double_encoding_forwarded_undecoded(paths):
    """`%25` is never decoded: the open router forwards `%252e%252e` as is (a backend that
    decodes once sees `%2e%2e`, a literal name, not a dot segment) and it stays under /public."""
    cw, rec = paths
    before = seen_ids(rec)
    got, _, body = raw_path_request(cw, "/public/%252e%252e/admin/x")
    assert got == 200, body
    assert targets_since(rec, before) == ["/public/%252e%252e/admin/x"]


def test_pooled_connection_closed_by_the_server_is_not_reused():
    """R06: a server that closes idle keep-alive connections (Node.js does after 5 s) must not
    cost a POST its answer: a pooled connection the server closed while it sat idle is noticed
    when it is taken, and a new one is dialed (a POST with a body could not be sent twice)."""
    def keep_alive_then_close(conn, head, rest, upstream, index):
        # Answers one request with keep-alive, then closes the connection after 0.3 s idle.
        length = int(next((line.split(b":", 1)[1] for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), b"0"))
        while len(rest) < length:
            rest += upstream.recv(conn, index)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        time.sleep(0.3)

    up = ScriptedUpstream(keep_alive_then_close)
    cw = Causeway(dynamic={"d.yml": to_yaml({"http": {
        "routers": {"r": {"rule": "PathPrefix(`/`)", "service": "s"}},
        "services": {"s": {"loadBalancer": {"servers": [{"url": up.url}]}}}}})})
    try:
        wait_until(lambda: curl(cw.url(path="/warm"))[0] == 200, message="the router")
        for i in range(3):
            time.sleep(0.8)  # the server has closed the pooled connection by now
            status, body = curl(cw.url(path=f"/p{i}"), method="POST", data="x" * 100)[:2]
            assert status == 200, (i, status, body)
    finally:
        cw.stop()
        up.stop()
