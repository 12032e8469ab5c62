"""make cluster-netns: three clustered nodes in three network namespaces of their own on one
bridge, and one node's link cut while SMTP load runs through all three.

    am-<pid>-a   eth0 10.231.0.1 --+
    am-<pid>-b   eth0 10.231.0.2 --+-- br0 10.231.0.254   am-<pid>-lan: the bridge and the clients
    am-<pid>-c   eth0 10.231.0.3 --+

10.231.0.0/24 exists only inside these four namespaces. The bridge lives in the fourth one, not in
the root namespace: the run then adds nothing at all to the machine's own network (no bridge, no
veth end, no address, no route), two runs at once cannot collide on a name or an address, and
deleting the four namespaces takes everything away. The SMTP load, the probes and `actormail
cluster` run in the bridge's namespace too (this process's threads enter it with setns(2)), and a
"minority-side" client runs inside the cut node's own namespace, where the node can still be
reached after the cut: it shows the node stop serving.

The nodes are the built node (make build), each started with `ip netns exec NS dotnet ...` over
one mail root on this machine, clustering on, binding its namespace's address. Each round (--cut;
by default the youngest node, then the oldest, which hosts the shard coordinator):
  1. SMTP load through every live node; after a few seconds the cut node's bridge port goes down;
  2. the cut node is on the minority side of keep-majority: its own resolver downs it, it stops
     accepting and must exit with status 3. The majority downs it too and takes its mailboxes
     over: the seconds from the cut to a 250 through a survivor for a mailbox it hosted;
  3. the link comes up again; the node restarts in its namespace and rejoins.
At the end, the ledger (every 250 present exactly once, whole, in its mailbox; POP3 STAT of every
mailbox through the cluster equals the files on disk) and one writer per mailbox at any time,
shown two ways that check each other:
  - each node process's node.log says "Mailbox {Mailbox} now served by this node" and "no longer
    served": intervals per process and mailbox, and no two processes' intervals of one mailbox
    may overlap (an interval still open when its process ended closes at that moment);
  - each node runs at log level Debug, where its mailboxes log "Linked {FileName} into {Mailbox}"
    for every file they link: every file on disk must have such a line (a file linked by a
    writer that logged nothing would not), and each line must lie inside its own process's
    serving interval of that mailbox. The file's name cannot tell: it carries the PID of the node
    whose SMTP session named it, which may be any node.

Whatever happens, `finally` stops the node processes by PID and deletes the namespaces (which
takes the bridge and the veths with them) and the temporary folder, then compares `ip -br link`,
`ip -br addr` and `ip netns list` with what they were. The summary goes to standard output (and
JSON to --figures); the exit status is 1 on any violation. Needs root.

    PYTHONPATH=tools /usr/bin/python3 tools/cluster_netns.py [--cut c,a] [--figures FILE]
"""
import argparse
import concurrent.futures
import contextlib
import ctypes
import datetime
import json
import os
import pathlib
import poplib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from harness import NODE_DLL, json_lines, stop_process
from harness.cluster import (IO_TIMEOUT_S, LOAD_AFTER_S, LOAD_BEFORE_S, MAILBOXES, PASSWORD, Cluster,
                             Load, Senders, send, served_again, tally)

SUBNET = "10.231.0"
ADDRESSES = {"a": f"{SUBNET}.1", "b": f"{SUBNET}.2", "c": f"{SUBNET}.3"}
CLIENT = f"{SUBNET}.254"
# The downed node exits with this status (Akka's choice for ClusterDowningReason, Program.cs).
DOWNED_EXIT = 3
# From the cut to the minority node's exit: the failure detector, stable-after, coordinated shutdown.
EXIT_BOUND_S = 60.0
NODE_ENV = {
    # Serilog's compact JSON carries timestamps to 100 ns in UTC: the intervals compare across processes.
    "ACTORMAIL_LOG_FORMAT": "json",
    # POP3 signs in from another address than loopback.
    "ACTORMAIL_AUTH_CLEAR_TEXT": "always",
    # dotnet wants a home folder; a shell started by sudo or cron may have none.
    "HOME": os.environ.get("HOME", "/root"),
    "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
}
SERVED = "Mailbox {Mailbox} now served by this node"
UNSERVED_PREFIX = "Mailbox {Mailbox} no longer served"
DOWNED_PREFIX = "This node {Member} was downed"
LINKED = "Linked {FileName} into {Mailbox}"
# Every Debug line of a run (Akka's own too) fits the shipped 64 MiB x 8 log files.
DEBUG_CONFIG = "actormail.log-level = Debug\n"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
STARTED = time.monotonic()


