"""Fixtures for the end-to-end suites: the built node as a real process on the default ports."""
import importlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The node under test: the repo's Release build, or another build named by ACTORMAIL_NODE_DLL.
NODE_DLL = pathlib.Path(os.environ.get("ACTORMAIL_NODE_DLL") or ROOT / "src/ActorMail/bin/Release/net10.0/actormail.dll")
USERS = {"alice": "alice-demo", "bob": "bob-demo"}


class ToolModule:
    """tools/<folder>/<name>.py (folder defaults to name), imported when a test first uses it rather
    than when pytest collects the test file. pytest imports every file under tests/e2e before -m
    deselects any test, and the compose tester's image holds tests/e2e but only the tools its
    markers run."""

    def __init__(self, name, folder=None):
        self._name = name
        self._folder = folder or name
        self._module = None

    def __getattr__(self, attribute):
        # pytest's collection probes module-level objects for private marker attributes: those
        # must not import the tool.
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        if self._module is None:
            folder = str(ROOT / "tools" / self._folder)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


class Node:
    """A running node process and where it keeps mail and logs."""

    def __init__(self, workdir, smtp_port=2525, pop3_port=2110, role="all", extra_env=None, extra_config="", http_port=0):
        self.host = "127.0.0.1"
        # Where POP3 listens: the same host, unless servers started elsewhere say otherwise.
        self.pop3_host = self.host
        self.smtp_port = smtp_port
        self.pop3_port = pop3_port
        # The HTTP API (roles all and pop3): any free port unless a test asks for one, so that
        # nodes started side by side, here or by other suites, never contend for 8025.
        self.http_port = http_port
        self.workdir = pathlib.Path(workdir)
        self.mail_root = self.workdir / "maildir"
        self.log_dir = self.workdir / "logs"
        self.users = dict(USERS)
        self.role = role
        self.extra_env = extra_env or {}
        self.extra_config = extra_config
        self.process = None

    def start(self, timeout=30.0):
        if not NODE_DLL.exists():
            raise RuntimeError(f"{NODE_DLL} is missing: run `make build` first")
        env = dict(os.environ)
        env.update({
            "ACTORMAIL_DATA": str(self.mail_root),
            "ACTORMAIL_LOGS": str(self.log_dir),
            "ACTORMAIL_SMTP_PORT": str(self.smtp_port),
            "ACTORMAIL_POP3_PORT": str(self.pop3_port),
            "ACTORMAIL_HTTP_PORT": str(self.http_port),
            "ACTORMAIL_ROLE": self.role,
        })
        env.update(self.extra_env)
        command = ["dotnet", str(NODE_DLL), "serve"]
        if self.extra_config:
            # HOCON that overrides hocon/actormail.conf, e.g. "actormail.smtp.idle-timeout = 2s".
            config = self.workdir / "extra.conf"
            config.write_text(self.extra_config)
            command += ["--config", str(config)]
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir, env=env,
            stdout=open(self.workdir / "node.out", "wb"), stderr=subprocess.STDOUT,
        )
        ports = []
        if role_runs(self.role, "smtp"):
            ports.append(self.smtp_port)
        if role_runs(self.role, "pop3"):
            ports.append(self.pop3_port)
        deadline = time.monotonic() + timeout
        for port in ports:
            # A greeting, not only an open port: see greets().
            while not greets(self.host, port):
                if self.process.poll() is not None:
                    raise RuntimeError(f"node exited with {self.process.returncode}: {self.output()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"node did not listen on {port} within {timeout} s")
                time.sleep(0.1)
        return self

    def stop(self, timeout=15.0):
        """Stops the node by its PID: SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def output(self):
        path = self.workdir / "node.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def files(self, user, folder="new"):
        d = self.mail_root / user / folder
        return sorted(d.iterdir()) if d.exists() else []

    def all_messages(self, user):
        return self.files(user, "new") + self.files(user, "cur")


def role_runs(role, protocol):
    return role in ("all", protocol)


def port_answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def node():
    """The node on the default ports 2525/2110 with a fresh mail root, for the whole session; or the
    servers already running that ACTORMAIL_E2E_EXTERNAL names (the compose tester)."""
    external = os.environ.get("ACTORMAIL_E2E_EXTERNAL")
    if external:
        yield external_node(external)
        return
    workdir = tempfile.mkdtemp(prefix="actormail-e2e-")
    n = Node(workdir).start()
    try:
        yield n
    finally:
        n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def external_node(spec, timeout=30.0):
    """Servers started elsewhere: ACTORMAIL_E2E_EXTERNAL=host:smtp_port:pop3_port, their mail root
    (shared, e.g. a compose volume) in ACTORMAIL_DATA, and POP3 on ACTORMAIL_E2E_POP3_HOST if it is
    on another host (compose's pop3_server). Nothing is started or stopped here."""
    host, smtp_port, pop3_port = spec.rsplit(":", 2)
    mail_root = os.environ.get("ACTORMAIL_DATA")
    if not mail_root:
        raise RuntimeError("ACTORMAIL_E2E_EXTERNAL needs ACTORMAIL_DATA: the servers' mail root")
    n = Node(mail_root, smtp_port=int(smtp_port), pop3_port=int(pop3_port))
    n.host = host
    n.pop3_host = os.environ.get("ACTORMAIL_E2E_POP3_HOST") or host
    n.mail_root = pathlib.Path(mail_root)
    deadline = time.monotonic() + timeout
    for name, server, port in (("SMTP", n.host, n.smtp_port), ("POP3", n.pop3_host, n.pop3_port)):
        while not greets(server, port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {name} greeting from {server}:{port} within {timeout} s")
            time.sleep(0.2)
    return n


def greets(host, port, timeout=2.0):
    """True if a new connection gets a server greeting (220 or +OK) within timeout. Stronger than
    port_answers: Akka.IO can accept a connection that arrives while its listener is still binding
    and never serve it."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            return s.makefile("rb").readline().startswith((b"220 ", b"+OK"))
    except OSError:
        return False


def strip_trace(raw: bytes) -> bytes:
    """The stored message without the Return-Path: and Received: lines the server prepends."""
    lines = raw.split(b"\r\n")
    i = 0
    while i < len(lines) and (lines[i].startswith((b"Return-Path:", b"Received:")) or lines[i][:1] in (b"\t", b" ")):
        i += 1
    return b"\r\n".join(lines[i:])
