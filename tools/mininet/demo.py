#!/usr/bin/env python3
"""ActorMail on a Mininet network: the brief's topology and demo, captured on the switch.

    h1 (SMTP server, 10.0.0.1) --- s1 --- h3 (POP3 server, 10.0.0.3)
                                   |
                                   +--- h2 (sender, 10.0.0.2)
                                   +--- h4 (receiver, 10.0.0.4)

h1 runs the node with ACTORMAIL_ROLE=smtp and h3 with ACTORMAIL_ROLE=pop3, both over ONE mail root
(a folder on the host: Mininet hosts share the filesystem, not the network). h2 sends a message to
alice with swaks; h4 lists, retrieves and deletes it with poplib, then checks it is gone. tcpdump
on the bridge s1 (in the root namespace) writes artifacts/pcap/demo_mininet.pcap, which is then
checked with tools/validate_pcap.py --project S08_E3. The session ids and mailbox of both
servers are read back from their logs (smtp.log of h1, pop3.log of h3).

Run as root, with the node built (make build) or named by ACTORMAIL_NODE_DLL:

    PYTHONPATH=tools /usr/bin/python3 tools/mininet/demo.py [--pcap FILE] [--keep]

Each server is a harness.Node run in its Mininet host (through the host's popen) on the lab's
fixed address and ports; it is ready once it has written its ready file, which the demo reads on
the filesystem the hosts share.

Uses Mininet's Python API only (LinuxBridge, no controller; never `mn`, never `mn -c`). Whatever
happens, the capture and both node processes are stopped by PID and the network is taken down.
Exit status 0 only if every step passed."""
import argparse
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from harness import NODE_DLL, ROOT, Node, NodeFailed, json_lines, stop_process

PY = "/usr/bin/python3"
CLIENTS = ROOT / "tools" / "mininet" / "clients.py"
DEFAULT_PCAP = ROOT / "artifacts" / "pcap" / "demo_mininet.pcap"
SMTP_PORT, POP3_PORT = 2525, 2110
HOSTS = {"h1": "10.0.0.1", "h2": "10.0.0.2", "h3": "10.0.0.3", "h4": "10.0.0.4"}
USER, PASSWORD = "alice", "alice-demo"      # a demo user of hocon/actormail.conf
STEP_TIMEOUT = 30


class DemoFailed(Exception):
    pass


STARTED = time.monotonic()


def step(text):
    print(f"\n*** [{time.monotonic() - STARTED:5.1f} s] {text}", flush=True)


def check_preconditions():
    if os.geteuid() != 0:
        raise DemoFailed("Mininet needs root")
    if not NODE_DLL.exists():
        raise DemoFailed(f"{NODE_DLL} is missing: run `make build` (or set ACTORMAIL_NODE_DLL)")
    for tool in ("brctl", "tcpdump", "tshark", "swaks", "mnexec", "dotnet"):
        if shutil.which(tool) is None:
            raise DemoFailed(f"{tool} not found (tools/install-deps.sh installs it)")
    # Mininet's names live in the root namespace: never take over another run's bridge or links.
    taken = [name for name in ["s1"] + [f"s1-eth{i}" for i in range(1, 5)]
             if pathlib.Path(f"/sys/class/net/{name}").exists()]
    if taken:
        raise DemoFailed(f"interfaces {', '.join(taken)} already exist: another Mininet run is up")


def server(work, hosts, name, role):
    """The node of one server host: on its fixed address and the lab ports, over the shared mail root."""
    return Node(work / name, smtp_port=SMTP_PORT, pop3_port=POP3_PORT, role=role, host=HOSTS[name],
                mail_root=work / "maildir", log_dir=work / f"{name}-logs", popen=hosts[name].popen,
                extra_env={
                    # dotnet wants a home folder; a shell started by sudo or cron may have none.
                    "HOME": os.environ.get("HOME", "/root"),
                    "DOTNET_CLI_HOME": os.environ.get("DOTNET_CLI_HOME", str(work / "dotnet-home")),
                    "ACTORMAIL_LOG_FORMAT": "json",
                    # The demo signs in to POP3 in clear from another host (not loopback).
                    "ACTORMAIL_AUTH_CLEAR_TEXT": "always",
                    "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
                })


