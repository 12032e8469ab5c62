"""Crash safety: the quick crash run (3 SIGKILLs), the checker's own teeth, and a clean stop on SIGTERM.

Nodes on 127.0.0.1, on ports the system chooses. The full run (20 kills and more) is `make crashtest`.
"""
import collections
import pathlib
import shutil
import signal
import socket
import tempfile
import time
import uuid

import pytest

from conftest import Node, ToolModule
from harness import wire
from smtpraw import RawSmtp

crashtest = ToolModule("crashtest")

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def crash_run():
    """One quick crash run (3 kills, one of each mode); its figures, violations and mail root."""
    workdir = tempfile.mkdtemp(prefix="actormail-crash-")
    node = Node(workdir)
    seed = int(time.time())
    lines = []
    figures, violations = crashtest.run(node, rounds=3, seconds=2.0, seed=seed, log=lines.append)
    print(f"crash run seed {seed}:", *lines, sep="\n  ")
    yield figures, violations, node
    shutil.rmtree(workdir, ignore_errors=True)


def test_quick_crash_run_loses_nothing(crash_run):
    figures, violations, _ = crash_run
    assert violations == []
    assert figures["kills"] == 3
    assert set(figures["modes"]) == set(crashtest.MODES)
    assert figures["acknowledged"] > 50, figures  # the kills landed on real traffic
    assert figures["lost"] == 0 and figures["corrupt"] == 0 and figures["unexpected"] == 0
    assert figures["duplicates"] == 0 and figures["resurrected"] == 0
    # Every acknowledged copy that POP3 did not delete is on disk.
    assert figures["found"] >= figures["acknowledged_copies"] - figures["deleted_by_pop3"]
    assert figures["pop3_sessions"]["marked"] > 0


def test_checker_notices_loss_damage_and_strangers(crash_run):
    """The checker must fail a mail root that lost, damaged or gained a message."""
    _, _, node = crash_run
    root = pathlib.Path(node.mail_root)
    ledger = pathlib.Path(node.workdir) / "crash-ledger.jsonl"
    messages, sessions = crashtest.read_ledger(ledger)
    # A message some POP3 session marked may rightly be gone (a kill between QUIT and its answer),
    # so removing it would prove nothing: victims are acknowledged messages no session marked.
    marked = {i for s in sessions.values() if s["user"] == "alice" for i in s["marked"]}
    acked = {i for i, m in messages.items() if m["state"] == "acked" and i not in marked}
    files = [p for p in (root / "alice" / "new").iterdir()] + [p for p in (root / "alice" / "cur").iterdir()]
    seen = [(p, *crashtest.inspect_message(p.read_bytes())) for p in files]
    copies = collections.Counter(crash_id for _, crash_id, _ in seen)
    # ... and each with one copy only, so that losing that copy loses the message.
    victims = [p for p, crash_id, problem in seen if crash_id in acked and problem is None and copies[crash_id] == 1][:3]
    assert len(victims) == 3
    before, _ = crashtest.verify(root, ledger)
    victims[0].unlink()                                                   # lost
    cut = victims[1].with_name("cut.tmp")                                 # cut short: partial, so also lost
    cut.write_bytes(victims[1].read_bytes()[:-7])
    cut.replace(victims[1])  # a new inode: a copy for two recipients is one file with two names
    shutil.copy(victims[2], victims[2].with_name("1.M1P1Q1.copy" + victims[2].name[victims[2].name.index(",S="):]))
    body = b"a message the checker never sent\r\n"
    stranger = (b"X-Crash-Id: " + str(uuid.uuid4()).encode() + b"\r\nX-Body-Sha256: "
                + crashtest.hashlib.sha256(body).hexdigest().encode() + b"\r\n\r\n" + body)
    (root / "bob" / "new" / f"1.M1P1Q2.stranger,S={len(stranger)}").write_bytes(stranger)  # appeared from nowhere
    after, problems = crashtest.verify(root, ledger)
    assert after["lost"] == before["lost"] + 2, problems
    assert after["corrupt"] == before["corrupt"] + 1
    assert after["duplicates"] == before["duplicates"] + 1
    assert after["unexpected"] == before["unexpected"] + 1
    assert len(problems) == 5, problems


