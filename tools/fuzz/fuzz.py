#!/usr/bin/env python3
"""Protocol fuzzer for the ActorMail node: random bytes and mutated SMTP and POP3 sessions.

Every case is one connection whose input is drawn from a seeded RNG (the case seed is
"<seed>:<iteration>", so any case can be rebuilt alone). Cases run over many connections at
once. Throughout the run the checker requires that:

* every reply line is well formed: SMTP `ddd` then space or hyphen (one code per multi-line
  reply, lines of at most 512 octets, printable ASCII, CRLF-terminated); POP3 `+OK`/`-ERR`
  status lines, and multi-line answers (CAPA, LIST, UIDL, RETR, TOP) ended by a lone `.`;
* nothing follows a closing reply (221, 421, POP3 sign-off or a closing -ERR);
* the node stays up, greets a fresh connection within 10 s at every health probe, and its
  resident memory (VmRSS in /proc/PID/status) stays under the limit.

A failing case is written with its input bytes to tools/fuzz/regressions.json (with
--record), which tests/e2e/test_hostile.py replays.

Usage (from the repository's root; make fuzz runs the long one):
       PYTHONPATH=tools tools/fuzz/fuzz.py [--seed N] [--iterations N] [--seconds S] [--workers N] [--rss-limit-mb M] [--record]
       PYTHONPATH=tools tools/fuzz/fuzz.py --case SEED:ITERATION [--record]   (one case again, e.g. a failing one)
       PYTHONPATH=tools tools/fuzz/fuzz.py --replay                          (the regression cases)
The node (src/ActorMail/bin/Release/net10.0/actormail.dll, or the path in ACTORMAIL_NODE_DLL) is
started by tools/harness on ports the system chooses.
"""
import argparse
import base64
import json
import pathlib
import random
import re
import select
import shutil
import socket
import sys
import tempfile
import threading
import time

from harness import Node, wire

ROOT = pathlib.Path(__file__).resolve().parents[2]
REGRESSIONS = pathlib.Path(__file__).resolve().parent / "regressions.json"

SMTP_LINE = re.compile(rb"^([2-5][0-9]{2})([ -][\t\x20-\x7e]*)?$")  # RFC 5321 textstring: HT and printable ASCII
POP3_STATUS = re.compile(rb"^(\+OK|-ERR)( [\x20-\x7e]*)?$")
POP3_MULTILINE_OPENERS = [
    (re.compile(rb"^\+OK Capability list follows$"), re.compile(rb"^[A-Z0-9-]+( [\x21-\x7e]+)*$")),
    (re.compile(rb"^\+OK [0-9]+ messages \([0-9]+ octets\)$"), re.compile(rb"^[0-9]+ [0-9]+$")),
    (re.compile(rb"^\+OK Unique-id listing follows$"), re.compile(rb"^[0-9]+ [\x21-\x7e]{1,70}$")),
    (re.compile(rb"^\+OK [0-9]+ octets$"), None),
    (re.compile(rb"^\+OK Top of message follows$"), None),
]
POP3_CLOSING = (b"signing off", b"Too many errors", b"Too many failed sign-ins", b"Idle timeout",
                b"shutting down", b"Too many connections")
MAX_REPLY_LINE = 512


# ---------------------------------------------------------------- reply checks

def split_lines(data, closed):
    """CRLF lines; a trailing fragment is a problem only if the server closed after it."""
    parts = data.split(b"\r\n")
    tail = parts.pop()
    problem = f"reply ends without CRLF: {tail[:80]!r}" if tail and closed else None
    return parts, problem


def check_smtp(data, closed=True):
    """None if every SMTP reply in data is well formed, else what is wrong."""
    lines, problem = split_lines(data, closed)
    if problem:
        return problem
    open_code = None
    finished = False
    for i, line in enumerate(lines):
        if finished:
            return f"line after the closing reply: {line[:80]!r}"
        if len(line) + 2 > MAX_REPLY_LINE:
            return f"reply line of {len(line) + 2} octets"
        m = SMTP_LINE.match(line)
        if not m:
            return f"malformed SMTP reply line {i}: {line[:120]!r}"
        code = m.group(1)
        if i == 0 and code not in (b"220", b"421", b"554"):
            return f"first reply is {line[:80]!r}, not a greeting"
        if open_code is not None and code != open_code:
            return f"code changes inside a multi-line reply: {open_code!r} then {line[:80]!r}"
        if line[3:4] == b"-":
            open_code = code
        else:
            open_code = None
            if code in (b"221", b"421"):
                finished = True
    return None


