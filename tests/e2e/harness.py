"""End-to-end test harness: starts the real causeway binary and real peers on loopback.

Every process a test starts is stopped by PID when the test ends. Ports are picked at random
below the kernel's ephemeral range (free_port), and a start whose port was taken in between
picks again.
"""

import json
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

BIN = os.environ.get("CAUSEWAY_BIN") or str(
    pathlib.Path(__file__).resolve().parents[2] / "build" / "release" / "causeway")


def _free(kind):
    """A free loopback port between 20000 and 32767, picked at random. Not one the kernel hands
    out (binding port 0): those come from the ephemeral range (32768 and up), from which any
    outgoing connection of any process may take the same port as its local one between the pick
    and the caller's bind (CI saw causeway fail to listen on such a port, held by another
    causeway's connection)."""
    for _ in range(1000):
        port = random.randrange(20000, 32768)
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port between 20000 and 32767")


def free_port():
    return _free(socket.SOCK_STREAM)


def free_udp_port():
    return _free(socket.SOCK_DGRAM)


def wait_for_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port}")


# What a failing test's report shows of the processes it started (conftest.py): the output of
# those still running, and the tail kept by stop() of those already stopped.
_running = []
_stopped = []
_started = [0, 0]  # processes started in all, and before the current test began
TAIL = {"causeway": 12000}  # characters kept per name; others keep 3000


def process_outputs():
    """(title, text) of every process started since the test began, running or stopped."""
    shown = list(_stopped)
    for p in _running:
        if p.serial < _started[1]:
            continue
        try:
            shown.append((f"{p.label} (pid {p.pid}, running)", p.output()[-TAIL.get(p.label, 3000):]))
        except OSError:
            pass
    return shown


def forget_processes():
    _stopped.clear()
    _started[1] = _started[0]


class Process:
    """A child process with its output in a file, stopped by PID."""

    def __init__(self, args, cwd=None, env=None, name="proc"):
        self.args = args
        self.label = name  # in a failing test's report (`name` is some subclasses' own)
        self.logdir = tempfile.mkdtemp(prefix=f"cw-{name}-")
        self.logpath = os.path.join(self.logdir, "output.log")
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.serial = _started[0]
        _started[0] += 1
        _running.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def output(self):
        self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout=15):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._forget()

    def _forget(self):
        """Keeps the tail of the output for a failing test's report, then removes the log."""
        if self in _running:
            _running.remove(self)
            try:
                tail = self.output()[-TAIL.get(self.label, 3000):]
            except (OSError, ValueError):
                tail = ""
            _stopped.append((f"{self.label} (pid {self.pid}, exit {self.proc.returncode})", tail))
        self.log.close()
        shutil.rmtree(self.logdir, ignore_errors=True)


def lost_port_race(process, chose_ports, attempt):
    """True when `process` could not listen because a port picked by free_port() was taken
    between the pick and its bind (tests run in parallel): the caller picks again."""
    if not chose_ports or attempt >= 4 or process.proc.poll() is None:
        return False
    output = process.output()
    if "Address already in use" not in output and "the port is in use" not in output:
        return False
    process._forget()
    return True


class Whoami(Process):
    def __init__(self, name="whoami", port=None, host="127.0.0.1"):
        self.name = name
        self.host = host  # another loopback address (127.0.0.2) stands for another pod's IP
        for attempt in range(5):
            self.port = port or free_port()
            super().__init__([BIN, "whoami", "--port", str(self.port), "--name", name, "--host", host], name=name)
            try:
                wait_for_port(self.port, host=host, proc=self.proc)
                return
            except RuntimeError:
                if not lost_port_race(self, port is None, attempt):
                    raise

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"


