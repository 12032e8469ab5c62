"""Load clients of the benchmark, standard library only: SMTP latency, POP3 retrieval, many idle
SMTP connections, one large message, and the Maildir generator for the POP3 load.

Every loop here is bounded by a count and by a deadline; a client that cannot finish raises
BenchError instead of hanging."""
import errno
import math
import os
import pathlib
import random
import selectors
import socket
import time

from harness import wire


class BenchError(Exception):
    """Something broke: the run cannot report a figure for this measurement."""


def message_bytes(size, tag):
    """A plain RFC 5322 message of exactly `size` octets with CRLF line ends: a few headers, then
    lines of 'x' no longer than 78 octets. No line starts with a dot, so it needs no stuffing."""
    head = (f"From: <a@example.org>\r\nTo: <alice@localhost>\r\nSubject: bench {tag}\r\n"
            f"Message-ID: <{tag}@bench.example>\r\n\r\n").encode("ascii")
    if size < len(head) + 2:
        raise ValueError(f"message size {size} is smaller than its headers")
    lines = []
    left = size - len(head)
    while left > 0:
        n = min(left, 78)
        if left - n == 1:
            n -= 1  # never leave a single octet: a line needs at least its CRLF
        lines.append(b"x" * (n - 2) + b"\r\n")
        left -= n
    body = head + b"".join(lines)
    if len(body) != size:
        raise AssertionError(f"built {len(body)} octets, wanted {size}")
    return body


def percentile(samples, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


class LineSocket(wire.Client):
    """A blocking loopback connection (TCP_NODELAY) read with the harness's line reader: CRLF lines,
    SMTP replies and POP3 responses. A closed connection or a reply that is none is a BenchError."""

    recv_size = 262144

    def __init__(self, port, timeout, sock=None):
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock)

    def fill(self):
        try:
            super().fill()
        except wire.Closed:
            raise BenchError("the server closed the connection") from None

    def smtp_reply(self):
        """Reads one SMTP reply (all its lines); returns (code, last line)."""
        try:
            code, lines = self.reply()
        except wire.ProtocolError as e:
            raise BenchError(str(e)) from None
        return code, lines[-1]

    def expect(self, code, what):
        got, text = self.smtp_reply()
        if got != code:
            raise BenchError(f"{what}: expected {code}, got {text[:120]!r}")

    def pop3_multiline(self):
        """Reads one POP3 response that is multi-line when +OK; returns the octets between the
        status line and the terminating dot line (still dot-stuffed)."""
        status = self.line()
        if not status.startswith(b"+OK"):
            raise BenchError(f"POP3 error: {status[:120]!r}")
        return len(self.block())


# --- SMTP latency ------------------------------------------------------------------------------

def smtp_latency(port, count, size, warmup=0, timeout=30.0):
    """One connection, `warmup` + `count` sequential transactions; returns the seconds from sending
    the end-of-data line to reading its 250 reply for the last `count` (the warm-up goes to bob)."""
    c = LineSocket(port, timeout)
    try:
        c.expect(220, "greeting")
        c.send(b"EHLO bench.example\r\n")
        c.expect(250, "EHLO")
        samples = []
        for i in range(warmup + count):
            body = message_bytes(size, f"lat{i}")
            c.send(b"MAIL FROM:<a@example.org>\r\n")
            c.expect(250, "MAIL")
            c.send(b"RCPT TO:<bob@localhost>\r\n" if i < warmup else b"RCPT TO:<alice@localhost>\r\n")
            c.expect(250, "RCPT")
            c.send(b"DATA\r\n")
            c.expect(354, "DATA")
            c.send(body)
            t0 = time.perf_counter()
            c.send(b".\r\n")
            code, text = c.smtp_reply()
            if i >= warmup:
                samples.append(time.perf_counter() - t0)
            if code != 250:
                raise BenchError(f"end of data: {text[:120]!r}")
        c.send(b"QUIT\r\n")
        c.expect(221, "QUIT")
        return samples
    finally:
        c.close()


# --- POP3 --------------------------------------------------------------------------------------

