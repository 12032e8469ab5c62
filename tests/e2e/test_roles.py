"""Two node processes over one mail root: ACTORMAIL_ROLE=smtp delivers while ACTORMAIL_ROLE=pop3
reads and deletes. 200 messages (each with a unique marker and Message-ID) arrive from 4 SMTP
threads, half for alice and half for bob, while one POP3 client signs in over and over, retrieves a
few messages, deletes alice's (bob's are only read) and quits; every 5th session drops the
connection instead, which must delete nothing. At the end every message accepted with 250 is either
still in the Maildir or was deleted by a QUIT that listed it: none lost, none duplicated."""
import collections
import pathlib
import poplib
import re
import shutil
import smtplib
import tempfile
import threading
import time
import uuid

import pytest

from conftest import USERS as PASSWORDS, Node, port_answers
from harness import free_port

pytestmark = pytest.mark.tools

SENDERS = 4
PER_SENDER = 50                 # 4 x 50 = 200 messages
PER_CONNECTION = 10             # SMTP transactions per connection before reconnecting
USERS = ("alice", "bob")
TAKE_PER_SESSION = 3            # messages a POP3 session retrieves (and deletes, for alice)
DELETED_USER = "alice"          # the reader deletes alice's mail and only reads bob's
IO_TIMEOUT_S = 30.0             # one client command
DROP_EVERY = 5                  # every 5th POP3 session drops the connection instead of QUIT
DEADLINE_S = 180.0              # the whole exchange; every loop stops by then (about 10 s here)

MARKER_RE = re.compile(rb"^X-Roles-Marker: (\S+)\r?$", re.MULTILINE)


def message(marker, user):
    return (f"From: sender@example.org\r\n"
            f"To: {user}@localhost\r\n"
            f"Subject: roles {marker}\r\n"
            f"Message-ID: <{marker}@roles.actormail.test>\r\n"
            f"X-Roles-Marker: {marker}\r\n"
            f"\r\n"
            f"body of {marker}\r\n"
            f".a line that starts with a dot\r\n").encode()


def markers_in(raw):
    return [m.decode() for m in MARKER_RE.findall(raw)]


class Ledger:
    """What the clients saw, shared between the threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = {}          # marker -> user, for every 250 after DATA
        self.refused = []           # (marker, error) for every other outcome
        self.deleted = collections.Counter()   # marker -> QUITs that committed its DELE
        self.retrieved = set()
        self.retrieved_after_delete = []
        self.dropped_sessions = 0
        self.committed_sessions = 0
        self.sessions_while_sending = 0
        self.sessions_begun = 0
        self.pop3_errors = []


def send_all(port, thread_no, ledger, deadline):
    sent = 0
    connection = 0
    while sent < PER_SENDER and time.monotonic() < deadline:
        # Connection c waits until the reader has begun c + 1 sessions, so reading overlaps
        # sending however fast delivery is (5 connections a sender: at least 5 sessions).
        while ledger.sessions_begun <= connection and time.monotonic() < deadline:
            time.sleep(0.005)
        connection += 1
        with smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT_S) as client:
            for _ in range(min(PER_CONNECTION, PER_SENDER - sent)):
                user = USERS[(thread_no + sent) % len(USERS)]
                marker = f"t{thread_no}-m{sent:03d}-{uuid.uuid4().hex}"
                try:
                    client.sendmail("sender@example.org", [f"{user}@localhost"], message(marker, user))
                except smtplib.SMTPException as e:
                    with ledger.lock:
                        ledger.refused.append((marker, repr(e)))
                else:
                    with ledger.lock:
                        ledger.accepted[marker] = user
                sent += 1


def sign_in(port, user, deadline, steps):
    """A POP3 session in TRANSACTION state; the previous session's lock may take a moment to go."""
    while True:
        steps.append("connect")
        client = poplib.POP3("127.0.0.1", port, timeout=IO_TIMEOUT_S)
        try:
            steps.append("USER")
            client.user(user)
            steps.append("PASS")
            client.pass_(PASSWORDS[user])
            return client
        except poplib.error_proto as e:
            client.close()
            if b"IN-USE" not in e.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def pop3_session(port, ledger, user, number_of_session, deadline):
    """One session: LIST, RETR the first few, DELE them if this user's mail is deleted (alice's is,
    bob's is only read), then QUIT, or drop the connection instead (every DROP_EVERY-th session).
    Returns the message count the session saw."""
    steps = []
    deleting = user == DELETED_USER
    drop = number_of_session % DROP_EVERY == 0
    client = None
    try:
        client = sign_in(port, user, deadline, steps)
        steps.append("STAT")
        count, _ = client.stat()
        steps.append("LIST")
        _, listing, _ = client.list()
        if len(listing) != count:
            ledger.pop3_errors.append(f"{user}: STAT says {count}, LIST has {len(listing)} lines")
        marked = []
        for number in range(1, min(count, TAKE_PER_SESSION) + 1):
            steps.append(f"RETR {number}")
            _, lines, _ = client.retr(number)
            found = markers_in(b"\r\n".join(lines))
            if len(found) != 1:
                ledger.pop3_errors.append(f"{user} #{number}: {len(found)} markers in one message")
                continue
            with ledger.lock:
                ledger.retrieved.add(found[0])
                if ledger.deleted[found[0]]:
                    ledger.retrieved_after_delete.append(found[0])
            if deleting:
                steps.append(f"DELE {number}")
                client.dele(number)
                marked.append(found[0])
        if drop:
            # No QUIT: RFC 1939 says the marked messages stay.
            client.close()
            with ledger.lock:
                ledger.dropped_sessions += 1
            return count
        steps.append("QUIT")
        reply = client.quit()
        with ledger.lock:
            ledger.committed_sessions += 1
            for marker in marked:
                ledger.deleted[marker] += 1
        if not reply.startswith(b"+OK"):
            ledger.pop3_errors.append(f"{user}: QUIT answered {reply!r}")
        return count
    except (OSError, poplib.error_proto) as e:
        ledger.pop3_errors.append(f"session {number_of_session} ({user}) at {' '.join(steps[-3:])}: {e!r}")
        if client is not None:
            client.close()
        return None


