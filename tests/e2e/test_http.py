"""The HTTP API of the built node, driven with curl (a real client): mail sent by curl's SMTP,
then listed, read, fetched raw and as an attachment, streamed as events and deleted over HTTP.
Ports 2730-2739 only (the other suites use 2525/2110 and 2650-2729)."""
import email.message
import email.policy
import json
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Node, port_answers

pytestmark = pytest.mark.tools

SMTP_PORT, POP3_PORT, HTTP_PORT = 2730, 2731, 2732
SMTP_ONLY_PORTS = (2733, 2734, 2735)
BASE = f"http://127.0.0.1:{HTTP_PORT}"
ATTACHMENT = bytes(range(256)) * 4
CURL_TIMEOUT_S = 30


def curl(*args, check=True):
    """Runs curl; returns (status code, headers text, body bytes)."""
    with tempfile.NamedTemporaryFile() as headers, tempfile.NamedTemporaryFile() as body:
        result = subprocess.run(["curl", "-sS", "--max-time", str(CURL_TIMEOUT_S), "-D", headers.name, "-o", body.name,
                                 "-w", "%{http_code}", *args], capture_output=True, timeout=CURL_TIMEOUT_S + 10)
        if check:
            assert result.returncode == 0, result.stderr.decode()
        return int(result.stdout or b"0"), open(headers.name, "rb").read().decode("latin-1"), open(body.name, "rb").read()


def api(path, user="alice", password="alice-demo", method="GET"):
    return curl("-u", f"{user}:{password}", "-X", method, BASE + path)


def send(tmp_path, to, subject, html=False, attach=False):
    message = email.message.EmailMessage()
    message["From"] = "Reset Bot <noreply@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Open https://app.test/reset?t=e2e to choose a new password.\n")
    if html:
        message.add_alternative('<p>Open <a href="https://app.test/reset?t=e2e">this link</a>.</p>\n', subtype="html")
    if attach:
        message.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="blob.bin")
    eml = tmp_path / f"{subject.replace(' ', '_')}.eml"
    eml.write_bytes(message.as_bytes(policy=email.policy.SMTP))
    result = subprocess.run(["curl", "-sS", "--max-time", str(CURL_TIMEOUT_S), f"smtp://127.0.0.1:{SMTP_PORT}/e2e.test",
                             "--mail-from", "noreply@example.org", "--mail-rcpt", to, "-T", str(eml)],
                            capture_output=True, timeout=CURL_TIMEOUT_S + 10)
    assert result.returncode == 0, result.stderr.decode()


@pytest.fixture(scope="module")
def node():
    workdir = tempfile.mkdtemp(prefix="actormail-http-")
    n = Node(workdir, smtp_port=SMTP_PORT, pop3_port=POP3_PORT, http_port=HTTP_PORT,
             extra_config="actormail.pop3.auth-failure-delay = 200ms").start()
    try:
        deadline = time.monotonic() + 30
        while curl(BASE + "/readyz", check=False)[0] != 200:
            assert time.monotonic() < deadline, "no /readyz 200 within 30 s"
            time.sleep(0.1)
        yield n
    finally:
        n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_mime_mail_is_listed_read_fetched_and_deleted_with_curl(node, tmp_path):
    send(tmp_path, "alice@localhost", "Password reset", html=True, attach=True)
    status, headers, body = api("/api/v1/mailboxes/alice/messages?q=RESET")
    assert status == 200 and "application/json" in headers
    page = json.loads(body)
    assert page["total"] == 1
    entry = page["messages"][0]
    stored = node.files("alice")
    assert [p.name for p in stored] == [entry["id"]]
    assert entry["from"] == {"name": "Reset Bot", "address": "noreply@example.org"}
    assert entry["hasAttachments"] is True and entry["size"] == stored[0].stat().st_size

    status, _, body = api(f"/api/v1/mailboxes/alice/messages/{entry['id']}")
    detail = json.loads(body)
    assert status == 200 and "https://app.test/reset?t=e2e" in detail["text"]
    assert '<a href="https://app.test/reset?t=e2e">' in detail["html"]
    assert detail["attachments"] == [{"index": 0, "fileName": "blob.bin", "contentType": "application/octet-stream", "size": len(ATTACHMENT)}]

    status, headers, body = api(f"/api/v1/mailboxes/alice/messages/{entry['id']}/attachments/0")
    assert status == 200 and body == ATTACHMENT and "application/octet-stream" in headers
    # Mail is written by strangers: served as a download, never sniffed or run as a page.
    assert "Content-Disposition: attachment" in headers and "X-Content-Type-Options: nosniff" in headers
    assert "Content-Security-Policy: default-src 'none'; sandbox" in headers
    status, headers, body = api(f"/api/v1/mailboxes/alice/messages/{entry['id']}/raw")
    assert status == 200 and "message/rfc822" in headers and body == stored[0].read_bytes()

    assert api(f"/api/v1/mailboxes/alice/messages/{entry['id']}", method="DELETE")[0] == 204
    assert node.all_messages("alice") == []
    assert api(f"/api/v1/mailboxes/alice/messages/{entry['id']}")[0] == 404


