"""STARTTLS, STLS, SMTP AUTH and POP3 AUTH PLAIN against real clients over loopback: swaks, curl,
openssl s_client, fetchmail and mpop (each with its default settings but the certificate check
relaxed, as the node's certificate is self-signed), and raw sockets for what no client does on
purpose: commands smuggled behind STARTTLS, a stalled handshake, AUTH where clear text is not
allowed. Two nodes on ports the system chooses: one with the shipped settings, one that allows no
clear-text password and gives a handshake one second."""
import base64
import hashlib
import pathlib
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid

import pytest

from harness import Node, wire

pytestmark = pytest.mark.tools

ALICE = ("alice", "alice-demo")
WRONG = "wrong-password-7f3a"
TIMEOUT = 60


def need(tool, package):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: run tools/install-deps.sh (Debian package {package})")


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def tls_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def upgrade(client):
    """Wraps the client's socket in TLS once STARTTLS or STLS has been answered; nothing the server
    sent after that answer may be waiting."""
    assert client._buf[client._pos:] == b"", f"octets after the upgrade reply: {bytes(client._buf[client._pos:])!r}"
    client.sock = tls_context().wrap_socket(client.sock)
    return client


def start(extra_config=""):
    node = Node(tempfile.mkdtemp(prefix="actormail-tls-"), extra_config=extra_config)
    return node.start()


@pytest.fixture(scope="module")
def node():
    n = start()
    yield n
    n.stop()
    shutil.rmtree(n.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def strict():
    """No password in clear, a one-second handshake, and the implicit-TLS ports (RFC 8314)."""
    # Port 0: the system chooses, and the ready file says which (smtps_port, pop3s_port).
    n = start("actormail.auth.clear-text = never\nactormail.tls.handshake-timeout = 1s\n"
              "actormail.tls.smtp-port = 0\nactormail.tls.pop3-port = 0\n")
    assert n.smtps_port and n.pop3s_port and n.smtps_port != n.pop3s_port
    yield n
    n.stop()
    shutil.rmtree(n.workdir, ignore_errors=True)


def logs(node):
    return "".join(p.read_text(errors="replace") for p in sorted(node.log_dir.glob("*.log")))


def run(command, **options):
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, **options)