def _smtp_in_data(node, marker):
    s = RawSmtp(node.host, node.smtp_port)
    assert s.reply()[0] == 220
    assert s.cmd("EHLO term.example")[0] == 250
    assert s.cmd("MAIL FROM:<term@example.org>")[0] == 250
    assert s.cmd("RCPT TO:<alice@localhost>")[0] == 250
    assert s.cmd("DATA")[0] == 354
    s.send(f"Subject: {marker}\r\n\r\n".encode() + f"{marker} partial body line\r\n".encode() * 2000)
    return s


def _read_until_closed(sock, limit=15.0):
    sock.settimeout(limit)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, "closed"
            data += chunk
    except ConnectionResetError:
        return data, "reset"
    except socket.timeout:
        return data, "timeout"


def test_sigterm_answers_421_keeps_no_partial_file_and_exits_in_time():
    """SIGTERM with three sessions inside DATA, one idle SMTP session and one POP3 session with a
    message marked for deletion: each is told it is closing (421 4.3.2 / -ERR), no partial message
    and no spool file stays, the marked message is not deleted (no QUIT), and the process exits in time."""
    workdir = tempfile.mkdtemp(prefix="actormail-term-")
    node = Node(workdir).start()
    marker = f"TERM-{uuid.uuid4().hex}"
    try:
        s = RawSmtp(node.host, node.smtp_port)
        assert s.reply()[0] == 220 and s.cmd("EHLO term.example")[0] == 250
        assert s.cmd("MAIL FROM:<term@example.org>")[0] == 250 and s.cmd("RCPT TO:<bob@localhost>")[0] == 250
        assert s.cmd("DATA")[0] == 354
        s.send(b"Subject: kept\r\n\r\nfor bob\r\n.\r\n")
        assert s.reply()[0] == 250
        s.close()
        kept_for_bob = node.all_messages("bob")
        assert len(kept_for_bob) == 1
        pop = wire.Client.connect(node.host, node.pop3_port, "pop3", timeout=10)
        pop.send(b"USER bob\r\nPASS bob-demo\r\nDELE 1\r\n")
        got = b"\r\n".join(pop.reply() for _ in range(4))
        assert b"+OK Message 1 deleted" in got, got

        in_data = [_smtp_in_data(node, marker) for _ in range(3)]
        idle = RawSmtp(node.host, node.smtp_port)
        assert idle.reply()[0] == 220 and idle.cmd("EHLO idle.example")[0] == 250
        time.sleep(0.5)  # the bodies so far are in the spool
        started = time.monotonic()
        node.process.send_signal(signal.SIGTERM)
        outcomes = [_read_until_closed(c.sock) for c in in_data + [idle]]
        pop_outcome = _read_until_closed(pop.sock)
        code = node.process.wait(15)
        took = time.monotonic() - started
        assert code == 0, node.output()[-2000:]
        assert took < 10.0 + 1.0, f"exit took {took:.1f} s (shutdown-timeout is 10 s)"
        root = pathlib.Path(node.mail_root)
        # The node's generated TLS certificate (<data>/.tls) is not mail.
        files = [p for p in root.rglob("*") if p.is_file() and ".tls" not in p.relative_to(root).parts]
        assert [p for p in files if marker.encode() in p.read_bytes()] == [], "a partial message was kept"
        assert [p.name for p in files] == [p.name for p in kept_for_bob], \
            f"only bob's message may remain (no spool, no tmp file, not deleted without QUIT): {files}"
        for data, how in outcomes:
            assert data.startswith(b"421 4.3.2 "), f"SIGTERM: SMTP session got {data!r} then {how}, not 421 4.3.2"
            assert data.endswith(b"\r\n") and how in ("closed", "reset")
        assert pop_outcome[0].startswith(b"-ERR [SYS/TEMP] "), f"SIGTERM: POP3 session got {pop_outcome}"
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
