"""Access logs (reference §1.6, §6.2): Traefik's common, genericCLF and JSON lines parsed and
checked field by field; filters; field and header modes; secrets redacted; SIGUSR1 reopens the
file; a destination that does not read never slows requests down."""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from harness import curl, free_port, routed, to_yaml, wait_until

COMMON = re.compile(
    r'^(?P<client>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<proto>\S+)" '
    r'(?P<status>\d+|-) (?P<size>\d+|-) (?P<referer>"(?:[^"\\]|\\.)*") (?P<agent>"(?:[^"\\]|\\.)*") '
    r'(?P<count>\d+|-) (?P<router>"[^"]*") (?P<service>"[^"]*") (?P<ms>\d+)ms$')
GENERIC = re.compile(
    r'^(?P<client>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<proto>\S+)" '
    r'(?P<status>\d+|-) (?P<size>\d+|-) (?P<referer>"(?:[^"\\]|\\.)*") (?P<agent>"(?:[^"\\]|\\.)*")$')
CLF_TIME = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$")
RFC3339NANO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def app_config(url, extra_routers=None, middlewares=None):
    routers = {"app": {"rule": "Host(`app.test`)", "service": "app"}}
    routers.update(extra_routers or {})
    http = {"routers": routers, "services": {"app": {"loadBalancer": {"servers": [{"url": url}]}}}}
    if middlewares:
        http["middlewares"] = middlewares
    return {"dyn.yml": to_yaml({"http": http}) + "\n"}


def access_static(**options):
    return to_yaml({"accessLog": options or {}}) + "\n" if options else "accessLog: {}\n"