def pop3_loop(port, ledger, senders_done, deadline):
    """Sessions for alice and bob in turn while mail arrives; once the senders are done, one more
    round that leaves alice's box with at most TAKE_PER_SESSION messages."""
    session = 0
    while time.monotonic() < deadline:
        session += 1
        user = USERS[session % len(USERS)]
        finished = senders_done.is_set()
        if not finished:
            ledger.sessions_while_sending += 1
        ledger.sessions_begun += 1
        count = pop3_session(port, ledger, user, session, deadline)
        if count is None:
            return
        if finished and user == DELETED_USER and count <= TAKE_PER_SESSION and session % DROP_EVERY:
            return


def stored_markers(mail_root, user):
    found = []
    for folder in ("new", "cur"):
        d = mail_root / user / folder
        if d.exists():
            for path in sorted(d.iterdir()):
                found.extend(markers_in(path.read_bytes()))
    return found


@pytest.fixture
def two_roles():
    """An SMTP-only and a POP3-only node over one mail root, each with its own logs. The SMTP-only
    node is given the POP3 node's port too, which it must leave free."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="actormail-roles-"))
    shared = base / "maildir"
    pop3_port = free_port()
    nodes = {role: Node(base / role, pop3_port=pop3_port, role=role, mail_root=shared) for role in ("smtp", "pop3")}
    try:
        nodes["smtp"].start()
        # The SMTP-only process must not have taken the POP3 port.
        assert not port_answers("127.0.0.1", pop3_port)
        nodes["pop3"].start()
        yield nodes["smtp"], nodes["pop3"], shared
    finally:
        nodes["pop3"].stop()
        nodes["smtp"].stop()
        shutil.rmtree(base, ignore_errors=True)


def test_smtp_and_pop3_processes_share_one_mail_root_without_loss_or_duplicates(two_roles):
    smtp, pop3, mail_root = two_roles
    ledger = Ledger()
    deadline = time.monotonic() + DEADLINE_S
    senders_done = threading.Event()
    reader = threading.Thread(target=pop3_loop, args=(pop3.pop3_port, ledger, senders_done, deadline))
    senders = [threading.Thread(target=send_all, args=(smtp.smtp_port, n, ledger, deadline)) for n in range(SENDERS)]
    reader.start()
    for t in senders:
        t.start()
    for t in senders:
        t.join(DEADLINE_S + 30)
    senders_done.set()
    reader.join(DEADLINE_S + 30)
    assert not reader.is_alive() and not any(t.is_alive() for t in senders), "a client thread hung"

    # Both processes are still up: neither crashed under the other's work.
    assert smtp.process.poll() is None, smtp.output()
    assert pop3.process.poll() is None, pop3.output()
    assert ledger.pop3_errors == []
    assert ledger.refused == [], f"{len(ledger.refused)} messages not accepted: {ledger.refused[:3]}"
    assert len(ledger.accepted) == SENDERS * PER_SENDER

    stored = collections.Counter()
    by_user = {user: stored_markers(mail_root, user) for user in USERS}
    for user, markers in by_user.items():
        stored.update(markers)
        # Each stored message sits in the mailbox it was sent to.
        assert all(ledger.accepted.get(m) == user for m in markers), user
    print(f"roles: {len(ledger.accepted)} accepted; POP3 sessions: {ledger.committed_sessions} quit, "
          f"{ledger.dropped_sessions} dropped, {ledger.sessions_while_sending} begun while mail arrived; "
          f"{sum(ledger.deleted.values())} deleted by QUIT; {len(stored)} still stored")
    # The reader really worked while mail arrived.
    assert ledger.sessions_while_sending >= 5
    assert ledger.committed_sessions >= 10 and ledger.dropped_sessions >= 2
    assert sum(ledger.deleted.values()) >= 20

    duplicates_on_disk = sorted(m for m, n in stored.items() if n > 1)
    deleted_twice = sorted(m for m, n in ledger.deleted.items() if n > 1)
    deleted_but_stored = sorted(set(ledger.deleted) & set(stored))
    lost = sorted(set(ledger.accepted) - set(stored) - set(ledger.deleted))
    unknown = sorted(set(stored) - set(ledger.accepted))
    assert duplicates_on_disk == []
    assert deleted_twice == []
    assert deleted_but_stored == []
    assert ledger.retrieved_after_delete == []
    assert lost == []
    assert unknown == []
    assert ledger.retrieved <= set(ledger.accepted)
    # bob's mail was read, never deleted: all of it is still there.
    assert sorted(by_user["bob"]) == sorted(m for m, u in ledger.accepted.items() if u == "bob")
    assert all(ledger.accepted[m] == DELETED_USER for m in ledger.deleted)

    # The POP3 process serves exactly what is on disk.
    for user in USERS:
        client = sign_in(pop3.pop3_port, user, time.monotonic() + 10, [])
        try:
            count, _ = client.stat()
            seen = []
            for number in range(1, count + 1):
                _, lines, _ = client.retr(number)
                seen.extend(markers_in(b"\r\n".join(lines)))
        finally:
            client.quit()
        assert sorted(seen) == sorted(by_user[user])