def check_pop3(data, closed=True):
    """None if every POP3 reply in data is well formed, else what is wrong."""
    lines, problem = split_lines(data, closed)
    if problem:
        return problem
    i = 0
    first = True
    finished = False
    while i < len(lines):
        line = lines[i]
        if finished:
            return f"line after the closing reply: {line[:80]!r}"
        if len(line) + 2 > MAX_REPLY_LINE:
            return f"status line of {len(line) + 2} octets"
        if not POP3_STATUS.match(line):
            return f"malformed POP3 status line {i}: {line[:120]!r}"
        if first and not (line.startswith(b"+OK") or b"[SYS/TEMP]" in line):
            return f"first reply is {line[:80]!r}, not a greeting"
        first = False
        i += 1
        content = next((c for opener, c in POP3_MULTILINE_OPENERS if opener.match(line)), False)
        if content is not False:
            while True:
                if i >= len(lines):
                    if closed:
                        return f"multi-line answer to {line[:60]!r} not ended by '.'"
                    return None
                body = lines[i]
                i += 1
                if body == b".":
                    break
                if content is not None and not content.match(body):
                    return f"bad line in the answer to {line[:60]!r}: {body[:80]!r}"
        elif any(word in line for word in POP3_CLOSING) and not line.startswith(b"+OK Maildrop"):
            finished = True
    return None


CHECKS = {"smtp": check_smtp, "pop3": check_pop3}


# ---------------------------------------------------------------- case generation

def _lines(*lines):
    return b"".join(l + b"\r\n" for l in lines)


SMTP_TEMPLATES = [
    _lines(b"EHLO fuzz.example", b"MAIL FROM:<fuzz@example.org>", b"RCPT TO:<alice@localhost>", b"DATA",
           b"Subject: fuzz", b"", b"hello", b"..leading dot", b".", b"QUIT"),
    _lines(b"HELO fuzz.example", b"MAIL FROM:<fuzz@example.org>", b"RCPT TO:<bob@actormail.test>",
           b"RCPT TO:<alice@localhost>", b"DATA", b"From: a@b", b"To: bob@actormail.test", b"", b"body line",
           b".", b"RSET", b"NOOP", b"QUIT"),
    _lines(b"EHLO fuzz.example", b"MAIL FROM:<> SIZE=120 BODY=8BITMIME", b"RCPT TO:<postmaster>", b"DATA",
           b"Subject: two", b"", b"first", b".", b"MAIL FROM:<x@y.example>", b"RCPT TO:<Postmaster@localhost>",
           b"DATA", b"second", b".", b"QUIT"),
    _lines(b"EHLO fuzz.example", b"VRFY alice", b"HELP", b"MAIL FROM:<a@b.example>", b"RCPT TO:<nobody@localhost>",
           b"RCPT TO:<victim@example.com>", b"RCPT TO:<../alice@localhost>", b"RSET", b"QUIT"),
    _lines(b"EHLO fuzz.example", b"MAIL FROM:<a@b.example>", b"RCPT TO:<alice@localhost>", b"DATA",
           b"x", b"line\nwith bare LF", b".", b"NOOP", b"QUIT"),
]

POP3_TEMPLATES = [
    _lines(b"CAPA", b"USER alice", b"PASS alice-demo", b"STAT", b"LIST", b"UIDL", b"RETR 1", b"TOP 1 3",
           b"NOOP", b"RSET", b"QUIT"),
    _lines(b"USER bob", b"PASS bob-demo", b"LIST 1", b"UIDL 1", b"DELE 1", b"LIST", b"RETR 1", b"RSET", b"QUIT"),
    _lines(b"USER alice", b"PASS wrong", b"USER bob", b"PASS bob-demo", b"STAT", b"TOP 2 0", b"QUIT"),
    _lines(b"USER ../../etc", b"PASS x", b"APOP alice 0123456789abcdef", b"STLS", b"QUIT"),
    _lines(b"USER alice", b"PASS alice-demo", b"DELE 1", b"DELE 1", b"RETR 999999999999", b"TOP 1 -1", b"QUIT"),
]

