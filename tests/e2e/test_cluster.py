"""Three clustered node processes on 127.0.0.1 over one mail root (actormail.cluster on, every
port chosen by the system). Each mailbox has one MailboxActor in the whole cluster, so:

- mail sent through each node to the same mailboxes is stored exactly once;
- a POP3 session through node A holds alice's maildrop, and node B answers -ERR [IN-USE];
- SIGKILL of the node hosting some mailboxes while SMTP load runs through all three: the
  survivors serve those mailboxes again within the resolver's time, and every message answered
  250 is in the store exactly once and whole; the killed node then restarts and rejoins while
  the others deliver;
- a graceful leave (SIGTERM) under the same load fails no delivery.

Eight users (u0..u7) spread the mailboxes over shards, so that each node hosts some."""
import json
import pathlib
import poplib
import random
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from conftest import NODE_DLL, USERS as PASSWORDS, Node
from harness import stop_process

pytestmark = pytest.mark.tools

MAILBOXES = [f"u{n}" for n in range(8)]
# Every test user signs in with alice's demo password (the same hash line).
PASSWORD = PASSWORDS["alice"]
FORMED_S = 60.0                 # three nodes up in one cluster
STABLE_AFTER_S = 5              # actormail.cluster.stable-after, as shipped
# From SIGKILL to served again: the failure detector (about 10 s), stable-after, the handover.
RECOVERY_BOUND_S = STABLE_AFTER_S + 40
SENDERS = 6                     # two SMTP clients per node
IO_TIMEOUT_S = 45.0             # above actormail.smtp.store-timeout (30 s)
LOAD_BEFORE_S = 3.0             # load runs this long before the kill or leave
LOAD_AFTER_S = 4.0              # and this long after recovery
MARKER_RE = re.compile(rb"^X-Cluster-Marker: (\S+)\r?$", re.MULTILINE)
BODY_LINES = 40


def users_config():
    hash_line = re.search(r'alice = "([^"]+)"', (pathlib.Path(NODE_DLL).parent / "hocon/actormail.conf").read_text()).group(1)
    entries = "\n".join(f'    {name} = "{hash_line}"' for name in MAILBOXES)
    # Every client connects from 127.0.0.1, one connection per message: no per-address rate limit.
    return (f"actormail {{\n  postmaster = u0\n  smtp.connection-rate-per-address = 0\n"
            f"  users {{\n{entries}\n  }}\n}}\n")


def message(marker, user):
    body = "".join(f"line {i} of {marker}\r\n" for i in range(BODY_LINES))
    return (f"From: sender@example.org\r\nTo: {user}@localhost\r\nSubject: cluster {marker}\r\n"
            f"X-Cluster-Marker: {marker}\r\n\r\n{body}").encode()


def stored(mail_root):
    """marker -> list of (user, complete) for every message file in every mailbox."""
    found = {}
    for user in MAILBOXES:
        for folder in ("new", "cur"):
            d = pathlib.Path(mail_root) / user / folder
            if not d.exists():
                continue
            for path in d.iterdir():
                raw = path.read_bytes()
                for m in MARKER_RE.findall(raw):
                    marker = m.decode()
                    complete = raw.endswith(f"line {BODY_LINES - 1} of {marker}\r\n".encode())
                    found.setdefault(marker, []).append((user, complete))
    return found


class Cluster:
    def __init__(self, workdir):
        self.workdir = pathlib.Path(workdir)
        self.mail_root = self.workdir / "maildir"
        self.nodes = []
        self.config = users_config()

    def start_node(self, name, seeds):
        node = Node(self.workdir / name, mail_root=self.mail_root, extra_config=self.config, extra_env={
            "ACTORMAIL_CLUSTER": "on",
            "ACTORMAIL_CLUSTER_PORT": "0",
            "ACTORMAIL_CLUSTER_SEEDS": ",".join(seeds),
        })
        node.name = name
        return node.start()

    def live(self):
        return [n for n in self.nodes if n.process.poll() is None]

    def report(self, node, mailbox=None):
        command = ["dotnet", str(NODE_DLL), "cluster", "--node", node.cluster_address, "--json"]
        if mailbox:
            command += ["--mailbox", mailbox]
        out = subprocess.run(command, capture_output=True, timeout=60, check=True, cwd=str(self.workdir))
        return json.loads(out.stdout)

    def wait_members_up(self, count, via):
        deadline = time.monotonic() + FORMED_S
        while True:
            try:
                members = self.report(via)["members"]
                if sum(1 for m in members if m["status"] == "Up" and not m["unreachable"]) == count and len(members) == count:
                    return
            except subprocess.CalledProcessError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} members not up within {FORMED_S} s: {[n.output()[-1500:] for n in self.nodes]}")
            time.sleep(0.5)

    def node_at(self, address):
        return next(n for n in self.nodes if address.endswith("@" + n.cluster_address))


