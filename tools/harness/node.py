"""The built ActorMail node as a child process, and the probes for servers that are not.

Node starts `dotnet actormail.dll serve --ready-file PATH`, on ports the system chooses unless
it is given some, and is ready once the node has written that file: the node writes it after
Akka.IO's listener has handled its own Bound, so a connection made from then on is served. (A
probe that waited for a greeting could not promise that: Akka.IO 1.5.74 starts accepting before
it handles Bound and drops an accept that completes in between, which is why the tests used to
retry fresh connections until one was greeted.) It is stopped by its PID: SIGTERM, then SIGKILL.

Servers that write no ready file (ones started elsewhere, the benchmark's peers) are waited for
with wait_for_greeting."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The node under test: the repository's Release build, or another build named by ACTORMAIL_NODE_DLL.
NODE_DLL = pathlib.Path(os.environ.get("ACTORMAIL_NODE_DLL") or ROOT / "src/ActorMail/bin/Release/net10.0/actormail.dll").absolute()
# The demo users of hocon/actormail.conf and their passwords.
USERS = {"alice": "alice-demo", "bob": "bob-demo"}


class NodeFailed(RuntimeError):
    """The node did not start, or did not say it was ready in time."""


class Node:
    """A node process and where it keeps mail and logs.

    Port 0 (the default) lets the system choose: start() reads the ports the node bound from its
    ready file into smtp_port, pop3_port and http_port, and a restart chooses afresh. A protocol the role
    does not serve keeps the port it was given, which the node must leave alone. `popen` runs the
    command (a Mininet host's popen runs it in that host); it must exec the node, not fork it, as
    the ready file's PID is checked against the one it returns. `host` is the address the node binds."""

    def __init__(self, workdir, smtp_port=0, pop3_port=0, role="all", extra_env=None, extra_config="",
                 host="127.0.0.1", mail_root=None, log_dir=None, popen=subprocess.Popen, http_port=0, dll=None):
        self.workdir = pathlib.Path(workdir)
        # Another build of the node (the benchmark's ReadyToRun variant); NODE_DLL unless given.
        self.dll = pathlib.Path(dll) if dll else NODE_DLL
        self.host = host
        # Where POP3 listens: the same host, unless servers started elsewhere say otherwise.
        self.pop3_host = host
        self.requested_ports = (smtp_port, pop3_port)
        self.smtp_port = smtp_port
        self.pop3_port = pop3_port
        # The HTTP API (roles all and pop3): any free port unless a test asks for one, so that
        # nodes started side by side never contend for 8025.
        self.requested_http_port = http_port
        self.http_port = http_port
        self.mail_root = pathlib.Path(mail_root) if mail_root else self.workdir / "maildir"
        self.log_dir = pathlib.Path(log_dir) if log_dir else self.workdir / "logs"
        self.users = dict(USERS)
        self.role = role
        self.extra_env = dict(extra_env or {})
        self.extra_config = extra_config
        self.popen = popen
        self.process = None
        self.ready = None
        self.cluster_address = None

    @property
    def ready_file(self):
        return self.workdir / "ready.json"

    @property
    def output_file(self):
        """The node's standard output and error, of every start."""
        return self.workdir / "node.out"

    def start(self, timeout=90.0):
        """Starts the node; returns it once it has written its ready file."""
        if not self.dll.exists():
            raise NodeFailed(f"{self.dll} is missing: run `make build` first")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        smtp_port, pop3_port = self.requested_ports
        env = dict(os.environ)
        env.update({
            "ACTORMAIL_BIND": self.host,
            "ACTORMAIL_DATA": str(self.mail_root),
            "ACTORMAIL_LOGS": str(self.log_dir),
            "ACTORMAIL_SMTP_PORT": str(smtp_port),
            "ACTORMAIL_POP3_PORT": str(pop3_port),
            "ACTORMAIL_HTTP_PORT": str(self.requested_http_port),
            "ACTORMAIL_ROLE": self.role,
        })
        env.update(self.extra_env)
        command = ["dotnet", str(self.dll), "serve", "--ready-file", str(self.ready_file)]
        if self.extra_config:
            # HOCON that overrides hocon/actormail.conf, e.g. "actormail.smtp.idle-timeout = 2s".
            config = self.workdir / "extra.conf"
            config.write_text(self.extra_config)
            command += ["--config", str(config)]
        with open(self.output_file, "ab") as out:
            self.process = self.popen(command, cwd=str(self.workdir), env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise NodeFailed(f"node exited with {self.process.returncode}: {self.output()[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise NodeFailed(f"node not ready within {timeout} s: {self.output()[-3000:]}")
            time.sleep(0.05)
        self.ready = json.loads(self.ready_file.read_text())
        if self.ready["pid"] != self.process.pid:
            self.stop()
            raise NodeFailed(f"{self.ready_file} names PID {self.ready['pid']}, the node started is {self.process.pid}")
        self.smtp_port = bound_port(self.ready["smtp"], smtp_port)
        self.pop3_port = bound_port(self.ready["pop3"], pop3_port)
        self.http_port = bound_port(self.ready.get("http"), self.requested_http_port)
        # The cluster address remoting bound ("host:port"), or None for a node that runs alone.
        self.cluster_address = self.ready.get("cluster")
        # The implicit-TLS ports (RFC 8314), or None where they are off.
        self.smtps_port = bound_port(self.ready.get("smtps"), None)
        self.pop3s_port = bound_port(self.ready.get("pop3s"), None)
        return self

    def stop(self, timeout=15.0):
        """Stops the node by its PID: SIGTERM, then SIGKILL if it does not exit in time."""
        stop_process(self.process, timeout=timeout)

    def output(self):
        return self.output_file.read_text(errors="replace") if self.output_file.exists() else ""

    def files(self, user, folder="new"):
        d = self.mail_root / user / folder
        return sorted(d.iterdir()) if d.exists() else []

    def all_messages(self, user):
        return self.files(user, "new") + self.files(user, "cur")


def json_lines(path):
    """The JSON objects of a file of JSON lines (a node's compact-JSON log), skipping lines that are
    not JSON (one cut off by a kill); none if the file is not there."""
    events = []
    path = pathlib.Path(path)
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return events


def stop_process(process, sig=signal.SIGTERM, timeout=15.0):
    """Stops a process this program started (a Popen, or None), by its PID: sig, then SIGKILL if
    it has not exited after timeout seconds. Never by name."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def bound_port(address, otherwise):
    """The port of an address of the ready file ("127.0.0.1:40123", "[::1]:40123"), or otherwise if it is null."""
    return otherwise if address is None else int(address.rpartition(":")[2])


def scripted_peer(chunks):
    """One end of a socket pair whose other end sends chunks, one send each, then closes: a
    server for tests of a reader."""
    ours, theirs = socket.socketpair()

    def write():
        for chunk in chunks:
            theirs.sendall(chunk)
        theirs.close()

    threading.Thread(target=write, daemon=True).start()
    return ours


def free_port(host="127.0.0.1"):
    """A port nothing listens on just now, the system's choice. For a test that must name a port
    before anything starts (one the node is to leave alone, or a peer that cannot report its own);
    another program may take it meanwhile, so prefer port 0 and the ready file wherever they do."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_answers(host, port, timeout=0.5):
    """True if something accepts a TCP connection on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def greeting(host, port, timeout=2.0):
    """The first line a new connection gets (with its line end), or b"" if none comes in time."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            return s.makefile("rb").readline()
    except OSError:
        return b""


def greets(host, port, timeout=2.0):
    """True if a new connection gets a server greeting (220 or +OK) within timeout."""
    return greeting(host, port, timeout).startswith((b"220 ", b"+OK"))


def wait_for_greeting(host, port, prefix=(b"220 ", b"+OK"), timeout=30.0, process=None, goodbye=b""):
    """Waits until a new connection to a server that writes no ready file is greeted with prefix;
    returns the greeting. Each try is a fresh connection with a short wait, because one accepted
    while the server is still starting may never be served. goodbye (e.g. b"QUIT\\r\\n") is sent
    before closing; if process (a Popen) exits, this fails at once."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise NodeFailed(f"the server for {host}:{port} exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                line = s.makefile("rb").readline()
                if line.startswith(prefix):
                    if goodbye:
                        s.sendall(goodbye)
                        s.settimeout(2)
                        try:
                            s.recv(512)
                        except OSError:
                            pass
                    return line
                last = repr(line[:80])
        except OSError as e:
            last = e.strerror or str(e)
        time.sleep(0.1)
    raise NodeFailed(f"no greeting from {host}:{port} within {timeout} s ({last})")