SPECIALS = [b"\r", b"\n", b"\0", b".", b"\r\n", b"\r\n.\r\n", b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r.\r",
            b"\xff", b"\x80", b"\x1b[2J", b" ", b"\t", b"<", b">", b":", b"@", b"%", b"\xc3\xa9"]


class Case:
    """One connection's input: protocol, the bytes in the chunks they are sent in, and how it ends."""

    def __init__(self, protocol, chunks, half_close, pause_ms, name=""):
        self.protocol = protocol
        self.chunks = chunks
        self.half_close = half_close
        self.pause_ms = pause_ms
        self.name = name

    @property
    def data(self):
        return b"".join(self.chunks)

    def to_json(self):
        return {"name": self.name, "protocol": self.protocol, "half_close": self.half_close,
                "pause_ms": self.pause_ms, "chunks": [encode_chunk(c) for c in self.chunks]}

    @classmethod
    def from_json(cls, d):
        return cls(d["protocol"], [decode_chunk(c) for c in d["chunks"]], d["half_close"], d.get("pause_ms", 0),
                   d.get("name", ""))


def encode_chunk(chunk, run=64):
    """A chunk as a list of pieces: base64 text, or [byte, count] for a run of one byte (keeps long tokens small)."""
    pieces, i, plain = [], 0, bytearray()
    while i < len(chunk):
        j = i
        while j < len(chunk) and chunk[j] == chunk[i]:
            j += 1
        if j - i >= run:
            if plain:
                pieces.append(base64.b64encode(bytes(plain)).decode("ascii"))
                plain.clear()
            pieces.append([chunk[i], j - i])
        else:
            plain += chunk[i:j]
        i = j
    if plain or not pieces:
        pieces.append(base64.b64encode(bytes(plain)).decode("ascii"))
    return pieces


def decode_chunk(pieces):
    return b"".join(bytes([p[0]]) * p[1] if isinstance(p, list) else base64.b64decode(p) for p in pieces)


def random_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        pos = rng.randint(0, len(data))
        if op == 0 and data:                       # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif op == 1:                              # truncation
            del data[pos:]
        elif op == 2 and data:                     # duplication of a slice
            a = rng.randrange(len(data))
            b = min(len(data), a + rng.randint(1, 200))
            data[pos:pos] = data[a:b] * rng.randint(1, 20)
        elif op == 3:                              # CR, LF, NUL, dots, terminators
            for _ in range(rng.randint(1, 6)):
                data[pos:pos] = rng.choice(SPECIALS)
                pos = rng.randint(0, len(data))
        elif op == 4:                              # a very long token
            n = rng.choice([300, 511, 512, 513, 1000, 1001, 4096, 65537, 200000])
            data[pos:pos] = bytes([rng.choice(b"A<@.:\0 ")]) * n
        elif op == 5 and data:                     # deletion of a slice
            del data[pos:pos + rng.randint(1, 64)]
        elif op == 6:                              # CRLF -> LF or CR
            lines = bytes(data).split(b"\r\n")
            data = bytearray(b"".join(l + rng.choice([b"\r\n", b"\r\n", b"\n", b"\r"]) for l in lines))
        elif op == 7:                              # swap two lines
            lines = bytes(data).split(b"\r\n")
            if len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\r\n".join(lines))
        else:                                      # random bytes spliced in
            data[pos:pos] = random_bytes(rng, rng.randint(1, 64))
    return bytes(data)


