"""The node's command line: hash-password, mailboxes, and a clear exit when a port is taken."""
import json
import os
import socket
import subprocess

import pytest

from conftest import NODE_DLL, Node
from harness import wire

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
    node = Node(tmp_path).start()
    try:
        with wire.Client.connect(node.host, node.smtp_port) as s:
            s.reply()
            for line in ["HELO cli", "MAIL FROM:<a@example.org>", "RCPT TO:<bob@localhost>", "DATA"]:
                s.cmd(line)
            s.send(b"Subject: cli\r\n\r\nhello\r\n.\r\nQUIT\r\n")
            assert s.reply()[1][0].startswith(b"250 2.0.0")
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
        result = run(["serve"], env={"ACTORMAIL_SMTP_PORT": str(port), "ACTORMAIL_POP3_PORT": "0", "ACTORMAIL_HTTP_PORT": "0",
                                     "ACTORMAIL_DATA": str(tmp_path / "mail"), "ACTORMAIL_LOGS": str(tmp_path / "logs")})
    assert result.returncode == 2
    assert result.stderr.strip() == f"actormail: cannot listen on 127.0.0.1:{port}: address already in use"
    assert "Exception" not in result.stdout + result.stderr


def test_an_implicit_tls_port_in_use_is_refused_like_the_others(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = tmp_path / "tls.conf"
        config.write_text(f"actormail.tls.smtp-port = {port}\n")
        result = run(["serve", "--config", str(config)],
                     env={"ACTORMAIL_SMTP_PORT": "0", "ACTORMAIL_POP3_PORT": "0", "ACTORMAIL_HTTP_PORT": "0",
                          "ACTORMAIL_DATA": str(tmp_path / "mail"), "ACTORMAIL_LOGS": str(tmp_path / "logs")})
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == f"actormail: cannot listen on 127.0.0.1:{port}: address already in use"