def make_maildir(root, user, count, size, seen=False):
    """Writes `count` messages of `size` octets into <root>/<user>/new with Maildir names
    `<sec>.M<usec>P<pid>Q<n>.bench,S=<size>`, or with `seen` into cur/ with the info ':2,' that a
    server adds once it has moved them there; returns the user's directory."""
    box = pathlib.Path(root) / user
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    # Names as a stream of deliveries leaves them: the time advancing (100 a second, the last one
    # now) and the microseconds scattered. Dovecot finds names through a hash (ELF-style) that sees
    # little but a name's end; names that differed only in a counter, as these once did, fell into
    # a tenth as many hash values for some process ids, and Dovecot's first scan of 100,000 of
    # them took minutes instead of seconds (measured with perf: maildir_filename_base_cmp, 72 %).
    now = int(time.time())
    pid = os.getpid()
    scatter = random.Random(count)
    for n in range(1, count + 1):
        data = message_bytes(size, f"pop{n}")
        name = f"{now - (count - n) // 100}.M{scatter.randrange(1000000):06d}P{pid}Q{n}.bench,S={len(data)}"
        with open(box / "cur" / (name + ":2,") if seen else box / "new" / name, "wb") as f:
            f.write(data)
    return box


def pop3_retrieve_all(port, user, password, batch=50, timeout=60.0):
    """One session: USER/PASS, STAT, RETR every message with `batch` commands sent at a time,
    QUIT (no DELE). Returns counts and the time of each phase."""
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    c = LineSocket(port, timeout)
    try:
        greeting = c.line()
        if not greeting.startswith(b"+OK"):
            raise BenchError(f"POP3 greeting: {greeting[:120]!r}")
        c.send(f"USER {user}\r\n".encode())
        if not c.line().startswith(b"+OK"):
            raise BenchError("USER refused")
        c.send(f"PASS {password}\r\n".encode())
        reply = c.line()
        if not reply.startswith(b"+OK"):
            raise BenchError(f"PASS refused: {reply[:120]!r}")
        t_login = time.perf_counter()
        c.send(b"STAT\r\n")
        stat = c.line().split()
        if stat[:1] != [b"+OK"] or len(stat) < 3:
            raise BenchError(f"STAT: {stat!r}")
        count, octets = int(stat[1]), int(stat[2])
        t_retr = time.perf_counter()
        received = 0
        for first in range(1, count + 1, batch):
            last = min(count, first + batch - 1)
            c.send(b"".join(f"RETR {i}\r\n".encode() for i in range(first, last + 1)))
            for _ in range(first, last + 1):
                received += c.pop3_multiline()
        t_done = time.perf_counter()
        c.send(b"QUIT\r\n")
        if not c.line().startswith(b"+OK"):
            raise BenchError("QUIT refused")
        t_end = time.perf_counter()
    finally:
        c.close()
    return {
        "messages": count,
        "stat_octets": octets,
        "received_octets": received,
        "login_s": t_login - t0,
        "retr_s": t_done - t_retr,
        "session_s": t_end - t0,
        "client_cpu_s": time.process_time() - cpu0,
    }


def pop3_stat(port, user, password, timeout=30.0):
    """The message count STAT gives in a session of its own (QUIT without deleting)."""
    c = LineSocket(port, timeout)
    try:
        for command in (None, f"USER {user}", f"PASS {password}"):
            if command:
                c.send(command.encode() + b"\r\n")
            if not c.line().startswith(b"+OK"):
                raise BenchError(f"POP3 {command or 'greeting'} refused")
        c.send(b"STAT\r\nQUIT\r\n")
        stat = c.line().split()
        c.line()
        if stat[:1] != [b"+OK"] or len(stat) < 3:
            raise BenchError(f"STAT: {stat!r}")
        return int(stat[1])
    finally:
        c.close()


def pop3_listing(port, user, password, after_stat=None, timeout=300.0, sock=None, times=None):
    """One session over a large maildrop: the time of sign-in (PASS to its +OK, which is when a
    server takes its snapshot), STAT, LIST and UIDL each, then QUIT without deleting anything.
    after_stat() runs while the session still holds the maildrop (to read the server's memory);
    `sock`, a connected socket to use instead of connecting to port; `times`, a dict that gets each
    time as soon as it is measured (what a caller still has when a later command times out)."""
    c = LineSocket(port, timeout, sock=sock)
    try:
        if not c.line().startswith(b"+OK"):
            raise BenchError("POP3 greeting refused")
        c.send(f"USER {user}\r\n".encode())
        if not c.line().startswith(b"+OK"):
            raise BenchError("USER refused")
        times = {} if times is None else times
        t0 = time.perf_counter()
        c.send(f"PASS {password}\r\n".encode())
        reply = c.line()
        times["signin_s"] = time.perf_counter() - t0
        if not reply.startswith(b"+OK"):
            raise BenchError(f"PASS refused: {reply[:120]!r}")
        t0 = time.perf_counter()
        c.send(b"STAT\r\n")
        stat = c.line().split()
        times["stat_s"] = time.perf_counter() - t0
        if stat[:1] != [b"+OK"] or len(stat) < 3:
            raise BenchError(f"STAT: {stat!r}")
        if after_stat is not None:
            after_stat()
        counts = {"messages": int(stat[1])}
        for verb in ("LIST", "UIDL"):
            t0 = time.perf_counter()
            c.send(verb.encode() + b"\r\n")
            if not c.line().startswith(b"+OK"):
                raise BenchError(f"{verb} refused")
            counts[verb.lower() + "_lines"] = c.block().count(b"\r\n")
            times[verb.lower() + "_s"] = time.perf_counter() - t0
        c.send(b"QUIT\r\n")
        if not c.line().startswith(b"+OK"):
            raise BenchError("QUIT refused")
    finally:
        c.close()
    return {**counts, **times}


