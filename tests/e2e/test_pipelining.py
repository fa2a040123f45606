"""HTTP/1.1 pipelining, request bodies, Expect: 100-continue, HTTP/1.0 and HEAD.

Reference: RFC 9112 §9.3 (persistence, pipelining: responses in order), §9.3 HTTP/1.0
keep-alive, RFC 9110 §10.1.1 (Expect), §9.3.2 (HEAD), docs/security.md S24–S26.
whoami echoes the request line and reports "Body-Length: N" for a request body.
"""
import socket
import subprocess
import time

import pytest

from harness import curl, responses, to_yaml, wait_until, whoami_echo
from recorder import Recorder, exchange


@pytest.fixture
def proxy(start_whoami, start_causeway):
    w = start_whoami("pipe")
    dyn = to_yaml({"http": {
        "routers": {"all": {"rule": "PathPrefix(`/`)", "service": "s"}},
        "services": {"s": {"loadBalancer": {"servers": [{"url": w.url}]}}},
    }}) + "\n"
    cw = start_causeway(dynamic={"pipe.yml": dyn})
    wait_until(lambda: curl(cw.url("web", "/"), host="x.test")[0] == 200, message="route")
    return cw


def get(path, host="x.test", extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def request_line(body):
    return whoami_echo(body)[0]


def body_length(body):
    return whoami_echo(body)[2].get("Body-Length")


def read_responses(sock, count, timeout=5.0):
    """Reads from sock until `count` complete responses are there (or timeout)."""
    sock.settimeout(0.2)
    raw, deadline = b"", time.time() + timeout
    while time.time() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            data = None
        if data == b"":
            break
        if data:
            raw += data
        parsed = responses(raw)
        if len(parsed) >= count and all(
                len(b) == int(h.get("content-length", len(b))) for _, h, b in parsed):
            break
    return raw


# ---------------------------------------------------------------------------------------

def test_ten_pipelined_gets_answered_in_order(proxy):
    paths = [f"/p{i}?n={i}" for i in range(10)]
    payload = b"".join(get(p) for p in paths)
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(payload)  # one write: one packet on loopback
        raw = read_responses(s, 10)
    answers = responses(raw)
    assert len(answers) == 10, raw[-300:]
    assert [a[0] for a in answers] == [200] * 10
    assert [request_line(a[2]) for a in answers] == [f"GET {p} HTTP/1.1" for p in paths]


def test_pipelined_post_with_content_length_then_get(proxy):
    payload = (b"POST /upload HTTP/1.1\r\nHost: x.test\r\nContent-Length: 11\r\n\r\nhello world"
               + get("/after"))
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(payload)
        raw = read_responses(s, 2)
    answers = responses(raw)
    assert len(answers) == 2, raw
    assert request_line(answers[0][2]) == "POST /upload HTTP/1.1"
    assert body_length(answers[0][2]) == "11"
    assert request_line(answers[1][2]) == "GET /after HTTP/1.1"
    assert body_length(answers[1][2]) is None


def test_pipelined_chunked_post_with_trailers_then_get(proxy):
    body = (b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n")
    payload = (b"POST /chunked HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n"
               b"Trailer: X-Checksum, X-Other\r\n\r\n" + body + get("/after-chunked"))
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(payload)
        raw = read_responses(s, 2)
    answers = responses(raw)
    assert len(answers) == 2, raw
    assert [a[0] for a in answers] == [200, 200]
    assert request_line(answers[0][2]) == "POST /chunked HTTP/1.1"
    assert body_length(answers[0][2]) == "11"
    assert request_line(answers[1][2]) == "GET /after-chunked HTTP/1.1"


def test_body_split_over_several_writes(proxy):
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(b"POST /slow HTTP/1.1\r\nHost: x.test\r\nContent-Length: 10\r\n\r\n01234")
        time.sleep(0.2)
        s.sendall(b"56789" + get("/next"))
        raw = read_responses(s, 2)
    answers = responses(raw)
    assert [request_line(a[2]) for a in answers] == ["POST /slow HTTP/1.1", "GET /next HTTP/1.1"]
    assert body_length(answers[0][2]) == "10"


def test_expect_100_continue_with_curl(proxy):
    data = bytes(range(256)) * 8  # 2 KiB
    out = subprocess.run(
        ["curl", "-sS", "--http1.1", "--max-time", "10", "-H", "Host: x.test", "-H", "Expect: 100-continue",
         "--expect100-timeout", "5", "--data-binary", "@-", "-w", "\n%{http_code}", proxy.url("web", "/upload")],
        input=data, capture_output=True, timeout=15)
    assert out.returncode == 0, out.stderr
    body, _, code = out.stdout.rpartition(b"\n")
    assert code == b"200"
    assert body_length(body) == str(len(data))


def test_expect_100_continue_interim_response_before_body(proxy):
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(b"POST /expect HTTP/1.1\r\nHost: x.test\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n")
        s.settimeout(3)
        interim = b""
        while b"\r\n\r\n" not in interim:
            data = s.recv(4096)
            assert data, "connection closed before 100 Continue"
            interim += data
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        head, _, rest = interim.partition(b"\r\n\r\n")
        assert rest == b""  # nothing final before the body is sent
        s.sendall(b"x" * 2048 + get("/after-expect"))
        raw = read_responses(s, 2)
    answers = responses(raw)
    assert [a[0] for a in answers] == [200, 200], raw
    assert body_length(answers[0][2]) == "2048"
    assert request_line(answers[1][2]) == "GET /after-expect HTTP/1.1"


def test_http10_without_host_is_answered_and_closed(proxy):
    raw, ended = exchange(proxy.port(), b"GET /old HTTP/1.0\r\n\r\n", timeout=3)
    answers = responses(raw)
    assert len(answers) == 1, raw
    status, headers, body = answers[0]
    assert status == 200
    assert raw.startswith(b"HTTP/1.")
    assert request_line(body) == "GET /old HTTP/1.1"  # forwarded as HTTP/1.1
    assert ended == "eof"


def test_http10_keep_alive_stays_open(proxy):
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(b"GET /ka1 HTTP/1.0\r\nHost: x.test\r\nConnection: keep-alive\r\n\r\n")
        raw = read_responses(s, 1)
        answers = responses(raw)
        assert len(answers) == 1, raw
        status, headers, body = answers[0]
        assert status == 200
        assert headers.get("connection", "").lower() == "keep-alive"
        assert "content-length" in headers  # an HTTP/1.0 client needs it to find the end
        # The connection is still usable.
        s.sendall(b"GET /ka2 HTTP/1.0\r\nHost: x.test\r\nConnection: keep-alive\r\n\r\n")
        raw = read_responses(s, 1)
        answers = responses(raw)
        assert len(answers) == 1, raw
        assert request_line(answers[0][2]) == "GET /ka2 HTTP/1.1"


def test_http10_without_keep_alive_closes(proxy):
    raw, ended = exchange(proxy.port(), b"GET /close HTTP/1.0\r\nHost: x.test\r\n\r\n" + get("/never"), timeout=3)
    answers = responses(raw)
    assert len(answers) == 1, raw
    assert ended == "eof"


def test_http11_connection_close_closes(proxy):
    raw, ended = exchange(proxy.port(), get("/bye", extra="Connection: close\r\n") + get("/never"), timeout=3)
    answers = responses(raw)
    assert len(answers) == 1, raw
    assert answers[0][1].get("connection", "").lower() == "close"
    assert ended == "eof"


@pytest.fixture
def recorder_proxy(start_causeway):
    """causeway in front of a Recorder; yields a function (head_extra) -> (causeway, recorder)."""
    started = []

    def start(head_extra=b""):
        rec = Recorder(head_extra=head_extra)
        started.append(rec)
        dyn = to_yaml({"http": {
            "routers": {"all": {"rule": "PathPrefix(`/`)", "service": "rec"}},
            "services": {"rec": {"loadBalancer": {"servers": [{"url": rec.url}]}}},
        }}) + "\n"
        cw = start_causeway(dynamic={"rec.yml": dyn}, workers=1)
        wait_until(lambda: curl(cw.url("web", "/"), host="x.test")[0] == 200, message="route")
        return cw, rec

    yield start
    for rec in started:
        rec.stop()


def read_until(sock, suffix, timeout=5.0):
    sock.settimeout(0.3)
    raw, deadline = b"", time.time() + timeout
    while time.time() < deadline and not raw.endswith(suffix):
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        raw += data
    return raw


def head_fields(head):
    return {l.split(b":")[0].strip().lower().decode(): l.split(b":", 1)[1].strip().decode()
            for l in head.split(b"\r\n")[1:]}


def test_head_has_get_headers_and_no_body(recorder_proxy):
    cw, _ = recorder_proxy()
    status, get_headers, get_body = curl(cw.url("web", "/same"), host="x.test")
    assert status == 200 and get_body == b"target=/same"
    with socket.create_connection(("127.0.0.1", cw.port())) as s:
        s.sendall(b"HEAD /same HTTP/1.1\r\nHost: x.test\r\n\r\n" + get("/next"))
        raw = read_until(s, b"target=/next")
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep and head.startswith(b"HTTP/1.1 200"), raw[:300]
    fields = head_fields(head)
    assert fields.get("content-length") == get_headers.get("content-length") == str(len(b"target=/same"))
    assert fields.get("content-type") == get_headers.get("content-type")
    # No body after the HEAD headers: the next bytes are the GET's response.
    assert rest.startswith(b"HTTP/1.1 200"), rest[:100]
    answers = responses(rest)
    assert len(answers) == 1 and answers[0][2] == b"target=/next", rest


def test_bytes_after_a_head_response_never_answer_the_next_request(recorder_proxy):
    """An upstream that sends a whole extra response after its HEAD response (response
    queue poisoning): the proxy must not hand it to the next request."""
    injected = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nINJECTED"
    cw, rec = recorder_proxy(head_extra=injected)
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", cw.port())) as s:
            s.sendall(b"HEAD /h HTTP/1.1\r\nHost: x.test\r\n\r\n" + get("/g"))
            raw = read_until(s, b"target=/g", timeout=3)
        assert b"INJECTED" not in raw
        assert raw.endswith(b"target=/g"), raw[-200:]
        status, _, body = curl(cw.url("web", "/after"), host="x.test")
        assert (status, body) == (200, b"target=/after")


def test_whoami_head_has_no_body(start_whoami):
    w = start_whoami()
    with socket.create_connection(("127.0.0.1", w.port)) as s:
        s.sendall(b"HEAD /data?size=100 HTTP/1.1\r\nHost: x\r\n\r\nGET /data?size=7 HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = read_until(s, b"abcdefg", timeout=2)
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert rest.startswith(b"HTTP/1.1 200"), rest[:60]


def test_many_requests_on_one_connection(proxy):
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        for i in range(50):
            s.sendall(get(f"/seq{i}"))
            answers = responses(read_responses(s, 1))
            assert len(answers) == 1
            assert request_line(answers[0][2]) == f"GET /seq{i} HTTP/1.1"


def test_pipelined_responses_stay_in_order_when_upstream_is_slow(proxy):
    paths = ["/a?wait=300ms", "/b", "/c?wait=100ms", "/d"]
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(b"".join(get(p) for p in paths))
        raw = read_responses(s, 4)
    answers = responses(raw)
    assert [request_line(a[2]) for a in answers] == [f"GET {p} HTTP/1.1" for p in paths]


def test_large_chunked_upload(proxy):
    size = 1 << 20
    chunk = b"z" * 65536
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(size // len(chunk))) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.sendall(b"POST /big HTTP/1.1\r\nHost: x.test\r\nTransfer-Encoding: chunked\r\n\r\n" + body
                  + get("/after-big"))
        raw = read_responses(s, 2, timeout=10)
    answers = responses(raw)
    assert [a[0] for a in answers] == [200, 200], raw[-300:]
    assert body_length(answers[0][2]) == str(size)
    assert request_line(answers[1][2]) == "GET /after-big HTTP/1.1"


def test_streamed_bodies_arrive_whole_and_the_connection_goes_on(proxy):
    # A body whose reads fill the upstream buffer is read 256 KiB at a time (upstream/h1_client.cpp),
    # and the buffer shrinks back before the upstream connection is pooled: three large bodies
    # between two small requests on one client connection, every byte checked against whoami's
    # pattern, and the same upstream connection (whoami's RemoteAddr) before and after.
    pattern = b"abcdefghijklmnopqrstuvwxyz0123456789"
    sizes = [8 * 1000 * 1000 + 7, 3 * 1000 * 1000, 300 * 1000 + 1]
    upstream = []
    with socket.create_connection(("127.0.0.1", proxy.port())) as s:
        s.settimeout(10)
        reader = s.makefile("rb")
        for size in [None] + sizes + [None]:
            s.sendall(get(f"/data?size={size}" if size else "/small"))
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = None
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            body = reader.read(length)
            if size is None:
                assert request_line(body) == "GET /small HTTP/1.1"
                upstream.append(whoami_echo(body)[2].get("RemoteAddr"))
                continue
            assert length == size
            expected = (pattern * (size // len(pattern) + 1))[:size]
            if body != expected:
                first = next((i for i in range(min(len(body), size)) if body[i] != expected[i]), None)
                raise AssertionError(f"{size}-byte body: {len(body)} bytes read, first difference at {first}")
    assert upstream[0] and upstream[0] == upstream[1], upstream


def test_large_response_body(proxy):
    size = 5 * 1000 * 1000
    status, headers, body = curl(proxy.url("web", f"/data?size={size}"), host="x.test")
    assert status == 200
    assert len(body) == size
    assert body[:26] == b"abcdefghijklmnopqrstuvwxyz"