@pytest.fixture(scope="module")
def cluster():
    workdir = tempfile.mkdtemp(prefix="actormail-cluster-")
    c = Cluster(workdir)
    try:
        first = c.start_node("a", [])
        c.nodes.append(first)
        c.nodes.append(c.start_node("b", [first.cluster_address]))
        c.nodes.append(c.start_node("c", [first.cluster_address]))
        c.wait_members_up(3, first)
        yield c
    finally:
        for n in c.nodes:
            n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def send(port, user, marker):
    """One message in its own connection: 'ok' for 250, 'failed' for a 4xx/5xx after DATA, or
    'unknown' when the connection broke or was refused (a node going away)."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT_S) as client:
            client.sendmail("sender@example.org", [f"{user}@localhost"], message(marker, user))
        return "ok"
    except smtplib.SMTPDataError as e:
        # 421: the node is closing the connection (shutting down), which is no failed delivery.
        return "unknown" if e.smtp_code == 421 else "failed"
    except (smtplib.SMTPException, OSError):
        return "unknown"


class Load:
    """SMTP clients spread over the live nodes, each sending one message per connection."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = {}       # marker -> (outcome, user)
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(SENDERS)]

    def run(self, i):
        rng = random.Random(i)
        n = 0
        while not self.stop.is_set():
            live = self.cluster.live()
            node = live[i % len(live)] if live else None
            if node is None:
                return
            user = rng.choice(MAILBOXES)
            marker = f"s{i}-{n}-{uuid.uuid4().hex[:12]}"
            n += 1
            outcome = send(node.smtp_port, user, marker)
            with self.lock:
                self.outcomes[marker] = (outcome, user, node.name)
            if outcome == "unknown":
                time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        for t in self.threads:
            t.join(IO_TIMEOUT_S + 5)

    def count(self, outcome):
        with self.lock:
            return sum(1 for o, _, _ in self.outcomes.values() if o == outcome)


def check_ledger(load, mail_root):
    found = stored(mail_root)
    acknowledged = [(m, u) for m, (o, u, _) in load.outcomes.items() if o == "ok"]
    problems = []
    for marker, user in acknowledged:
        copies = found.get(marker, [])
        if len(copies) != 1:
            problems.append(f"{marker}: {len(copies)} copies")
        elif copies[0] != (user, True):
            problems.append(f"{marker}: stored as {copies[0]}, wanted ({user}, complete)")
    for marker, (outcome, _, _) in load.outcomes.items():
        if outcome != "ok" and len(found.get(marker, [])) > 1:
            problems.append(f"{marker} ({outcome}): {len(found[marker])} copies")
    kept_after_451 = sum(1 for m, (o, _, _) in load.outcomes.items() if o == "failed" and m in found)
    assert not problems, problems[:20]
    return len(acknowledged), kept_after_451