def generate(seed, iteration):
    """The case of one iteration: deterministic from the seed and the iteration number."""
    rng = random.Random(f"{seed}:{iteration}")
    kind = rng.random()
    protocol = "smtp" if rng.random() < 0.6 else "pop3"
    if kind < 0.75:
        data = mutate(rng, rng.choice(SMTP_TEMPLATES if protocol == "smtp" else POP3_TEMPLATES))
    elif kind < 0.9:
        n = int(10 ** rng.uniform(0, 4.5))
        data = random_bytes(rng, n)
        if rng.random() < 0.5:  # random lines
            data = data.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
            data = b"\r\n".join(data[i:i + rng.randint(1, 80)] for i in range(0, len(data), 80))
    else:
        # Many commands at once, valid and not, as a pipelining client would send them.
        pool = (SMTP_TEMPLATES if protocol == "smtp" else POP3_TEMPLATES)
        lines = b"".join(pool).split(b"\r\n")
        data = b"\r\n".join(rng.choice(lines) if rng.random() < 0.7 else random_bytes(rng, rng.randint(0, 30))
                             for _ in range(rng.randint(5, 400))) + b"\r\n"
    cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 6)))
    chunks, last = [], 0
    for c in cuts + [len(data)]:
        if c > last:
            chunks.append(data[last:c])
            last = c
    return Case(protocol, chunks or [b""], rng.random() < 0.5, rng.choice([0, 0, 1, 5]), f"{seed}:{iteration}")


# ---------------------------------------------------------------- running a case

def run_case(host, port, case, quiet=0.3, limit=10.0, greeting_timeout=10.0):
    """Sends the case and collects the replies; returns (replies, closed_by_server, problem)."""
    try:
        sock = socket.create_connection((host, port), timeout=greeting_timeout)
    except OSError as e:
        return b"", True, f"connect failed: {e}"
    received = bytearray()
    closed = False
    try:
        sock.setblocking(False)
        started = time.monotonic()
        r, _, _ = select.select([sock], [], [], greeting_timeout)
        if not r:
            return b"", False, f"no greeting within {greeting_timeout} s"
        pending = list(case.chunks)
        current = memoryview(pending.pop(0)) if pending else memoryview(b"")
        next_send = time.monotonic()
        shut = False
        last_activity = time.monotonic()
        while time.monotonic() - started < limit:
            sending = len(current) > 0 or pending
            wants_write = sending and time.monotonic() >= next_send
            r, w, _ = select.select([sock], [sock] if wants_write else [], [], 0.02)
            if r:
                try:
                    chunk = sock.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    closed = True
                    break
                except BlockingIOError:
                    chunk = None
                if chunk == b"":
                    closed = True
                    break
                if chunk:
                    received += chunk
                    last_activity = time.monotonic()
            if w:
                try:
                    n = sock.send(current[:65536])
                    current = current[n:]
                    last_activity = time.monotonic()
                except BlockingIOError:
                    pass
                except (ConnectionResetError, BrokenPipeError):
                    # The server closed (e.g. too many errors); read what it said before that.
                    pending, current = [], memoryview(b"")
                if len(current) == 0 and pending:
                    current = memoryview(pending.pop(0))
                    next_send = time.monotonic() + case.pause_ms / 1000
            if not (len(current) > 0 or pending):
                if case.half_close and not shut:
                    try:
                        sock.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    shut = True
                if time.monotonic() - last_activity > quiet:
                    break
        received = bytes(received)
        return received, closed, CHECKS[case.protocol](received, closed)
    finally:
        sock.close()


# ---------------------------------------------------------------- node watching

