#!/usr/bin/env python3
"""ActorMail benchmark: runs ActorMail beside real peers (Postfix as a full MTA, aiosmtpd, smtp4dev,
MailDev, Postfix smtp-sink, Dovecot) in one run on loopback and reports ratios. Speed is measured here, never in timed tests.

  PYTHONPATH=tools /usr/bin/python3 tools/bench/run.py            full run: 3 rounds, 5000 messages, 10,000 connections, 100 MiB
  PYTHONPATH=tools /usr/bin/python3 tools/bench/run.py --quick    smoke test: 1 round, 500 messages, 300 connections, 10 MiB

Writes results.md, results.json and smtp.png to artifacts/bench/ (artifacts/bench/quick/ with
--quick). Exits 0 when the run completed, whatever the figures; non-zero when something broke.
Every process it starts is stopped by its PID. Each server gets a loopback port of its own: ActorMail
one the system chooses (tools/harness), the peers a free one picked just before they start."""
import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import clients
import report
import targets
from clients import BenchError
from report import POP3_TARGETS, SMTP_TARGETS
from harness import NODE_DLL, ROOT

# Demo users of the shipped configuration: alice is measured, bob takes the warm-up traffic.
USER, PASSWORD = "alice", "alice-demo"
WARM_USER, WARM_PASSWORD = "bob", "bob-demo"


# The parts of a run, in the order they run; --only picks some.
PARTS = ("smtp", "latency", "pop3", "big-maildrop", "scale", "large")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 round, 500 messages, 300 connections, 10 MiB message")
    ap.add_argument("--rounds", type=int, help="rounds of A B C alternation (default 3, --quick 1)")
    ap.add_argument("--messages", type=int, help="messages per SMTP load (default 2000, --quick 500)")
    ap.add_argument("--pop3-messages", type=int, help="messages in the POP3 maildrop (default 5000, --quick 500)")
    ap.add_argument("--smtp4dev-messages", type=int, default=500,
                    help="messages per SMTP load for smtp4dev (default 500: on a busy machine it takes tens of milliseconds each)")
    ap.add_argument("--connections", type=int, help="connections held open in the scale test (default 10000)")
    ap.add_argument("--large-mib", type=int, help="size of the large message in MiB (default 100)")
    ap.add_argument("--latency-messages", type=int, default=1000, help="sequential messages for the latency test")
    ap.add_argument("--warmup", type=int, help="untimed messages to bob@localhost before each timed SMTP load, the first "
                    "tenth of that before the latency samples, and a POP3 session for bob first (default 500, --quick 100; 0 = cold)")
    ap.add_argument("--smtp4dev-pop3-messages", type=int, default=500,
                    help="messages smtp4dev serves in the POP3 test (default 500: it retrieves about 15 a second)")
    ap.add_argument("--big-messages", type=int, help="messages in the large-maildrop POP3 test (default 100,000, --quick 5000)")
    ap.add_argument("--big-size", type=int, default=2048, help="octets per message of the large maildrop")
    ap.add_argument("--big-timeout", type=float, default=600.0,
                    help="seconds a server may take for one answer in the large-maildrop test before it is recorded as not answering")
    ap.add_argument("--only", action="append", choices=PARTS, metavar="PART",
                    help=f"run only this part (repeatable): {', '.join(PARTS)}; the others are left out of the report")
    ap.add_argument("--out", help="folder for results.md/json and smtp.png (default artifacts/bench, or artifacts/bench/quick)")
    ap.add_argument("--keep-temp", action="store_true", help="keep the temporary mail roots and logs")
    ap.add_argument("--render", metavar="RESULTS_JSON",
                    help="run nothing: write results.md and smtp.png again from a results.json of an earlier run")
    ap.add_argument("--nice", type=int, default=0,
                    help="scheduling niceness for the harness and every server and client it starts (all alike); "
                         "a negative value needs root and shields the run from other work on a shared machine")
    args = ap.parse_args(argv)
    args.only = set(args.only or PARTS)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.messages = args.messages or (500 if args.quick else 2000)
    args.pop3_messages = args.pop3_messages or (500 if args.quick else 5000)
    args.connections = args.connections or (300 if args.quick else 10000)
    args.large_mib = args.large_mib or (10 if args.quick else 100)
    args.big_messages = args.big_messages or (5000 if args.quick else 100_000)
    if args.warmup is None:
        args.warmup = 100 if args.quick else 500
    args.out = pathlib.Path(args.out) if args.out else ROOT / ("artifacts/bench/quick" if args.quick else "artifacts/bench")
    if args.rounds < 1 or args.messages < 1 or args.connections < 1 or args.large_mib < 1 or args.latency_messages < 1 or args.warmup < 0 \
            or args.big_messages < 1 or args.smtp4dev_pop3_messages < 1 or args.pop3_messages < 1 or args.smtp4dev_messages < 1:
        ap.error("counts must be positive")
    return args