# --- many connections --------------------------------------------------------------------------

class _Conn:
    __slots__ = ("sock", "state", "buf", "out", "step")

    def __init__(self, sock):
        self.sock = sock
        self.state = "connecting"
        self.buf = bytearray()
        self.out = b""
        self.step = 0


def _reply_complete(buf):
    """(code, end offset) of the first complete SMTP reply in buf, or None; code -1 if it is none."""
    try:
        reply = wire.smtp_reply_at(buf)
    except wire.ProtocolError:
        return -1, len(buf)
    return None if reply is None else (reply[0], reply[2])


def hold_connections(port, count, on_all_open, open_deadline_s, txn_deadline_s, size=2048, max_pending=256):
    """Opens `count` SMTP connections (at most `max_pending` not yet greeted at a time) and keeps
    them all open; calls on_all_open(greeted) once every connection is greeted or has failed; then
    every greeted connection runs EHLO, MAIL, RCPT, DATA, QUIT at once, driven by one selector.
    Returns counts, failures by reason and timings."""
    sel = selectors.DefaultSelector()
    conns = []
    failures = {}

    def fail(conn, reason):
        failures[reason] = failures.get(reason, 0) + 1
        try:
            sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        conn.state = "failed"

    # Phase 1: connect and wait for each greeting.
    t0 = time.perf_counter()
    deadline = t0 + open_deadline_s
    launched = 0
    pending = 0
    greeted = 0
    while (launched < count or pending > 0) and time.perf_counter() < deadline:
        while launched < count and pending < max_pending:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            conn = _Conn(s)
            conns.append(conn)
            launched += 1
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                fail(conn, f"connect: {errno.errorcode.get(err, err)}")
                continue
            sel.register(s, selectors.EVENT_WRITE, conn)
            pending += 1
        for key, _ in sel.select(timeout=0.5):
            conn = key.data
            if conn.state == "connecting":
                err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    pending -= 1
                    fail(conn, f"connect: {errno.errorcode.get(err, err)}")
                    continue
                conn.state = "greeting"
                sel.modify(conn.sock, selectors.EVENT_READ, conn)
            elif conn.state == "greeting":
                try:
                    chunk = conn.sock.recv(4096)
                except OSError as e:
                    pending -= 1
                    fail(conn, f"recv before greeting: {e.strerror}")
                    continue
                if not chunk:
                    pending -= 1
                    fail(conn, "closed before greeting")
                    continue
                conn.buf += chunk
                r = _reply_complete(conn.buf)
                if r is None:
                    continue
                pending -= 1
                if r[0] != 220:
                    fail(conn, f"greeting {r[0]}")
                    continue
                del conn.buf[:r[1]]
                conn.state = "idle"
                sel.unregister(conn.sock)
                greeted += 1
    for conn in conns:
        if conn.state in ("connecting", "greeting"):
            fail(conn, "no greeting before the deadline")
    not_launched = count - launched
    if not_launched:
        failures["not opened before the deadline"] = not_launched
    t_open = time.perf_counter() - t0

    on_all_open(greeted)

    # Phase 2: every open connection runs one transaction at once.
    body = message_bytes(size, "scale") + b".\r\n"
    script = [
        (b"EHLO bench.example\r\n", 250),
        (b"MAIL FROM:<a@example.org>\r\n", 250),
        (b"RCPT TO:<alice@localhost>\r\n", 250),
        (b"DATA\r\n", 354),
        (body, 250),
        (b"QUIT\r\n", 221),
    ]
    t1 = time.perf_counter()
    deadline = t1 + txn_deadline_s
    active = 0
    for conn in conns:
        if conn.state != "idle":
            continue
        if conn.buf:
            fail(conn, "unexpected input while idle")
            continue
        conn.state = "txn"
        conn.step = 0
        conn.out = script[0][0]
        sel.register(conn.sock, selectors.EVENT_WRITE, conn)
        active += 1
    completed = 0
    while active > 0 and time.perf_counter() < deadline:
        for key, mask in sel.select(timeout=0.5):
            conn = key.data
            if conn.state != "txn":
                continue
            try:
                if mask & selectors.EVENT_WRITE and conn.out:
                    sent = conn.sock.send(conn.out)
                    conn.out = conn.out[sent:]
                    if not conn.out:
                        sel.modify(conn.sock, selectors.EVENT_READ, conn)
                    continue
                if mask & selectors.EVENT_READ:
                    chunk = conn.sock.recv(4096)
                    if not chunk:
                        active -= 1
                        fail(conn, f"closed during step {conn.step}")
                        continue
                    conn.buf += chunk
            except OSError as e:
                active -= 1
                fail(conn, f"socket error in step {conn.step}: {e.strerror}")
                continue
            r = _reply_complete(conn.buf)
            if r is None:
                continue
            del conn.buf[:r[1]]
            want = script[conn.step][1]
            if r[0] != want:
                active -= 1
                fail(conn, f"step {conn.step} ({script[conn.step][0][:4].decode(errors='replace').strip()}): {r[0]}")
                continue
            conn.step += 1
            if conn.step == len(script):
                active -= 1
                completed += 1
                conn.state = "done"
                sel.unregister(conn.sock)
                conn.sock.close()
                continue
            conn.out = script[conn.step][0]
            sel.modify(conn.sock, selectors.EVENT_WRITE, conn)
    for conn in conns:
        if conn.state == "txn":
            fail(conn, f"transaction unfinished at the deadline (step {conn.step})")
        elif conn.state == "idle":
            conn.sock.close()
    sel.close()
    return {
        "requested": count,
        "greeted": greeted,
        "completed": completed,
        "failures": failures,
        "failed": sum(failures.values()),
        "open_s": t_open,
        "transactions_s": time.perf_counter() - t1,
    }


