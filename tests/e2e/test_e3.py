"""E3: send by SMTP, then read and delete by POP3 through the running node; the POP3 errors the brief names."""
import poplib
import socket
import time

import pytest

from conftest import strip_trace
from smtpraw import RawSmtp

pytestmark = pytest.mark.e3

BODY = (b"Subject: e3 round trip\r\n\r\n"
        b"hello from e3\r\n"
        b".a line that starts with a dot\r\n"
        b"..and one with two\r\n")


def send(node, user, body=BODY):
    """A raw session, so the capture shows the commands in upper case (smtplib sends them in lower case)."""
    s = RawSmtp(node.host, node.smtp_port)
    try:
        assert s.reply()[0] == 220
        assert s.cmd("EHLO e3.example")[0] == 250
        assert s.cmd("MAIL FROM:<sender@example.org>")[0] == 250
        assert s.cmd(f"RCPT TO:<{user}@localhost>")[0] == 250
        assert s.cmd("DATA")[0] == 354
        s.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        assert s.reply()[0] == 250
        assert s.cmd("QUIT")[0] == 221
    finally:
        s.close()


def pop(node, user):
    client = poplib.POP3(node.pop3_host, node.pop3_port, timeout=10)
    client.user(user)
    client.pass_(node.users[user])
    return client


def retry(action, timeout=5.0):
    """The lock of a session that just quit is released by its mailbox actor a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except poplib.error_proto as e:
            if b"IN-USE" not in e.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_send_then_list_retr_dele_quit_and_it_is_gone(node):
    send(node, "alice")
    client = retry(lambda: pop(node, "alice"))
    count, _ = client.stat()
    assert count >= 1
    resp, listing, _ = client.list()
    assert resp.startswith(b"+OK") and len(listing) == count
    resp, lines, octets = client.retr(count)
    assert resp.startswith(b"+OK")
    # poplib un-stuffs the lines; the body after the trace headers is what was sent.
    assert strip_trace(b"\r\n".join(lines) + b"\r\n") == BODY
    assert client.dele(count).startswith(b"+OK")
    assert client.quit().startswith(b"+OK")

    again = retry(lambda: pop(node, "alice"))
    assert again.stat()[0] == count - 1
    again.quit()


def test_wrong_password_is_refused_with_auth_code(node):
    client = poplib.POP3(node.pop3_host, node.pop3_port, timeout=10)
    client.user("alice")
    with pytest.raises(poplib.error_proto) as refused:
        client.pass_("not-the-password")
    assert refused.value.args[0].startswith(b"-ERR [AUTH]")
    client.close()


def test_second_session_on_one_mailbox_gets_in_use(node):
    send(node, "bob")
    first = retry(lambda: pop(node, "bob"))
    second = poplib.POP3(node.pop3_host, node.pop3_port, timeout=10)
    second.user("bob")
    with pytest.raises(poplib.error_proto) as refused:
        second.pass_(node.users["bob"])
    assert refused.value.args[0].startswith(b"-ERR [IN-USE]")
    second.close()
    first.quit()


def test_wrong_command_order_in_pop3(node):
    with socket.create_connection((node.pop3_host, node.pop3_port), timeout=10) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        for command, expected in [(b"STAT", b"-ERR"), (b"RETR 1", b"-ERR"), (b"PASS x", b"-ERR Send USER first"),
                                  (b"USER alice", b"+OK"), (b"QUIT", b"+OK")]:
            s.sendall(command + b"\r\n")
            assert f.readline().startswith(expected), command
