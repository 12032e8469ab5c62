"""Fixtures for the end-to-end suites. The node process, its ports and the wire helpers are
tools/harness's (pytest.ini puts tools/ on the import path); the names tests import from here
(Node, strip_trace, NODE_DLL, USERS, greets, port_answers) are the harness's own."""
import importlib.util
import os
import pathlib
import shutil
import sys
import tempfile

import pytest

from harness import NODE_DLL, USERS, Node, greets, port_answers, strip_trace, wait_for_greeting  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parents[2]


class ToolModule:
    """tools/<folder>/<name>.py (folder defaults to name), imported when a test first uses it rather
    than when pytest collects the test file. pytest imports every file under tests/e2e before -m
    deselects any test, and the compose tester's image holds tests/e2e but only the tools its
    markers run. Loaded from its file: tools/compose is no package (`compose` is docker-compose's)."""

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
            self._module = sys.modules.get(self._name)
        if self._module is None:
            spec = importlib.util.spec_from_file_location(self._name, ROOT / "tools" / self._folder / f"{self._name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[self._name] = module
            spec.loader.exec_module(module)
            self._module = module
        return getattr(self._module, attribute)


@pytest.fixture(scope="session")
def node():
    """The node on the lab ports 2525/2110 (the E2/E3 captures and the Flex client's defaults)
    with a fresh mail root, for the whole session; or the servers already running that
    ACTORMAIL_E2E_EXTERNAL names (the compose tester)."""
    external = os.environ.get("ACTORMAIL_E2E_EXTERNAL")
    if external:
        yield external_node(external)
        return
    workdir = tempfile.mkdtemp(prefix="actormail-e2e-")
    n = Node(workdir, smtp_port=2525, pop3_port=2110).start()
    try:
        yield n
    finally:
        n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def external_node(spec, timeout=30.0):
    """Servers started elsewhere: ACTORMAIL_E2E_EXTERNAL=host:smtp_port:pop3_port, their mail root
    (shared, e.g. a compose volume) in ACTORMAIL_DATA, and POP3 on ACTORMAIL_E2E_POP3_HOST if it is
    on another host (compose's pop3_server). Nothing is started or stopped here; they write no
    ready file, so each is waited for until it greets."""
    host, smtp_port, pop3_port = spec.rsplit(":", 2)
    mail_root = os.environ.get("ACTORMAIL_DATA")
    if not mail_root:
        raise RuntimeError("ACTORMAIL_E2E_EXTERNAL needs ACTORMAIL_DATA: the servers' mail root")
    n = Node(mail_root, smtp_port=int(smtp_port), pop3_port=int(pop3_port), host=host, mail_root=mail_root)
    n.pop3_host = os.environ.get("ACTORMAIL_E2E_POP3_HOST") or host
    wait_for_greeting(n.host, n.smtp_port, b"220 ", timeout)
    wait_for_greeting(n.pop3_host, n.pop3_port, b"+OK", timeout)
    return n