# --- one large message -------------------------------------------------------------------------

def send_large(port, size, timeout=300.0):
    """Sends one message of at least `size` octets (lines of 100 octets) over one connection;
    returns the seconds from DATA to the 250 reply and the octets sent."""
    line = b"x" * 98 + b"\r\n"
    chunk = line * 10486  # about 1 MiB
    head = b"From: <a@example.org>\r\nTo: <alice@localhost>\r\nSubject: bench large\r\n\r\n"
    lines = -(-(size - len(head)) // len(line))  # whole lines, rounding up to reach `size`
    total = len(head) + lines * len(line)
    c = LineSocket(port, timeout)
    try:
        c.expect(220, "greeting")
        c.send(b"EHLO bench.example\r\n")
        c.expect(250, "EHLO")
        c.send(f"MAIL FROM:<a@example.org> SIZE={total}\r\n".encode())
        c.expect(250, "MAIL")
        c.send(b"RCPT TO:<alice@localhost>\r\n")
        c.expect(250, "RCPT")
        t0 = time.perf_counter()
        c.send(b"DATA\r\n")
        c.expect(354, "DATA")
        c.send(head)
        sent = len(head)
        per_chunk = len(chunk) // len(line)
        while lines > 0:
            n = min(lines, per_chunk)
            c.send(chunk if n == per_chunk else line * n)
            sent += n * len(line)
            lines -= n
        c.send(b".\r\n")
        code, text = c.smtp_reply()
        elapsed = time.perf_counter() - t0
        if code != 250:
            raise BenchError(f"large message refused: {text[:120]!r}")
        c.send(b"QUIT\r\n")
        c.expect(221, "QUIT")
        return elapsed, sent
    finally:
        c.close()


def smtp_one(port, size, timeout=30.0):
    """One short transaction (used to warm a node up before a measurement)."""
    c = LineSocket(port, timeout)
    try:
        c.expect(220, "greeting")
        c.send(b"EHLO bench.example\r\n")
        c.expect(250, "EHLO")
        for cmd, code in ((b"MAIL FROM:<a@example.org>\r\n", 250), (b"RCPT TO:<alice@localhost>\r\n", 250), (b"DATA\r\n", 354)):
            c.send(cmd)
            c.expect(code, cmd[:4].decode())
        c.send(message_bytes(size, "warm") + b".\r\n")
        c.expect(250, "end of data")
        c.send(b"QUIT\r\n")
        c.expect(221, "QUIT")
    finally:
        c.close()