def run_on(host, command, env=None, timeout=STEP_TIMEOUT):
    """Runs a command in a Mininet host; returns (exit status, output)."""
    proc = host.popen(command, env=env or dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return 124, out.decode(errors="replace") + f"\n(timed out after {timeout} s)"
    return proc.returncode, out.decode(errors="replace")


def start_capture(pcap):
    partial = pcap.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    dump = subprocess.Popen(
        ["tcpdump", "-i", "s1", "-U", "-n", "-s", "0", "-Z", "root", "-w", str(partial),
         f"tcp port {SMTP_PORT} or tcp port {POP3_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    line = dump.stderr.readline().decode(errors="replace")
    if "listening" not in line:
        stop_process(dump, signal.SIGINT)
        raise DemoFailed(f"tcpdump on s1 did not start: {line.strip()}")
    return dump, partial


def render(event):
    """The message of a compact-JSON Serilog event, with its properties filled in."""
    def value(m):
        v = event.get(m.group(1))
        return m.group(0) if v is None else str(v)
    return re.sub(r"\{@?([A-Za-z0-9_]+)(?::[^}]*)?\}", value, event.get("@mt", ""))


def show_sessions(title, path):
    """Prints each session of one log: its id, the mailbox, and its lines. Returns {id: [text]}."""
    sessions = {}
    for event in json_lines(path):
        sid = event.get("SessionId")
        if sid:
            sessions.setdefault(sid, []).append(event)
    print(f"{title} ({path.name}): {len(sessions)} session(s)")
    result = {}
    for sid, events in sessions.items():
        users = sorted({str(e["User"]) for e in events if e.get("User")} |
                       {m.group(1) for e in events for m in [re.search(r"stored for (\S+)", render(e))] if m})
        print(f"  SessionId {sid}  mailbox: {', '.join(users) or '-'}  remote: {events[0].get('Remote', '?')}")
        result[sid] = [render(e) for e in events]
        for text in result[sid]:
            print(f"      {text}")
    return result


def demo(args):
    work = pathlib.Path(tempfile.mkdtemp(prefix="actormail-mininet-"))
    try:
        run_demo(args, work)
    except Exception:
        print(f"\nmail root, node output and logs kept in {work}", file=sys.stderr)
        raise
    if args.keep:
        print(f"\nmail root and logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def run_demo(args, work):
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.nodelib import LinuxBridge

    check_preconditions()
    setLogLevel("warning")
    pcap = pathlib.Path(args.pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    (work / "maildir").mkdir()
    marker = f"mininet-demo-{uuid.uuid4().hex[:12]}"
    body = work / "body.txt"
    body.write_text(f"Hello alice, this crossed s1 from h2 to h1.\n"
                    f"marker: {marker}\n"
                    f".a line that starts with a dot")

    net = Mininet(topo=None, switch=LinuxBridge, controller=None, build=False)
    servers, dump, partial = {}, None, None
    try:
        step("Topology: h1 (smtp_server), h3 (pop3_server), h2 (sender), h4 (receiver) on s1")
        hosts = {name: net.addHost(name, ip=f"{ip}/24") for name, ip in HOSTS.items()}
        s1 = net.addSwitch("s1")
        for name in ("h1", "h3", "h2", "h4"):
            net.addLink(hosts[name], s1)
        net.build()
        net.start()
        for name, host in hosts.items():
            print(f"  {name} {host.IP()} via {host.defaultIntf()}")

        step(f"Servers over one mail root {work / 'maildir'}")
        for name, role in (("h1", "smtp"), ("h3", "pop3")):
            servers[name] = server(work, hosts, name, role)
            try:
                servers[name].start(timeout=STEP_TIMEOUT)
            except NodeFailed as e:
                raise DemoFailed(f"{name} is not serving: {e}") from None
            print(f"  {name}: ACTORMAIL_ROLE={role}, pid {servers[name].process.pid}, ready: {servers[name].ready}")

        step(f"Capture on s1 into {pcap}")
        dump, partial = start_capture(pcap)

        step("h2 sends a message to alice@localhost through h1 (swaks)")
        code, out = run_on(hosts["h2"], [
            "swaks", "--server", f"{HOSTS['h1']}:{SMTP_PORT}", "--ehlo", "h2.mininet",
            "--from", "bob@actormail.test", "--to", f"{USER}@localhost",
            "--header", f"Subject: Mininet demo {marker}", "--body", f"@{body}"])
        print(out.rstrip())
        if code != 0 or not re.search(r"<-  250 2\.0\.0 .*queued as", out) or "<-  221" not in out:
            raise DemoFailed(f"swaks failed ({code})")

        step("h4 reads it through h3 (poplib): LIST, RETR, DELE, QUIT, then checks it is gone")
        code, out = run_on(hosts["h4"], [PY, str(CLIENTS), "read", HOSTS["h3"], str(POP3_PORT), USER, marker],
                           env=dict(os.environ, ACTORMAIL_DEMO_PASSWORD=PASSWORD))
        print(out.rstrip())
        if code != 0:
            raise DemoFailed(f"the POP3 client failed ({code})")

        # Stopping within a second of the last packet can leave it out of the file.
        time.sleep(2)
        stop_process(dump, signal.SIGINT)
        dump = None
        if not partial.exists() or partial.stat().st_size <= 24:
            raise DemoFailed("the capture on s1 is empty")
        os.replace(partial, pcap)
        partial = None
    finally:
        for node in servers.values():
            node.stop()
        stop_process(dump, signal.SIGINT)
        if partial is not None:
            partial.unlink(missing_ok=True)
        net.stop()

    step("Sessions in the servers' logs")
    smtp = show_sessions("h1 SMTP", work / "h1-logs" / "smtp.log")
    pop3 = show_sessions("h3 POP3", work / "h3-logs" / "pop3.log")
    if not any(any(f"stored for {USER}" in t for t in texts) for texts in smtp.values()):
        raise DemoFailed("smtp.log on h1 has no session that stored the message for alice")
    if not any(any("UPDATE removed 1 messages" in t for t in texts) for texts in pop3.values()):
        raise DemoFailed("pop3.log on h3 has no session that removed the message at QUIT")

    step("Validate the capture (tools/validate_pcap.py --project S08_E3)")
    check = subprocess.run([PY, str(ROOT / "tools" / "validate_pcap.py"), "--project", "S08_E3", "--pcap", str(pcap)])
    if check.returncode != 0:
        raise DemoFailed(f"validate_pcap.py failed ({check.returncode})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", default=str(DEFAULT_PCAP), help=f"capture file (default {DEFAULT_PCAP.relative_to(ROOT)})")
    ap.add_argument("--keep", action="store_true", help="keep the mail root and logs")
    args = ap.parse_args()
    try:
        demo(args)
    except DemoFailed as e:
        print(f"\ndemo: FAILED: {e}", file=sys.stderr)
        return 1
    print(f"\ndemo: PASSED in {time.monotonic() - STARTED:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
