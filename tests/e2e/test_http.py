"""The HTTP API of the built node, driven with curl and swaks (real clients): mail sent by curl's
SMTP, then listed, read, fetched raw and as an attachment, waited for, streamed as events and
deleted over HTTP; and the README's walkthrough, run as written but on ports the system chose.
Every node here is a harness.Node on ports the system chooses, read back from its ready file."""
import email.message
import email.policy
import json
import pathlib
import shlex
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Node, port_answers
from harness import free_port

pytestmark = pytest.mark.tools

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
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


def base(node):
    return f"http://127.0.0.1:{node.http_port}"


def api(node, path, user="alice", password="alice-demo", method="GET"):
    return curl("-u", f"{user}:{password}", "-X", method, base(node) + path)


def send(node, tmp_path, to, subject, html=False, attach=False):
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
    result = subprocess.run(["curl", "-sS", "--max-time", str(CURL_TIMEOUT_S), f"smtp://127.0.0.1:{node.smtp_port}/e2e.test",
                             "--mail-from", "noreply@example.org", "--mail-rcpt", to, "-T", str(eml)],
                            capture_output=True, timeout=CURL_TIMEOUT_S + 10)
    assert result.returncode == 0, result.stderr.decode()


@pytest.fixture(scope="module")
def node():
    workdir = tempfile.mkdtemp(prefix="actormail-http-")
    n = Node(workdir, extra_config="actormail.pop3.auth-failure-delay = 200ms").start()
    try:
        yield n
    finally:
        n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_mime_mail_is_listed_read_fetched_and_deleted_with_curl(node, tmp_path):
    send(node, tmp_path, "alice@localhost", "Password reset", html=True, attach=True)
    status, headers, body = api(node, "/api/v1/mailboxes/alice/messages?q=RESET")
    assert status == 200 and "application/json" in headers
    page = json.loads(body)
    assert page["total"] == 1
    entry = page["messages"][0]
    stored = node.files("alice")
    assert [p.name for p in stored] == [entry["id"]]
    assert entry["from"] == {"name": "Reset Bot", "address": "noreply@example.org"}
    assert entry["hasAttachments"] is True and entry["size"] == stored[0].stat().st_size

    status, _, body = api(node, f"/api/v1/mailboxes/alice/messages/{entry['id']}")
    detail = json.loads(body)
    assert status == 200 and "https://app.test/reset?t=e2e" in detail["text"]
    assert '<a href="https://app.test/reset?t=e2e">' in detail["html"]
    assert detail["attachments"] == [{"index": 0, "fileName": "blob.bin", "contentType": "application/octet-stream", "size": len(ATTACHMENT)}]

    status, headers, body = api(node, f"/api/v1/mailboxes/alice/messages/{entry['id']}/attachments/0")
    assert status == 200 and body == ATTACHMENT and "application/octet-stream" in headers
    # Mail is written by strangers: served as a download, never sniffed or run as a page.
    assert "Content-Disposition: attachment" in headers and "X-Content-Type-Options: nosniff" in headers
    assert "Content-Security-Policy: default-src 'none'; sandbox" in headers
    status, headers, body = api(node, f"/api/v1/mailboxes/alice/messages/{entry['id']}/raw")
    assert status == 200 and "message/rfc822" in headers and body == stored[0].read_bytes()

    assert api(node, f"/api/v1/mailboxes/alice/messages/{entry['id']}", method="DELETE")[0] == 204
    assert node.all_messages("alice") == []
    assert api(node, f"/api/v1/mailboxes/alice/messages/{entry['id']}")[0] == 404


def test_credentials_are_required_and_other_mailboxes_are_not_found(node, tmp_path):
    send(node, tmp_path, "alice@localhost", "private")
    status, headers, _ = curl(base(node) + "/api/v1/mailboxes")
    assert status == 401 and 'WWW-Authenticate: Basic realm="ActorMail"' in headers
    assert api(node, "/api/v1/mailboxes", password="wrong")[0] == 401
    assert api(node, "/api/v1/mailboxes/alice/messages", user="bob", password="bob-demo")[0] == 404
    assert api(node, "/api/v1/mailboxes/alice/messages", user="bob", password="bob-demo", method="DELETE")[0] == 404
    assert api(node, "/api/v1/mailboxes/alice/messages/..%2F..%2Fbob")[0] == 404
    assert len(node.all_messages("alice")) == 1
    status, _, body = api(node, "/api/v1/mailboxes", user="bob", password="bob-demo")
    assert status == 200 and [m["name"] for m in json.loads(body)] == ["bob"]
    assert api(node, "/api/v1/mailboxes/alice/messages", method="DELETE")[0] == 204