def say(text):
    print(f"[{time.monotonic() - STARTED:6.1f} s] {text}", flush=True)


def ip(*args, check=True):
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def inside(namespace):
    """Runs the calling thread in a network namespace, and the threads and processes it starts
    meanwhile (they inherit it); back where it was afterwards. A network namespace belongs to a
    thread, not to the process, so other threads are not moved."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        enter(target)
        try:
            yield
        finally:
            enter(home)
    finally:
        os.close(target)
        os.close(home)


def enter(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


class Lab:
    """The four namespaces, the bridge and the veth pairs; everything lives inside the namespaces."""

    def __init__(self, prefix):
        self.lan = f"{prefix}-lan"
        self.namespaces = {name: f"{prefix}-{name}" for name in ADDRESSES}
        self.made = []

    def build(self):
        self.add(self.lan)
        ip("-n", self.lan, "link", "set", "lo", "up")
        ip("-n", self.lan, "link", "add", "br0", "type", "bridge")
        ip("-n", self.lan, "addr", "add", f"{CLIENT}/24", "dev", "br0")
        ip("-n", self.lan, "link", "set", "br0", "up")
        for name, ns in self.namespaces.items():
            self.add(ns)
            ip("-n", ns, "link", "set", "lo", "up")
            # Made in the bridge's namespace with its other end straight in the node's: no
            # interface ever appears in the root namespace, not even for a moment.
            ip("-n", self.lan, "link", "add", self.port(name), "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", self.lan, "link", "set", self.port(name), "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{ADDRESSES[name]}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    def add(self, ns):
        ip("netns", "add", ns)
        self.made.append(ns)

    @staticmethod
    def port(name):
        return f"port-{name}"

    def cut(self, name):
        ip("-n", self.lan, "link", "set", self.port(name), "down")

    def mend(self, name):
        ip("-n", self.lan, "link", "set", self.port(name), "up")

    def popen(self, name):
        """A Popen that runs the command in the node's namespace. `ip netns exec` execs the command
        in place, so the PID is the node's own (harness.Node checks it against the ready file)."""
        ns = self.namespaces[name]

        def run(command, **kwargs):
            return subprocess.Popen(["ip", "netns", "exec", ns, *command], **kwargs)

        return run

    def remove(self):
        """Deletes the namespaces, the bridge's last: a deleted namespace takes its interfaces with it."""
        problems = []
        for ns in reversed(self.made):
            done = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True, timeout=30)
            if done.returncode != 0:
                problems.append(f"ip netns del {ns}: {done.stderr.strip()}")
        self.made.clear()
        return problems


def network_state():
    return {"link": sorted(ip("-br", "link").split("\n")), "addr": sorted(ip("-br", "addr").split("\n")),
            "netns": sorted(ip("netns", "list").split("\n"))}


def letter(node):
    return node.name.split(".")[0]


