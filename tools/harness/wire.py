"""SMTP and POP3 over a socket, for the tests and the tools: a buffered reader of CRLF lines, the
SMTP multi-line reply parser, POP3 status lines and multi-line answers, dot-stuffing, and the
stripper of the trace lines the server puts in front of a stored message.

Lines are bytes, or str with text=True (ASCII; an octet that is not is replaced, so a test that
compares text still sees it is wrong). A reply that cannot be parsed raises ProtocolError; a
connection the server closed or reset raises Closed."""
import socket

CRLF = b"\r\n"
# Consumed octets are dropped from the buffer once there are this many: a reader of a large
# answer neither copies the rest on every line nor keeps it all.
COMPACT_AFTER = 1 << 20


class ProtocolError(Exception):
    """A reply that is not well formed, or not the one the protocol requires."""


class Closed(ConnectionError):
    """The server closed (or reset) the connection."""


def smtp_reply_at(buf, start=0):
    """The first complete SMTP reply in buf from offset start, as (code, [lines], end offset), or
    None while it is incomplete. Each line is three digits, then a space (the last line), a
    hyphen (more follow) or nothing; every line of one reply has the same code (RFC 5321 4.2.1)."""
    lines = []
    pos = start
    while True:
        end = buf.find(CRLF, pos)
        if end < 0:
            return None
        line = bytes(buf[pos:end])
        if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b"", b" ", b"-"):
            raise ProtocolError(f"not an SMTP reply line: {line[:120]!r}")
        if lines and line[:3] != lines[0][:3]:
            raise ProtocolError(f"reply code changes inside a multi-line reply: {[*lines, line]!r}")
        lines.append(line)
        pos = end + 2
        if line[3:4] != b"-":
            return int(line[:3]), lines, pos


def dot_stuff(message):
    """The message as DATA sends it and RETR answers it: a dot added in front of every line that
    starts with one (RFC 5321 4.5.2, RFC 1939 3), without the terminating line."""
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def dot_unstuff(line):
    """One line of a multi-line answer with its stuffing dot taken off."""
    return line[1:] if line.startswith(b".") else line


def strip_trace(raw):
    """The stored message without the Return-Path: and Received: lines (and their folded
    continuation lines) that the server prepends."""
    lines = raw.split(CRLF)
    i = 0
    while i < len(lines) and (lines[i].startswith((b"Return-Path:", b"Received:")) or lines[i][:1] in (b"\t", b" ")):
        i += 1
    return CRLF.join(lines[i:])


class Client:
    """One connection to an SMTP or POP3 server. reply() reads what the protocol answers to one
    command: for SMTP (code, [lines]), for POP3 the status line. With record=True everything
    received is kept in transcript, for a check of the whole conversation afterwards."""

    recv_size = 65536

    def __init__(self, sock, protocol="smtp", text=False, record=False):
        if protocol not in ("smtp", "pop3"):
            raise ValueError(f"protocol is smtp or pop3, not {protocol!r}")
        self.sock = sock
        self.protocol = protocol
        self.text = text
        self.transcript = bytearray() if record else None
        self.closed = False
        self._buf = bytearray()
        self._pos = 0

    @classmethod
    def connect(cls, host, port, protocol="smtp", timeout=10.0, source=None, **options):
        """A new connection; source is the local address to connect from (any port)."""
        sock = socket.create_connection((host, port), timeout=timeout,
                                        source_address=(source, 0) if source else None)
        return cls(sock, protocol, **options)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        """Sends bytes as they are, or a str as one line (ASCII, CRLF added)."""
        self.sock.sendall(data if isinstance(data, bytes) else data.encode("ascii") + CRLF)

    def cmd(self, line):
        """Sends one command line (str or bytes, CRLF added) and reads its reply."""
        self.sock.sendall((line if isinstance(line, bytes) else line.encode("ascii")) + CRLF)
        return self.reply()

    def fill(self):
        """Reads once from the socket into the buffer; raises Closed if the server has closed or reset."""
        try:
            chunk = self.sock.recv(self.recv_size)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            last = bytes(self.transcript[-200:]) if self.transcript is not None else bytes(self._buf[-200:])
            raise Closed(f"closed by the server; last received: {last!r}")
        if self.transcript is not None:
            self.transcript += chunk
        self._buf += chunk

    def _compact(self):
        if self._pos > COMPACT_AFTER:
            del self._buf[:self._pos]
            self._pos = 0

    def _out(self, raw):
        return raw.decode("ascii", "replace") if self.text else raw

    def line(self):
        """The next line, without its CRLF."""
        self._compact()
        while (end := self._buf.find(CRLF, self._pos)) < 0:
            self.fill()
        raw = bytes(self._buf[self._pos:end])
        self._pos = end + 2
        return self._out(raw)

    def reply(self):
        """SMTP: (code, [lines]) of the next reply, however many lines it has. POP3: the next
        status line, which must start with +OK or -ERR."""
        if self.protocol == "pop3":
            status = self.line()
            if not status.startswith(("+OK", "-ERR") if self.text else (b"+OK", b"-ERR")):
                raise ProtocolError(f"not a POP3 status line: {status[:120]!r}")
            return status
        self._compact()
        while (parsed := smtp_reply_at(self._buf, self._pos)) is None:
            self.fill()
        code, lines, self._pos = parsed
        return code, [self._out(line) for line in lines]

    def multiline(self):
        """POP3: the lines of a multi-line answer (its status line already read) up to the lone
        dot, still dot-stuffed."""
        dot = "." if self.text else b"."
        lines = []
        while (line := self.line()) != dot:
            lines.append(line)
        return lines

    def block(self):
        """POP3: the octets of a multi-line answer (its status line already read) up to its
        terminating line, still dot-stuffed and with every CRLF, found without splitting lines:
        for answers of many lines."""
        self._compact()
        while True:
            if self._buf.startswith(b".\r\n", self._pos):
                self._pos += 3
                return b""
            term = self._buf.find(b"\r\n.\r\n", self._pos)
            if term >= 0:
                data = bytes(self._buf[self._pos:term + 2])
                self._pos = term + 5
                return data
            self.fill()

    def wait_closed(self, timeout=10.0):
        """True if the server closes within timeout; what arrives meanwhile is read (and recorded)."""
        before = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while True:
                self.fill()
        except Closed:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(before)

    def nothing_within(self, seconds):
        """True if no octet arrives within seconds."""
        before = self.sock.gettimeout()
        self.sock.settimeout(seconds)
        try:
            self.fill()
            return False
        except socket.timeout:
            return True
        except Closed:
            return False
        finally:
            self.sock.settimeout(before)
