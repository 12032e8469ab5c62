#!/usr/bin/env python3
"""The price of one remote hop: SMTP delivery through a cluster node that does not host the
mailbox, against the node that does, in one run.

  PYTHONPATH=tools /usr/bin/python3 tools/bench/cluster_hop.py            3 rounds, 1000 messages a load
  PYTHONPATH=tools /usr/bin/python3 tools/bench/cluster_hop.py --quick    1 round, 200 messages

Two clustered nodes on 127.0.0.1 over one mail root (tools/harness/cluster.py, every port chosen
by the system). One message activates the mailbox u0; `actormail cluster --mailbox u0` names the
node hosting it. Each round loads the hosting node and then the other with smtp-source -s 10
-l 2048 to u0, the order alternating by round; the ratio of the two is taken per round, then its
median. Writes artifacts/bench/cluster-hop.md and cluster-hop.json."""
import argparse
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from harness import ROOT
from harness.cluster import Cluster, send

MAILBOX = "u0"


def load(port, messages):
    """msg/s of one smtp-source load of `messages` to MAILBOX through `port`, a new connection each."""
    argv = ["smtp-source", "-s", "10", "-l", "2048", "-m", str(messages), "-f", "bench@example.org",
            "-t", f"{MAILBOX}@localhost", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=600)
    return messages / (time.perf_counter() - started)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 round of 200 messages a load")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--messages", type=int)
    ap.add_argument("--out", default=str(ROOT / "artifacts/bench"))
    args = ap.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    messages = args.messages or (200 if args.quick else 1000)
    work = pathlib.Path(tempfile.mkdtemp(prefix="actormail-hop-"))
    cluster = Cluster(work)
    try:
        first = cluster.start_node("a", [])
        cluster.nodes.append(first)
        cluster.nodes.append(cluster.start_node("b", [first.cluster_address]))
        cluster.wait_members_up(2, first)
        if send(first.smtp_port, MAILBOX, "hop-warm-up") != "ok":
            raise SystemExit("cluster_hop: the warm-up message was not accepted")
        host = cluster.node_at(cluster.report(first, MAILBOX)["hostedBy"])
        other = next(n for n in cluster.nodes if n is not host)
        print(f"cluster_hop: {MAILBOX} is hosted by node {host.name}; node {other.name} is one hop away", flush=True)
        load(host.smtp_port, messages // 5)
        load(other.smtp_port, messages // 5)
        runs = []
        for rnd in range(1, rounds + 1):
            order = [("local", host), ("remote", other)]
            if rnd % 2 == 0:
                order.reverse()
            got = {}
            for name, node in order:
                got[name] = load(node.smtp_port, messages)
                print(f"round {rnd} {name:6s} {got[name]:8.1f} msg/s", flush=True)
            runs.append({"round": rnd, **{k: round(v, 1) for k, v in got.items()}, "ratio": round(got["remote"] / got["local"], 3)})
    finally:
        for n in cluster.nodes:
            n.stop()
        shutil.rmtree(work, ignore_errors=True)
    ratios = [r["ratio"] for r in runs]
    result = {"mailbox": MAILBOX, "messages": messages, "rounds": runs,
              "ratio_median": round(statistics.median(ratios), 3), "ratio_min": min(ratios), "ratio_max": max(ratios)}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster-hop.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# One remote hop: SMTP through the node that does not host the mailbox", "",
             f"Two clustered nodes, one mail root; smtp-source -s 10 -l 2048, {messages} messages a load to {MAILBOX}@localhost, "
             "a new connection per message, durable 250.", "",
             "| round | local msg/s | remote msg/s | remote / local |", "|---|---|---|---|"]
    lines += [f"| {r['round']} | {r['local']} | {r['remote']} | {r['ratio']} |" for r in runs]
    lines += ["", f"SMTP through a node one hop away / through the hosting node: {result['ratio_median']}x "
              f"({result['ratio_min']}-{result['ratio_max']})", ""]
    (out / "cluster-hop.md").write_text("\n".join(lines))
    print(lines[-2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
