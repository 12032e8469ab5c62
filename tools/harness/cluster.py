"""Several clustered ActorMail nodes over one mail root, and SMTP load with a ledger of what each
message got: shared by tests/e2e/test_cluster.py and tools/cluster_chaos.py.

Eight users (u0..u7, alice's demo password) spread the mailboxes over shards, so that each node
hosts some. A Cluster starts nodes with actormail.cluster on and every port chosen by the system
(the cluster address comes from the ready file); a node starts the cluster when given no seeds.
Nodes bind 127.0.0.1 unless start_node is given another address and a popen that runs the node
where that address is (tools/cluster_netns.py: a network namespace each); the clients connect to
each node's own address."""
import json
import os
import pathlib
import random
import re
import smtplib
import subprocess
import threading
import time
import uuid

from harness.node import NODE_DLL, USERS, Node

MAILBOXES = [f"u{n}" for n in range(8)]
# Every test user signs in with alice's demo password (the same hash line).
PASSWORD = USERS["alice"]
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
    """client_host: the address `actormail cluster` answers on, which the asked node must reach
    (127.0.0.1 unless the nodes live elsewhere)."""

    def __init__(self, workdir, client_host="127.0.0.1"):
        self.workdir = pathlib.Path(workdir)
        self.mail_root = self.workdir / "maildir"
        self.nodes = []
        self.config = users_config()
        self.client_host = client_host

    def start_node(self, name, seeds, host="127.0.0.1", popen=subprocess.Popen, extra_env=None):
        env = {
            "ACTORMAIL_CLUSTER": "on",
            "ACTORMAIL_CLUSTER_HOST": host,
            "ACTORMAIL_CLUSTER_PORT": "0",
            "ACTORMAIL_CLUSTER_SEEDS": ",".join(seeds),
        }
        env.update(extra_env or {})
        node = Node(self.workdir / name, mail_root=self.mail_root, extra_config=self.config, host=host, popen=popen,
                    extra_env=env)
        node.name = name
        return node.start()

    def live(self):
        return [n for n in self.nodes if n.process.poll() is None]

    def report(self, node, mailbox=None):
        command = ["dotnet", str(NODE_DLL), "cluster", "--node", node.cluster_address, "--json"]
        if mailbox:
            command += ["--mailbox", mailbox]
        env = dict(os.environ, ACTORMAIL_CLUSTER_HOST=self.client_host)
        out = subprocess.run(command, capture_output=True, timeout=60, check=True, cwd=str(self.workdir), env=env)
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


def send(port, user, marker, host="127.0.0.1"):
    """One message in its own connection: 'ok' for 250, 'failed' for a 4xx/5xx after DATA, or
    'unknown' when the connection broke or was refused (a node going away)."""
    try:
        with smtplib.SMTP(host, port, timeout=IO_TIMEOUT_S) as client:
            client.sendmail("sender@example.org", [f"{user}@localhost"], message(marker, user))
        return "ok"
    except smtplib.SMTPDataError as e:
        # 421: the node is closing the connection (shutting down), which is no failed delivery.
        return "unknown" if e.smtp_code == 421 else "failed"
    except (smtplib.SMTPException, OSError):
        return "unknown"


class Senders:
    """Client threads (self.threads) that run while the `with` block runs and stop at its end (self.stop)."""

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        for t in self.threads:
            t.join(IO_TIMEOUT_S + 5)


class Load(Senders):
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
            outcome = send(node.smtp_port, user, marker, host=node.host)
            with self.lock:
                self.outcomes[marker] = (outcome, user, node.name)
            if outcome == "unknown":
                time.sleep(0.05)

    def count(self, outcome):
        with self.lock:
            return sum(1 for o, _, _ in self.outcomes.values() if o == outcome)


def tally(load, mail_root):
    """The ledger against the store: markers answered 250 (acknowledged) and, of those, the ones
    missing (lost), stored whole in the wrong mailbox or cut short (misfiled); markers of any
    outcome stored more than once (duplicated); and how many answered 451 were kept anyway."""
    found = stored(mail_root)
    with load.lock:
        outcomes = dict(load.outcomes)
    acknowledged = {m: u for m, (o, u, _) in outcomes.items() if o == "ok"}
    return {
        "acknowledged": len(acknowledged),
        "lost": [m for m in acknowledged if m not in found],
        "duplicated": [m for m, copies in found.items() if len(copies) > 1],
        "misfiled": [m for m, u in acknowledged.items() if len(found.get(m, [])) == 1 and found[m][0] != (u, True)],
        "kept_after_451": sum(1 for m, (o, _, _) in outcomes.items() if o == "failed" and m in found),
    }


def check_ledger(load, mail_root):
    t = tally(load, mail_root)
    problems = ([f"{m}: lost" for m in t["lost"]] + [f"{m}: stored twice or more" for m in t["duplicated"]]
                + [f"{m}: in the wrong mailbox or incomplete" for m in t["misfiled"]])
    assert not problems, problems[:20]
    return t["acknowledged"], t["kept_after_451"]


def served_again(load, node, user, since, bound_s=RECOVERY_BOUND_S):
    """Seconds from `since` (a monotonic time) until a message to `user` through `node` got 250.
    A probe a second, each in its own thread: one sent while the mailbox's home is dead waits (its
    session asks the mailbox again until it is served or the store timeout passes), so the first
    250 to arrive tells when service came back. The probes join the load's ledger."""
    served = []

    def probe():
        marker = f"probe-{uuid.uuid4().hex[:12]}"
        outcome = send(node.smtp_port, user, marker, host=node.host)
        with load.lock:
            load.outcomes[marker] = (outcome, user, node.name)
            if outcome == "ok":
                served.append(time.monotonic() - since)

    probes = []
    while not served:
        if time.monotonic() - since > bound_s:
            raise AssertionError(f"{user} not served through {node.name} within {bound_s} s")
        probes.append(threading.Thread(target=probe, daemon=True))
        probes[-1].start()
        time.sleep(1.0)
    for p in probes:
        p.join(IO_TIMEOUT_S + 5)
    return min(served)