# --- preconditions -----------------------------------------------------------------------------

def check_peers(dll):
    missing = []
    for tool in ("smtp-source", "smtp-sink", "dovecot", "gnuplot", "dotnet"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if subprocess.run(["/usr/bin/python3", "-c", "import aiosmtpd"], capture_output=True).returncode != 0:
        missing.append("python3-aiosmtpd")
    if not os.access(targets.POSTFIX_MASTER, os.X_OK) or shutil.which("postfix") is None:
        missing.append("postfix")
    if missing:
        raise BenchError(f"missing: {', '.join(missing)}; install them with `bash tools/install-deps.sh`")
    if not targets.SMTP4DEV.is_file() or not targets.MAILDEV.is_file() or shutil.which("node") is None:
        raise BenchError(f"smtp4dev or MailDev is not in {targets.PEERS_CACHE}: run `bash tools/bench/install-peers.sh`")
    if not dll.is_file():
        raise BenchError(f"no ActorMail node at {dll}: run `make build` or set ACTORMAIL_NODE_DLL")


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchError(f"open-file hard limit {hard} is below the {needed} the scale test needs")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def version_of(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unknown"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1048576, 1),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "dotnet": version_of(["dotnet", "--version"]),
        "postfix": version_of(["postconf", "-d", "mail_version"]).replace("mail_version = ", ""),
        "aiosmtpd": version_of(["/usr/bin/python3", "-c", "import aiosmtpd; print(aiosmtpd.__version__)"]),
        "dovecot": version_of(["dovecot", "--version"]),
        **targets.peer_versions(),
        "commit": commit_of(ROOT),
    }


def commit_of(root):
    """The commit the run measures, with "+changes" when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=20)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


# --- measurements ------------------------------------------------------------------------------

def count_files(folder):
    try:
        return sum(1 for e in os.scandir(folder) if e.is_file())
    except FileNotFoundError:
        return 0


def wait_until(condition, timeout, what, poll=0.1):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not done within {timeout:.0f} s")
        time.sleep(poll)


def line_count(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


class Bench:
    def __init__(self, args, dll, tmp):
        self.args = args
        self.tmp = tmp
        self.results = {
            "completed": False,
            "errors": [],
            "settings": {
                "rounds": args.rounds, "messages": args.messages, "pop3_messages": args.pop3_messages,
                "smtp4dev_messages": args.smtp4dev_messages, "message_size": 2048, "sessions": 10,
                "latency_messages": args.latency_messages, "connections": args.connections,
                "large_octets": args.large_mib * 1048576, "pop3_batch": 50,
                "smtp4dev_pop3_messages": args.smtp4dev_pop3_messages, "big_messages": args.big_messages, "big_size": args.big_size, "node_dll": str(dll), "warmup": args.warmup,
                "quick": args.quick,
            },
            "smtp": {"new": {t: [] for t in SMTP_TARGETS}, "reuse": {t: [] for t in SMTP_TARGETS}},
            "latency": {"ActorMail": [], "aiosmtpd": []},
            "pop3": {t: [] for t in POP3_TARGETS},
            "profile": {},
        }

    def say(self, text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def load_size(self, target):
        """(timed, warm-up) messages of one SMTP load: smtp4dev, by far the slowest, gets fewer."""
        a = self.args
        if target == "smtp4dev":
            return min(a.messages, a.smtp4dev_messages), min(a.warmup, a.smtp4dev_messages // 5)
        return a.messages, a.warmup

    def smtp_server(self, target, work):
        """The server for one SMTP run and a function that counts what it stored for alice (None
        for a server that keeps nothing countable in files)."""
        warm = self.load_size(target)[1]
        if target == "ActorMail":
            return targets.actormail(work, "smtp", work / "mail"), lambda: count_files(work / "mail/alice/new")
        if target == "aiosmtpd":
            # aiosmtpd's Mailbox handler, MailDev and Postfix (static:alice/) put every recipient in one place.
            return targets.aiosmtpd(work, work / "maildir"), lambda: count_files(work / "maildir/new") - warm
        if target == "Postfix":
            srv = targets.Postfix(work, targets.free_port())
            return srv, lambda: srv.delivered() - warm
        if target == "MailDev":
            return targets.maildev(work, work / "maildev-mail"), lambda: count_files(work / "maildev-mail") - warm
        if target == "smtp4dev":
            return targets.smtp4dev(work), None
        return targets.smtp_sink(work), None

    # SMTP throughput: one fresh server per run, loaded by smtp-source.
    def smtp_run(self, rnd, mode, target):
        a = self.args
        work = self.tmp / f"r{rnd}-{mode}-{target}"
        srv, stored = self.smtp_server(target, work)
        srv.start()

        def source(count, rcpt):
            argv = ["smtp-source", "-s", "10", "-m", str(count), "-l", "2048", "-f", "a@example.org", "-t", rcpt]
            if mode == "reuse":
                argv.append("-d")
            return argv + [f"127.0.0.1:{srv.port}"]

        count, warmup = self.load_size(target)
        argv = source(count, "alice@localhost")
        try:
            if warmup:
                # Same load, untimed, to bob: the JIT and the caches settle before the clock starts.
                w = subprocess.run(source(warmup, "bob@localhost"), capture_output=True, text=True, timeout=max(120, warmup * 0.2))
                if w.returncode != 0:
                    raise BenchError(f"warm-up against {target} ({mode}) exited {w.returncode}: {w.stderr.strip()[-300:]}")
                if target == "Postfix":
                    # Its queue drains after the 250s: the timed load must not compete with the warm-up's deliveries.
                    wait_until(lambda: srv.delivered() >= warmup, 120, f"Postfix delivering the {warmup} warm-up messages")
            log_before = line_count(work / "actormail-logs/smtp.log")
            out_before = line_count(srv.log_path)
            threads_before = targets.thread_cpu(srv.pid) if target == "ActorMail" else None
            load = targets.load_average()
            cpu_before = srv.cpu_seconds()
            child_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            busy_before = targets.system_busy_seconds()
            t0 = time.perf_counter()
            p = subprocess.run(argv, capture_output=True, text=True, timeout=max(120, count * 0.2))
            elapsed = time.perf_counter() - t0
            if p.returncode != 0:
                raise BenchError(f"smtp-source against {target} ({mode}) exited {p.returncode}: {p.stderr.strip()[-300:]}")
            delivered_s = None
            if target == "Postfix":
                # Accepted is not delivered: the second rate is of files appearing in alice/new.
                wait_until(lambda: srv.delivered() >= warmup + count, max(120, count * 0.2),
                           f"Postfix delivering {count} messages", poll=0.05)
                delivered_s = time.perf_counter() - t0
            busy_after = targets.system_busy_seconds()
            child_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_after = srv.cpu_seconds()
            threads_after = targets.thread_cpu(srv.pid) if target == "ActorMail" else None
            memory = srv.memory_kb()
            run = {
                "round": rnd, "messages": count, "seconds": round(elapsed, 3), "msg_per_s": round(count / elapsed, 1),
                "server_cpu_s": round(cpu_after - cpu_before, 3),
                "client_cpu_s": round((child_after.ru_utime + child_after.ru_stime) - (child_before.ru_utime + child_before.ru_stime), 3),
                "load_1min": load,
                "peak_rss_kb": memory["VmHWM"], "tree_pss_kb": targets.tree_pss_kb(srv.pid),
            }
            if delivered_s is not None:
                run["delivered_seconds"] = round(delivered_s, 3)
                run["delivered_msg_per_s"] = round(count / delivered_s, 1)
            # CPU the rest of the machine used meanwhile: other work slows every target down.
            wall = delivered_s or elapsed
            run["other_cpu_s"] = round(max(0.0, busy_after - busy_before - run["server_cpu_s"] - run["client_cpu_s"]), 3)
            run["other_cpus"] = round(run["other_cpu_s"] / wall, 2)
            if target == "ActorMail":
                run["log_lines_per_msg"] = round((line_count(work / "actormail-logs/smtp.log") - log_before) / a.messages, 2)
                run["console_lines_per_msg"] = round((line_count(srv.log_path) - out_before) / a.messages, 2)
                if rnd == 1:
                    self.results["profile"][mode] = {
                        "wall_s": round(elapsed, 3),
                        "threads": targets.thread_cpu_delta(threads_before, threads_after)[:12],
                    }
        finally:
            srv.stop()
        if stored is not None:
            run["stored"] = stored()
        self.results["smtp"][mode][target].append(run)
        shown = f", stored {run['stored']}" if "stored" in run else ""
        if "delivered_msg_per_s" in run:
            shown += f", delivered to Maildir at {run['delivered_msg_per_s']} msg/s"
        self.say(f"round {rnd} SMTP {mode:5} {target:9} {run['msg_per_s']:8.1f} msg/s ({run['seconds']} s, server CPU {run['server_cpu_s']} s, "
                 f"peak RSS {run['peak_rss_kb'] // 1024} MiB, other processes {run['other_cpu_s']} s{shown})")
        if target in ("ActorMail", "Postfix") and run["stored"] != count:
            raise BenchError(f"{target} stored {run['stored']} messages in alice/new, {count} were sent (round {rnd}, {mode})")

    def latency_run(self, rnd, target):
        a = self.args
        work = self.tmp / f"r{rnd}-latency-{target}"
        if target == "ActorMail":
            srv = targets.actormail(work, "smtp", work / "mail")
        else:
            srv = targets.aiosmtpd(work, work / "maildir")
        srv.start()
        try:
            samples = clients.smtp_latency(srv.port, a.latency_messages, 2048, warmup=a.warmup // 10)
        finally:
            srv.stop()
        self.results["latency"][target].append({
            "round": rnd, "samples": len(samples),
            "p50_ms": round(clients.percentile(samples, 50) * 1000, 3),
            "p99_ms": round(clients.percentile(samples, 99) * 1000, 3),
            "max_ms": round(max(samples) * 1000, 3),
        })
        self._latency_samples.setdefault(target, []).extend(samples)
        r = self.results["latency"][target][-1]
        self.say(f"round {rnd} latency {target:9} p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms")

    def pop3_run(self, rnd, target, source):
        a = self.args
        work = self.tmp / f"r{rnd}-pop3-{target}"
        mail = work / "mail"
        expected = a.pop3_messages
        if target == "smtp4dev":
            # smtp4dev keeps mail in its database, not a Maildir: it gets the messages over SMTP first.
            expected = min(a.pop3_messages, a.smtp4dev_pop3_messages)
            srv = targets.smtp4dev(work)
        else:
            shutil.copytree(source, mail)
        if target == "ActorMail":
            srv = targets.actormail(work, "pop3", mail)
        elif target == "Dovecot":
            os.chmod(work, 0o755)
            targets.chown_tree(mail)
            srv = targets.dovecot(work, mail, {USER: PASSWORD, WARM_USER: WARM_PASSWORD})
        srv.start()
        try:
            port = srv.pop3_port if target == "smtp4dev" else srv.port
            if target == "smtp4dev":
                fill = subprocess.run(["smtp-source", "-d", "-s", "10", "-m", str(expected), "-l", "2048", "-f", "a@example.org",
                                       "-t", "alice@localhost", f"127.0.0.1:{srv.port}"], capture_output=True, text=True, timeout=600)
                if fill.returncode != 0:
                    raise BenchError(f"filling smtp4dev: smtp-source exited {fill.returncode}: {fill.stderr.strip()[-300:]}")
                wait_until(lambda: clients.pop3_stat(port, USER, PASSWORD) >= expected, 120, f"smtp4dev storing {expected} messages")
            elif a.warmup:
                # bob's own small maildrop: warms the server without touching alice's.
                clients.pop3_retrieve_all(port, WARM_USER, WARM_PASSWORD, batch=50, timeout=120)
            cpu_before = srv.cpu_seconds()
            r = clients.pop3_retrieve_all(port, USER, PASSWORD, batch=50, timeout=max(120, expected))
            cpu_after = srv.cpu_seconds()
        finally:
            srv.stop()
        if r["messages"] != expected:
            raise BenchError(f"POP3 {target}: STAT shows {r['messages']} messages, the maildrop has {expected}")
        run = {
            "round": rnd, "messages": r["messages"], "received_octets": r["received_octets"],
            "login_s": round(r["login_s"], 4), "retr_s": round(r["retr_s"], 4), "session_s": round(r["session_s"], 4),
            "msg_per_s": round(r["messages"] / r["session_s"], 1),
            "retr_msg_per_s": round(r["messages"] / r["retr_s"], 1),
            "server_cpu_s": round(cpu_after - cpu_before, 3), "client_cpu_s": round(r["client_cpu_s"], 3),
        }
        self.results["pop3"][target].append(run)
        self.say(f"round {rnd} POP3 {target:9} {run['msg_per_s']:8.1f} msg/s per session "
                 f"(login {run['login_s']} s, RETR {run['retr_s']} s, {run['received_octets']} octets)")

    def big_mailbox(self):
        """One maildrop of --big-messages messages: sign-in, STAT, LIST and UIDL, ActorMail against
        Dovecot on Maildirs made alike. Each round starts both servers afresh: the first session is
        cold (a new node; Dovecot with its index files removed), the second warm (Dovecot's index built).
        Each server's copy is in the state it keeps a maildrop in: ActorMail reads new/ and renames
        nothing; Dovecot's is already in cur/, where its first session would move every message."""
        a = self.args
        n = a.big_messages
        out = {"messages": n, "timeout_s": a.big_timeout, "ActorMail": [], "Dovecot": []}
        self.results["big_mailbox"] = out  # kept as it grows: a later failure leaves what was measured
        t0 = time.perf_counter()
        roots = {}
        for target in ("ActorMail", "Dovecot"):
            roots[target] = self.tmp / f"big-{target}"
            clients.make_maildir(roots[target] / "mail", USER, n, a.big_size, seen=target == "Dovecot")
        os.chmod(roots["Dovecot"], 0o755)
        targets.chown_tree(roots["Dovecot"] / "mail")
        self.say(f"big maildrop: 2 x {n} messages of {a.big_size} octets generated in {time.perf_counter() - t0:.1f} s")
        for rnd in range(1, a.rounds + 1):
            for target in ("ActorMail", "Dovecot"):
                work = roots[target]
                mail = work / "mail"
                if target == "ActorMail":
                    srv = targets.actormail(work / f"r{rnd}", "pop3", mail)
                else:
                    for index in (mail / USER).glob("dovecot*"):
                        index.unlink()  # cold: Dovecot has to build its index again
                    srv = targets.dovecot(work / f"r{rnd}", mail, {USER: PASSWORD})
                srv.start()
                try:
                    for state in ("cold", "warm"):
                        rss = {"before": srv.memory_kb()["VmRSS"]}

                        def held():
                            rss["held"] = srv.memory_kb()["VmRSS"]

                        done = {}
                        try:
                            r = clients.pop3_listing(srv.port, USER, PASSWORD, after_stat=held if target == "ActorMail" else None,
                                                     timeout=a.big_timeout, times=done)
                        except TimeoutError:
                            # The command that got no answer in time is recorded as such; the warm session is not run.
                            waiting = next(op for op in report.BIG_OPS if op not in done)
                            out[target].append({"round": rnd, "state": state, **{k: round(v, 4) for k, v in done.items()},
                                                "timed_out": waiting, "timed_out_s": a.big_timeout})
                            self.say(f"round {rnd} big maildrop {target:9} {state}: {report.BIG_OPS[waiting]} not answered "
                                     f"within {a.big_timeout} s")
                            break
                        if r["messages"] != n or r["list_lines"] != n or r["uidl_lines"] != n:
                            raise BenchError(f"big maildrop, {target}: STAT/LIST/UIDL show {r['messages']}/{r['list_lines']}/"
                                             f"{r['uidl_lines']} of {n} messages")
                        r["signin_stat_s"] = r["signin_s"] + r["stat_s"]
                        run = {"round": rnd, "state": state, **{k: round(v, 4) for k, v in r.items() if k.endswith("_s")}}
                        if target == "ActorMail":
                            # An upper bound: RSS also holds garbage not yet collected and code used for the first time.
                            run["rss_growth_bytes_per_msg"] = round((rss["held"] - rss["before"]) * 1024 / n, 1)
                        out[target].append(run)
                        self.say(f"round {rnd} big maildrop {target:9} {state}: sign-in {run['signin_s']} s, STAT {run['stat_s']} s, "
                                 f"LIST {run['list_s']} s, UIDL {run['uidl_s']} s"
                                 + (f", node RSS +{run['rss_growth_bytes_per_msg']} B/msg" if "rss_growth_bytes_per_msg" in run else ""))
                finally:
                    srv.stop()

    def scale(self):
        a = self.args
        work = self.tmp / "scale"
        conf = "actormail.smtp.max-connections = 20000\n"
        srv = targets.actormail(work, "smtp", work / "mail", conf, name="actormail-scale")
        srv.start()
        out = {}
        try:
            time.sleep(2)
            before = srv.memory_kb()["VmRSS"]
            held = {}

            def all_open(greeted):
                time.sleep(2)
                held["rss_kb"] = srv.memory_kb()["VmRSS"]
                held["greeted"] = greeted
                self.say(f"scale: {greeted} connections greeted and held, node RSS {held['rss_kb'] / 1024:.0f} MiB")

            with targets.RssSampler(srv, 0.1) as sampler:
                r = clients.hold_connections(srv.port, a.connections, all_open,
                                             open_deadline_s=max(60, a.connections / 50), txn_deadline_s=max(120, a.connections / 20))
            time.sleep(1)
            mem = srv.memory_kb()
            out = {
                **r,
                "rss_before_kb": before, "rss_all_open_kb": held["rss_kb"],
                "kb_per_idle_connection": round((held["rss_kb"] - before) / max(1, held["greeted"]), 1),
                "peak_rss_kb": max(mem["VmHWM"], sampler.peak_kb), "vmhwm_kb": mem["VmHWM"],
            }
        finally:
            srv.stop()
        out["stored"] = count_files(work / "mail/alice/new")
        self.results["scale"] = out
        self.say(f"scale: {out['completed']}/{a.connections} transactions completed, {out['failed']} failures {out['failures'] or ''}, "
                 f"peak RSS {out['peak_rss_kb'] / 1024:.0f} MiB, {out['kb_per_idle_connection']} kB per idle connection, stored {out['stored']}")
        if out["stored"] != out["completed"]:
            raise BenchError(f"scale: {out['completed']} transactions got 250 but alice/new holds {out['stored']} files")

    def large(self):
        a = self.args
        work = self.tmp / "large"
        size = a.large_mib * 1048576
        conf = "actormail.smtp.max-message-size = 209715200\n"
        srv = targets.actormail(work, "smtp", work / "mail", conf, name="actormail-large")
        srv.start()
        try:
            cold = srv.memory_kb()["VmRSS"]
            clients.smtp_one(srv.port, 2048)  # warm-up: the first message pays for JIT and first use
            time.sleep(1)
            before = srv.memory_kb()["VmRSS"]
            with targets.RssSampler(srv, 0.05) as sampler:
                elapsed, sent = clients.send_large(srv.port, size)
            after = srv.memory_kb()["VmRSS"]
        finally:
            srv.stop()
        sizes = sorted((e.stat().st_size for e in os.scandir(work / "mail/alice/new")), reverse=True)
        if not sizes or sizes[0] < sent:
            raise BenchError(f"large message: the stored file is {sizes[:1]} octets, {sent} were sent")
        out = {
            "octets_sent": sent, "stored_octets": sizes[0], "seconds": round(elapsed, 3),
            "mib_per_s": round(sent / 1048576 / elapsed, 1),
            "rss_cold_kb": cold, "rss_before_kb": before, "rss_peak_kb": sampler.peak_kb, "rss_after_kb": after,
            "growth_octets": (sampler.peak_kb - before) * 1024,
        }
        self.results["large"] = out
        self.say(f"large: {sent} octets in {out['seconds']} s, RSS {before / 1024:.0f} -> peak {sampler.peak_kb / 1024:.0f} MiB "
                 f"(growth {out['growth_octets'] / 1e6:.1f} MB), stored {sizes[0]} octets")

    def run(self):
        a = self.args
        self._latency_samples = {}
        source = self.tmp / "pop3-source"
        t0 = time.perf_counter()
        clients.make_maildir(source, USER, a.pop3_messages, 2048)
        if a.warmup:
            clients.make_maildir(source, WARM_USER, max(1, a.warmup // 5), 2048)
        self.say(f"POP3 maildrop: {a.pop3_messages} messages of 2048 octets generated in {time.perf_counter() - t0:.1f} s")
        for rnd in range(1, a.rounds + 1):
            for mode in ("new", "reuse") if "smtp" in a.only else ():
                for target in SMTP_TARGETS:
                    self.smtp_run(rnd, mode, target)
            for target in ("ActorMail", "aiosmtpd") if "latency" in a.only else ():
                self.latency_run(rnd, target)
            for target in POP3_TARGETS if "pop3" in a.only else ():
                self.pop3_run(rnd, target, source)
        for part, run in (("big-maildrop", self.big_mailbox), ("scale", self.scale), ("large", self.large)):
            if part in a.only:
                run()
        for target, samples in self._latency_samples.items():
            self.results.setdefault("latency_all", {})[target] = {
                "samples": len(samples),
                "p50_ms": round(clients.percentile(samples, 50) * 1000, 3),
                "p99_ms": round(clients.percentile(samples, 99) * 1000, 3),
            }
        self.results["completed"] = True


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.render:
        results = json.loads(pathlib.Path(args.render).read_text())
        report.write(results, args.out)
        return 0
    dll = NODE_DLL.resolve()
    started = time.perf_counter()

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    # Everything a run writes stays under one temporary folder until the very end. The root
    # filesystem here is ext4 without a journal, where creating a file scans the inodes deleted in
    # the last five minutes (recently_deleted() in fs/ext4/ialloc.c): deleting one run's 5,000
    # files would slow the file creation of the runs after it.
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="actormail-bench-", dir="/tmp"))
    os.chmod(tmp, 0o755)  # Dovecot's unprivileged processes must reach the mail below it
    bench = Bench(args, dll, tmp)
    code = 0
    try:
        check_peers(dll)
        if args.nice:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by every process started below
        bench.results["settings"]["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
        limits = raise_fd_limit(args.connections + 512)
        bench.results["machine"] = machine()
        bench.results["settings"]["nofile"] = list(limits)
        m = bench.results["machine"]
        m["load_1min_at_start"] = targets.load_average()
        bench.say(f"machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, {m['date']}, load {m['load_1min_at_start']}; node {dll}; temp {tmp}")
        if m["load_1min_at_start"] > m["nproc"] / 2:
            bench.say("warning: the machine is busy with other work; figures will be lower and noisier than on an idle machine")
        bench.run()
    except BenchError as e:
        bench.results["errors"].append(str(e))
        print(f"bench: FAILED: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt as e:
        bench.results["errors"].append(f"interrupted ({e})")
        print("bench: interrupted", file=sys.stderr)
        code = 130
    except Exception as e:  # a bug in the harness itself: still stop every server
        bench.results["errors"].append(f"{type(e).__name__}: {e}")
        traceback.print_exc()
        code = 1
    finally:
        targets.stop_all()
        bench.results["run_seconds"] = round(time.perf_counter() - started, 1)
        # The report first: removing a few hundred thousand files takes minutes on this disk.
        if "machine" in bench.results:
            try:
                report.write(bench.results, args.out)
            except (OSError, subprocess.SubprocessError, BenchError) as e:
                print(f"bench: could not write the report: {e}", file=sys.stderr)
                code = code or 1
        if args.keep_temp:
            print(f"bench: temporary files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