def test_deliveries_through_each_node_land_once_and_the_maildrop_lock_holds_cluster_wide(cluster):
    markers = {}
    for node in cluster.nodes:
        for user in MAILBOXES:
            marker = f"each-{node.name}-{user}-{uuid.uuid4().hex[:8]}"
            assert send(node.smtp_port, user, marker) == "ok"
            markers[marker] = user
    found = stored(cluster.mail_root)
    for marker, user in markers.items():
        assert found.get(marker) == [(user, True)], (marker, found.get(marker))

    a, b = cluster.nodes[0], cluster.nodes[1]
    holder = poplib.POP3("127.0.0.1", a.pop3_port, timeout=IO_TIMEOUT_S)
    try:
        holder.user("u1")
        holder.pass_(PASSWORD)
        assert holder.stat()[0] >= len(cluster.nodes)
        other = poplib.POP3("127.0.0.1", b.pop3_port, timeout=IO_TIMEOUT_S)
        try:
            other.user("u1")
            with pytest.raises(poplib.error_proto) as refused:
                other.pass_(PASSWORD)
            assert b"[IN-USE]" in refused.value.args[0]
        finally:
            other.close()
    finally:
        holder.quit()
    # Released at QUIT: node B may now have it.
    again = poplib.POP3("127.0.0.1", b.pop3_port, timeout=IO_TIMEOUT_S)
    again.user("u1")
    again.pass_(PASSWORD)
    again.quit()


def test_a_killed_node_loses_nothing_acknowledged_and_its_mailboxes_are_served_again(cluster):
    seed = cluster.nodes[0]
    # Every mailbox has run (the previous test delivered to each); pick one hosted off the seed,
    # so that the node asked stays up.
    hosts = {user: cluster.report(seed, user)["hostedBy"] for user in MAILBOXES}
    victim_user = next(u for u, h in hosts.items() if h and not h.endswith("@" + seed.cluster_address))
    victim = cluster.node_at(hosts[victim_user])
    survivor = next(n for n in cluster.nodes if n is not victim)
    with Load(cluster) as load:
        time.sleep(LOAD_BEFORE_S)
        killed = time.monotonic()
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(10)
        # A probe a second, each in its own thread: one sent while the mailbox's home is dead
        # waits for the store timeout, so the first that succeeds tells when service came back.
        served = []

        def probe(sent_at):
            marker = f"probe-{uuid.uuid4().hex[:12]}"
            outcome = send(survivor.smtp_port, victim_user, marker)
            with load.lock:
                load.outcomes[marker] = (outcome, victim_user, survivor.name)
                if outcome == "ok":
                    served.append(sent_at - killed)

        probes = []
        while not served:
            assert time.monotonic() - killed < RECOVERY_BOUND_S, f"{victim_user} not served within {RECOVERY_BOUND_S} s"
            probes.append(threading.Thread(target=probe, args=(time.monotonic(),), daemon=True))
            probes[-1].start()
            time.sleep(1.0)
        for p in probes:
            p.join(IO_TIMEOUT_S + 5)
        recovered = min(served)
        time.sleep(LOAD_AFTER_S)
        # The killed node restarts and rejoins while the others deliver; its start-up sweep must
        # leave the others' spool files alone.
        cluster.nodes.remove(victim)
        restarted = cluster.start_node(victim.name + "2", [survivor.cluster_address])
        cluster.nodes.append(restarted)
        cluster.wait_members_up(3, survivor)
        time.sleep(1.0)
    acknowledged, kept_after_451 = check_ledger(load, cluster.mail_root)
    print(f"\n{victim_user} served again {recovered:.1f} s after SIGKILL; {acknowledged} acknowledged, "
          f"{load.count('failed')} answered 451, {load.count('unknown')} broken or refused connections, "
          f"{kept_after_451} of the 451s left a copy")
    assert acknowledged > 0
    assert kept_after_451 == 0


def test_a_graceful_leave_under_load_fails_no_delivery(cluster):
    seed = cluster.nodes[0]
    leaving = next(n for n in cluster.nodes if n is not seed)
    with Load(cluster) as load:
        time.sleep(LOAD_BEFORE_S)
        cluster.nodes.remove(leaving)
        stop_process(leaving.process, signal.SIGTERM, timeout=30)
        time.sleep(LOAD_AFTER_S)
    acknowledged, _ = check_ledger(load, cluster.mail_root)
    print(f"\ngraceful leave: {acknowledged} acknowledged, {load.count('failed')} answered 451, "
          f"{load.count('unknown')} connections closed by the leaving node")
    assert acknowledged > 0
    assert load.count("failed") == 0