def apr1(password):
    out = subprocess.run(["openssl", "passwd", "-apr1", password], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def file_lines(path, count, timeout=10.0):
    def read():
        if not os.path.exists(path):
            return None
        with open(path) as f:
            lines = f.read().splitlines()
        return lines if len(lines) >= count else None
    return wait_until(read, timeout=timeout, message=f"{count} lines in {path}")


def json_lines(path, count):
    return [json.loads(line) for line in file_lines(path, count)]


def test_common_format_on_stdout_by_default(start_whoami, start_causeway):
    app = start_whoami("app")
    cw = start_causeway(static_extra=access_static(), dynamic=app_config(app.url))
    body = routed(cw, "app.test")
    curl(cw.url("web", "/missing?x=1"), host="nobody.test")
    lines = wait_until(lambda: (lambda ms: ms if len(ms) >= 2 else None)(
        [m for m in map(COMMON.match, cw.output().splitlines()) if m]))
    ok, missing = lines[0].groupdict(), lines[1].groupdict()
    assert ok["client"] == "127.0.0.1" and ok["user"] == "-"
    assert CLF_TIME.match(ok["time"]) and ok["time"].endswith("+0000")
    assert (ok["method"], ok["path"], ok["proto"]) == ("GET", "/", "HTTP/1.1")
    assert ok["status"] == "200" and int(ok["size"]) == len(body)
    # Headers are dropped by default (fields.headers.defaultMode: drop), so CLF shows "-".
    assert ok["referer"] == '"-"' and ok["agent"] == '"-"'
    assert ok["router"] == '"app@file"' and ok["service"] == f'"{app.url}"'
    assert int(missing["count"]) == int(ok["count"]) + 1
    assert (missing["path"], missing["status"]) == ("/missing?x=1", "404")
    assert missing["router"] == '"-"' and missing["service"] == '"-"'


def test_generic_clf_to_a_file(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    path = tmp_path / "logs" / "access.log"  # the directory is created
    cw = start_causeway(static_extra=access_static(filePath=str(path), format="genericCLF",
                                                   fields={"headers": {"names": {"User-Agent": "keep",
                                                                                 "Referer": "keep"}}}),
                        dynamic=app_config(app.url))
    routed(cw, "app.test")
    curl(cw.url("web", "/p?q=1"), host="app.test", headers=["User-Agent: agent \"7\"", "Referer: http://r.test/"])
    lines = file_lines(path, 2)
    m = GENERIC.match(lines[1])
    assert m, lines[1]
    assert m["path"] == "/p?q=1" and m["status"] == "200"
    assert m["agent"] == '"agent \\"7\\""' and m["referer"] == '"http://r.test/"'


def test_json_fields(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    path = tmp_path / "access.json"
    htpasswd = "alice:" + apr1("secret")
    extra = {"private": {"rule": "Host(`private.test`)", "service": "app", "middlewares": ["auth"]}}
    cw = start_causeway(static_extra=access_static(filePath=str(path), format="json"),
                        dynamic=app_config(app.url, extra, {"auth": {"basicAuth": {"users": [htpasswd]}}}))
    body = routed(cw, "app.test")
    curl(cw.url("web", "/upload?a=1&b=2"), host="app.test", data=b"0123456789")
    curl(cw.url("web", "/nope"), host="nobody.test")
    curl(cw.url(), "-u", "alice:secret", host="private.test")
    curl(cw.url(), "--http2-prior-knowledge", host="app.test")
    curl(f"https://127.0.0.1:{cw.port()}/tls", "-k", host="app.test")  # the default certificate
    first, upload, missing, private, h2, tls = json_lines(path, 6)
    assert first["ClientHost"] == "127.0.0.1" and first["ClientAddr"].startswith("127.0.0.1:")
    assert first["ClientPort"] == first["ClientAddr"].split(":")[1]
    assert first["ClientUsername"] == "-"
    assert first["DownstreamStatus"] == 200 and first["DownstreamContentSize"] == len(body)
    assert first["OriginStatus"] == 200 and first["OriginContentSize"] == len(body)
    assert isinstance(first["Duration"], int) and first["Duration"] > 0
    assert first["Overhead"] == first["Duration"] - first["OriginDuration"]
    assert first["RouterName"] == "app@file" and first["ServiceName"] == "app@file"
    assert first["ServiceURL"] == app.url and first["ServiceAddr"] == f"127.0.0.1:{app.port}"
    assert first["RequestMethod"] == "GET" and first["RequestPath"] == "/"
    assert first["RequestProtocol"] == "HTTP/1.1" and first["RequestScheme"] == "http"
    assert first["RequestAddr"] == "app.test"
    assert first["RequestHost"] == "app.test" and first["RequestPort"] == "-"
    assert first["RetryAttempts"] == 0 and first["entryPointName"] == "web"
    assert first["level"] == "info" and first["msg"] == ""
    assert RFC3339NANO.match(first["StartUTC"]) and first["StartUTC"].endswith("Z")
    assert RFC3339NANO.match(first["StartLocal"]) and RFC3339NANO.match(first["time"])
    assert not any(k.startswith(("request_", "downstream_", "origin_")) for k in first)
    assert "TLSVersion" not in first and "TraceId" not in first and "GzipRatio" not in first
    assert list(first) == sorted(first), "keys are sorted as Go's encoding/json writes them"
    assert upload["RequestPath"] == "/upload?a=1&b=2" and upload["RequestContentSize"] == 10
    assert upload["RequestCount"] == first["RequestCount"] + 1
    assert missing["DownstreamStatus"] == 404 and missing["OriginStatus"] == 0 and missing["OriginDuration"] == 0
    assert "RouterName" not in missing and "ServiceName" not in missing and "ServiceURL" not in missing
    assert private["ClientUsername"] == "alice" and private["RouterName"] == "private@file"
    assert h2["RequestProtocol"] == "HTTP/2.0" and h2["DownstreamStatus"] == 200
    assert tls["RequestScheme"] == "https" and tls["RequestPath"] == "/tls"
    assert tls["TLSVersion"] == "1.3" and tls["TLSCipher"].startswith("TLS_")
    assert "TLSClientSubject" not in tls


def test_filters_keep_lines_matching_any_filter(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    path = tmp_path / "access.json"
    dead = free_port()
    extra = {"flaky": {"rule": "Host(`flaky.test`)", "service": "flaky", "middlewares": ["again"]}}
    files = app_config(app.url, extra, {"again": {"retry": {"attempts": 2}}})
    files["flaky.yml"] = to_yaml({"http": {"services": {"flaky": {"loadBalancer": {
        "servers": [{"url": f"http://127.0.0.1:{dead}"}]}}}}}) + "\n"
    cw = start_causeway(static_extra=access_static(filePath=str(path), format="json", filters={
        "statusCodes": ["404", "500-501"], "retryAttempts": True, "minDuration": "300ms"}), dynamic=files)
    routed(cw, "app.test")                                            # 200: dropped
    curl(cw.url("web", "/?status=500"), host="app.test")              # kept (500)
    curl(cw.url("web", "/?status=503"), host="app.test")              # dropped
    curl(cw.url("web", "/"), host="nobody.test")                      # kept (404)
    curl(cw.url("web", "/?wait=400ms"), host="app.test")              # kept (slow)
    curl(cw.url("web", "/"), host="flaky.test")                       # kept (retried, 502)
    curl(cw.url("web", "/last"), host="nobody.test")                  # kept (404)
    lines = json_lines(path, 5)
    assert [(l["DownstreamStatus"], l["RetryAttempts"]) for l in lines] == [
        (500, 0), (404, 0), (200, 0), (502, 1), (404, 0)]
    assert lines[2]["Duration"] > 300_000_000
    assert lines[4]["RequestPath"] == "/last"


def test_fields_and_header_modes_and_secrets(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    path = tmp_path / "access.json"
    fields = {"defaultMode": "drop",
              "names": {"RequestPath": "keep", "DownstreamStatus": "keep", "clienthost": "keep"},
              "headers": {"defaultMode": "keep",
                          "names": {"User-Agent": "redact", "x-drop-me": "drop", "Authorization": "keep"}},
              "queryParameters": {"defaultMode": "drop"}}
    cw = start_causeway(static_extra=access_static(filePath=str(path), format="json", fields=fields),
                        dynamic=app_config(app.url))
    routed(cw, "app.test")
    curl(cw.url("web", "/secret?token=abc"), host="app.test",
         headers=["Authorization: Bearer top-secret", "Cookie: session=s3cr3t", "Proxy-Authorization: Basic eA==",
                  "X-Drop-Me: 1", "X-Keep: kept"])
    line = json_lines(path, 2)[1]
    assert line["RequestPath"] == "/secret"  # query dropped
    assert line["DownstreamStatus"] == 200 and line["ClientHost"] == "127.0.0.1"
    assert "Duration" not in line and "RouterName" not in line and "StartUTC" not in line
    assert line["request_X-Keep"] == "kept"
    assert line["request_User-Agent"] == "REDACTED"
    assert "request_X-Drop-Me" not in line
    for secret in ("request_Authorization", "request_Cookie"):
        assert line[secret] == "REDACTED", secret
    # Proxy-Authorization reaches the chain (for forwardAuth) and the log, redacted.
    assert line["request_Proxy-Authorization"] == "REDACTED"
    assert line["downstream_Content-Type"].startswith("text/plain")
    text = path.read_text()
    assert "top-secret" not in text and "s3cr3t" not in text and "eA==" not in text


def test_control_characters_cannot_forge_lines(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    path = tmp_path / "access.log"
    extra = {"private": {"rule": "Host(`private.test`)", "service": "app", "middlewares": ["auth"]}}
    cw = start_causeway(static_extra=access_static(filePath=str(path)),
                        dynamic=app_config(app.url, extra, {"auth": {"basicAuth": {"users": ["a:" + apr1("pw")]}}}))
    forged = base64.b64encode(b'evil\r\n127.0.0.1 - admin [x] "GET /admin HTTP/1.1" 200\x1b[2J:pw').decode()
    wait_until(lambda: curl(cw.url(), host="private.test", headers=[f"Authorization: Basic {forged}"])[0] == 401)
    lines = file_lines(path, 1)
    assert len(lines) == 1
    assert lines[0].startswith('127.0.0.1 - evil\\r\\n127.0.0.1')
    assert "\\x1b[2J" in lines[0] and "\x1b" not in lines[0]


def test_usr1_reopens_the_file(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    path = tmp_path / "access.log"
    cw = start_causeway(static_extra=access_static(filePath=str(path)), dynamic=app_config(app.url))
    routed(cw, "app.test")
    curl(cw.url("web", "/before"), host="app.test")
    file_lines(path, 2)
    rotated = tmp_path / "access.log.1"
    os.rename(path, rotated)
    curl(cw.url("web", "/still-old"), host="app.test")  # written to the renamed file until USR1
    file_lines(rotated, 3)
    cw.signal(signal.SIGUSR1)
    wait_until(lambda: path.exists(), message="the file reopened")
    curl(cw.url("web", "/after"), host="app.test")
    new = file_lines(path, 1)
    assert len(new) == 1 and '"GET /after HTTP/1.1"' in new[0]
    old = rotated.read_text().splitlines()
    assert len(old) == 3 and all("/after" not in l for l in old)


def keepalive_requests(port, host, count):
    """Sends `count` keep-alive requests on one connection; returns how long the answers took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rb")
        for _ in range(count):
            s.sendall(f"GET /bench HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            status = f.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
    return time.monotonic() - started


def test_a_destination_that_does_not_read_never_slows_requests(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    fifo = tmp_path / "access.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, and never read
    try:
        cw = start_causeway(static_extra=access_static(filePath=str(fifo), format="json"),
                            dynamic=app_config(app.url))
        routed(cw, "app.test")
        # Far more than the pipe (64 KiB) holds: the writer blocks, the workers drop lines.
        elapsed = keepalive_requests(cw.port(), "app.test", 3000)
        assert elapsed < 15, f"3000 requests took {elapsed:.1f}s"
        baseline = keepalive_requests(cw.port(), "app.test", 500)
        assert baseline < 5
        wait_until(lambda: "access log: lines dropped" in cw.output(), timeout=5)
        started = time.monotonic()
        cw.stop()  # the stalled writer does not hold the shutdown
        assert time.monotonic() - started < 10
    finally:
        os.close(reader)


def test_a_fifo_without_reader_does_not_block_the_start(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    fifo = tmp_path / "later.fifo"
    os.mkfifo(fifo)
    cw = start_causeway(static_extra=access_static(filePath=str(fifo)), dynamic=app_config(app.url))
    routed(cw, "app.test")
    reader = open(fifo, "rb", buffering=0)  # the writer opens its end now
    try:
        curl(cw.url("web", "/late"), host="app.test")
        data = b""
        deadline = time.time() + 10
        while b"/late" not in data and time.time() < deadline:
            data += reader.read(65536) or b""
        assert b'"GET /late HTTP/1.1" 200' in data
    finally:
        reader.close()


def test_internal_services_are_logged_only_with_add_internals(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    for add, expected in ((False, 1), (True, 2)):
        path = tmp_path / f"access-{add}.log"
        cw = start_causeway(entrypoints=("web", "traefik"), dynamic=app_config(app.url),
                            static_extra="ping: {}\n" + access_static(filePath=str(path), addInternals=add))
        assert curl(cw.url("traefik", "/ping"))[0] == 200
        routed(cw, "app.test")
        lines = file_lines(path, expected)
        time.sleep(0.3)
        assert len(path.read_text().splitlines()) == expected
        assert ('"GET /ping HTTP/1.1"' in path.read_text()) == add
        cw.stop()


def test_router_and_entrypoint_observability_options(start_whoami, start_causeway, tmp_path):
    app = start_whoami("app")
    path = tmp_path / "access.log"
    extra = {"quiet": {"rule": "Host(`quiet.test`)", "service": "app", "observability": {"accessLogs": False}},
             "loud": {"rule": "Host(`loud.test`)", "service": "app", "observability": {"metrics": False}}}
    cw = start_causeway(entrypoints=("web", "hidden"), dynamic=app_config(app.url, extra),
                        entrypoint_extra={"hidden": "observability:\n  accessLogs: false"},
                        static_extra=access_static(filePath=str(path)))
    routed(cw, "app.test")
    curl(cw.url("web", "/quiet"), host="quiet.test")
    curl(cw.url("hidden", "/hidden"), host="app.test")
    curl(cw.url("web", "/loud"), host="loud.test")
    lines = file_lines(path, 2)
    time.sleep(0.3)
    paths = [COMMON.match(l)["path"] for l in path.read_text().splitlines()]
    assert paths == ["/", "/loud"]


def test_service_name_is_the_load_balancer_that_proxied(start_whoami, start_causeway, tmp_path):
    # As in Traefik, ServiceName is set by the loadBalancer service whose server took the request:
    # behind a weighted service it is the child that answered.
    a = start_whoami("a")
    path = tmp_path / "access.json"
    files = {"dyn.yml": to_yaml({"http": {
        "routers": {"app": {"rule": "Host(`app.test`)", "service": "split"}},
        "services": {"split": {"weighted": {"services": [{"name": "a", "weight": 1}]}},
                     "a": {"loadBalancer": {"servers": [{"url": a.url}]}}}}}) + "\n"}
    cw = start_causeway(static_extra=access_static(filePath=str(path), format="json"), dynamic=files)
    routed(cw, "app.test")
    line = wait_until(lambda: next((json.loads(x) for x in path.read_text().splitlines()
                                    if json.loads(x)["DownstreamStatus"] == 200), None) if path.exists() else None)
    assert line["RouterName"] == "app@file" and line["ServiceName"] == "a@file" and line["ServiceURL"] == a.url