class Causeway(Process):
    """causeway with a static config file and a directory of dynamic config files.

    static: dict (YAML-able via JSON) or str; dynamic: {filename: text}.
    `entrypoints` maps entryPoint names to ports chosen here; `entrypoint_extra` adds options
    under some of them ({"web": "forwardedHeaders:\n  insecure: true"} or a dict). `udp` names
    UDP entryPoints ("127.0.0.1:<port>/udp", ports in `udp_ports`), which are not waited for.
    """

    def __init__(self, entrypoints=("web",), dynamic=None, static_extra="", args=(), wait=True,
                 env=None, workers=2, entrypoint_extra=None, file_provider=None, ports=None,
                 providers_extra=None, udp=()):
        self.providers_extra = providers_extra  # more providers beside `file` ({"redis": {...}})
        self.udp = tuple(udp)
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="cw-config-"))
        self.dynamic_dir = self.dir / "dynamic"
        self.dynamic_dir.mkdir()
        for attempt in range(5):
            self._start(entrypoints, dynamic, static_extra, args, env, workers, entrypoint_extra,
                        file_provider, ports)
            if not wait:
                return
            try:
                for port in self.ports.values():
                    wait_for_port(port, proc=self.proc)
                return
            except RuntimeError:
                if not lost_port_race(self, not ports, attempt):
                    raise

    def _start(self, entrypoints, dynamic, static_extra, args, env, workers, entrypoint_extra, file_provider,
               ports):
        # ports: {entryPoint name: port} to use instead of a free one (e.g. a port in use).
        self.ports = {name: (ports or {}).get(name) or free_port() for name in entrypoints}
        self.udp_ports = {name: free_udp_port() for name in getattr(self, "udp", ())}
        for name, text in (dynamic or {}).items():
            (self.dynamic_dir / name).write_text(text)
        lines = ["entryPoints:"]
        for name, port in self.udp_ports.items():
            lines.append(f"  {name}:")
            lines.append(f"    address: \"127.0.0.1:{port}/udp\"")
            extra = (entrypoint_extra or {}).get(name)
            if extra:
                text = to_yaml(extra) if isinstance(extra, dict) else extra
                lines += ["    " + line for line in text.strip("\n").split("\n")]
        for name, port in self.ports.items():
            lines.append(f"  {name}:")
            lines.append(f"    address: \"127.0.0.1:{port}\"")
            # entrypoint_extra: {name: YAML text (or dict) of more options of that entryPoint}.
            extra = (entrypoint_extra or {}).get(name)
            if extra:
                text = to_yaml(extra) if isinstance(extra, dict) else extra
                lines += ["    " + line for line in text.strip("\n").split("\n")]
        # file_provider: options of providers.file instead of `directory: <dynamic_dir>`, e.g.
        # {"filename": str(path), "watch": False} (paths relative to dynamic_dir allowed).
        provider = {"directory": str(self.dynamic_dir)} if file_provider is None else {
            k: (str(self.dynamic_dir / v) if k in ("filename", "directory") else v)
            for k, v in file_provider.items()}
        lines += ["providers:", "  providersThrottleDuration: 100ms", "  file:"]
        lines += ["    " + line for line in to_yaml(provider).split("\n")]
        if getattr(self, "providers_extra", None):
            lines += ["  " + line for line in to_yaml(self.providers_extra).split("\n")]
        lines += ["log:", "  level: DEBUG", f"workers: {workers}"]
        self.static_path = self.dir / "causeway.yml"
        self.static_path.write_text("\n".join(lines) + "\n" + static_extra)
        full_env = dict(os.environ)
        for key in list(full_env):
            if key.startswith("TRAEFIK_") or key.startswith("CAUSEWAY_"):
                del full_env[key]
        full_env.update(env or {})
        super().__init__([BIN, f"--configFile={self.static_path}", *args], cwd=str(self.dir), env=full_env,
                         name="causeway")

    def port(self, name="web"):
        return self.ports[name]

    def url(self, name="web", path="/"):
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def write(self, filename, text):
        """Replaces a dynamic config file atomically (as editors and config tools do)."""
        tmp = self.dynamic_dir / (f".{filename}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.dynamic_dir / filename)

    def stop(self, timeout=15):
        super().stop(timeout)
        shutil.rmtree(self.dir, ignore_errors=True)


def api_warnings(cw):
    """The messages of /api/warnings (the API on the `traefik` entryPoint, `api.insecure`)."""
    with urllib.request.urlopen(cw.url("traefik", "/api/warnings"), timeout=5) as r:
        return [w["message"] for w in json.loads(r.read())]


def provider_outage(cw):
    """True while a provider reports in the API that it cannot read its source."""
    return any("cannot read the configuration" in m for m in api_warnings(cw))


def curl(url, *args, host=None, method=None, data=None, headers=(), timeout=10):
    """Runs curl and returns (status, headers dict (lower-case names), body bytes)."""
    cmd = ["curl", "-sS", "--max-time", str(timeout), "-D", "-", "-o", "-", "--http1.1"]
    if host:
        cmd += ["-H", f"Host: {host}"]
    if method:
        cmd += ["-X", method]
    if data is not None:
        cmd += ["--data-binary", "@-"]
    for h in headers:
        cmd += ["-H", h]
    cmd += list(args) + [url]
    out = subprocess.run(cmd, input=data if isinstance(data, (bytes, type(None))) else data.encode(),
                         capture_output=True, timeout=timeout + 5)
    if out.returncode != 0:
        raise RuntimeError(f"curl failed ({out.returncode}): {out.stderr.decode()}")
    raw = out.stdout
    # Skip interim responses (100 Continue).
    while True:
        head, _, rest = raw.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if 100 <= status < 200 and status != 101:
            raw = rest
            continue
        break
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return status, {k: ", ".join(v) for k, v in hdrs.items()}, rest


def raw_request(port, payload, read_timeout=3.0, host="127.0.0.1"):
    """Sends raw bytes and returns everything received until the peer closes or goes quiet."""
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(payload)
        s.settimeout(read_timeout)
        chunks = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


def responses(raw):
    """Splits raw HTTP/1.1 response bytes into [(status, headers, body)] (CL or chunked)."""
    out = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            body, raw = rest[:n], rest[n:]
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                line, _, rest = rest.partition(b"\r\n")
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body += rest[:size]
                rest = rest[size + 2:]
            raw = rest
        elif 100 <= status < 200 or status in (204, 304):
            body, raw = b"", rest
        else:
            body, raw = rest, b""
        out.append((status, hdrs, body))
    return out


def wait_until(predicate, timeout=10.0, interval=0.05, message="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {message} (last: {last!r})")


def routed(cw, host, path="/", status=200, entrypoint="web"):
    """Waits until a request for host+path answers with `status`; returns the body."""
    def check():
        code, _, body = curl(cw.url(entrypoint, path), host=host)
        return body if code == status else None
    return wait_until(check, message=f"{host}{path} → {status}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def dump(obj):
    return json.dumps(obj, indent=2)


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (strings double-quoted as JSON)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(value)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                first, *rest = to_yaml(item, indent + 1).split("\n")
                lines.append(f"{pad}- {first.strip()}")
                lines.extend(rest)
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(pad + _yaml_scalar(obj))
    return "\n".join(lines)


def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(str(value))


def whoami_echo(body):
    """Parses whoami's answer to `/`: (request line, [(name, value)] in order, fields dict).

    The fields dict has whoami's own lines (Name, IP, RemoteAddr, Body-Length...)."""
    text = body.decode("latin-1")
    lines = text.split("\n")
    own, request_line, headers = {}, None, []
    for line in lines:
        line = line.rstrip("\r")
        if request_line is None:
            if re.fullmatch(r"\S+ \S+ HTTP/\d\.\d", line):
                request_line = line
            else:
                k, _, v = line.partition(": ")
                if k:
                    own[k] = v
            continue
        if not line:
            continue
        k, _, v = line.partition(":")
        if k == "Body-Length":
            own[k] = v.strip()
        else:
            headers.append((k, v.strip()))
    return request_line, headers, own


def header_values(headers, name):
    """All values of `name` (case-insensitive) in a [(name, value)] list."""
    return [v for k, v in headers if k.lower() == name.lower()]


class ScriptedUpstream:
    """A tiny threaded TCP upstream on loopback for behaviour whoami cannot show.

    `handler(conn, head, rest, upstream, index)` is called in a thread per connection once a
    request head has arrived: head is the request head bytes (with the final CRLFCRLF), rest
    whatever followed, index the connection's number. `upstream.requests` collects every head;
    `upstream.received[index]` every byte read from that connection (read more with
    `upstream.recv(conn, index)`). stop() closes the listener and every accepted connection.
    """

    def __init__(self, handler):
        import threading
        self.handler = handler
        self.requests = []
        self.received = []
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.threads = []
        self._stopped = False
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        import threading
        while not self._stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections.append(conn)
                index = len(self.received)
                self.received.append(bytearray())
            t = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            self.threads.append(t)
            t.start()

    def recv(self, conn, index, n=65536):
        """Reads from conn, recording the bytes as received on connection `index`."""
        data = conn.recv(n)
        with self.lock:
            self.received[index] += data
        return data

    def _serve(self, conn, index):
        try:
            conn.settimeout(30)
            buf = b""
            while b"\r\n\r\n" not in buf:
                data = self.recv(conn, index)
                if not data:
                    return
                buf += data
            head, _, rest = buf.partition(b"\r\n\r\n")
            head += b"\r\n\r\n"
            with self.lock:
                self.requests.append(head)
            self.handler(conn, head, rest, self, index)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self._stopped = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            for conn in self.connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    conn.close()
                except OSError:
                    pass
        for t in self.threads:
            t.join(timeout=5)


def parse_head(head):
    """(status or method line, {lower-case name: [values]}) of an HTTP/1.x head (bytes)."""
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        fields.setdefault(k.strip().lower(), []).append(v.strip())
    return lines[0], fields


def wait_log(proc, text, timeout=10.0):
    """Waits until `text` appears in a Process's output (e.g. "causeway started", which causeway
    logs once its providers watch their sources); returns the output."""
    return wait_until(lambda: text in proc.output() and proc.output(), timeout=timeout,
                      message=f"{text!r} in the log")