def test_the_events_stream_reports_a_new_message_to_curl(node, tmp_path):
    stream = subprocess.Popen(["curl", "-sS", "-N", "--max-time", "10", "-u", "bob:bob-demo", base(node) + "/api/v1/events"],
                              stdout=subprocess.PIPE)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stream.stdout.readline, b"")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while b": connected\n" not in lines:
            assert time.monotonic() < deadline, "the events stream did not open"
            time.sleep(0.05)
        send(node, tmp_path, "bob@localhost", "evented")
        while b"event: delivered\n" not in lines:
            assert time.monotonic() < deadline, f"no delivered event: {lines}"
            time.sleep(0.05)
        data = json.loads(lines[lines.index(b"event: delivered\n") + 1][len(b"data: "):])
        assert data["mailbox"] == "bob" and data["id"] == node.files("bob")[0].name
    finally:
        stream.kill()
        stream.wait(5)
    assert api(node, "/api/v1/mailboxes/bob/messages", user="bob", password="bob-demo", method="DELETE")[0] == 204


def test_health_metrics_and_openapi_answer_without_credentials(node):
    assert curl(base(node) + "/healthz")[::2] == (200, b"ok\n")
    assert curl(base(node) + "/livez")[::2] == (200, b"ok\n")
    assert curl(base(node) + "/readyz")[::2] == (200, b"ready\n")
    status, headers, body = curl(base(node) + "/metrics")
    assert status == 200 and "text/plain; version=0.0.4" in headers
    text = body.decode()
    assert "actormail_messages_accepted_total " in text and 'actormail_sessions_total{protocol="smtp"} ' in text
    assert 'actormail_signin_failures_total{reason="wrong"} ' in text
    status, _, body = curl(base(node) + "/api/openapi.json")
    assert status == 200 and "/api/v1/mailboxes/{name}/messages" in json.loads(body)["paths"]


def test_a_process_with_role_smtp_has_no_http_side(tmp_path):
    http = free_port()
    n = Node(tmp_path, role="smtp", http_port=http).start()
    try:
        assert n.ready["http"] is None and not port_answers("127.0.0.1", http)
    finally:
        n.stop()


def test_wait_answers_curl_with_the_message_that_arrives_after_it_asked(node, tmp_path):
    result = {}
    waiter = threading.Thread(target=lambda: result.update(answer=api(node, "/api/v1/mailboxes/bob/wait?q=arrives+later&timeout=30",
                                                                      user="bob", password="bob-demo")))
    waiter.start()
    deadline = time.monotonic() + 20
    while b'actormail_http_waiting 1\n' not in curl(base(node) + "/metrics")[2]:
        assert time.monotonic() < deadline, "the wait request never started waiting"
        time.sleep(0.05)
    send(node, tmp_path, "bob@localhost", "unrelated")
    send(node, tmp_path, "bob@localhost", "It arrives later")
    waiter.join(CURL_TIMEOUT_S + 10)
    status, headers, body = result["answer"]
    assert status == 200 and "application/json" in headers
    assert json.loads(body)["subject"] == "It arrives later"
    status, headers, body = api(node, "/api/v1/mailboxes/bob/wait?q=never-sent&timeout=1", user="bob", password="bob-demo")
    assert status == 408 and "application/problem+json" in headers and json.loads(body)["detail"]
    assert api(node, "/api/v1/mailboxes/bob/messages", user="bob", password="bob-demo", method="DELETE")[0] == 204


def readme_walkthrough():
    """The commands the README's HTTP API section gives a new user: swaks to send (continuation
    lines joined), then curl to list alice's messages."""
    section = README.read_text().split("## HTTP API", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    commands = [c.split("  #", 1)[0].strip() for c in block.replace("\\\n", " ").splitlines()]
    swaks = next(c for c in commands if c.startswith("swaks "))
    listing = next(c for c in commands if c.startswith("curl ") and c.endswith("/api/v1/mailboxes/alice/messages"))
    return [c for c in commands if c.startswith("make ")], shlex.split(swaks), shlex.split(listing)


def test_the_readme_walkthrough_works_as_a_new_user_would_run_it(tmp_path):
    make, swaks, listing = readme_walkthrough()
    assert make == ["make run"]
    assert "127.0.0.1:2525" in swaks and "http://127.0.0.1:8025/api/v1/mailboxes/alice/messages" in listing
    assert listing[:3] == ["curl", "-u", "alice:alice-demo"]
    # As make run starts it (the shipped demo configuration, nothing added), on ports the system chose.
    n = Node(tmp_path).start()
    try:
        sent = subprocess.run([a.replace("127.0.0.1:2525", f"127.0.0.1:{n.smtp_port}") for a in swaks],
                              capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0 and "250 2.0.0" in sent.stdout, sent.stdout + sent.stderr
        subject = next(a for a in swaks if a.startswith("Subject: "))[len("Subject: "):]
        shown = subprocess.run([a.replace("127.0.0.1:8025", f"127.0.0.1:{n.http_port}") for a in listing],
                               capture_output=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        page = json.loads(shown.stdout)
        assert page["total"] == 1 and page["messages"][0]["subject"] == subject
        assert page["messages"][0]["id"] == n.files("alice")[0].name
    finally:
        n.stop()
