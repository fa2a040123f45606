"""Hot reload of the file provider (Traefik §5.1, §9.2; reliability R01).

Routers and services come and go while traffic flows: new routes answer quickly, removed
ones answer 404, a broken file keeps the last good configuration, and no request in flight
or on a keep-alive connection is lost to a reload.
"""
import http.client
import os
import re
import signal
import threading
import time

import pytest

from harness import wait_until


def router(name, host, service):
    return f"""    {name}:
      rule: "Host(`{host}`)"
      service: {service}
"""


def service(name, url):
    return f"""    {name}:
      loadBalancer:
        servers:
          - url: "{url}"
"""


def dynamic(routers, services):
    """routers: [(name, host, service)], services: [(name, url)] → dynamic YAML."""
    text = "http:\n  routers:\n"
    text += "".join(router(*r) for r in routers)
    text += "  services:\n"
    text += "".join(service(*s) for s in services)
    return text


def get(port, host, path="/", timeout=10):
    """One request on a fresh connection: (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def status_of(port, host, path="/"):
    return get(port, host, path)[0]


def wait_status(cw, host, status, timeout=5.0, path="/"):
    """Waits until host answers `status`; returns the seconds it took."""
    start = time.monotonic()
    wait_until(lambda: status_of(cw.port(), host, path) == status, timeout=timeout, interval=0.01,
               message=f"{host}{path} → {status}")
    return time.monotonic() - start


@pytest.fixture
def upstreams(start_whoami):
    return start_whoami("alpha"), start_whoami("beta")


def test_added_router_answers_within_two_seconds(start_causeway, upstreams):
    alpha, beta = upstreams
    cw = start_causeway(dynamic={"a.yml": dynamic([("r1", "one.test", "s1")], [("s1", alpha.url)])})
    wait_status(cw, "one.test", 200)
    assert status_of(cw.port(), "two.test") == 404

    start = time.monotonic()
    cw.write("a.yml", dynamic([("r1", "one.test", "s1"), ("r2", "two.test", "s2")],
                              [("s1", alpha.url), ("s2", beta.url)]))
    wait_until(lambda: status_of(cw.port(), "two.test") == 200, timeout=5, interval=0.01,
               message="the new router")
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, f"the new route took {elapsed:.2f}s to answer"
    status, body = get(cw.port(), "two.test")
    assert status == 200 and b"Name: beta" in body
    status, body = get(cw.port(), "one.test")
    assert status == 200 and b"Name: alpha" in body


def test_removed_router_answers_404(start_causeway, upstreams):
    alpha, beta = upstreams
    both = dynamic([("r1", "one.test", "s1"), ("r2", "two.test", "s2")], [("s1", alpha.url), ("s2", beta.url)])
    cw = start_causeway(dynamic={"a.yml": both})
    wait_status(cw, "two.test", 200)
    cw.write("a.yml", dynamic([("r1", "one.test", "s1")], [("s1", alpha.url)]))
    elapsed = wait_status(cw, "two.test", 404)
    assert elapsed < 2.0
    status, body = get(cw.port(), "two.test")
    assert (status, body) == (404, b"404 page not found\n")
    status, body = get(cw.port(), "one.test")
    assert status == 200 and b"Name: alpha" in body


def test_changed_server_url_moves_traffic(start_causeway, upstreams):
    alpha, beta = upstreams
    cw = start_causeway(dynamic={"a.yml": dynamic([("r1", "one.test", "s1")], [("s1", alpha.url)])})
    wait_status(cw, "one.test", 200)
    assert b"Name: alpha" in get(cw.port(), "one.test")[1]
    cw.write("a.yml", dynamic([("r1", "one.test", "s1")], [("s1", beta.url)]))
    wait_until(lambda: b"Name: beta" in get(cw.port(), "one.test")[1], timeout=5, interval=0.01,
               message="traffic on beta")
    # Once moved, every request goes to the new server, on new and on reused connections.
    names = [get(cw.port(), "one.test")[1].split(b"\n", 1)[0] for _ in range(20)]
    assert set(names) == {b"Name: beta"}
    conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
    try:
        for _ in range(10):
            conn.request("GET", "/", headers={"Host": "one.test"})
            response = conn.getresponse()
            assert response.status == 200
            assert response.read().startswith(b"Name: beta\n")
    finally:
        conn.close()


# Line 5 has the error ("mapping values are not allowed here").
BROKEN = """http:
  routers:
    r1:
      rule: "Host(`one.test`)"
      service: s1: x