def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Watch(threading.Thread):
    """Polls the node's RSS and probes it with a fresh SMTP and POP3 connection every second."""

    def __init__(self, node, rss_limit_mb):
        super().__init__(daemon=True)
        self.node = node
        self.limit_kb = rss_limit_mb * 1024
        self.stop = threading.Event()
        self.max_kb = 0
        self.samples = 0
        self.probes = 0
        self.problems = []

    def probe(self):
        for protocol, port, greeting, noop in (("smtp", self.node.smtp_port, b"220", b"250"),
                                               ("pop3", self.node.pop3_port, b"+OK", b"-ERR")):
            started = time.monotonic()
            try:
                with wire.Client.connect(self.node.host, port, protocol, timeout=10) as c:
                    first = first_line(c.reply())
                    if first.startswith((b"421", b"-ERR [SYS/TEMP]")):
                        continue  # at the connection limit: refused cleanly, which is allowed
                    if not first.startswith(greeting):
                        return f"port {port}: greeting {first[:80]!r}"
                    answer = first_line(c.cmd("NOOP"))
                    if not answer.startswith(noop):
                        return f"port {port}: NOOP answered {answer[:80]!r}"
            except wire.ProtocolError as e:
                return f"port {port}: {e}"
            except OSError as e:
                return f"port {port}: no answer within 10 s ({e}) after {time.monotonic() - started:.1f} s"
        return None

    def run(self):
        last_probe = 0.0
        while not self.stop.is_set():
            if self.node.process.poll() is not None:
                self.problems.append(f"node exited with {self.node.process.returncode}")
                return
            kb = rss_kb(self.node.process.pid)
            if kb:
                self.samples += 1
                self.max_kb = max(self.max_kb, kb)
                if kb > self.limit_kb:
                    self.problems.append(f"RSS {kb // 1024} MB over the limit of {self.limit_kb // 1024} MB")
                    return
            if time.monotonic() - last_probe > 1.0:
                last_probe = time.monotonic()
                problem = self.probe()
                self.probes += 1
                if problem:
                    self.problems.append(f"health probe: {problem}")
                    return
            self.stop.wait(0.2)


def first_line(reply):
    """The first line of an SMTP reply (code, lines), or a POP3 status line."""
    return reply[1][0] if isinstance(reply, tuple) else reply


def prime(node):
    """Gives alice and bob a message each, so that POP3 cases have something to list, read and delete."""
    for user in ("alice", "bob"):
        case = Case("smtp", [_lines(b"EHLO prime.example", b"MAIL FROM:<prime@example.org>", b"RCPT TO:<%s@localhost>" % user.encode(),
                                    b"DATA", b"Subject: prime", b"", b"a line", b"..a dotted line", b".", b"QUIT")], False, 0)
        replies, _, problem = run_case(node.host, node.smtp_port, case, quiet=10.0, limit=20.0)
        if problem or b" queued as " not in replies:
            raise RuntimeError(f"could not give {user} a message: {problem or replies[-200:]!r}")


def port_for(node, case):
    return node.smtp_port if case.protocol == "smtp" else node.pop3_port


def fuzz(node, seed, iterations, seconds, workers=16, rss_limit_mb=768, log=print, cases=None):
    """Runs generated cases (or the given ones) against a started node; returns a report dict."""
    prime(node)
    lock = threading.Lock()
    counter = iter(range(len(cases) if cases is not None else iterations))
    deadline = time.monotonic() + seconds
    failures = []
    in_flight = {}
    counts = {"smtp": 0, "pop3": 0, "octets_sent": 0, "octets_received": 0, "closed_by_server": 0}
    # How deep the cases got: messages accepted, POP3 sign-ins, multi-line answers checked.
    depth = {"queued": 0, "signed_in": 0, "multiline": 0, "replies": 0}
    watch = Watch(node, rss_limit_mb)
    watch.start()

    def worker(w):
        while time.monotonic() < deadline and not watch.problems:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            case = cases[i] if cases is not None else generate(seed, i)
            in_flight[w] = case
            replies, closed, problem = run_case(node.host, port_for(node, case), case)
            with lock:
                counts[case.protocol] += 1
                counts["octets_sent"] += len(case.data)
                counts["octets_received"] += len(replies)
                counts["closed_by_server"] += closed
                depth["queued"] += replies.count(b" queued as ")
                depth["signed_in"] += replies.count(b"+OK Maildrop has ")
                depth["multiline"] += sum(replies.count(w) for w in (b"+OK Capability list", b" messages (",
                                                                      b" listing follows", b" octets\r\n", b"+OK Top of"))
                depth["replies"] += replies.count(b"\r\n")
                if problem:
                    failures.append({"case": case, "problem": problem, "replies": replies[-400:]})
                    log(f"FAIL {case.protocol} case {case.name}: {problem}")
            in_flight.pop(w, None)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    watch.stop.set()
    watch.join(10)
    final = watch.probe() if node.process.poll() is None else f"node exited with {node.process.returncode}"
    node_problems = list(watch.problems) + ([f"final probe: {final}"] if final else [])
    suspects = list(in_flight.values()) if node_problems else []
    return {
        "seed": seed, "iterations": counts["smtp"] + counts["pop3"], "smtp_cases": counts["smtp"],
        "pop3_cases": counts["pop3"], "octets_sent": counts["octets_sent"], "octets_received": counts["octets_received"],
        "closed_by_server": counts["closed_by_server"], "seconds": round(elapsed, 1), "failures": failures,
        "node_problems": node_problems, "suspects": suspects, "max_rss_mb": round(watch.max_kb / 1024, 1),
        "rss_samples": watch.samples, "health_probes": watch.probes, "depth": depth,
    }


