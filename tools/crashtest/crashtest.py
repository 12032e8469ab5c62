#!/usr/bin/env python3
"""Crash-safety checker for the ActorMail node.

Each round starts the node on one mail root that lives for the whole run, drives it with 8
parallel SMTP senders (alice, bob, or both as recipients) and one POP3 reader that retrieves
and deletes, then kills the node with SIGKILL at a moment drawn from a seeded RNG, restarts it
on the same mail root and checks every file against a ledger the checker wrote as it went:

* every message that got 250 is in each recipient's Maildir exactly once, and intact
  (SHA-256 of the body, after the server's trace lines, equals X-Body-Sha256; size equals S=);
* nothing else appears: no file without a ledger entry, no copy of a message that was refused;
* a message whose 250 was lost in the kill may be stored or not, but if stored it is intact;
* after the restart tmp/ and <root>/.spool are empty (stale files, including ones this
  checker plants, were swept);
* POP3: a kill before QUIT deletes nothing; a kill just after QUIT (during UPDATE) leaves each
  marked message present or gone and every unmarked message present; after +OK to QUIT every
  marked message is gone.

Usage: PYTHONPATH=tools tools/crashtest/crashtest.py [--rounds N] [--seconds-per-round S] [--seed N] [--quick]
The node (src/ActorMail/bin/Release/net10.0/actormail.dll, or the path in ACTORMAIL_NODE_DLL) is
started by tools/harness on ports the system chooses, afresh at each restart.
"""
import argparse
import hashlib
import json
import pathlib
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid

from harness import USERS, Node, wire
from harness.wire import ProtocolError

ADDRESSES = {"alice": ["alice@localhost", "alice@actormail.test"], "bob": ["bob@localhost", "bob@actormail.test"]}
RECIPIENT_SETS = [("alice",), ("bob",), ("alice", "bob")]
SENDERS = 8
MODES = ("smtp", "pop3-update", "pop3-before-quit")
SMTP_REPLY = re.compile(rb"^[2-5][0-9]{2}[ -][\x20-\x7e]*$|^[2-5][0-9]{2}$")
POP3_STATUS = re.compile(rb"^(\+OK|-ERR)( [\x20-\x7e]*)?$")


class Smtp(wire.Client):
    """An SMTP connection whose reply lines must also be printable ASCII (the harness checks their form)."""

    def __init__(self, host, port, timeout=15.0):
        super().__init__(socket.create_connection((host, port), timeout=timeout))

    def reply(self):
        code, lines = super().reply()
        bad = next((line for line in lines if not SMTP_REPLY.match(line)), None)
        if bad is not None:
            raise ProtocolError(f"malformed SMTP reply line {bad[:200]!r}")
        return code, lines


class Pop3(wire.Client):
    """A POP3 connection whose status lines must also be printable ASCII."""

    def __init__(self, host, port, timeout=15.0):
        super().__init__(socket.create_connection((host, port), timeout=timeout), "pop3")

    def status(self):
        line = self.reply()
        if not POP3_STATUS.match(line):
            raise ProtocolError(f"malformed POP3 status line {line[:200]!r}")
        return line

    def command(self, text, expect_ok=True):
        self.send(text)
        line = self.status()
        if expect_ok and not line.startswith(b"+OK"):
            raise ProtocolError(f"{text.split()[0]} answered {line!r}")
        return line

    def unstuffed(self):
        """The lines of a multi-line answer, dot-unstuffed, without the terminating '.'."""
        return [wire.dot_unstuff(line) for line in self.multiline()]


