"""Real mail software against the node, each with the settings the README gives: a private Postfix
instance relaying to it, fetchmail and mpop fetching from it, curl and smtplib sending to it.

The nodes are started by this module on 127.0.0.1, on ports the system chooses; Postfix's smtpd
on a free port of 127.0.0.1 picked before it starts.
Postfix runs from a folder of its own under /var/tmp (its maillog_file must lie under /var); it
accepts that configuration folder only once /etc/postfix/main.cf lists it in
alternate_config_directories, so the fixture adds that line if it is missing and removes exactly
what it added.
"""
import os
import pathlib
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import Node, greets
from harness import free_port

pytestmark = pytest.mark.tools

DEFAULT_MAIN_CF = pathlib.Path("/etc/postfix/main.cf")


def need(tool, package):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: run tools/install-deps.sh (Debian package {package})")


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.1)


def start_node():
    workdir = tempfile.mkdtemp(prefix="actormail-clients-")
    return Node(workdir).start()


@pytest.fixture(scope="module")
def relay_target():
    node = start_node()
    yield node
    node.stop()
    shutil.rmtree(node.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def senders():
    node = start_node()
    yield node
    node.stop()
    shutil.rmtree(node.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def fetch_node():
    node = start_node()
    yield node
    node.stop()
    shutil.rmtree(node.workdir, ignore_errors=True)


def send(node, recipients, body, sender="sender@example.org"):
    with smtplib.SMTP(node.host, node.smtp_port, timeout=10) as s:
        return s.sendmail(sender, recipients, body)


def messages_with(node, user, text):
    return [p for p in node.all_messages(user) if text.encode() in p.read_bytes()]


def smtp_log(node):
    """smtp.log once the node has flushed it (actormail.log-flush-interval = 1s)."""
    time.sleep(1.5)
    return (node.log_dir / "smtp.log").read_text(errors="replace")


# ------------------------------------------------------------------ Postfix as the sending MTA

class PrivatePostfix:
    """A Postfix instance of its own (configuration, queue, data and log under one folder) that
    accepts mail on 127.0.0.1:port from loopback and relays all of it to relayhost."""

    MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

    def __init__(self, port, relay_port):
        self.port = port
        self.relay_port = relay_port
        # maillog_file must start with one of maillog_file_prefixes, "/var" by default.
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="actormail-postfix-", dir="/var/tmp"))
        self.conf = self.root / "conf"
        self.queue = self.root / "queue"
        self.data = self.root / "data"
        self.maillog = self.root / "maillog"
        self.added = None  # the lines this instance wrote into the default main.cf
        self.created_main_cf = False

    def start(self):
        need("postfix", "postfix")
        if greets("127.0.0.1", self.port, timeout=0.5):
            pytest.fail(f"port {self.port} already has a server")
        os.chmod(self.root, 0o755)
        for folder in (self.conf, self.queue, self.data):
            folder.mkdir()
        os.chmod(self.queue, 0o755)
        shutil.chown(self.data, "postfix", "postfix")
        os.chmod(self.data, 0o700)
        (self.conf / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test
mydomain = relay.test
myorigin = relay.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{self.relay_port}
maillog_file = {self.maillog}
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
biff = no
""")
        (self.conf / "master.cf").write_text(self.MASTER_CF.format(port=self.port))
        self.register()
        result = subprocess.run(["postfix", "-c", str(self.conf), "start"], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            log = self.maillog.read_text(errors="replace") if self.maillog.exists() else "(no maillog)"
            self.stop()
            pytest.fail(f"postfix start exited {result.returncode}: {result.stderr}\n{log}")
        wait_for(lambda: greets("127.0.0.1", self.port), 30, f"no Postfix greeting on {self.port}")
        return self

    def register(self):
        """Lists the configuration folder in the default main.cf, unless it is there already."""
        entry = str(self.conf)
        current = ""
        if DEFAULT_MAIN_CF.exists():
            current = subprocess.run(["postconf", "-h", "alternate_config_directories"],
                                     capture_output=True, text=True, check=True).stdout.strip()
            if entry in re.split(r"[\s,]+", current):
                return
        else:
            self.created_main_cf = True
        value = f"{current}, {entry}" if current else entry
        self.added = (f"# added by ActorMail tests/e2e/test_real_clients.py for {entry}; removed when the test ends\n"
                      f"alternate_config_directories = {value}\n")
        with DEFAULT_MAIN_CF.open("a") as f:
            f.write(self.added)

    def unregister(self):
        if self.added is None:
            return
        text = DEFAULT_MAIN_CF.read_text() if DEFAULT_MAIN_CF.exists() else ""
        if self.added in text:
            text = text.replace(self.added, "", 1)
            if self.created_main_cf and text == "":
                DEFAULT_MAIN_CF.unlink()
            else:
                DEFAULT_MAIN_CF.write_text(text)
        self.added = None

    def master_pid(self):
        path = self.queue / "pid" / "master.pid"
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.master_pid()
        if pid is not None:
            subprocess.run(["postfix", "-c", str(self.conf), "stop"], capture_output=True, timeout=60)

            def gone():
                try:
                    os.kill(pid, 0)
                    return False
                except ProcessLookupError:
                    return True

            try:
                wait_for(gone, 15, "Postfix master did not exit")
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
        self.unregister()

    def log(self):
        return self.maillog.read_text(errors="replace") if self.maillog.exists() else ""


@pytest.fixture(scope="module")
def postfix(relay_target):
    instance = PrivatePostfix(free_port(), relay_target.smtp_port)
    try:
        yield instance.start()
    finally:
        instance.stop()
        shutil.rmtree(instance.root, ignore_errors=True)


def test_postfix_relays_one_message_for_alice_and_twelve_gone_users_and_alice_gets_it_first_time(relay_target, postfix):
    marker = f"relayed-{uuid.uuid4().hex}"
    gone = [f"gone{i}@localhost" for i in range(12)]
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as s:
        assert s.sendmail("bob@localhost", ["alice@localhost", *gone], f"Subject: relayed\r\n\r\n{marker}\r\n") == {}

    # Postfix tries again only after minutes (minimal_backoff_time): arriving now is the first attempt.
    [copy] = wait_for(lambda: messages_with(relay_target, "alice", marker), 60, "alice's copy did not arrive")
    assert re.search(rb"Received: from [^\r]*\r\n\tby relay\.test \(Postfix\)", copy.read_bytes())
    # Postfix logs through postlogd, a moment after the node's 250.
    sent = r"to=<alice@localhost>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 2\.0\.0 OK: queued"

    def logged_sent():
        text = postfix.log()
        return text if re.search(sent, text) else None

    log = wait_for(logged_sent, 30, f"Postfix logged no {sent}")
    assert "status=deferred" not in log, log
    for address in gone:
        assert re.search(rf"to=<{address}>, .*dsn=5\.1\.1, status=bounced", log), (address, log)

    # The twelve refusals were permanent: Postfix bounced them to the sender, through the node.
    [bounce] = wait_for(lambda: messages_with(relay_target, "bob", "Undelivered Mail Returned to Sender"), 60, "no bounce for bob")
    assert bounce.read_bytes().count(b"550 5.1.1 No such user here") >= 12
    text = smtp_log(relay_target)
    assert "Too many errors" not in text and "Closing after" not in text
    assert len(re.findall(r"Recipient <gone\d+@localhost> refused: 550 5\.1\.1", text)) == 12


# ------------------------------------------------------------------ smtplib and curl as senders

def test_smtplib_sends_many_transactions_with_refused_recipients_on_one_connection(senders):
    marker = f"many-{uuid.uuid4().hex}"
    transactions = 20
    with smtplib.SMTP(senders.host, senders.smtp_port, timeout=10) as s:
        for n in range(transactions):
            refused = s.sendmail("list@example.org",
                                 ["bob@localhost", f"gone{n}a@localhost", f"gone{n}b@localhost", f"gone{n}c@localhost",
                                  f"victim{n}@elsewhere.example"],
                                 f"Subject: {n}\r\n\r\n{marker} {n}\r\n")
            assert sorted(code for code, _ in refused.values()) == [550, 550, 550, 550], refused
        assert s.noop()[0] == 250
    stored = messages_with(senders, "bob", marker)
    assert len(stored) == transactions
    text = smtp_log(senders)
    assert re.search(r"Recipient <victim3@elsewhere\.example> refused: 550 5\.7\.1 Relaying denied", text)
    assert marker not in text


def test_curl_upload_with_bare_line_feeds_is_stored_with_crlf(senders, tmp_path):
    need("curl", "curl")
    marker = f"curl-{uuid.uuid4().hex}"
    upload = tmp_path / "message.txt"
    upload.write_bytes(f"Subject: bare LF\nFrom: a@example.org\n\n{marker}\nline two\n.\nafter the dot\n".encode())
    subprocess.run(["curl", "-sS", "--max-time", "30", f"smtp://{senders.host}:{senders.smtp_port}/curl.example",
                    "--mail-from", "a@example.org", "--mail-rcpt", "alice@localhost", "-T", str(upload)],
                   check=True, capture_output=True, timeout=60)
    [stored] = messages_with(senders, "alice", marker)
    raw = stored.read_bytes()
    assert f"Subject: bare LF\r\nFrom: a@example.org\r\n\r\n{marker}\r\nline two\r\n.\r\nafter the dot\r\n".encode() in raw
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert "Bare CR or LF in the message body stored as CRLF" in smtp_log(senders)


# ------------------------------------------------------------------ fetchmail and mpop as readers

def fetchmail(node, work, out, *options):
    rc = work / "fetchmailrc"
    # Clear text on loopback: fetchmail tries STLS unless sslproto is empty (test_tls.py has it upgrade).
    rc.write_text(f"""\
set no syslog
poll {node.host} service {node.pop3_port} protocol pop3 uidl
  user "alice" there with password "{node.users['alice']}" is "root" here
  sslproto ''
  keep
  mda "/bin/sh -c 'cat > {out}/msg.$$'"
""")
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(work), FETCHMAILHOME=str(work))
    return subprocess.run(["fetchmail", "-f", str(rc), "-i", str(work / "fetchids"), "-N", "--nosyslog", *options],
                          env=env, capture_output=True, text=True, timeout=120)


def test_fetchmail_fetches_keeps_by_uidl_then_deletes(fetch_node, tmp_path):
    need("fetchmail", "fetchmail")
    out = tmp_path / "fetched"
    out.mkdir()
    markers = [f"fetchmail-{i}-{uuid.uuid4().hex}" for i in range(3)]
    for m in markers[:2]:
        send(fetch_node, ["alice@localhost"], f"Subject: f\r\n\r\n{m}\r\n")

    first = fetchmail(fetch_node, tmp_path, out)
    assert first.returncode == 0, first.stderr
    assert len(list(out.iterdir())) == 2
    assert len(fetch_node.all_messages("alice")) == 2  # kept

    again = fetchmail(fetch_node, tmp_path, out)
    assert again.returncode == 1, again.stderr  # 1: no new mail, the UIDLs were remembered
    assert len(list(out.iterdir())) == 2

    send(fetch_node, ["alice@localhost"], f"Subject: f\r\n\r\n{markers[2]}\r\n")
    third = fetchmail(fetch_node, tmp_path, out)
    assert third.returncode == 0, third.stderr
    bodies = b"".join(p.read_bytes() for p in out.iterdir())
    assert len(list(out.iterdir())) == 3 and all(m.encode() in bodies for m in markers)

    # --all --nokeep: fetch every message and delete them on the server.
    wiped = fetchmail(fetch_node, tmp_path, out, "--all", "--nokeep")
    assert wiped.returncode == 0, wiped.stderr
    assert fetch_node.all_messages("alice") == []


def mpop(node, work, maildir, *options):
    rc = work / "mpoprc"
    # Clear text on loopback: without TLS mpop refuses USER/PASS unless told auth user (test_tls.py has TLS).
    rc.write_text(f"""\
account default
host {node.host}
port {node.pop3_port}
tls off
auth user
user bob
password {node.users['bob']}
delivery maildir {maildir}
uidls_file {work}/uidls
keep on
""")
    os.chmod(rc, 0o600)
    return subprocess.run(["mpop", "-C", str(rc), "-q", *options], env=dict(os.environ, HOME=str(work)),
                          capture_output=True, text=True, timeout=120)


def test_mpop_fetches_keeps_by_uidl_then_deletes(fetch_node, tmp_path):
    need("mpop", "mpop")
    maildir = tmp_path / "maildir"
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    markers = [f"mpop-{i}-{uuid.uuid4().hex}" for i in range(3)]
    for m in markers[:2]:
        send(fetch_node, ["bob@localhost"], f"Subject: m\r\n\r\n{m}\r\n")

    def delivered():
        return list((maildir / "new").iterdir())

    first = mpop(fetch_node, tmp_path, maildir)
    assert first.returncode == 0, first.stderr
    assert len(delivered()) == 2
    assert len(fetch_node.all_messages("bob")) == 2  # kept

    again = mpop(fetch_node, tmp_path, maildir)
    assert again.returncode == 0, again.stderr
    assert len(delivered()) == 2  # only_new: the UIDLs were remembered

    send(fetch_node, ["bob@localhost"], f"Subject: m\r\n\r\n{markers[2]}\r\n")
    third = mpop(fetch_node, tmp_path, maildir)
    assert third.returncode == 0, third.stderr
    bodies = b"".join(p.read_bytes() for p in delivered())
    assert len(delivered()) == 3 and all(m.encode() in bodies for m in markers)

    wiped = mpop(fetch_node, tmp_path, maildir, "--keep=off")
    assert wiped.returncode == 0, wiped.stderr
    assert fetch_node.all_messages("bob") == []
    assert len(delivered()) == 3  # deleting fetched nothing twice
