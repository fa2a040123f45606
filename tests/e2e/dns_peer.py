"""A real authoritative DNS server for the DNS-01 tests through RFC 2136 dynamic updates:
BIND 9's named (Debian 12 package bind9, 9.18), primary for a few zones that accept UPDATEs
signed with one TSIG key.

    dns = Named(zones=("example.test",), key_name="causeway-key", algorithm="hmac-sha256")
    dns.address                              # "127.0.0.1:<port>", UDP and TCP
    dns.key_name, dns.algorithm, dns.secret  # the TSIG key (secret: base64, new on every start)
    dns.nsupdate(['update add _acme-challenge.a.example.test. 60 TXT "v"'])  # signed, sent
    dns.txt("_acme-challenge.a.example.test")   # ["v"]: the TXT strings served now
    dns.wait_txt("_acme-challenge.a.example.test", "v")    # wait_no_txt(name[, value]) too
    dns.zone_of("_acme-challenge.a.example.test")           # "example.test", by an SOA query
    dns.query("a.example.test")                             # ["127.0.0.1"] (dig +short lines)
    ca = Pebble(dns_port=dns.port)           # pebble asks this named (acme_peer.py)

Each zone holds an SOA (ns.<zone>. hostmaster.<zone>., negative TTL 1 s), NS ns.<zone>., A
127.0.0.1 for the apex, ns.<zone> and the wildcard *.<zone>, so that every name in the zone
resolves to 127.0.0.1 (pebble resolves a name to validate HTTP-01 and TLS-ALPN-01; AAAA
queries get no answer, so it uses the A). A wildcard only answers for names that do not exist:
while _acme-challenge.a.example.test has a record, a.example.test is an empty non-terminal and
its A query answers NOERROR without records; `records` adds zone-file lines for such names
("a A 127.0.0.1"). An SOA query for any name in a zone (the way an RFC 2136 client finds the
zone of _acme-challenge.<name>) answers NOERROR with the zone's SOA in the authority section.

named runs in the foreground (-g, its log on stderr, in output()) as the current user, on
127.0.0.1 only, without recursion, control channel (no rndc.key) or IPv6; its configuration,
zone files, journals, pid, lock and session-key files are in a fresh temporary directory, so
several instances run at once and nothing under /etc or /var is written. It is ready (logged
"running", answers over UDP and TCP) about 0.3 s after the start; it is stopped by its PID.
"""
import base64
import os
import pathlib
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from harness import Process, free_udp_port


