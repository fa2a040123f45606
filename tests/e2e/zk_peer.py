"""A real ZooKeeper (Debian's zookeeper package) for the ZooKeeper provider's tests: a standalone
server (ZooKeeperServerMain) on a free loopback port with a data directory of its own, which
survives restart(); `write` and `delete` go through Debian's zkCli.sh, a batch of commands per
call."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from harness import Process, free_port, wait_for_port

JAR = "/usr/share/java/zookeeper.jar"
CLI = "/usr/share/zookeeper/bin/zkCli.sh"
needs_zookeeper = pytest.mark.skipif(not os.path.exists(JAR) or shutil.which("java") is None,
                                     reason="ZooKeeper is not installed: scripts/install-deps test")


NETTY = ["netty-codec", "netty-handler", "netty-buffer", "netty-common", "netty-transport", "netty-resolver",
         "netty-transport-native-unix-common"]


class ZooKeeper(Process):
    def __init__(self, data_dir=None, port=None, tls=None):
        """tls: (certificate path, key path): also serve TLS on `secure_port` (Netty, a PKCS12
        keystore made with openssl), as ZooKeeper's secureClientPort."""
        self.port = port or free_port()
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="cw-zk-")
        self.tls = tls
        classpath = f"/etc/zookeeper/conf:{JAR}"
        args = [str(self.port), self.data_dir]
        if tls:
            self.secure_port = free_port()
            keystore = os.path.join(self.data_dir, "keystore.p12")
            subprocess.run(["openssl", "pkcs12", "-export", "-in", tls[0], "-inkey", tls[1], "-out", keystore,
                            "-passout", "pass:secret"], check=True, capture_output=True)
            config = os.path.join(self.data_dir, "zoo.cfg")

            def write_config():
                with open(config, "w") as f:
                    f.write(f"dataDir={self.data_dir}\nclientPort={self.port}\nsecureClientPort={self.secure_port}\n"
                            "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n"
                            f"ssl.keyStore.location={keystore}\nssl.keyStore.password=secret\n"
                            "ssl.keyStore.type=PKCS12\nssl.clientAuth=none\n")
            write_config()
            classpath += "".join(f":/usr/share/java/{j}.jar" for j in NETTY if os.path.exists(f"/usr/share/java/{j}.jar"))
            args = [config]
        for attempt in range(3):
            super().__init__(["java", "-Xmx128m", "-cp", classpath,
                              "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=ruok",
                              "org.apache.zookeeper.server.ZooKeeperServerMain", *args],
                             name="zookeeper")
            try:
                wait_for_port(self.port, proc=self.proc, timeout=30)
                if tls:
                    wait_for_port(self.secure_port, proc=self.proc, timeout=30)
                break
            except RuntimeError:
                # A port chosen here was taken by another test's process in between (it exits
                # with 1, "Address already in use"): try others, unless the caller chose them.
                if port or attempt == 2:
                    raise
                self._forget()
                self.port = free_port()
                if tls:
                    self.secure_port = free_port()
                    write_config()
                else:
                    args = [str(self.port), self.data_dir]

    def cli(self, commands, deadline=60):
        """Runs `commands` in one zkCli.sh, again until none of them lost the connection.

        ZooKeeper listens before it serves: a session opened in between is closed by the server,
        and zkCli.sh then prints `KeeperErrorCode = ConnectionLoss` for each command and exits 0.
        On a loaded machine that gap lasts seconds after start and restart, so a write that was
        not retried could vanish (and a test would wait for a change that was never made). Every
        batch here is idempotent (create then set; deleteall), so the whole batch is run again."""
        end = time.time() + deadline
        while True:
            out = subprocess.run([CLI, "-server", f"127.0.0.1:{self.port}"], input="\n".join(commands) + "\n",
                                 capture_output=True, text=True, timeout=60)
            text = out.stdout + out.stderr
            lost = any(marker in text for marker in ("ConnectionLoss", "Not connected", "SessionExpired"))
            if not lost:
                return text
            if time.time() > end:
                raise RuntimeError(f"zkCli.sh could not reach ZooKeeper on {self.port}:\n{text[-2000:]}")
            time.sleep(0.5)

    def write(self, pairs):
        """Creates each key's znode and its parents, or sets it when it exists."""
        commands, made = [], set()
        for key, value in pairs.items():
            parts = key.strip("/").split("/")
            for i in range(1, len(parts)):
                parent = "/" + "/".join(parts[:i])
                if parent not in made:
                    commands.append(f'create {parent} ""')
                    made.add(parent)
            quoted = '"' + value.replace('"', '\\"') + '"'
            commands.append(f"create /{key} {quoted}")
            commands.append(f"set /{key} {quoted}")
        self.cli(commands)

    def delete(self, key):
        self.cli([f"deleteall /{key}"])

    def restart(self):
        self.stop(keep=True)
        ZooKeeper.__init__(self, self.data_dir, self.port, self.tls)

    def stop(self, timeout=15, keep=False):
        super().stop(timeout)
        if not keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def start_zookeeper():
    started = []

    def start_one(**kwargs):
        z = ZooKeeper(**kwargs)
        started.append(z)
        return z

    yield start_one
    for z in started:
        z.stop()
