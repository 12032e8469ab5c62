"""The node's command line: hash-password, mailboxes, and a clear exit when a port is taken."""
import json
import os
import socket
import subprocess

import pytest

from conftest import NODE_DLL, Node

pytestmark = pytest.mark.tools


def run(args, env=None, stdin=None):
    return subprocess.run(["dotnet", str(NODE_DLL), *args], input=stdin, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_hash_password_prints_a_salted_pbkdf2_line():
    first = run(["hash-password"], stdin="s3cret\n")
    second = run(["hash-password"], stdin="s3cret\n")
    assert first.returncode == 0
    line = first.stdout.strip()
    scheme, iterations, salt, digest = line.split("$")
    assert scheme == "pbkdf2-sha256" and int(iterations) >= 100_000 and salt and digest
    assert "s3cret" not in line
    assert line != second.stdout.strip()


def test_mailboxes_lists_counts_while_the_node_runs(tmp_path):
    node = Node(tmp_path, smtp_port=free_port(), pop3_port=free_port()).start()
    try:
        with socket.create_connection((node.host, node.smtp_port), timeout=10) as s:
            f = s.makefile("rb")
            f.readline()
            for line in [b"HELO cli", b"MAIL FROM:<a@example.org>", b"RCPT TO:<bob@localhost>", b"DATA"]:
                s.sendall(line + b"\r\n")
                f.readline()
            s.sendall(b"Subject: cli\r\n\r\nhello\r\n.\r\nQUIT\r\n")
            assert f.readline().startswith(b"250 2.0.0")
        listing = run(["mailboxes", "--json"], env={"ACTORMAIL_DATA": str(node.mail_root)})
        assert listing.returncode == 0, listing.stderr
        rows = {row["mailbox"]: row for row in json.loads(listing.stdout)}
        assert rows["bob"]["new"] == 1 and rows["bob"]["cur"] == 0
        assert rows["bob"]["octets"] == node.files("bob")[0].stat().st_size
        table = run(["mailboxes"], env={"ACTORMAIL_DATA": str(node.mail_root)})
        assert table.stdout.splitlines()[0].split()[:4] == ["MAILBOX", "NEW", "CUR", "OCTETS"]
    finally:
        node.stop()


def test_port_in_use_gives_one_clear_line_and_exit_2(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run(["serve"], env={"ACTORMAIL_SMTP_PORT": str(port), "ACTORMAIL_POP3_PORT": str(free_port()), "ACTORMAIL_HTTP_PORT": "0",
                                     "ACTORMAIL_DATA": str(tmp_path / "mail"), "ACTORMAIL_LOGS": str(tmp_path / "logs")})
    assert result.returncode == 2
    assert result.stderr.strip() == f"actormail: cannot listen on 127.0.0.1:{port}: address already in use"
    assert "Exception" not in result.stdout + result.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
