"""End-to-end tests of the Flex client (flex/, binary actormail-flex) against the node.

The session-scoped `node` fixture comes from tests/e2e/conftest.py. The client
is run with its built-in defaults (SMTP 127.0.0.1:2525, POP3 127.0.0.1:2110,
no --server flag), so these tests also show that it needs no configuration.

Every message these tests send carries an X-Flex-E2E header with a fresh
marker, and the tests only ever look at messages with their own marker.
Note that `actormail-flex fetch --delete` empties alice's whole mailbox, as
any POP3 client with delete would; other tests must not leave mail there that
they expect to find later.
"""

import email.utils
import os
import poplib
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLEX_DIR = ROOT / "flex"
BINARY = FLEX_DIR / "target" / "release" / "actormail-flex"

# The client's built-in defaults; the node must listen there for these tests.
DEFAULT_ENDPOINTS = ("127.0.0.1", 2525, 2110)

MARKER_FIELD = "X-Flex-E2E"
TRACE_FIELDS = (b"return-path:", b"received:")
RUN_TIMEOUT = 120
DELIVERY_WAIT = 15

LONG_LINE = "0123456789" * 90
assert len(LONG_LINE) == 900

# Body lines that exercise dot-stuffing and un-stuffing in both protocols.
BODY_LINES = [
    "Flex end-to-end body; the dot-stuffing cases follow.",
    ".",
    "..",
    ".hidden",
    "",
    LONG_LINE,
    "last line",
]
BODY_CRLF = ("\r\n".join(BODY_LINES) + "\r\n").encode()


def find_cargo():
    """cargo from PATH, else from ~/.cargo/bin where rustup puts it."""
    found = shutil.which("cargo")
    if found:
        return found
    candidate = Path.home() / ".cargo" / "bin" / "cargo"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    pytest.fail("cargo not found in PATH or ~/.cargo/bin; cannot build the Flex client")


@pytest.fixture(scope="module")
def flex_bin():
    """Builds the client once per module and returns the binary's path."""
    cargo = find_cargo()
    env = dict(os.environ)
    env["PATH"] = str(Path(cargo).parent) + os.pathsep + env.get("PATH", "")
    build = subprocess.run(
        [cargo, "build", "--release", "--offline"],
        cwd=FLEX_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if build.returncode != 0:
        pytest.fail(f"cargo build failed (exit {build.returncode}):\n{build.stderr}")
    assert BINARY.is_file(), f"{BINARY} missing after the build"
    return BINARY


def run_flex(binary, *args, stdin=b""):
    """Runs actormail-flex with the given arguments and stdin bytes."""
    return subprocess.run(
        [str(binary), *args], input=stdin, capture_output=True, timeout=RUN_TIMEOUT
    )


def describe(result):
    """Exit code and output of a client run, for assertion messages."""
    return (
        f"exit {result.returncode}\n"
        f"stdout: {result.stdout.decode(errors='replace')}\n"
        f"stderr: {result.stderr.decode(errors='replace')}"
    )


def require_default_endpoints(node):
    """The tests rely on the client's defaults, so the node must be on them."""
    actual = (node.host, node.smtp_port, node.pop3_port)
    if actual != DEFAULT_ENDPOINTS:
        pytest.fail(f"node listens on {actual}, the Flex defaults are {DEFAULT_ENDPOINTS}")


def new_marker():
    return f"flex-e2e-{uuid.uuid4().hex}"


def message_id(marker, tag):
    return f"<{marker}.{tag}@flex-e2e.localhost>"


def build_message(marker, tag, to="alice@localhost"):
    """One test message, as LF text (what we hand the client) and as CRLF bytes
    (what must come back)."""
    headers = [
        "From: Bob <bob@localhost>",
        f"To: <{to}>",
        f"Subject: Flex e2e {tag} {marker}",
        f"Date: {email.utils.formatdate()}",
        f"Message-ID: {message_id(marker, tag)}",
        f"{MARKER_FIELD}: {marker}",
    ]
    text = "\n".join(headers) + "\n\n" + "\n".join(BODY_LINES) + "\n"
    return text.encode(), text.replace("\n", "\r\n").encode()


def strip_trace(raw):
    """Drops the leading Return-Path:/Received: lines (with their folded
    continuation lines) that the server prepends."""
    lines = raw.splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].lower().startswith(TRACE_FIELDS):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"".join(lines[i:])


def body_of(raw):
    """The body: everything after the first empty line."""
    _, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no header/body separator in {raw[:200]!r}"
    return body


def stored_with(node, needle, users=None):
    """Maildir files (new/ and cur/) under mail_root that contain `needle`."""
    root = Path(node.mail_root)
    found = []
    if not root.is_dir():
        return found
    for user_dir in sorted(root.iterdir()):
        if users is not None and user_dir.name not in users:
            continue
        for sub in ("new", "cur"):
            folder = user_dir / sub
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                try:
                    data = path.read_bytes()
                except (FileNotFoundError, IsADirectoryError):
                    continue  # moved or removed while we looked
                if needle in data:
                    found.append(path)
    return found