def deliver(node, user, marker):
    with wire.Client.connect(node.host, node.smtp_port, text=True) as c:
        assert c.reply()[0] == 220
        for line in ("EHLO client.test", "MAIL FROM:<a@example.org>", f"RCPT TO:<{user}@localhost>"):
            assert c.cmd(line)[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(f"Subject: {marker}\r\n\r\n{marker}\r\n.\r\n".encode())
        assert c.reply()[0] == 250


def stored_with(node, user, marker):
    return [p for p in node.all_messages(user) if marker.encode() in p.read_bytes()]


def wait_stored(node, user, marker, count=1):
    deadline = time.monotonic() + 10
    while len(stored_with(node, user, marker)) < count:
        assert time.monotonic() < deadline, f"{marker} not stored for {user}"
        time.sleep(0.05)


# ------------------------------------------------------------------ real clients

@pytest.mark.parametrize("auth", [None, "PLAIN", "LOGIN"])
def test_swaks_sends_over_starttls_with_and_without_auth(node, auth):
    need("swaks", "swaks")
    marker = f"swaks-{auth}-{uuid.uuid4().hex}"
    command = ["swaks", "--server", f"{node.host}:{node.smtp_port}", "--tls", "--to", "alice@localhost",
               "--from", "sender@example.org", "--header", f"Subject: {marker}", "--body", marker]
    if auth:
        command += ["--auth", auth, "--auth-user", ALICE[0], "--auth-password", ALICE[1]]
    result = run(command)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<-  220 2.0.0 Ready to start TLS" in result.stdout
    assert "<~  250 2.0.0 OK: queued as" in result.stdout
    if auth:
        assert "<~  235 2.7.0 Authentication successful" in result.stdout
    wait_stored(node, "alice", marker)


def test_curl_requires_tls_for_smtp_and_signs_in(node, tmp_path):
    need("curl", "curl")
    marker = f"curl-smtp-{uuid.uuid4().hex}"
    message = tmp_path / "msg.eml"
    message.write_text(f"Subject: {marker}\r\n\r\n{marker}\r\n")
    result = run(["curl", "-sS", "--ssl-reqd", "-k", f"smtp://{node.host}:{node.smtp_port}/client.example",
                  "--user", f"{ALICE[0]}:{ALICE[1]}", "--mail-from", "sender@example.org",
                  "--mail-rcpt", "alice@localhost", "-T", str(message)])
    assert result.returncode == 0, result.stderr
    wait_stored(node, "alice", marker)


def test_curl_requires_tls_for_pop3_and_lists_through_sasl_plain(node):
    need("curl", "curl")
    marker = f"curl-pop3-{uuid.uuid4().hex}"
    deliver(node, "bob", marker)
    result = run(["curl", "-sS", "--ssl-reqd", "-k", "-v", f"pop3://{node.host}:{node.pop3_port}/",
                  "--user", "bob:bob-demo"])
    assert result.returncode == 0, result.stderr
    assert "STLS" in result.stderr and "AUTH PLAIN" in result.stderr
    assert len(result.stdout.splitlines()) == len(node.all_messages("bob"))


@pytest.mark.parametrize("protocol, script, expect", [
    ("smtp", "EHLO client.test\nQUIT\n", ["250-PIPELINING", "AUTH PLAIN LOGIN", "221 2.0.0 Bye"]),
    ("pop3", "CAPA\nQUIT\n", ["SASL PLAIN", "USER", "+OK ActorMail POP3 server signing off"]),
])
def test_openssl_s_client_starts_tls(node, protocol, script, expect):
    need("openssl", "openssl")
    port = node.smtp_port if protocol == "smtp" else node.pop3_port
    result = run(["openssl", "s_client", "-starttls", protocol, "-connect", f"{node.host}:{port}",
                  "-crlf", "-quiet"], input=script)
    # -quiet reads until the server closes, which it does after QUIT.
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for text in expect:
        assert text in output, output
    # Over TLS the upgrade is not offered again.
    assert "STARTTLS" not in result.stdout and "STLS" not in result.stdout


def test_curl_over_implicit_tls_ports(strict, tmp_path):
    need("curl", "curl")
    marker = f"curl-smtps-{uuid.uuid4().hex}"
    message = tmp_path / "msg.eml"
    message.write_text(f"Subject: {marker}\r\n\r\n{marker}\r\n")
    deadline = time.monotonic() + 10
    while True:
        sent = run(["curl", "-sS", "-k", f"smtps://{strict.host}:{strict.smtps_port}/client.example",
                    "--user", f"{ALICE[0]}:{ALICE[1]}", "--mail-from", "sender@example.org",
                    "--mail-rcpt", "alice@localhost", "-T", str(message)])
        # The implicit-TLS listeners bind beside the ones the ready file waits for.
        if sent.returncode != 7 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sent.returncode == 0, sent.stderr
    wait_stored(strict, "alice", marker)
    listed = run(["curl", "-sS", "-k", f"pop3s://{strict.host}:{strict.pop3s_port}/", "--user", f"{ALICE[0]}:{ALICE[1]}"])
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == len(strict.all_messages("alice"))


def test_fetchmail_with_its_defaults_fetches_over_stls_and_deletes(node, tmp_path):
    need("fetchmail", "fetchmail")
    marker = f"fetchmail-{uuid.uuid4().hex}"
    deliver(node, "bob", marker)
    out = tmp_path / "fetched"
    out.mkdir()
    rc = tmp_path / "fetchmailrc"
    # Defaults but the certificate check, which a self-signed certificate cannot pass.
    rc.write_text(f"""\
set no syslog
poll {node.host} service {node.pop3_port} protocol pop3
  user "bob" there with password "bob-demo" is "root" here
  no sslcertck
  mda "/bin/sh -c 'cat > {out}/msg.$$'"
""")
    rc.chmod(0o600)
    env = {"HOME": str(tmp_path), "FETCHMAILHOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = run(["fetchmail", "-f", str(rc), "-v", "--nosyslog"], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "STLS" in result.stdout + result.stderr
    assert any(marker.encode() in p.read_bytes() for p in out.iterdir())
    assert node.all_messages("bob") == []


def test_mpop_with_its_defaults_fetches_over_stls_and_deletes(node, tmp_path):
    need("mpop", "mpop")
    marker = f"mpop-{uuid.uuid4().hex}"
    deliver(node, "alice", marker)
    maildir = tmp_path / "maildir"
    for folder in ("new", "cur", "tmp"):
        (maildir / folder).mkdir(parents=True)
    rc = tmp_path / "mpoprc"
    # Defaults (STARTTLS, authentication chosen automatically, messages deleted) but the
    # certificate check, and TLS switched on: mpop leaves it off until told, and then refuses to
    # send a password at all.
    rc.write_text(f"""\
account default
host {node.host}
port {node.pop3_port}
tls on
tls_certcheck off
user alice
password {ALICE[1]}
delivery maildir {maildir}
uidls_file {tmp_path}/uidls
""")
    rc.chmod(0o600)
    result = run(["mpop", "-C", str(rc), "-q"], env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(marker.encode() in p.read_bytes() for p in (maildir / "new").iterdir())
    assert node.all_messages("alice") == []


# ------------------------------------------------------------------ what no client does on purpose

@pytest.mark.parametrize("smuggled", [b"RSET\r\n", b"NOOP\r\n", b"MAIL FROM:<evil@example.org>\r\n",
                                      b"RSET\r\nNOOP\r\nMAIL FROM:<evil@example.org>\r\n"])
def test_nothing_sent_behind_starttls_in_its_segment_is_answered_after_the_upgrade(node, smuggled):
    with wire.Client.connect(node.host, node.smtp_port, text=True) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        c.send(b"STARTTLS\r\n" + smuggled)
        assert c.reply() == (220, ["220 2.0.0 Ready to start TLS"])
        upgrade(c)
        assert c.nothing_within(0.5)
        # Everything before the handshake is forgotten: EHLO again, and no MAIL was kept.
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 503
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("RCPT TO:<alice@localhost>")[0] == 503
        assert c.cmd("QUIT")[0] == 221


def test_nothing_sent_behind_stls_in_its_segment_is_answered_after_the_upgrade(node):
    with wire.Client.connect(node.host, node.pop3_port, protocol="pop3", text=True) as c:
        assert c.reply().startswith("+OK")
        c.send(b"STLS\r\nUSER alice\r\nNOOP\r\n")
        assert c.reply() == "+OK Begin TLS negotiation"
        upgrade(c)
        assert c.nothing_within(0.5)
        assert c.cmd(f"PASS {ALICE[1]}") == "-ERR Send USER first"
        assert c.cmd("QUIT").startswith("+OK")


def test_clear_text_where_a_handshake_is_expected_closes_the_session(node):
    with wire.Client.connect(node.host, node.smtp_port, text=True) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        c.send("RSET")
        assert c.wait_closed(5)
    assert b"250" not in bytes(c._buf[c._pos:])


def test_auth_is_refused_before_tls_where_clear_text_is_not_allowed(strict):
    with wire.Client.connect(strict.host, strict.smtp_port, text=True) as c:
        assert c.reply()[0] == 220
        code, lines = c.cmd("EHLO client.test")
        assert "250-STARTTLS" in lines and not any("AUTH" in line for line in lines)
        assert c.cmd(f"AUTH PLAIN {plain(*ALICE)}") == (538, ["538 5.7.11 Encryption required for requested authentication mechanism"])
        assert c.cmd("STARTTLS")[0] == 220
        upgrade(c)
        code, lines = c.cmd("EHLO client.test")
        assert "250-AUTH PLAIN LOGIN" in lines and "250-STARTTLS" not in lines
        assert c.cmd(f"AUTH PLAIN {plain(*ALICE)}") == (235, ["235 2.7.0 Authentication successful"])

    with wire.Client.connect(strict.host, strict.pop3_port, protocol="pop3", text=True) as c:
        assert c.reply().startswith("+OK")
        assert c.cmd("CAPA").startswith("+OK")
        capabilities = c.multiline()
        assert "STLS" in capabilities and "USER" not in capabilities and "SASL PLAIN" not in capabilities
        assert c.cmd("USER alice").startswith("-ERR [AUTH]")
        assert c.cmd("STLS") == "+OK Begin TLS negotiation"
        upgrade(c)
        assert c.cmd(f"AUTH PLAIN {plain(*ALICE)}").startswith("+OK Maildrop has")


def test_bad_credentials_are_delayed_counted_and_never_logged(node):
    with wire.Client.connect(node.host, node.smtp_port, text=True) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        upgrade(c)
        assert c.cmd("EHLO client.test")[0] == 250
        began = time.monotonic()
        assert c.cmd(f"AUTH PLAIN {plain('alice', WRONG)}") == (535, ["535 5.7.8 Authentication credentials invalid"])
        assert time.monotonic() - began >= 0.9
        assert c.cmd("AUTH LOGIN")[0] == 334
        assert c.cmd(base64.b64encode(b"alice").decode())[0] == 334
        assert c.cmd(base64.b64encode(WRONG.encode()).decode())[0] == 535
        assert c.cmd(f"AUTH PLAIN {plain(*ALICE)}")[0] == 235
    deadline = time.monotonic() + 5
    # The log files are flushed every actormail.log-flush-interval, each on its own.
    while logs(node).count("Password check failed for alice") < 2 or "alice authenticated" not in logs(node):
        assert time.monotonic() < deadline, "the failed checks and the sign-in were not logged"
        time.sleep(0.1)
    text = logs(node) + node.output()
    for secret in (WRONG, ALICE[1], "bob-demo", plain(*ALICE), plain("alice", WRONG),
                   base64.b64encode(WRONG.encode()).decode(), plain("bob", "bob-demo")):
        assert secret not in text
    assert "alice authenticated" in text


def test_a_stalled_handshake_meets_its_timeout(strict):
    with wire.Client.connect(strict.host, strict.smtp_port, text=True) as c:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        began = time.monotonic()
        assert c.wait_closed(10)
        assert time.monotonic() - began < 5
    deadline = time.monotonic() + 5
    while "TLS handshake failed: timed out" not in logs(strict):
        assert time.monotonic() < deadline, "the timeout was not logged"
        time.sleep(0.1)


def test_a_handshake_that_drips_meets_the_same_timeout(strict):
    """A client that keeps sending, a byte of its ClientHello at a time, gets no more time than
    one that sends nothing: the handshake timeout is a deadline, not an idle timer."""
    hello = ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), hello, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    client_hello = hello.read()
    assert len(client_hello) > 100
    with socket.create_connection((strict.host, strict.smtps_port), timeout=10) as s:
        began = time.monotonic()
        closed = False
        for b in client_hello:
            try:
                s.sendall(bytes([b]))
            except OSError:
                closed = True
                break
            s.settimeout(0.25)
            try:
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except OSError:
                closed = True
                break
            assert time.monotonic() - began < 5, "still open 5 s into a 1 s handshake timeout"
        assert closed, "the whole ClientHello was sent one byte at a time and the connection stayed open"
        assert time.monotonic() - began < 5


def test_the_generated_certificate_is_kept_under_the_mail_root_and_its_fingerprint_logged(node):
    pem = node.mail_root / ".tls" / "generated.pem"
    assert pem.exists() and pem.stat().st_mode & 0o077 == 0
    text = pem.read_text()
    der = ssl.PEM_cert_to_DER_cert(text[text.index("-----BEGIN CERTIFICATE-----"):])
    fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    assert fingerprint in logs(node)


def rss_kib(node):
    for line in pathlib.Path(f"/proc/{node.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def starttls_sessions(node, count, first_source):
    """count STARTTLS sessions in a row (EHLO, STARTTLS, handshake, QUIT), from 100 sessions per
    loopback address so that no address meets the connection rate limit."""
    context = tls_context()
    for i in range(count):
        source = f"127.0.{first_source + i // 100}.1"
        with socket.create_connection((node.host, node.smtp_port), timeout=10, source_address=(source, 0)) as raw:
            c = wire.Client(raw, text=True)
            assert c.reply()[0] == 220
            assert c.cmd("EHLO load.test")[0] == 250
            assert c.cmd("STARTTLS")[0] == 220
            c.sock = context.wrap_socket(raw)
            assert c.cmd("QUIT")[0] == 221


def test_a_thousand_handshakes_in_a_row_leave_memory_flat(node):
    starttls_sessions(node, 500, first_source=10)
    before = rss_kib(node)
    started = time.monotonic()
    starttls_sessions(node, 1000, first_source=20)
    elapsed = time.monotonic() - started
    after = rss_kib(node)
    # A session that kept its SslStream, buffers or certificate context would add tens of KiB each.
    assert after - before < 32 * 1024, f"RSS {before} KiB -> {after} KiB over 1000 TLS sessions ({elapsed:.1f} s)"