class MinorityClient(Senders):
    """SMTP clients inside the cut node's own namespace, sending through that node to the mailboxes
    it hosts: until the resolver downs it they are served; after that, nothing may be. One client
    per mailbox: a mailbox that a rebalance moved away just before the cut holds its client in the
    store timeout without holding up the others."""

    def __init__(self, lab, node, mailboxes, load):
        self.namespace = lab.namespaces[letter(node)]
        self.node = node
        self.mailboxes = mailboxes
        self.load = load
        self.stop = threading.Event()
        self.attempts = []           # (started wall time, ended wall time, outcome)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(user,), daemon=True) for user in mailboxes]

    def run(self, user):
        with inside(self.namespace):
            n = 0
            while not self.stop.is_set() and self.node.process.poll() is None:
                marker = f"inside-{user}-{n}-{uuid.uuid4().hex[:12]}"
                n += 1
                started = time.time()
                outcome = send(self.node.smtp_port, user, marker, host=self.node.host)
                with self.lock:
                    self.attempts.append((started, time.time(), outcome))
                with self.load.lock:
                    self.load.outcomes[marker] = (outcome, user, self.node.name + "-inside")
                if outcome != "ok":
                    time.sleep(0.1)


def wall(stamp):
    """A Serilog compact-JSON @t ("2026-12-02T08:01:02.1234567Z", or with an offset) as Unix seconds."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", stamp)
    base = datetime.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) in (None, "Z") else m.group(3)))
    return base.timestamp() + (int(m.group(2)) / 10 ** len(m.group(2)) if m.group(2) else 0.0)


def log_events(node):
    return [e for path in sorted(node.log_dir.glob("node*.log")) for e in json_lines(path)]


class Process:
    """One node process of the run, as the analysis needs it: name, PID, when it ended, its log."""

    def __init__(self, node, ended):
        self.name = node.name
        self.pid = node.ready["pid"]
        self.ended = ended
        self.events = log_events(node)
        self.spans = self.intervals()
        self.links = self.linked()

    def linked(self):
        """mailbox -> [(wall seconds, file name)] of the files this process linked."""
        links = {}
        for e in self.events:
            if e.get("@mt") == LINKED:
                links.setdefault(e.get("Mailbox"), []).append((wall(e["@t"]), e.get("FileName")))
        return links

    def intervals(self):
        """mailbox -> [(start, end)] in wall seconds, from this process's served / no longer served lines."""
        open_at, spans = {}, {}
        for e in self.events:
            template, mailbox = e.get("@mt", ""), e.get("Mailbox")
            if template == SERVED:
                open_at[mailbox] = wall(e["@t"])
            elif template.startswith(UNSERVED_PREFIX) and mailbox in open_at:
                spans.setdefault(mailbox, []).append((open_at.pop(mailbox), wall(e["@t"])))
        for mailbox, start in open_at.items():
            spans.setdefault(mailbox, []).append((start, self.ended))
        return spans

    def downed_at(self):
        return next((wall(e["@t"]) for e in self.events if e.get("@mt", "").startswith(DOWNED_PREFIX)), None)


def files_on_disk(mail_root):
    """mailbox -> set of delivered file names (without the flags cur/ adds)."""
    found = {}
    for user in MAILBOXES:
        for folder in ("new", "cur"):
            d = pathlib.Path(mail_root) / user / folder
            for path in (d.iterdir() if d.exists() else []):
                found.setdefault(user, set()).add(path.name.split(":", 1)[0])
    return found


def writes(processes):
    """mailbox -> [(wall seconds, process name)] of every link the processes logged."""
    found = {}
    for p in processes:
        for mailbox, links in p.links.items():
            found.setdefault(mailbox, []).extend((t, p.name) for t, _ in links)
    return found


