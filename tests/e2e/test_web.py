"""The web page in headless Chromium: tests/browser/web.test.mjs (node's test runner, with
playwright-core driving Debian's /usr/bin/chromium) against a node that tools/harness starts on
ports the system chooses. The browser suite sends its own mail over SMTP and POP3 and reads the
node's Maildir to check deletions."""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile

import pytest

from conftest import ROOT, Node

pytestmark = pytest.mark.tools

BROWSER_TESTS = ROOT / "tests/browser"
CHROMIUM = pathlib.Path("/usr/bin/chromium")
SUITE_TIMEOUT_S = 110


def free_port():
    """A port nothing listens on now; the node binds it a moment later (the ready file does not name the HTTP port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def node():
    workdir = tempfile.mkdtemp(prefix="actormail-web-")
    n = Node(workdir, http_port=free_port(), extra_config="actormail.pop3.auth-failure-delay = 200ms").start()
    try:
        yield n
    finally:
        n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_web_page_in_headless_chromium(node):
    assert CHROMIUM.exists(), "chromium is missing: run `make deps`"
    assert (BROWSER_TESTS / "node_modules/playwright-core").exists(), "playwright-core is missing: run `make deps`"
    env = dict(os.environ,
               ACTORMAIL_WEB=f"http://127.0.0.1:{node.http_port}",
               ACTORMAIL_SMTP_PORT=str(node.smtp_port),
               ACTORMAIL_POP3_PORT=str(node.pop3_port),
               ACTORMAIL_MAILDIR=str(node.mail_root),
               ACTORMAIL_LOGDIR=str(node.log_dir))
    try:
        result = subprocess.run(["node", "--test", "--test-reporter=spec", "web.test.mjs"], cwd=BROWSER_TESTS, env=env,
                                capture_output=True, text=True, timeout=SUITE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the browser suite did not end within {SUITE_TIMEOUT_S} s: {e.stdout}{e.stderr}")
    print(result.stdout[-20000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:] + node.output()[-3000:]