"""


def test_broken_file_keeps_old_routes_and_names_file_and_line(start_causeway, upstreams):
    alpha, beta = upstreams
    cw = start_causeway(dynamic={"a.yml": dynamic([("r1", "one.test", "s1")], [("s1", alpha.url)])})
    wait_status(cw, "one.test", 200)
    path = str(cw.dynamic_dir / "a.yml")

    cw.write("a.yml", BROKEN)
    wait_until(lambda: path in cw.output(), timeout=5, message="an error naming the broken file")
    time.sleep(0.3)  # anything applied late would show now
    line = next(l for l in cw.output().splitlines() if path in l)
    assert re.search(re.escape(path) + r":5\b", line), f"the error does not name line 5: {line}"
    status, body = get(cw.port(), "one.test")
    assert status == 200 and b"Name: alpha" in body, "the last good configuration must keep serving"

    # Fixing the file applies the new configuration.
    cw.write("a.yml", dynamic([("r1", "one.test", "s1"), ("r2", "two.test", "s2")],
                              [("s1", beta.url), ("s2", alpha.url)]))
    wait_status(cw, "two.test", 200)
    assert b"Name: beta" in get(cw.port(), "one.test")[1]
    assert b"Name: alpha" in get(cw.port(), "two.test")[1]


def test_broken_file_in_a_directory_keeps_the_other_files_serving(start_causeway, upstreams):
    alpha, beta = upstreams
    cw = start_causeway(dynamic={
        "a.yml": dynamic([("r1", "one.test", "s1")], [("s1", alpha.url)]),
        "b.yml": dynamic([("r2", "two.test", "s2")], [("s2", beta.url)]),
    })
    wait_status(cw, "two.test", 200)
    cw.write("b.yml", BROKEN)
    wait_until(lambda: str(cw.dynamic_dir / "b.yml") + ":5" in cw.output(), timeout=5,
               message="an error naming b.yml:5")
    time.sleep(0.3)
    assert b"Name: alpha" in get(cw.port(), "one.test")[1]
    assert b"Name: beta" in get(cw.port(), "two.test")[1]


def test_in_flight_requests_complete_across_reloads(start_causeway, upstreams):
    alpha, beta = upstreams
    both = dynamic([("r1", "one.test", "s1"), ("r2", "two.test", "s2")], [("s1", alpha.url), ("s2", beta.url)])
    cw = start_causeway(dynamic={"a.yml": both})
    wait_status(cw, "one.test", 200)

    results = [None] * 20
    sent = threading.Barrier(21, timeout=10)

    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=20)
        try:
            conn.request("GET", "/?wait=1s", headers={"Host": "one.test"})
            sent.wait()
            response = conn.getresponse()
            results[i] = (response.status, response.read(), time.monotonic())
        except Exception as e:  # noqa: BLE001 - reported by the assertions below
            results[i] = (None, repr(e).encode(), time.monotonic())
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    sent.wait()
    time.sleep(0.2)  # the requests reach the proxy and the upstream

    # Remove r1 (and change s1), then add it back, while the 20 requests wait upstream.
    cw.write("a.yml", dynamic([("r2", "two.test", "s2")], [("s2", beta.url)]))
    wait_status(cw, "one.test", 404)
    removed_at = time.monotonic()
    cw.write("a.yml", dynamic([("r1b", "one.test", "s1b"), ("r2", "two.test", "s2")],
                              [("s1b", beta.url), ("s2", beta.url)]))
    wait_status(cw, "one.test", 200)
    for t in threads:
        t.join(timeout=20)

    assert all(r is not None for r in results)
    assert removed_at < min(r[2] for r in results), "the reload did not happen while requests were in flight"
    for status, body, _ in results:
        assert status == 200, body
        assert b"Name: alpha" in body and b"GET /?wait=1s HTTP/1.1" in body, body


def test_keep_alive_load_survives_ten_rewrites(start_causeway, upstreams):
    alpha, beta = upstreams

    def config(i):
        routers = [("r1", "one.test", "s1")]
        if i % 2:
            routers.append(("extra", "extra.test", "s1"))
        return dynamic(routers, [("s1", alpha.url if i % 2 == 0 else beta.url)])

    cw = start_causeway(dynamic={"a.yml": config(0)})
    wait_status(cw, "one.test", 200)

    stop = threading.Event()
    lock = threading.Lock()
    stats = {"ok": 0, "failures": [], "names": set(), "connections": 0}

    def load():
        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        with lock:
            stats["connections"] += 1
        try:
            while True:
                with lock:
                    if stop.is_set() and stats["ok"] + len(stats["failures"]) >= 2000:
                        return
                try:
                    conn.request("GET", "/", headers={"Host": "one.test"})
                    response = conn.getresponse()
                    body = response.read()
                    good = response.status == 200 and body.startswith(b"Name: ")
                    with lock:
                        if good:
                            stats["ok"] += 1
                            stats["names"].add(body.split(b"\n", 1)[0])
                        else:
                            stats["failures"].append((response.status, body[:200]))
                    if response.will_close:
                        with lock:
                            stats["failures"].append(("closed by the proxy", b""))
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    with lock:
                        stats["failures"].append(("exception", repr(e)))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", cw.port(), timeout=10)
        finally:
            conn.close()

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for i in range(1, 11):
            time.sleep(0.05)
            cw.write("a.yml", config(i))
            # Each rewrite is applied (the extra router comes and goes) under load.
            wait_status(cw, "extra.test", 200 if i % 2 else 404)
        with lock:
            during = stats["ok"]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert during > 200, "too little load ran during the rewrites"
    assert stats["failures"] == []
    assert stats["ok"] >= 2000
    assert stats["names"] == {b"Name: alpha", b"Name: beta"}
    assert stats["connections"] == 8  # all on keep-alive connections, none reopened


def test_sighup_rereads_the_file_when_watch_is_false(start_causeway, upstreams):
    alpha, beta = upstreams
    cw = start_causeway(dynamic={"a.yml": dynamic([("r1", "one.test", "s1")], [("s1", alpha.url)])},
                        file_provider={"directory": "", "watch": False})
    wait_status(cw, "one.test", 200)
    cw.write("a.yml", dynamic([("r1", "one.test", "s1"), ("r2", "two.test", "s1")], [("s1", beta.url)]))
    time.sleep(1.0)
    # Not watched: nothing changes until SIGHUP.
    assert status_of(cw.port(), "two.test") == 404
    assert b"Name: alpha" in get(cw.port(), "one.test")[1]
    cw.signal(signal.SIGHUP)
    assert wait_status(cw, "two.test", 200) < 2.0
    assert b"Name: beta" in get(cw.port(), "one.test")[1]
    assert cw.proc.poll() is None


def test_directory_merges_files_and_first_duplicate_wins(start_causeway, upstreams):
    alpha, beta = upstreams
    a = dynamic([("r1", "one.test", "s1"), ("dup", "dup.test", "s1")], [("s1", alpha.url)])
    b = dynamic([("r2", "two.test", "s2"), ("dup", "dup.test", "s2")], [("s2", beta.url)])
    cw = start_causeway(dynamic={"a.yml": a, "b.yml": b})
    wait_status(cw, "two.test", 200)
    assert b"Name: alpha" in get(cw.port(), "one.test")[1]
    assert b"Name: beta" in get(cw.port(), "two.test")[1]
    status, body = get(cw.port(), "dup.test")
    assert status == 200 and b"Name: alpha" in body, "the first file's definition of dup must win"
    warnings = [l for l in cw.output().splitlines() if " WRN " in l and "dup" in l]
    assert warnings, cw.output()
    assert "b.yml" in warnings[0]

    # Still merged after a reload of one file, and still the first definition.
    cw.write("b.yml", b.replace("two.test", "three.test"))
    wait_status(cw, "three.test", 200)
    assert status_of(cw.port(), "two.test") == 404
    assert b"Name: alpha" in get(cw.port(), "dup.test")[1]
    assert b"Name: alpha" in get(cw.port(), "one.test")[1]


def test_single_file_mode_is_watched_across_renames(start_causeway, upstreams):
    alpha, beta = upstreams
    cw = start_causeway(dynamic={"a.yml": dynamic([("r1", "one.test", "s1")], [("s1", alpha.url)])},
                        file_provider={"filename": "a.yml"})
    wait_status(cw, "one.test", 200)
    # Replaced by rename within the directory (cw.write), three times: the watch must follow
    # the name, not the first inode.
    for i, (host, url, name) in enumerate([("two.test", beta.url, b"beta"), ("three.test", alpha.url, b"alpha"),
                                           ("four.test", beta.url, b"beta")]):
        cw.write("a.yml", dynamic([("r1", "one.test", "s1"), ("rx", host, "s1")], [("s1", url)]))
        assert wait_status(cw, host, 200) < 2.0, f"rename {i + 1} was not picked up in time"
        assert b"Name: " + name in get(cw.port(), "one.test")[1]
    # Replaced by a rename from another directory (as deployment tools do).
    outside = cw.dir / "staged.yml"
    outside.write_text(dynamic([("r1", "one.test", "s1"), ("rx", "five.test", "s1")], [("s1", alpha.url)]))
    os.replace(outside, cw.dynamic_dir / "a.yml")
    assert wait_status(cw, "five.test", 200) < 2.0
    assert status_of(cw.port(), "four.test") == 404
    # Other files in that directory are not configuration in single-file mode.
    (cw.dynamic_dir / "b.yml").write_text(dynamic([("rb", "six.test", "sb")], [("sb", beta.url)]))
    time.sleep(0.5)
    assert status_of(cw.port(), "six.test") == 404