def wait_stored(node, user, needles):
    """Waits until every needle is in some message of the user's Maildir."""
    deadline = time.monotonic() + DELIVERY_WAIT
    while True:
        found = {n: stored_with(node, n, {user}) for n in needles}
        if all(found.values()):
            return found
        if time.monotonic() > deadline:
            missing = [n.decode() for n, paths in found.items() if not paths]
            pytest.fail(f"not in {user}'s Maildir after {DELIVERY_WAIT} s: {missing}")
        time.sleep(0.2)


def wait_gone(node, needle, users=None):
    """Waits until no stored message contains `needle`."""
    deadline = time.monotonic() + DELIVERY_WAIT
    while True:
        left = stored_with(node, needle, users)
        if not left:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"messages still stored after {DELIVERY_WAIT} s: {left}")
        time.sleep(0.2)


def pop3_collect(node, user, needle, delete):
    """Retrieves with poplib every message of `user` containing `needle`,
    deleting them too when asked. Returns them as CRLF bytes."""
    box = poplib.POP3(node.host, node.pop3_port, timeout=30)
    found = []
    try:
        box.user(user)
        box.pass_(node.users[user])
        _, listing, _ = box.list()
        for entry in listing:
            number = int(entry.split()[0])
            _, lines, _ = box.retr(number)
            raw = b"".join(line + b"\r\n" for line in lines)
            if needle in raw:
                found.append(raw)
                if delete:
                    box.dele(number)
    finally:
        box.quit()
    return found


def purge(node, user, needle):
    """Deletes the test's own messages (and only those) from a mailbox."""
    pop3_collect(node, user, needle, delete=True)
    wait_gone(node, needle, {user})


@pytest.mark.flex
def test_send_and_fetch_round_trip(node, flex_bin, tmp_path):
    """send (file and stdin) then fetch with the client and with poplib:
    both copies come back byte for byte after the server's trace lines."""
    require_default_endpoints(node)
    # Leftovers of an interrupted earlier run carry the marker field too.
    purge(node, "alice", f"\r\n{MARKER_FIELD}: ".encode())

    marker = new_marker()
    try:
        file_text, file_expected = build_message(marker, "via-file")
        stdin_text, stdin_expected = build_message(marker, "via-stdin")
        message_file = tmp_path / "message.eml"
        message_file.write_bytes(file_text)

        sent = run_flex(
            flex_bin, "send", "--from", "bob@localhost", "--to", "alice@localhost",
            "--file", str(message_file),
        )
        assert sent.returncode == 0, describe(sent)
        sent = run_flex(
            flex_bin, "send", "--from", "bob@localhost", "--to", "alice@localhost",
            stdin=stdin_text,
        )
        assert sent.returncode == 0, describe(sent)

        file_id = message_id(marker, "via-file").encode()
        stdin_id = message_id(marker, "via-stdin").encode()
        expected = {file_id: file_expected, stdin_id: stdin_expected}

        # Each message is stored once, exactly as sent after the trace lines.
        stored = wait_stored(node, "alice", list(expected))
        for mid, want in expected.items():
            assert len(stored[mid]) == 1, f"{mid!r} stored {len(stored[mid])} times"
            assert strip_trace(stored[mid][0].read_bytes()) == want

        # Python's poplib reads one copy first, leaving it on the server.
        by_poplib = pop3_collect(node, "alice", stdin_id, delete=False)
        assert len(by_poplib) == 1
        assert strip_trace(by_poplib[0]) == stdin_expected
        assert body_of(by_poplib[0]) == BODY_CRLF

        # The Flex client then fetches everything and deletes it.
        out_dir = tmp_path / "fetched"
        fetched = run_flex(
            flex_bin, "fetch", "--user", "alice", "--pass", node.users["alice"],
            "--out", str(out_dir), "--delete",
        )
        assert fetched.returncode == 0, describe(fetched)
        files = sorted(out_dir.iterdir())
        assert files, "fetch wrote no files"
        for path in files:
            assert re.fullmatch(r"[1-9][0-9]*\.eml", path.name), path.name
        for mid, want in expected.items():
            mine = [p for p in files if mid in p.read_bytes()]
            assert len(mine) == 1, f"{mid!r} fetched {len(mine)} times"
            raw = mine[0].read_bytes()
            assert strip_trace(raw) == want
            assert body_of(raw) == BODY_CRLF

        # --delete removed this run's messages from the server.
        wait_gone(node, marker.encode(), {"alice"})
        assert pop3_collect(node, "alice", marker.encode(), delete=False) == []
    finally:
        # Best effort, so a cleanup problem cannot hide the real failure.
        try:
            pop3_collect(node, "alice", marker.encode(), delete=True)
        except (OSError, poplib.error_proto):
            pass


@pytest.mark.flex
def test_unknown_recipient_is_refused(node, flex_bin):
    """A 550 for nobody@localhost makes the client fail and show the reply."""
    require_default_endpoints(node)
    marker = new_marker()
    text, _ = build_message(marker, "unknown-rcpt", to="nobody@localhost")
    result = run_flex(
        flex_bin, "send", "--from", "bob@localhost", "--to", "nobody@localhost",
        stdin=text,
    )
    assert result.returncode != 0, describe(result)
    assert result.returncode == 2, describe(result)
    assert b"550" in result.stderr, describe(result)
    # Nothing of this message reached any mailbox.
    assert stored_with(node, marker.encode()) == []
