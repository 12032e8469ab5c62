#!/usr/bin/env python3
"""Where ActorMail's SMTP time goes: the node under a few settings that need no code change,
alternated in rounds like the main benchmark, plus a syscall count per message under strace.

  PYTHONPATH=tools /usr/bin/python3 tools/bench/levers.py                  variants x 2 modes x 3 rounds, 5000 messages
  PYTHONPATH=tools /usr/bin/python3 tools/bench/levers.py --syscalls-only  only the strace count (1000 messages per mode)

Writes artifacts/bench/levers.md and levers.json. Each variant is a fresh node on 127.0.0.1, on a
port the system chooses, with a fresh mail root, loaded by smtp-source -s 10 -l 2048 like the
main benchmark."""
import argparse
import json
import os
import pathlib
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import targets
from clients import BenchError
from harness import NODE_DLL, ROOT
from report import md_table, table

# name: (what it changes, HOCON override, extra environment, run the node outside the mail root's parent,
#        mail root in memory, False if left out)
VARIANTS = {
    "baseline": ("shipped settings; working directory holds the mail root (as with make run)", None, {}, False),
    "log-warning": ("actormail.log-level = Warning: no per-session and per-message Information lines",
                    "actormail.log-level = Warning\n", {}, False),
    "sync-fsync": ("actormail.store.sync = fsync: an fsync per spool file instead of one syncfs per batch",
                   "actormail.store.sync = fsync\n", {}, False),
    "smtp-dedicated": ("SMTP sessions on 16 dedicated fork-join threads instead of the .NET thread pool",
                       "akka.actor.smtp-session-dispatcher { type = ForkJoinDispatcher, dedicated-thread-pool.thread-count = 16 }\n",
                       {}, False),
    "tiered-jit": ("DOTNET_TieredCompilation=1: the JIT's tiers back on (quick first, optimised while the load runs)",
                   None, {"DOTNET_TieredCompilation": "1"}, False),
    "cwd-elsewhere": ("working directory outside the mail root", None, {}, True),
    "mail-tmpfs": ("mail root on tmpfs (/dev/shm): every flush returns at once, so this is the node without the cost "
                   "of durability; not a setting to ship", None, {}, False, True),
    # Akka's and .NET's own levers for the per-connection cost; none needs a change of the source.
    "io-buffers-64k": ("akka.io.tcp receive-buffer-size and send-buffer-size 64k instead of 8k",
                       "akka.io.tcp { receive-buffer-size = 64k, send-buffer-size = 64k }\n", {}, False),
    "io-batch-accept-64": ("akka.io.tcp.batch-accept-limit = 64 instead of scale-to-cpus (accepts taken per turn)",
                           "akka.io.tcp.batch-accept-limit = 64\n", {}, False),
    "throughput-100": ("dispatcher throughput 100 (messages an actor handles per turn) for the default, internal and SMTP "
                       "session dispatchers instead of 30 and 5",
                       "akka.actor.default-dispatcher.throughput = 100\nakka.actor.internal-dispatcher.throughput = 100\n"
                       "akka.actor.smtp-session-dispatcher.throughput = 100\n", {}, False),
    "channel-executor": ("Akka 1.5's channel-executor for the default, internal and SMTP session dispatchers",
                         "akka.actor.default-dispatcher.executor = channel-executor\n"
                         "akka.actor.internal-dispatcher.executor = channel-executor\n"
                         "akka.actor.smtp-session-dispatcher.executor = channel-executor\n", {}, False),
    "server-gc": ("DOTNET_gcServer=1: server GC (a heap and a GC thread per core) instead of workstation GC",
                  None, {"DOTNET_gcServer": "1"}, False),
    "gc-concurrent-off": ("DOTNET_gcConcurrent=0: no background GC (the node ships with it on)",
                          None, {"DOTNET_gcConcurrent": "0"}, False),
    "gc-gen0-64m": ("DOTNET_GCgen0size=0x4000000: a 64 MiB first generation, so fewer collections per message",
                    None, {"DOTNET_GCgen0size": "0x4000000"}, False),
    "ready-to-run": ("the node published with PublishReadyToRun (precompiled code; build it with --r2r-dll)", None, {}, False),
}
# Variants that run another build of the node: name -> the option that gives its actormail.dll.
VARIANT_BUILDS = {"ready-to-run": "r2r_dll"}
MEMORY_ROOT = pathlib.Path("/dev/shm")


def disk_counters(path, sys_root="/sys"):
    """Writes, sectors written and cache flushes completed so far by the block device that holds
    path (/sys/dev/block/MAJ:MIN/stat), or None on a file system without one, such as tmpfs."""
    dev = os.stat(path).st_dev
    stat = pathlib.Path(sys_root, "dev/block", f"{os.major(dev)}:{os.minor(dev)}", "stat")
    if not stat.is_file():
        return None
    f = [int(x) for x in stat.read_text().split()]
    return f[4], f[6], f[15] if len(f) > 15 else 0