# ---------------------------------------------------------------- regressions

def load_regressions(path=REGRESSIONS):
    if not pathlib.Path(path).exists():
        return []
    return [Case.from_json(c) for c in json.loads(pathlib.Path(path).read_text())["cases"]]


def record(failing, path=REGRESSIONS):
    """Adds failing cases (with what went wrong) to the regression file, once each."""
    path = pathlib.Path(path)
    doc = json.loads(path.read_text()) if path.exists() else {"cases": []}
    known = {c["name"] for c in doc["cases"]}
    for case, problem in failing:
        if case.name in known:
            continue
        entry = case.to_json()
        entry["problem"] = problem
        doc["cases"].append(entry)
        known.add(case.name)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop starting cases after this long")
    parser.add_argument("--workers", type=int, default=16, help="connections at once")
    parser.add_argument("--rss-limit-mb", type=int, default=768)
    parser.add_argument("--smtp-port", type=int, default=0, help="SMTP port of the node (default: any free one)")
    parser.add_argument("--pop3-port", type=int, default=0, help="POP3 port of the node (default: any free one)")
    parser.add_argument("--record", action="store_true", help=f"add failing cases to {REGRESSIONS.relative_to(ROOT)}")
    parser.add_argument("--replay", action="store_true", help="run the regression cases instead of generated ones")
    parser.add_argument("--case", action="append", default=[], metavar="SEED:ITERATION",
                        help="run only this generated case (repeatable); with --record, add it if it fails")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"fuzz: seed {seed} (rerun with --seed {seed}), up to {args.iterations} cases or {args.seconds} s, "
          f"{args.workers} connections at once", flush=True)

    workdir = tempfile.mkdtemp(prefix="actormail-fuzz-")
    node = Node(workdir, smtp_port=args.smtp_port, pop3_port=args.pop3_port).start()
    try:
        cases = load_regressions() if args.replay else None
        if args.case:
            cases = [generate(*(int(x) for x in c.split(":"))) for c in args.case]
        report = fuzz(node, seed, args.iterations, args.seconds, args.workers, args.rss_limit_mb,
                      log=lambda s: print(s, flush=True), cases=cases)
    finally:
        node.stop()
    failing = [(f["case"], f["problem"]) for f in report["failures"]]
    for p in report["node_problems"]:
        print(f"NODE PROBLEM {p}")
        failing += [(c, f"in flight when: {p}") for c in report["suspects"]]
    if args.record and failing:
        record(failing)
        print(f"fuzz: {len(failing)} cases added to {REGRESSIONS}")
    summary = {k: v for k, v in report.items() if k not in ("failures", "suspects")}
    summary["failures"] = len(report["failures"])
    print(json.dumps(summary, sort_keys=True))
    ok = not failing
    print(f"fuzz: {'PASS' if ok else 'FAIL'} seed={seed} cases={report['iterations']} (smtp {report['smtp_cases']}, "
          f"pop3 {report['pop3_cases']}) in {report['seconds']} s, {report['octets_sent']} octets sent, "
          f"malformed replies={len(report['failures'])}, node problems={len(report['node_problems'])}, "
          f"max RSS {report['max_rss_mb']} MB")
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"fuzz: node work folder (logs, mail) kept at {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