class Ledger:
    """What the checker sent and what it was told, one JSON object a line, written as it goes."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.lock = threading.Lock()
        self.file = open(self.path, "a", encoding="ascii")
        self.started = time.monotonic()

    def write(self, **entry):
        entry["t"] = round(time.monotonic() - self.started, 4)
        text = json.dumps(entry, separators=(",", ":")) + "\n"
        with self.lock:
            self.file.write(text)
            self.file.flush()

    def close(self):
        with self.lock:
            self.file.close()


def make_message(rng, recipients):
    """A message with a unique X-Crash-Id and the SHA-256 of its body; returns (id, the stuffed bytes DATA sends, body sha)."""
    crash_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    pick = rng.random()
    size = rng.randint(64, 3000) if pick < 0.7 else rng.randint(3000, 48000) if pick < 0.95 else rng.randint(48000, 300000)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_=+!?"
    lines = []
    total = 0
    while total < size:
        n = rng.randint(0, 120)
        text = "".join(rng.choice(alphabet) for _ in range(n)) if n < 40 else (rng.choice(alphabet) * n)
        if rng.random() < 0.08:
            text = "." + text  # lines that need dot-stuffing
        lines.append(text)
        total += len(text) + 2
    body = ("\r\n".join(lines) + "\r\n").encode("ascii")
    sha = hashlib.sha256(body).hexdigest()
    to = ", ".join(ADDRESSES[r][0] for r in recipients)
    head = (
        f"From: checker@example.org\r\nTo: {to}\r\nSubject: crash check {crash_id[:8]}\r\n"
        f"Message-ID: <{crash_id}@crashtest.example>\r\nX-Crash-Id: {crash_id}\r\nX-Body-Sha256: {sha}\r\n\r\n"
    ).encode("ascii")
    return crash_id, wire.dot_stuff(head + body), sha


def inspect_message(raw):
    """(crash id or None, problem or None) for a stored or retrieved message."""
    message = wire.strip_trace(raw)
    split = message.find(b"\r\n\r\n")
    if split < 0:
        return None, "no end of header"
    head, body = message[:split], message[split + 4:]
    fields = {}
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().decode("ascii", "replace")
    crash_id = fields.get(b"x-crash-id")
    want = fields.get(b"x-body-sha256")
    if crash_id is None or want is None:
        return crash_id, "missing X-Crash-Id or X-Body-Sha256"
    if hashlib.sha256(body).hexdigest() != want:
        return crash_id, f"body hash mismatch ({len(body)} body octets)"
    return crash_id, None


def size_in_name(name):
    m = re.search(r",S=([0-9]+)", name)
    return int(m.group(1)) if m else None


class Round:
    """The load of one round: SMTP senders and a POP3 reader, until the node dies or stop is set."""

    def __init__(self, node, ledger, rng, number, mode, seconds):
        self.node = node
        self.ledger = ledger
        self.number = number
        self.mode = mode
        self.seconds = seconds
        self.stop = threading.Event()
        self.kill_now = threading.Event()
        self.first_ack = threading.Event()
        self.seeds = [rng.getrandbits(64) for _ in range(SENDERS + 1)]
        self.pop3_user = rng.choice(sorted(USERS))
        self.pop3_start = rng.uniform(0.25, 0.6) * seconds
        self.errors = []
        self.acked = 0
        self.refused = 0
        self.lock = threading.Lock()

    def sender(self, index):
        rng = random.Random(self.seeds[index])
        while not self.stop.is_set():
            client = None
            try:
                client = Smtp(self.node.host, self.node.smtp_port)
                code, _ = client.reply()
                if code != 220:
                    time.sleep(0.05)
                    continue
                client.cmd(f"EHLO sender{index}.crashtest.example")
                while not self.stop.is_set():
                    recipients = rng.choice(RECIPIENT_SETS)
                    crash_id, data, sha = make_message(rng, recipients)
                    if client.cmd("MAIL FROM:<checker@example.org>")[0] != 250:
                        raise ProtocolError("MAIL refused")
                    for r in recipients:
                        code, lines = client.cmd(f"RCPT TO:<{rng.choice(ADDRESSES[r])}>")
                        if code != 250:
                            raise ProtocolError(f"RCPT refused: {lines!r}")
                    if client.cmd("DATA")[0] != 354:
                        raise ProtocolError("DATA refused")
                    # From here the message may be stored even if no reply comes back.
                    self.ledger.write(ev="data", id=crash_id, rcpt=list(recipients), sha=sha, round=self.number)
                    client.sock.sendall(data + b".\r\n")
                    code, lines = client.reply()
                    if code == 250:
                        self.ledger.write(ev="ack", id=crash_id)
                        with self.lock:
                            self.acked += 1
                        self.first_ack.set()
                    else:
                        self.ledger.write(ev="refused", id=crash_id, code=code)
                        with self.lock:
                            self.refused += 1
            except ProtocolError as e:
                self.errors.append(f"sender {index}: {e}")
                return
            except OSError:
                # The node was killed, or is restarting: try again until the round ends.
                time.sleep(0.02)
            finally:
                if client:
                    client.close()

    def pop3_reader(self):
        """Retrieves, checks and deletes. In the pop3 modes it asks for the kill at its chosen moment."""
        rng = random.Random(self.seeds[SENDERS])
        self.first_ack.wait(20)
        deadline = time.monotonic() + self.pop3_start
        while time.monotonic() < deadline and not self.stop.is_set():
            time.sleep(0.01)
        sessions = 0
        final = self.mode != "smtp"
        while not self.stop.is_set():
            sessions += 1
            try:
                if self.pop3_session(rng, f"r{self.number}s{sessions}", final) and final:
                    return
            except ProtocolError as e:
                self.errors.append(f"pop3: {e}")
                self.kill_now.set()
                return
            except OSError:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.05, 0.3))

    def pop3_session(self, rng, session, final):
        user = self.pop3_user
        client = Pop3(self.node.host, self.node.pop3_port)
        try:
            if not client.status().startswith(b"+OK"):
                return False
            client.command(f"USER {user}")
            opened = client.command(f"PASS {USERS[user]}", expect_ok=False)
            if not opened.startswith(b"+OK"):
                return False  # e.g. [IN-USE] while an earlier session is being cleaned up: try again
            client.command("LIST")
            listing = [l.split() for l in client.unstuffed()]
            numbers = [int(n) for n, _ in listing]
            most = 150 if final and self.mode == "pop3-update" else 40
            numbers = sorted(rng.sample(numbers, min(len(numbers), rng.randint(5, most))))
            marked = []
            for n in numbers:
                if rng.random() < 0.15:
                    client.command(f"RETR {n}")
                    raw = b"\r\n".join(client.unstuffed()) + b"\r\n"
                    crash_id, problem = inspect_message(raw)
                    if problem:
                        raise ProtocolError(f"RETR {n} of {user} gave a damaged message {crash_id}: {problem}")
                else:
                    client.command(f"TOP {n} 0")
                    crash_id, _ = inspect_message(b"\r\n".join(client.unstuffed()) + b"\r\n")
                if crash_id is None:
                    raise ProtocolError(f"message {n} of {user} has no X-Crash-Id")
                client.command(f"DELE {n}")
                marked.append(crash_id)
                self.ledger.write(ev="marked", user=user, id=crash_id, session=session)
            if final and self.mode == "pop3-before-quit":
                self.ledger.write(ev="kill-before-quit", user=user, session=session, marked=len(marked))
                self.kill_now.set()
                self.stop.wait(30)  # the kill comes first; the socket is closed without QUIT
                return True
            if not final and rng.random() < 0.2:
                self.ledger.write(ev="dropped", user=user, session=session)
                return True  # closed without QUIT: none of the deletions may apply
            self.ledger.write(ev="quit-sent", user=user, session=session)
            client.sock.sendall(b"QUIT\r\n")
            if final:
                self.kill_now.set()
            line = client.status()
            if line.startswith(b"+OK"):
                self.ledger.write(ev="quit-ok", user=user, session=session)
            return True
        finally:
            client.close()

    def run(self, kill_rng):
        """Runs the load and kills the node; returns the seconds into the round the kill came."""
        threads = [threading.Thread(target=self.sender, args=(i,), daemon=True) for i in range(SENDERS)]
        threads.append(threading.Thread(target=self.pop3_reader, daemon=True))
        start = time.monotonic()
        for t in threads:
            t.start()
        if self.mode == "smtp":
            # The clock starts at the round's first 250, so that every kill lands on live traffic
            # (a node that just started may take a moment before it stores anything).
            delay = kill_rng.uniform(0.1, 1.0) * self.seconds
            self.first_ack.wait(20)
            time.sleep(delay)
        else:
            self.kill_now.wait(self.seconds + 20)
            if self.mode == "pop3-update":
                # Under load QUIT is answered after ~50 ms (the commit waits behind deliveries in the
                # mailbox actor): kills spread over that window land before, during and after UPDATE.
                time.sleep(kill_rng.uniform(0, 0.12))
        at = time.monotonic() - start
        self.node.process.kill()  # SIGKILL, by PID
        self.node.process.wait(10)
        self.stop.set()
        for t in threads:
            t.join(20)
        return at


def listing(root):
    return {user: {folder: sorted(p.name for p in (root / user / folder).iterdir()) if (root / user / folder).exists() else []
                   for folder in ("tmp", "new", "cur")} for user in USERS}


def leftovers(root):
    spool = root / ".spool"
    files = [str(p.relative_to(root)) for p in spool.iterdir()] if spool.exists() else []
    for user in USERS:
        tmp = root / user / "tmp"
        if tmp.exists():
            files += [str(p.relative_to(root)) for p in tmp.iterdir()]
    return sorted(files)


def plant_stale(root, number):
    """Leaves a half-written spool file and tmp/ file, as a crash mid-write would."""
    (root / ".spool").mkdir(parents=True, exist_ok=True)
    (root / ".spool" / f"planted-{number}.1").write_bytes(b"Return-Path: <x@y>\r\nSubject: half")
    for user in USERS:
        (root / user / "tmp").mkdir(parents=True, exist_ok=True)
        (root / user / "tmp" / f"{int(time.time())}.M1P1Q{number}.planted,S=999").write_bytes(b"Subject: half")
    return 1 + len(USERS)


def read_ledger(path):
    messages = {}
    sessions = {}
    for line in open(path, encoding="ascii"):
        e = json.loads(line)
        ev = e["ev"]
        if ev == "data":
            messages[e["id"]] = {"rcpt": e["rcpt"], "sha": e["sha"], "state": "unknown"}
        elif ev == "ack":
            messages[e["id"]]["state"] = "acked"
        elif ev == "refused":
            messages[e["id"]]["state"] = "refused"
        elif ev in ("marked", "quit-sent", "quit-ok", "kill-before-quit", "dropped"):
            s = sessions.setdefault(e["session"], {"user": e["user"], "marked": [], "quit": "none"})
            if ev == "marked":
                s["marked"].append(e["id"])
            elif ev == "quit-sent":
                s["quit"] = "sent"
            elif ev == "quit-ok":
                s["quit"] = "ok"
    return messages, sessions


def verify(root, ledger_path):
    """Checks the mail root against the ledger; returns counts and a list of violations."""
    messages, sessions = read_ledger(ledger_path)
    found = {}  # (id, user) -> number of files
    violations = []
    corrupt = unexpected = 0
    for user in USERS:
        for folder in ("new", "cur"):
            d = root / user / folder
            if not d.exists():
                continue
            for p in d.iterdir():
                raw = p.read_bytes()
                want = size_in_name(p.name)
                crash_id, problem = inspect_message(raw)
                if want is not None and want != len(raw):
                    problem = f"size {len(raw)} but S={want}"
                if problem:
                    corrupt += 1
                    violations.append(f"corrupt {user}/{folder}/{p.name}: {problem}")
                    continue
                if crash_id not in messages or user not in messages[crash_id]["rcpt"]:
                    unexpected += 1
                    violations.append(f"unexpected {user}/{folder}/{p.name} (id {crash_id})")
                    continue
                if messages[crash_id]["state"] == "refused":
                    unexpected += 1
                    violations.append(f"refused message stored: {user}/{folder}/{p.name}")
                found[(crash_id, user)] = found.get((crash_id, user), 0) + 1

    # What each POP3 session's deletions allow for each (id, user).
    must_be_gone = set()
    may_be_gone = set()
    updates = {"applied": 0, "not_applied": 0, "partly_applied": 0}
    for name, s in sessions.items():
        keys = {(i, s["user"]) for i in s["marked"]}
        if s["quit"] == "ok":
            must_be_gone |= keys
        elif s["quit"] == "sent":
            # Killed between QUIT and its answer: each marked message is present or gone.
            may_be_gone |= keys
    for name, s in sessions.items():
        keys = {(i, s["user"]) for i in s["marked"]}
        if s["quit"] == "sent" and keys:
            # Messages marked again by a later session that did finish are not evidence either way.
            keys -= must_be_gone
            gone = sum(1 for k in keys if found.get(k, 0) == 0)
            updates["applied" if gone == len(keys) else "not_applied" if gone == 0 else "partly_applied"] += 1
        # quit == "none": the session ended without QUIT (dropped or killed), so none of its deletions may apply.
    pop3_sessions = {
        "quit_ok": sum(1 for s in sessions.values() if s["quit"] == "ok"),
        "without_quit": sum(1 for s in sessions.values() if s["quit"] == "none"),
        "killed_after_quit": sum(1 for s in sessions.values() if s["quit"] == "sent"),
        "marked": sum(len(s["marked"]) for s in sessions.values()),
    }

    acked = lost = duplicates = resurrected = stored_unacked = deleted = 0
    acked_messages = sum(1 for m in messages.values() if m["state"] == "acked")
    for crash_id, m in messages.items():
        for user in m["rcpt"]:
            key = (crash_id, user)
            n = found.get(key, 0)
            if n > 1:
                duplicates += 1
                violations.append(f"{n} copies of {crash_id} for {user}")
            if m["state"] == "acked":
                acked += 1
            if key in must_be_gone:
                deleted += 1
                if n:
                    resurrected += 1
                    violations.append(f"{crash_id} for {user} is back after +OK to QUIT deleted it")
                continue
            if m["state"] == "acked":
                if n == 0 and key not in may_be_gone:
                    lost += 1
                    violations.append(f"lost: acknowledged {crash_id} for {user}")
                elif n == 0:
                    deleted += 1
            elif m["state"] == "unknown" and n:
                stored_unacked += 1
    return {
        "acknowledged": acked_messages, "acknowledged_copies": acked, "found": sum(found.values()), "lost": lost,
        "corrupt": corrupt, "unexpected": unexpected, "duplicates": duplicates, "resurrected": resurrected,
        "deleted_by_pop3": deleted, "stored_without_ack": stored_unacked, "updates_killed": updates,
        "pop3_sessions": pop3_sessions,
    }, violations


def run(node, rounds, seconds, seed, log=print):
    """The whole check against a node object with start(), process, host, smtp_port, pop3_port, mail_root."""
    rng = random.Random(seed)
    kill_rng = random.Random(seed ^ 0x5EED)
    root = pathlib.Path(node.mail_root)
    ledger_path = pathlib.Path(node.workdir) / "crash-ledger.jsonl"
    ledger = Ledger(ledger_path)
    totals = {"rounds": 0, "kills": 0, "acks_seen": 0, "refused": 0, "leftovers_after_kill": 0, "planted": 0, "modes": {}}
    violations = []
    node.start()
    try:
        for number in range(1, rounds + 1):
            mode = MODES[(number - 1) % len(MODES)] if number <= len(MODES) else rng.choice(MODES * 2 + ("smtp",) * 2)
            rnd = Round(node, ledger, rng, number, mode, seconds)
            at = rnd.run(kill_rng)
            totals["rounds"] += 1
            totals["kills"] += 1
            totals["acks_seen"] += rnd.acked
            totals["refused"] += rnd.refused
            totals["modes"][mode] = totals["modes"].get(mode, 0) + 1
            violations += [f"round {number}: {e}" for e in rnd.errors]
            left = leftovers(root)
            totals["leftovers_after_kill"] += len(left)
            totals["planted"] += plant_stale(root, number)
            node.start()
            after = leftovers(root)
            if after:
                violations.append(f"round {number}: not swept at restart: {after}")
            figures, problems = verify(root, ledger_path)
            violations += [f"round {number}: {p}" for p in problems]
            log(f"round {number:3d} {mode:16s} kill at {at:5.2f}s: {rnd.acked:5d} acked this round, "
                f"{len(left)} leftovers swept; totals acknowledged={figures['acknowledged']} found={figures['found']} "
                f"lost={figures['lost']} corrupt={figures['corrupt']} unexpected={figures['unexpected']}")
            if problems:
                for p in problems[:20]:
                    log(f"  VIOLATION {p}")
    finally:
        ledger.close()
        node.stop()
    figures, problems = verify(root, ledger_path)
    figures.update({k: totals[k] for k in ("rounds", "kills", "refused", "leftovers_after_kill", "planted")})
    figures["modes"] = totals["modes"]
    figures["seed"] = seed
    figures["violations"] = len(set(violations) | set(problems))
    return figures, sorted(set(violations) | set(problems))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="kills (default 20)")
    parser.add_argument("--seconds-per-round", type=float, default=3.0, help="longest load before each kill")
    parser.add_argument("--seed", type=int, default=None, help="RNG seed (default: random, printed)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2 s")
    parser.add_argument("--smtp-port", type=int, default=0, help="SMTP port of the node (default: any free one, new at each restart)")
    parser.add_argument("--pop3-port", type=int, default=0, help="POP3 port of the node (default: as for SMTP)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (mail root, ledger, logs)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds_per_round = 3, 2.0
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"crashtest: seed {seed} (rerun with --seed {seed}), {args.rounds} rounds of up to {args.seconds_per_round} s", flush=True)

    workdir = tempfile.mkdtemp(prefix="actormail-crash-")
    node = Node(workdir, smtp_port=args.smtp_port, pop3_port=args.pop3_port)
    started = time.monotonic()
    figures, violations = run(node, args.rounds, args.seconds_per_round, seed, log=lambda s: print(s, flush=True))
    elapsed = time.monotonic() - started
    for v in violations:
        print(f"VIOLATION {v}")
    print(json.dumps(figures, sort_keys=True))
    ok = not violations and figures["acknowledged"] > 0
    print(f"crashtest: {'PASS' if ok else 'FAIL'} seed={seed} rounds={figures['rounds']} kills={figures['kills']} "
          f"acknowledged={figures['acknowledged']} ({figures['acknowledged_copies']} copies) found={figures['found']} lost={figures['lost']} corrupt={figures['corrupt']} "
          f"unexpected={figures['unexpected']} duplicates={figures['duplicates']} stored_without_ack={figures['stored_without_ack']} "
          f"deleted_by_pop3={figures['deleted_by_pop3']} "
          f"leftovers_swept={figures['leftovers_after_kill']}+{figures['planted']} planted in {elapsed:.0f} s")
    if ok and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"crashtest: work folder kept at {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
