"""make cluster-chaos: many rounds of killing and restarting random nodes of a three-node cluster
under SMTP and POP3 load, with a ledger of what got 250 and what is found at the end.

Each round picks a live node and a way to stop it (SIGKILL or SIGTERM, from a seeded RNG; --seed
replays), stops it while six SMTP clients send through the live nodes and a POP3 reader signs in
through them (RETR and DELE of a few messages, then QUIT; every third session drops the
connection instead, which must delete nothing), waits until a mailbox the node hosted is served
again through a survivor (the seconds to recover), restarts it with the survivors as seeds, and
waits for three members. At the end every message is checked: one answered 250 is in the store
exactly once and whole unless a QUIT that listed it deleted it (lost otherwise); no message is
stored twice (duplicated). The figures go to standard output and, with --figures, to a JSON file."""
import argparse
import json
import pathlib
import poplib
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

from harness import stop_process
from harness.cluster import IO_TIMEOUT_S, MAILBOXES, MARKER_RE, PASSWORD, Cluster, Load, served_again, stored


class Reader:
    """One POP3 client over the live nodes; remembers the markers whose deletion a QUIT was sent for."""

    def __init__(self, cluster, rng):
        self.cluster = cluster
        self.rng = rng
        self.stop = threading.Event()
        self.deleted = set()
        self.sessions = 0
        self.refused = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            live = self.cluster.live()
            if not live:
                return
            node = self.rng.choice(live)
            user = self.rng.choice(MAILBOXES)
            self.sessions += 1
            client = None
            try:
                client = poplib.POP3("127.0.0.1", node.pop3_port, timeout=IO_TIMEOUT_S)
                client.user(user)
                client.pass_(PASSWORD)
                count, _ = client.stat()
                marked = []
                for number in range(1, min(count, 3) + 1):
                    _, lines, _ = client.retr(number)
                    markers = MARKER_RE.findall(b"\r\n".join(lines) + b"\r\n")
                    client.dele(number)
                    marked += [m.decode() for m in markers]
                if self.sessions % 3 == 0:
                    client.sock.close()
                    client = None
                    continue
                # Counted as deleted once QUIT is sent: its answer may be lost with a node.
                self.deleted.update(marked)
                client.quit()
                client = None
            except (poplib.error_proto, OSError, EOFError):
                self.refused += 1
                time.sleep(0.1)
            finally:
                if client is not None:
                    try:
                        client.sock.close()
                    except OSError:
                        pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join(IO_TIMEOUT_S + 5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--seconds-between", type=float, default=3.0, help="load after each recovery before the next stop")
    parser.add_argument("--figures", type=pathlib.Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"cluster-chaos: {args.rounds} rounds, seed {args.seed}", flush=True)
    workdir = tempfile.mkdtemp(prefix="actormail-chaos-")
    cluster = Cluster(workdir)
    rounds = []
    try:
        first = cluster.start_node("n0", [])
        cluster.nodes.append(first)
        for name in ("n1", "n2"):
            cluster.nodes.append(cluster.start_node(name, [first.cluster_address]))
        cluster.wait_members_up(3, first)
        with Load(cluster) as load, Reader(cluster, random.Random(args.seed + 1)) as reader:
            for number in range(1, args.rounds + 1):
                time.sleep(args.seconds_between)
                victim = rng.choice(cluster.live())
                survivor = next(n for n in cluster.live() if n is not victim)
                hosts = {u: cluster.report(survivor, u)["hostedBy"] for u in MAILBOXES}
                hosted = [u for u, h in hosts.items() if h and h.endswith("@" + victim.cluster_address)] or MAILBOXES
                user = rng.choice(hosted)
                how = rng.choice(["SIGKILL", "SIGTERM"])
                stopped = time.monotonic()
                cluster.nodes.remove(victim)
                if how == "SIGKILL":
                    victim.process.send_signal(signal.SIGKILL)
                    victim.process.wait(10)
                else:
                    stop_process(victim.process, signal.SIGTERM, timeout=30)
                recovered = served_again(load, survivor, user, stopped)
                restarted = cluster.start_node(f"{victim.name.split('.')[0]}.{number}", [n.cluster_address for n in cluster.live()])
                cluster.nodes.append(restarted)
                cluster.wait_members_up(3, survivor)
                rounds.append({"round": number, "stopped": victim.name, "how": how, "mailbox": user, "recovered_s": round(recovered, 1)})
                print(f"round {number}: {how} {victim.name}; {user} served again after {recovered:.1f} s; rejoined", flush=True)
        found = stored(cluster.mail_root)
        acknowledged = [m for m, (o, _, _) in load.outcomes.items() if o == "ok"]
        lost = [m for m in acknowledged if m not in found and m not in reader.deleted]
        duplicated = [m for m, copies in found.items() if len(copies) > 1]
        broken = [m for m in acknowledged if m in found and not all(complete for _, complete in found[m])]
        figures = {
            "seed": args.seed, "rounds": len(rounds),
            "acknowledged": len(acknowledged), "answered_451": load.count("failed"),
            "broken_or_refused_connections": load.count("unknown"),
            "deleted_by_pop3": len(reader.deleted), "pop3_sessions": reader.sessions, "pop3_refused_or_cut": reader.refused,
            "lost": len(lost), "duplicated": len(duplicated), "incomplete": len(broken),
            "recovered_s": [r["recovered_s"] for r in rounds], "per_round": rounds,
        }
        print(json.dumps({k: v for k, v in figures.items() if k != "per_round"}), flush=True)
        if args.figures:
            args.figures.parent.mkdir(parents=True, exist_ok=True)
            args.figures.write_text(json.dumps(figures, indent=2) + "\n")
        return 0 if not lost and not duplicated and not broken else 1
    finally:
        for n in cluster.nodes:
            n.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