def one_writer(processes, mail_root):
    """Overlapping serving intervals of one mailbox in two processes, links outside their
    process's intervals, and files on disk no process logged linking; all must be empty."""
    spans = {}                     # mailbox -> [(start, end, process name)]
    for p in processes:
        for mailbox, intervals in p.spans.items():
            spans.setdefault(mailbox, []).extend((s, e, p.name) for s, e in intervals)
    overlaps = []
    for mailbox, intervals in spans.items():
        intervals.sort()
        for i, (s1, e1, n1) in enumerate(intervals):
            for s2, e2, n2 in intervals[i + 1:]:
                if n2 != n1 and s2 < e1:
                    overlaps.append(f"{mailbox}: {n1} {s1:.3f}-{e1:.3f} and {n2} {s2:.3f}-{e2:.3f}")
    outside, logged = [], {}
    for p in processes:
        for mailbox, links in p.links.items():
            for t, name in links:
                logged.setdefault(mailbox, set()).add(name)
                if not any(s <= t <= e for s, e in p.spans.get(mailbox, [])):
                    outside.append(f"{mailbox}: {name} linked at {t:.6f} by {p.name} outside its serving interval")
    counted = 0
    for mailbox, names in files_on_disk(mail_root).items():
        counted += len(names)
        outside += [f"{mailbox}: {name} on disk, but no process logged linking it" for name in sorted(names - logged.get(mailbox, set()))]
    return spans, overlaps, outside, counted


def handover(spans, all_writes, victim, cut_at):
    """For the mailboxes the cut process served at the cut: its last write and the end of its
    serving, against the first write and the start of serving by another process after the cut."""
    rows = []
    for mailbox, intervals in spans.items():
        mine = [(s, e) for s, e, n in intervals if n == victim.name and s <= cut_at <= e]
        if not mine:
            continue
        ended = mine[0][1]
        after = [s for s, _, n in intervals if n != victim.name and s >= cut_at]
        own = [t for t, name in all_writes.get(mailbox, []) if name == victim.name]
        others = [t for t, name in all_writes.get(mailbox, []) if name != victim.name and t >= cut_at]
        rows.append({
            "mailbox": mailbox,
            "victim_served_until_s": round(ended - cut_at, 3),
            "taken_over_at_s": round(min(after) - cut_at, 3) if after else None,
            "victim_last_write_s": round(max(own) - cut_at, 3) if own and max(own) >= cut_at else None,
            "first_write_by_another_s": round(min(others) - cut_at, 3) if others else None,
        })
    return sorted(rows, key=lambda r: r["mailbox"])


def pop3_counts(cluster, mail_root):
    """Mailboxes whose POP3 STAT, asked through the live nodes in turn, differs from the files on disk."""
    wrong = []
    live = cluster.live()
    for i, user in enumerate(MAILBOXES):
        node = live[i % len(live)]
        on_disk = sum(len(list((mail_root / user / f).iterdir())) for f in ("new", "cur") if (mail_root / user / f).exists())
        client = poplib.POP3(node.host, node.pop3_port, timeout=IO_TIMEOUT_S)
        try:
            client.user(user)
            client.pass_(PASSWORD)
            count, _ = client.stat()
        finally:
            client.quit()
        if count != on_disk:
            wrong.append(f"{user}: POP3 STAT {count} through {node.name}, {on_disk} files")
    return wrong


class ExitWatch:
    """Notes the moment a process exits by itself (polled, so at most POLL_S late)."""
    POLL_S = 0.05

    def __init__(self, process):
        self.process = process
        self.at = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.process.poll() is None:
            time.sleep(self.POLL_S)
        self.at = time.time()

    def wait(self, bound_s):
        """(exit status, wall time of the exit), or (None, None) if still running after bound_s."""
        self.thread.join(bound_s)
        return (self.process.returncode, self.at) if self.at is not None else (None, None)