def test_credentials_are_required_and_other_mailboxes_are_not_found(node, tmp_path):
    send(tmp_path, "alice@localhost", "private")
    status, headers, _ = curl(BASE + "/api/v1/mailboxes")
    assert status == 401 and 'WWW-Authenticate: Basic realm="ActorMail"' in headers
    assert api("/api/v1/mailboxes", password="wrong")[0] == 401
    assert api("/api/v1/mailboxes/alice/messages", user="bob", password="bob-demo")[0] == 404
    assert api("/api/v1/mailboxes/alice/messages", user="bob", password="bob-demo", method="DELETE")[0] == 404
    assert api("/api/v1/mailboxes/alice/messages/..%2F..%2Fbob")[0] == 404
    assert len(node.all_messages("alice")) == 1
    status, _, body = api("/api/v1/mailboxes", user="bob", password="bob-demo")
    assert status == 200 and [m["name"] for m in json.loads(body)] == ["bob"]
    assert api("/api/v1/mailboxes/alice/messages", method="DELETE")[0] == 204


def test_the_events_stream_reports_a_new_message_to_curl(node, tmp_path):
    stream = subprocess.Popen(["curl", "-sS", "-N", "--max-time", "10", "-u", "bob:bob-demo", BASE + "/api/v1/events"],
                              stdout=subprocess.PIPE)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stream.stdout.readline, b"")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while b": connected\n" not in lines:
            assert time.monotonic() < deadline, "the events stream did not open"
            time.sleep(0.05)
        send(tmp_path, "bob@localhost", "evented")
        while b"event: new\n" not in lines:
            assert time.monotonic() < deadline, f"no new-message event: {lines}"
            time.sleep(0.05)
        data = json.loads(lines[lines.index(b"event: new\n") + 1][len(b"data: "):])
        assert data["mailbox"] == "bob" and data["id"] == node.files("bob")[0].name
    finally:
        stream.kill()
        stream.wait(5)
    assert api("/api/v1/mailboxes/bob/messages", user="bob", password="bob-demo", method="DELETE")[0] == 204


def test_health_metrics_and_openapi_answer_without_credentials(node):
    assert curl(BASE + "/livez")[::2] == (200, b"ok\n")
    assert curl(BASE + "/readyz")[::2] == (200, b"ready\n")
    status, headers, body = curl(BASE + "/metrics")
    assert status == 200 and "text/plain; version=0.0.4" in headers
    text = body.decode()
    assert "actormail_messages_accepted_total " in text and 'actormail_sessions_total{protocol="smtp"} ' in text
    assert 'actormail_signin_failures_total{reason="wrong"} ' in text
    status, _, body = curl(BASE + "/api/openapi.json")
    assert status == 200 and "/api/v1/mailboxes/{name}/messages" in json.loads(body)["paths"]


def test_a_process_with_role_smtp_has_no_http_side(tmp_path):
    smtp, pop3, http = SMTP_ONLY_PORTS
    n = Node(tmp_path, smtp_port=smtp, pop3_port=pop3, role="smtp", http_port=http).start()
    try:
        assert not port_answers("127.0.0.1", http)
    finally:
        n.stop()