def run_load(server, messages, reuse, rcpt="alice@localhost", store=None):
    argv = ["smtp-source", "-s", "10", "-m", str(messages), "-l", "2048", "-f", "a@example.org", "-t", rcpt]
    if reuse:
        argv.append("-d")
    argv.append(f"127.0.0.1:{server.port}")
    cpu0 = server.cpu_seconds()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = targets.system_busy_seconds()
    disk0 = disk_counters(store) if store else None
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=max(120, messages * 0.05))
    elapsed = time.perf_counter() - t0
    disk1 = disk_counters(store) if store else None
    busy1 = targets.system_busy_seconds()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1 = server.cpu_seconds()
    if p.returncode != 0:
        raise BenchError(f"smtp-source exited {p.returncode}: {p.stderr.strip()[-200:]}")
    client = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    # CPU that other processes on the machine used meanwhile, in CPUs (0 = the box was ours alone).
    others = max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - client) / elapsed
    # Every process's writes to that device count, but the node's flushes are what the load adds.
    disk = [round((b - a) / messages, 2) for a, b in zip(disk0, disk1)] if disk0 and disk1 else None
    return elapsed, cpu1 - cpu0, others, disk


def start_node(tmp, name, variant, memory=None, builds=None):
    desc, conf, env_extra, elsewhere, *rest = VARIANTS[variant]
    in_memory = bool(rest and rest[0])
    work = tmp / name
    mail = (memory / name if in_memory else work) / "mail"
    srv = targets.actormail(work, "smtp", mail, conf, env=env_extra, cwd=tmp / f"{name}-cwd" if elsewhere else None,
                            dll=(builds or {}).get(variant))
    return srv, work, mail


def variants_run(tmp, names, rounds, messages, warmup, memory, builds=None):
    out = {v: {"new": [], "reuse": []} for v in names}
    for rnd in range(1, rounds + 1):
        for mode in ("new", "reuse"):
            for v in names:
                srv, work, mail = start_node(tmp, f"r{rnd}-{mode}-{v}", v, memory, builds)
                srv.start()
                try:
                    if warmup:
                        run_load(srv, warmup, mode == "reuse", "bob@localhost")
                    elapsed, cpu, others, disk = run_load(srv, messages, mode == "reuse", store=mail)
                finally:
                    srv.stop()
                stored = sum(1 for _ in os.scandir(mail / "alice/new"))
                if stored != messages:
                    raise BenchError(f"{v}: {stored} stored, {messages} sent")
                r = {"round": rnd, "msg_per_s": round(messages / elapsed, 1), "cpu_us_per_msg": round(cpu / messages * 1e6, 1),
                     "other_cpus": round(others, 2), "disk_per_msg": disk}
                out[v][mode].append(r)
                print(f"[{time.strftime('%H:%M:%S')}] round {rnd} {mode:5} {v:16} {r['msg_per_s']:7.1f} msg/s, "
                      f"{r['cpu_us_per_msg']:7.1f} us CPU/msg, disk writes/sectors/flushes per msg {disk}, "
                      f"other processes busy {r['other_cpus']} CPUs", flush=True)
    return out


STRACE_LINE = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$")