def recovery(load, survivors, mailboxes, since):
    """Seconds from the cut until each mailbox the cut node hosted got a 250 through a survivor:
    one harness prober per mailbox, all at once, through the survivors in turn."""
    result = {}

    def probe(i, user):
        result[user] = served_again(load, survivors[i % len(survivors)], user, since)

    threads = [threading.Thread(target=probe, args=(i, u), daemon=True) for i, u in enumerate(mailboxes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    missing = [u for u in mailboxes if u not in result]
    if missing:
        raise AssertionError(f"{', '.join(missing)} not served again through the majority")
    return result


def hosts(cluster, via):
    """mailbox -> the address of the node hosting it; the questions in parallel, as each
    `actormail cluster` spends most of its 2-3 s starting the runtime."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return dict(zip(MAILBOXES, pool.map(lambda u: cluster.report(via, u)["hostedBy"], MAILBOXES)))


def run(args, lab, cluster, ended):
    """Forms the cluster and runs the rounds under load; returns the load, the ledger's counts, the
    POP3 mismatches, the rounds and the violations seen so far. `ended` collects (node, the wall
    time its process ended) for every node that stopped."""
    violations = []
    rounds = []

    def start(name, seeds):
        # "c.1" is node c restarted after round 1: the same namespace and address, a new process.
        return cluster.start_node(name, seeds, host=ADDRESSES[name[0]], popen=lab.popen(name[0]), extra_env=NODE_ENV)

    first = start("a", [])
    cluster.nodes.append(first)
    for name in ("b", "c"):
        cluster.nodes.append(start(name, [first.cluster_address]))
    cluster.wait_members_up(3, first)
    say(f"cluster formed: {', '.join(f'{n.name} {n.cluster_address} (PID {n.process.pid})' for n in cluster.nodes)}")

    load = Load(cluster)
    # Every node, every mailbox, before the load: each node delivers to mailboxes hosted by each
    # node, and every mailbox has a home (entities start on first use) before a node is cut.
    for node in cluster.nodes:
        for user in MAILBOXES:
            marker = f"each-{node.name}-{user}-{uuid.uuid4().hex[:8]}"
            outcome = send(node.smtp_port, user, marker, host=node.host)
            load.outcomes[marker] = (outcome, user, node.name)
            if outcome != "ok":
                violations.append(f"warm-up {marker} through {node.name}: {outcome}")
    say(f"warm-up: {len(cluster.nodes) * len(MAILBOXES)} deliveries, one per node and mailbox")

    with load:
        for number, name in enumerate(args.cut, start=1):
            victim = next(n for n in cluster.live() if letter(n) == name)
            survivors = [n for n in cluster.live() if n is not victim]
            hosted = sorted(u for u, h in hosts(cluster, survivors[0]).items() if h and h.endswith("@" + victim.cluster_address))
            say(f"round {number}: {victim.name} hosts {', '.join(hosted) or 'no mailbox'}; the others "
                f"{', '.join(sorted(set(MAILBOXES) - set(hosted)))}")
            minority = MinorityClient(lab, victim, hosted or MAILBOXES, load)
            with minority:
                time.sleep(LOAD_BEFORE_S)
                watch = ExitWatch(victim.process)
                cut_mono, cut_wall = time.monotonic(), time.time()
                lab.cut(name)
                say(f"round {number}: link of {victim.name} cut ({lab.port(name)} down on br0)")
                recovered = recovery(load, survivors, hosted or MAILBOXES[:1], cut_mono)
                say(f"round {number}: the majority answered 250 for " + ", ".join(
                    f"{u} {s:.1f} s" for u, s in sorted(recovered.items())) + " after the cut (the probe's sending)")
                code, exited = watch.wait(max(1.0, EXIT_BOUND_S - (time.monotonic() - cut_mono)))
            if code is None:
                violations.append(f"round {number}: {victim.name} still running {EXIT_BOUND_S} s after its link was cut")
                stop_process(victim.process)
                exited = time.time()
            elif code != DOWNED_EXIT:
                violations.append(f"round {number}: {victim.name} exited with {code}, not {DOWNED_EXIT}")
            ended.append((victim, exited))
            cluster.nodes.remove(victim)
            say(f"round {number}: {victim.name} exited with status {code} {exited - cut_wall:.1f} s after the cut")
            cluster.wait_members_up(len(survivors), survivors[0])
            time.sleep(LOAD_AFTER_S)
            lab.mend(name)
            restarted = start(f"{name}.{number}", [n.cluster_address for n in survivors])
            cluster.nodes.append(restarted)
            cluster.wait_members_up(3, survivors[0])
            say(f"round {number}: link up, {restarted.name} (PID {restarted.process.pid}) rejoined: 3 members up")
            rounds.append({"round": number, "cut": victim.name, "pid": victim.ready["pid"], "hosted": hosted,
                           "cut_at": cut_wall, "exit_status": code, "exited_s": round(exited - cut_wall, 1),
                           "served_again_s": round(max(recovered.values()), 1), "minority": minority})
            time.sleep(args.seconds_between)
    say(f"load stopped: {load.count('ok')} answered 250, {load.count('failed')} answered 4xx/5xx, "
        f"{load.count('unknown')} broken or refused")
    counts = tally(load, cluster.mail_root)
    pop3_wrong = pop3_counts(cluster, cluster.mail_root)
    return load, counts, pop3_wrong, rounds, violations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cut", default="c,a", help="the nodes whose link is cut, one round each (default c,a)")
    parser.add_argument("--seconds-between", type=float, default=10.0,
                        help="load after a rejoin before the next round (shards rebalance onto the rejoined node meanwhile)")
    parser.add_argument("--figures", type=pathlib.Path, help="write the summary as JSON here")
    args = parser.parse_args()
    args.cut = [c.strip() for c in args.cut.split(",") if c.strip()]
    if os.geteuid() != 0:
        print("cluster-netns: network namespaces need root", file=sys.stderr)
        return 2
    if not NODE_DLL.exists():
        print(f"cluster-netns: {NODE_DLL} is missing: run `make build`", file=sys.stderr)
        return 2
    if any(c not in ADDRESSES for c in args.cut):
        parser.error(f"--cut names nodes among {', '.join(ADDRESSES)}")
    # SIGTERM (and a second Ctrl-C) must still reach the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    before = network_state()
    prefix = f"am-{os.getpid()}"
    lab = Lab(prefix)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="actormail-netns-"))
    cluster = Cluster(workdir, client_host=CLIENT)
    cluster.config += DEBUG_CONFIG
    ended = []
    status = 1
    try:
        lab.build()
        say(f"namespaces {', '.join(lab.made)}: bridge br0 {CLIENT} in {lab.lan}; nodes "
            + ", ".join(f"{n} {a}" for n, a in ADDRESSES.items()))
        with inside(lab.lan):
            load, counts, pop3_wrong, rounds, violations = run(args, lab, cluster, ended)
            for node in list(cluster.nodes):
                stop_process(node.process, timeout=30)
                ended.append((node, time.time()))
        status = summarise(args, cluster, ended, load, counts, pop3_wrong, rounds, violations)
    finally:
        for node in cluster.nodes:
            stop_process(node.process)
        problems = lab.remove()
        shutil.rmtree(workdir, ignore_errors=True)
        after = network_state()
        left = [line for line in after["netns"] if line.startswith(prefix)]
        changed = [k for k in before if before[k] != after[k]]
        print(f"cleanup: namespaces removed{'' if not left else ' EXCEPT ' + ', '.join(left)}; "
              f"root namespace {'as found' if not changed else 'differs in ' + ', '.join(changed)} "
              f"(ip -br link, ip -br addr, ip netns list)", flush=True)
        for p in problems:
            print(f"cleanup: {p}", flush=True)
        if left or problems or "link" in changed or "addr" in changed:
            status = 1
    return status


def summarise(args, cluster, ended, load, counts, pop3_wrong, rounds, violations):
    processes = [Process(node, at) for node, at in ended]
    spans, overlaps, outside, counted = one_writer(processes, cluster.mail_root)
    all_writes = writes(processes)
    per_round = []
    for r in rounds:
        victim = next(p for p in processes if p.pid == r["pid"])
        downed = victim.downed_at()
        attempts = r["minority"].attempts
        served_inside = [a for a in attempts if a[2] == "ok"]
        begun_after = [a for a in attempts if downed is not None and a[0] > downed]
        after_downed = [a for a in begun_after if a[2] == "ok"]
        if downed is None:
            violations.append(f"round {r['round']}: {victim.name} never logged that it was downed")
        if after_downed:
            violations.append(f"round {r['round']}: {len(after_downed)} sessions begun after {victim.name} was downed got 250")
        rows = handover(spans, all_writes, victim, r["cut_at"])
        for row in rows:
            if row["first_write_by_another_s"] is not None and row["victim_last_write_s"] is not None \
                    and row["first_write_by_another_s"] <= row["victim_last_write_s"]:
                violations.append(f"round {r['round']}: {row['mailbox']} written by another node before {victim.name}'s last write")
        gaps = [row["taken_over_at_s"] - row["victim_served_until_s"] for row in rows if row["taken_over_at_s"] is not None]
        taken = [row["taken_over_at_s"] for row in rows if row["taken_over_at_s"] is not None]
        per_round.append({
            "round": r["round"], "cut": r["cut"], "hosted": r["hosted"], "exit_status": r["exit_status"],
            "downed_s": round(downed - r["cut_at"], 1) if downed else None, "exited_s": r["exited_s"],
            "served_again_s": r["served_again_s"],
            "inside_250_total": len(served_inside),
            "inside_last_250_s": round(max(a[1] for a in served_inside) - r["cut_at"], 1) if served_inside else None,
            "inside_begun_after_downed": len(begun_after),
            "inside_250_after_downed": len(after_downed),
            "min_handover_gap_s": round(min(gaps), 3) if gaps else None,
            "taken_over_s": [round(min(taken), 1), round(max(taken), 1)] if taken else None,
            "handover": rows,
        })
    figures = {
        "rounds": len(per_round), "acknowledged": counts["acknowledged"], "lost": len(counts["lost"]),
        "duplicated": len(counts["duplicated"]), "misfiled_or_incomplete": len(counts["misfiled"]),
        "answered_4xx_5xx": load.count("failed"), "kept_after_451": counts["kept_after_451"],
        "broken_or_refused": load.count("unknown"), "files_checked": counted,
        "writes_outside_serving": len(outside), "overlapping_serving": len(overlaps),
        "pop3_stat_mismatches": len(pop3_wrong), "per_round": per_round,
    }
    violations += ([f"lost {m}" for m in counts["lost"]] + [f"duplicated {m}" for m in counts["duplicated"]]
                   + [f"misfiled or incomplete {m}" for m in counts["misfiled"]] + overlaps + outside + pop3_wrong)
    print("\n== cluster-netns summary ==")
    print(f"acknowledged {figures['acknowledged']}, lost {figures['lost']}, duplicated {figures['duplicated']}, "
          f"misfiled/incomplete {figures['misfiled_or_incomplete']}; 4xx/5xx {figures['answered_4xx_5xx']} "
          f"(kept {figures['kept_after_451']}), broken or refused {figures['broken_or_refused']}")
    print(f"one writer per mailbox: {counted} delivered files, {len(outside)} linked outside their writer's serving interval or by no logged writer; "
          f"{len(overlaps)} overlapping serving intervals; POP3 STAT mismatches {len(pop3_wrong)}")
    for r in per_round:
        taken = "-" if r["taken_over_s"] is None else f"{r['taken_over_s'][0]}-{r['taken_over_s'][1]} s"
        print(f"round {r['round']}: cut {r['cut']} (hosted {', '.join(r['hosted']) or '-'}): downed itself after "
              f"{r['downed_s']} s, exited {r['exit_status']} after {r['exited_s']} s; inside its namespace "
              f"{r['inside_250_total']} got 250, the last {r['inside_last_250_s']} s after the cut, "
              f"{r['inside_250_after_downed']} of {r['inside_begun_after_downed']} begun after the downing; "
              f"the majority serves its mailboxes from {taken} (logs), a probe sent {r['served_again_s']} s "
              f"after the cut got 250 for each; smallest gap between the two owners {r['min_handover_gap_s']} s")
    for v in violations[:30]:
        print(f"VIOLATION: {v}")
    print(json.dumps({k: v for k, v in figures.items() if k != "per_round"}), flush=True)
    if args.figures:
        args.figures.parent.mkdir(parents=True, exist_ok=True)
        args.figures.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
