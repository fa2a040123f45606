"""A FAKE of the Docker Engine API (no container image can be pulled where the tests run, so a
real engine would have nothing to run), kept to what the docker provider uses, on a unix socket
as dockerd serves it, with response shapes from
Docker's Engine API reference (v1.43, https://docs.docker.com/engine/api/v1.43/):

- `GET /_ping` → "OK"; `GET /version` → {Version, ApiVersion, …};
- `GET /containers/json` → running containers (all with `all=1`):
  [{Id, Names: ["/name"], Image, State, Status, Labels, Ports, NetworkSettings}];
- `GET /containers/{id}/json` → {Id, Name: "/name", Config: {Labels, ExposedPorts: {"80/tcp": {}}},
  State: {Status, Running, Health: {Status}}, HostConfig: {NetworkMode},
  NetworkSettings: {Networks: {name: {IPAddress}}, Ports: {"80/tcp": [{HostIp, HostPort}]}}};
  404 {"message": "No such container: …"} otherwise;
- `GET /events` → a chunked stream of JSON events, one per line, held open:
  {status, id, from, Type: "container", Action, Actor: {ID, Attributes: {name, …labels}}, scope,
  time, timeNano}. Every path also answers under a version prefix (/v1.43/…).

Containers are "run" by add(), stopped by stop() (State exited, die and stop events) and
removed by remove(). stop_engine()/start_engine() take the socket away and back."""
import json
import os
import re
import secrets
import socketserver
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class DockerFake:
    def __init__(self, path):
        self.path = path
        self.containers = {}  # id -> inspect document
        self.events = []      # every event so far
        self.cond = threading.Condition()
        self.server = None
        self.start_engine()

    # -- containers ----------------------------------------------------------------------------
    def add(self, name, labels=None, ip="127.0.0.1", ports=(), health=None, network="bridge",
            network_mode=None, bindings=None):
        cid = secrets.token_hex(32)
        doc = {
            "Id": cid, "Name": "/" + name, "Created": "2026-12-06T00:00:00Z", "Image": "sha256:" + "0" * 64,
            "Config": {"Hostname": cid[:12], "Image": "whoami:latest", "Labels": dict(labels or {}),
                       "ExposedPorts": {f"{p}/tcp": {} for p in ports}},
            "State": {"Status": "running", "Running": True, "Paused": False, "Pid": 4242, "ExitCode": 0},
            "HostConfig": {"NetworkMode": network_mode or network},
            "NetworkSettings": {"Networks": {network: {"IPAddress": ip, "Gateway": "", "IPPrefixLen": 16}},
                                "Ports": {f"{p}/tcp": None for p in ports}},
        }
        for port, (host_ip, host_port) in (bindings or {}).items():
            doc["NetworkSettings"]["Ports"][f"{port}/tcp"] = [{"HostIp": host_ip, "HostPort": str(host_port)}]
        if health:
            doc["State"]["Health"] = {"Status": health, "FailingStreak": 0, "Log": []}
        with self.cond:
            self.containers[cid] = doc
            self._event(cid, "create")
            self._event(cid, "start")
        return cid

    def set_health(self, cid, status):
        with self.cond:
            self.containers[cid]["State"]["Health"] = {"Status": status, "FailingStreak": 0, "Log": []}
            self._event(cid, "health_status: " + status)

    def stop(self, cid):
        with self.cond:
            self.containers[cid]["State"].update({"Status": "exited", "Running": False, "Pid": 0})
            self._event(cid, "die")
            self._event(cid, "stop")

    def remove(self, cid):
        with self.cond:
            self._event(cid, "destroy")
            del self.containers[cid]

    def _event(self, cid, action):
        doc = self.containers[cid]
        now = time.time()
        self.events.append({"status": action, "id": cid, "from": doc["Config"]["Image"], "Type": "container",
                            "Action": action, "Actor": {"ID": cid, "Attributes": {
                                "name": doc["Name"][1:], **doc["Config"]["Labels"]}},
                            "scope": "local", "time": int(now), "timeNano": int(now * 1e9)})
        self.cond.notify_all()

    def summary(self, doc):
        return {"Id": doc["Id"], "Names": [doc["Name"]], "Image": doc["Config"]["Image"],
                "ImageID": doc["Image"], "Command": "/whoami", "Created": 1796515200,
                "State": doc["State"]["Status"], "Status": "Up 1 second",
                "Ports": [], "Labels": doc["Config"]["Labels"],
                "HostConfig": {"NetworkMode": doc["HostConfig"]["NetworkMode"]},
                "NetworkSettings": {"Networks": doc["NetworkSettings"]["Networks"]}}

    # -- the engine ----------------------------------------------------------------------------
    def start_engine(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def address_string(self):
                return "unix"

            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = (json.dumps(body) if not isinstance(body, str) else body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
                self.send_header("Api-Version", "1.43")
                self.send_header("Server", "Docker/24.0.7 (linux)")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                path = re.sub(r"^/v1\.\d+", "", url.path)
                query = urllib.parse.parse_qs(url.query)
                if path == "/_ping":
                    return self.reply(200, "OK")
                if path == "/version":
                    return self.reply(200, {"Version": "24.0.7", "ApiVersion": "1.43", "MinAPIVersion": "1.12",
                                            "Os": "linux", "Arch": "amd64"})
                if path == "/containers/json":
                    everything = query.get("all", ["0"])[0] in ("1", "true")
                    with fake.cond:
                        docs = [fake.summary(d) for d in fake.containers.values()
                                if everything or d["State"]["Running"]]
                    return self.reply(200, docs)
                m = re.fullmatch(r"/containers/([0-9a-f]+)/json", path)
                if m:
                    with fake.cond:
                        doc = fake.containers.get(m.group(1))
                    if not doc:
                        return self.reply(404, {"message": f"No such container: {m.group(1)}"})
                    return self.reply(200, doc)
                if path == "/events":
                    return self.stream_events(query)
                return self.reply(404, {"message": "page not found"})

            def stream_events(self, query):
                wanted = None
                if "filters" in query:
                    wanted = json.loads(query["filters"][0]).get("type")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Api-Version", "1.43")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                with fake.cond:
                    sent = len(fake.events)
                try:
                    while fake.server is not None:
                        with fake.cond:
                            fake.cond.wait(0.2)
                            new = fake.events[sent:]
                            sent = len(fake.events)
                        for event in new:
                            if wanted and event["Type"] not in wanted:
                                continue
                            data = (json.dumps(event) + "\n").encode()
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                            self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass
                self.close_connection = True

        if os.path.exists(self.path):
            os.unlink(self.path)
        self.server = _Server(self.path, Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop_engine(self):
        server, self.server = self.server, None
        if server:
            with self.cond:
                self.cond.notify_all()
            server.shutdown()
            server.server_close()
            # Streams held open end with the engine, as when dockerd stops.
            if os.path.exists(self.path):
                os.unlink(self.path)

    def close(self):
        self.stop_engine()