def syscalls_run(tmp, messages):
    """Counts the node's system calls per message (strace -f -c attached for one load per mode)."""
    if shutil.which("strace") is None:
        return None
    out = {}
    for mode in ("new", "reuse"):
        srv, work, _ = start_node(tmp, f"strace-{mode}", "baseline")
        srv.start()
        try:
            run_load(srv, 200, mode == "reuse", "bob@localhost")  # warm-up before attaching
            summary = work / "strace.txt"
            tracer = subprocess.Popen(["strace", "-f", "-c", "-o", str(summary), "-p", str(srv.pid)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)
            try:
                run_load(srv, messages, mode == "reuse")
            finally:
                time.sleep(1)
                tracer.send_signal(signal.SIGINT)
                tracer.wait(30)
            counts = {}
            for line in summary.read_text().splitlines():
                m = STRACE_LINE.match(line)
                if m and m.group(3) != "total":
                    counts[m.group(3)] = (int(m.group(1)), int(m.group(2) or 0))
        finally:
            srv.stop()
        out[mode] = {name: {"per_msg": round(c / messages, 2), "errors_per_msg": round(e / messages, 2)}
                     for name, (c, e) in sorted(counts.items(), key=lambda kv: -kv[1][0])}
        top = ", ".join(f"{k} {v['per_msg']}" for k, v in list(out[mode].items())[:8])
        print(f"[{time.strftime('%H:%M:%S')}] syscalls per message ({mode}): {top}", flush=True)
    return out


def write(results, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "levers.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# ActorMail levers: the same load under settings that need no code change", "",
             f"Run: {results['date']}, {results['rounds']} rounds, {results.get('warmup', 0)} untimed warm-up messages then "
             f"{results['messages']} timed messages of 2048 octets, "
             f"smtp-source -s 10; node {results['node_dll']}. Reproduce: "
             f"`{' '.join(['PYTHONPATH=tools', '/usr/bin/python3', 'tools/bench/levers.py', *results.get('argv', [])])}`.", ""]
    rows = []
    base = results.get("variants", {}).get("baseline")
    for v, modes in results.get("variants", {}).items():
        for mode in ("new", "reuse"):
            runs = modes[mode]
            med = statistics.median(r["msg_per_s"] for r in runs)
            cpu = statistics.median(r["cpu_us_per_msg"] for r in runs)
            rel = ""
            if base and v != "baseline":
                bmed = statistics.median(r["msg_per_s"] for r in base[mode])
                bcpu = statistics.median(r["cpu_us_per_msg"] for r in base[mode])
                rel = f"{med / bmed:.2f}x msg/s, {cpu / bcpu:.2f}x CPU"
            disks = [r["disk_per_msg"] for r in runs if r.get("disk_per_msg")]
            disk = " / ".join(f"{statistics.median(d[i] for d in disks):g}" for i in range(3)) if disks else "none (no block device)"
            rows.append([v, mode, f"{med:.0f}", " ".join(f"{r['msg_per_s']:.0f}" for r in runs), f"{cpu:.0f}", disk,
                         " ".join(f"{r['other_cpus']}" for r in runs), rel])
    headers = ["variant", "mode", "median msg/s", "per round", "median CPU us/msg", "disk writes / sectors / flushes per msg",
               "other processes' CPUs per round", "vs baseline"]
    if rows:
        lines += ["## Variants", "", md_table(headers, rows), ""]
        lines += ["| variant | what changes |", "|---|---|"] + [f"| {k} | {v[0]} |" for k, v in VARIANTS.items() if k in results["variants"]] + [""]
        print("\n" + table(headers, rows))
    for mode, counts in (results.get("syscalls") or {}).items():
        srows = [[k, v["per_msg"], v["errors_per_msg"]] for k, v in list(counts.items())[:20]]
        lines += [f"## System calls per message under strace -f -c ({mode}, {results['syscall_messages']} messages)", "",
                  md_table(["syscall", "per message", "failed per message"], srows), ""]
        print(f"\nsyscalls per message ({mode})\n" + table(["syscall", "per message", "failed"], srows))
    (out_dir / "levers.md").write_text("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--syscall-messages", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=500, help="untimed messages to bob@localhost before each timed load")
    ap.add_argument("--variants", default=",".join(v for v in VARIANTS if v not in VARIANT_BUILDS), help="comma-separated subset of: " + ", ".join(VARIANTS))
    ap.add_argument("--syscalls-only", action="store_true")
    ap.add_argument("--r2r-dll", help="actormail.dll of a ReadyToRun publish, for the ready-to-run variant "
                    "(dotnet publish src/ActorMail -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true)")
    ap.add_argument("--out", default=str(ROOT / "artifacts/bench"))
    args = ap.parse_args()
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants: {unknown}")
    builds = {v: pathlib.Path(getattr(args, option) or "") for v, option in VARIANT_BUILDS.items() if v in names}
    missing = [v for v, path in builds.items() if not path.is_file()]
    if missing:
        ap.error(f"variants {missing} need the build they run: {', '.join('--' + VARIANT_BUILDS[v].replace('_', '-') for v in missing)}")
    dll = NODE_DLL.resolve()
    if not dll.is_file():
        print(f"levers: no node at {dll}", file=sys.stderr)
        return 2
    if shutil.which("smtp-source") is None:
        print("levers: smtp-source missing: bash tools/install-deps.sh", file=sys.stderr)
        return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # Nothing is deleted before the end: see the note in run.py about ext4 without a journal.
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="actormail-levers-", dir="/tmp"))
    memory = pathlib.Path(tempfile.mkdtemp(prefix="actormail-levers-", dir=MEMORY_ROOT)) if "mail-tmpfs" in names else None
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "rounds": args.rounds, "messages": args.messages,
               "warmup": args.warmup, "argv": sys.argv[1:],
               "syscall_messages": args.syscall_messages, "node_dll": str(dll)}
    code = 0
    try:
        if not args.syscalls_only:
            results["variants"] = variants_run(tmp, names, args.rounds, args.messages, args.warmup, memory, builds)
        results["syscalls"] = syscalls_run(tmp, args.syscall_messages)
    except BenchError as e:
        print(f"levers: FAILED: {e}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        targets.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        if memory:
            shutil.rmtree(memory, ignore_errors=True)
    if code == 0:
        write(results, pathlib.Path(args.out))
    return code


if __name__ == "__main__":
    sys.exit(main())