def _tool(name, directory):
    """`name` on PATH, else in `directory` (/usr/sbin is not on every user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    path = os.path.join(directory, name)
    return path if os.access(path, os.X_OK) else None


NAMED = _tool("named", "/usr/sbin")
DIG = _tool("dig", "/usr/bin")
NSUPDATE = _tool("nsupdate", "/usr/bin")

needs_named = pytest.mark.skipif(NAMED is None or DIG is None or NSUPDATE is None,
                                 reason="named, dig or nsupdate is not installed: scripts/install-deps test")

# Secret sizes: the digest length of each TSIG algorithm named knows (RFC 8945 recommends at least it).
_SECRET_BYTES = {"hmac-md5": 16, "hmac-sha1": 20, "hmac-sha224": 28, "hmac-sha256": 32,
                 "hmac-sha384": 48, "hmac-sha512": 64}


def free_dns_port(attempts=50):
    """A port free on 127.0.0.1 for both UDP and TCP at the time of the call."""
    for _ in range(attempts):
        port = free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def _port_taken(output):
    """named could not bind its port: without UDP it exits ("unable to listen on any configured
    interfaces"); without TCP it goes on with UDP only ("creating TCP socket: address in use")."""
    return "address in use" in output or "unable to listen on any configured interfaces" in output


def _txt_strings(line):
    """The character-strings of one TXT record as dig +short prints it ("a" "b" → "ab")."""
    out, i = [], 0
    while i < len(line):
        if line[i] != '"':
            i += 1
            continue
        i += 1
        while i < len(line) and line[i] != '"':
            if line[i] == "\\" and line[i + 1:i + 4].isdigit() and len(line[i + 1:i + 4]) == 3:
                out.append(chr(int(line[i + 1:i + 4])))
                i += 4
            elif line[i] == "\\":
                out.append(line[i + 1])
                i += 2
            else:
                out.append(line[i])
                i += 1
        i += 1
    return "".join(out)


class Named(Process):
    def __init__(self, zones=("example.test",), key_name="causeway-key", algorithm="hmac-sha256", records=()):
        """zones: the zones it is primary for, each updatable with the key; key_name / algorithm:
        the TSIG key (algorithm as named spells it: hmac-md5, hmac-sha1, hmac-sha224 ...
        hmac-sha512); records: more zone-file lines for every zone, relative to its origin
        ("a A 127.0.0.1")."""
        if algorithm not in _SECRET_BYTES:
            raise ValueError(f"unknown TSIG algorithm {algorithm!r}")
        self.zones = tuple(z.rstrip(".") for z in zones)
        self.key_name = key_name
        self.algorithm = algorithm
        self.secret = base64.b64encode(secrets.token_bytes(_SECRET_BYTES[algorithm])).decode()
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="cw-named-"))
        self._token = f"cw-named-{secrets.token_hex(8)}"  # version.bind: this named, not another
        for zone in self.zones:
            (self.dir / f"{zone}.db").write_text(self._zone_file(zone, records))
        for attempt in range(5):
            self.port = free_dns_port()
            self.conf_path = self.dir / "named.conf"
            self.conf_path.write_text(self._config())
            super().__init__([NAMED, "-g", "-4", "-n", "1", "-c", str(self.conf_path)], cwd=str(self.dir),
                             name="named")
            try:
                self._wait_ready()
                return
            except (RuntimeError, TimeoutError):
                output = self.output()
                Process.stop(self)
                if attempt == 4 or not _port_taken(output):
                    shutil.rmtree(self.dir, ignore_errors=True)
                    raise
                for stale in self.dir.glob("*.jnl"):
                    stale.unlink()

    def _zone_file(self, zone, records):
        lines = [f"$ORIGIN {zone}.", "$TTL 60",
                 f"@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 1",
                 f"@ IN NS ns.{zone}.",
                 "@ IN A 127.0.0.1",
                 "ns IN A 127.0.0.1",
                 "* IN A 127.0.0.1",
                 *records]
        return "\n".join(lines) + "\n"

    def _config(self):
        d = self.dir
        zones = "".join(
            f'zone "{zone}" {{\n'
            f'  type primary;\n'
            f'  file "{d}/{zone}.db";\n'
            f'  journal "{d}/{zone}.db.jnl";\n'
            f'  allow-update {{ key "{self.key_name}"; }};\n'
            f'}};\n' for zone in self.zones)
        return f"""options {{
  directory "{d}";
  pid-file "{d}/named.pid";
  lock-file "{d}/named.lock";
  session-keyfile "{d}/session.key";
  managed-keys-directory "{d}";
  bindkeys-file "{d}/bind.keys";
  dump-file "{d}/cache_dump.db";
  statistics-file "{d}/named.stats";
  memstatistics-file "{d}/named.memstats";
  recursing-file "{d}/named.recursing";
  secroots-file "{d}/named.secroots";
  geoip-directory none;
  listen-on port {self.port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  allow-query {{ any; }};
  dnssec-validation no;
  notify no;
  empty-zones-enable no;
  automatic-interface-scan no;
  interface-interval 0;
  version "{self._token}";
}};
controls {{ }};
key "{self.key_name}" {{
  algorithm {self.algorithm};
  secret "{self.secret}";
}};
{zones}"""

    def _dig(self, *args, tcp=False, short=True):
        """dig against this named (+short: the lines of the answer section); OSError when it
        gets no answer (dig +short prints ";; communications error" on stdout, exit 0)."""
        cmd = [DIG, "+short" if short else "+noall", "+time=1", "+tries=2", "-p", str(self.port), "@127.0.0.1"]
        if tcp:
            cmd.append("+tcp")
        result = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=10)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        if result.returncode != 0 or any(line.startswith(";;") for line in lines):
            raise OSError(f"dig {' '.join(args)}: exit {result.returncode}: {result.stdout}{result.stderr}")
        return lines

    def _wait_ready(self, timeout=15.0):
        """Our named (its version.bind token) answers over UDP and TCP, and serves every zone's
        SOA; raises RuntimeError with its output when it exits or lost its port."""
        deadline = time.time() + timeout
        last = None
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"named exited with {self.proc.returncode}: {self.output()}")
            output = self.output()
            if _port_taken(output):
                raise RuntimeError(f"named could not bind 127.0.0.1:{self.port}: {output}")
            if not re.search(r" running\n", output):  # it logs "running" once listening and loaded
                last = "named has not logged 'running' yet"
            else:
                try:
                    for tcp in (False, True):
                        if self._dig("CH", "TXT", "version.bind", tcp=tcp) != [f'"{self._token}"']:
                            raise OSError(f"another server answers on {self.port}")
                        for zone in self.zones:
                            if not self._dig("SOA", zone + ".", tcp=tcp):
                                raise OSError(f"zone {zone} is not loaded yet")
                    return
                except (OSError, subprocess.TimeoutExpired) as e:
                    last = e
            if time.time() > deadline:
                raise RuntimeError(f"named does not answer on 127.0.0.1:{self.port} ({last}): {self.output()}")
            time.sleep(0.05)

    @property
    def address(self):
        """host:port of the server (pebble's -dnsserver, causeway's nameserver)."""
        return f"127.0.0.1:{self.port}"

    @property
    def tsig(self):
        """nsupdate's -y argument: algorithm:name:secret."""
        return f"{self.algorithm}:{self.key_name}:{self.secret}"

    def txt(self, name, tcp=False):
        """The TXT records served now for `name`, each as its concatenated strings."""
        return [_txt_strings(line) for line in self._dig("TXT", name.rstrip(".") + ".", tcp=tcp)]

    def query(self, name, qtype="A", tcp=False):
        """dig +short lines of the answer (A: addresses; SOA: 'mname rname serial ...')."""
        return self._dig(qtype, name.rstrip(".") + ".", tcp=tcp)

    def zone_of(self, name, tcp=False):
        """The zone an SOA query for `name` names, as an RFC 2136 client finds it: the owner of
        the SOA in the answer (name is the apex) or in the authority section (no trailing
        dot); None when there is none (a name outside every zone: REFUSED)."""
        lines = self._dig("+answer", "+authority", "SOA", name.rstrip(".") + ".", tcp=tcp, short=False)
        for line in lines:
            fields = line.split()
            if len(fields) >= 4 and fields[3] == "SOA":
                return fields[0].rstrip(".")
        return None

    def wait_txt(self, name, value, timeout=10.0):
        """Waits until `value` is among the TXT records of `name`."""
        return self._wait(lambda: value in self.txt(name), timeout, f"TXT {value!r} at {name}")

    def wait_no_txt(self, name, value=None, timeout=10.0):
        """Waits until `value` (None: every value) is no longer a TXT record of `name`."""
        return self._wait(lambda: (value not in self.txt(name)) if value is not None else not self.txt(name),
                          timeout, f"no TXT {value!r} at {name}")

    def _wait(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while True:
            if predicate():
                return
            if time.time() > deadline:
                raise TimeoutError(f"timed out waiting for {what} on named {self.address}")
            time.sleep(0.05)

    def nsupdate(self, commands, secret=None, key_name=None, algorithm=None, tcp=False, timeout=20):
        """Runs nsupdate against this named with `commands` (update add/delete lines, without
        `server` or `send`), signed with the key (or another secret / name / algorithm).
        Returns the CompletedProcess; returncode 0 when the server applied the update."""
        key = f"{algorithm or self.algorithm}:{key_name or self.key_name}:{secret or self.secret}"
        script = f"server 127.0.0.1 {self.port}\n" + "".join(c + "\n" for c in commands) + "send\n"
        args = [NSUPDATE, "-y", key] + (["-v"] if tcp else [])
        return subprocess.run(args, input=script, capture_output=True, text=True, timeout=timeout)

    def stop(self, timeout=15):
        super().stop(timeout)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def start_named():
    started = []

    def start_one(**kwargs):
        n = Named(**kwargs)
        started.append(n)
        return n

    yield start_one
    for n in started:
        n.stop()
