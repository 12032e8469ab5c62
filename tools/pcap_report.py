#!/usr/bin/env python3
"""Tables of the SMTP and POP3 conversations in a capture, as markdown.

    pcap_report.py [--pcap FILE] [--smtp-port 2525] [--pop3-port 2110]            print the tables
    pcap_report.py [--pcap FILE] --frames                                          print them with frame numbers
    pcap_report.py [--pcap FILE] --write DOC                                       put the tables into DOC
    pcap_report.py [--pcap FILE] --check DOC                                       exit 1 if DOC's tables differ

tshark gives each frame's number, relative time, stream, ports, TCP sequence number and payload;
this script joins each direction's payloads back into a byte stream (dropping retransmitted
bytes), cuts it into lines and follows the protocol the way the server does: SMTP command lines
end at LF, a DATA body ends only at CRLF.CRLF, replies are paired with commands in order
(pipelining), and POP3 multi-line responses end at a lone dot. It prints one row per command or
reply line with the reply code and the state the session is in afterwards.

The default output and what --write/--check handle hold only what is the same on every run of
the same scenario: the command and reply sequence, codes and texts, with 12-hex-digit session
ids in replies (ActorMail's queue ids) replaced by <id>. Ports, stream and frame numbers and
times are left out (--frames adds them, for a walkthrough of one capture). Connections in which
the client sent nothing (port probes while a server starts) are left out; --frames says how
many there were. Credentials are never printed: a POP3 PASS argument and an SMTP AUTH initial
response show as ****.

Exit codes: 0 done (or --check: no difference), 1 --check found a difference, 2 usage or setup error.
"""

import argparse
import collections
import difflib
import os
import re
import shutil
import subprocess
import sys

EXIT_OK, EXIT_DIFF, EXIT_SETUP = 0, 1, 2
BEGIN = "<!-- pcap_report:begin -->"
END = "<!-- pcap_report:end -->"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PCAP = "artifacts/pcap/traffic_e2.pcap"
SESSION_ID = re.compile(r"\b[0-9a-f]{12}\b")
ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
POP3_MULTILINE = {"CAPA", "RETR", "TOP"}          # always multi-line on +OK
POP3_MULTILINE_NO_ARG = {"LIST", "UIDL"}          # multi-line on +OK when given no argument


class SetupError(Exception):
    """The capture cannot be read."""


# --- reading the capture -----------------------------------------------------------------------

def read_segments(pcap, ports):
    """Payload-carrying TCP segments on the given server ports, in frame order."""
    if shutil.which("tshark") is None:
        raise SetupError("tshark is not installed")
    if not os.path.isfile(pcap):
        raise SetupError("no such capture: %s" % pcap)
    port_filter = " || ".join("tcp.port==%d" % p for p in ports)
    cmd = ["tshark", "-r", pcap, "-n", "-o", "tcp.desegment_tcp_streams:FALSE",
           "-o", "tcp.relative_sequence_numbers:TRUE",
           "-Y", "tcp.len>0 && (%s)" % port_filter,
           "-T", "fields", "-E", "separator=\t",
           "-e", "frame.number", "-e", "frame.time_relative", "-e", "tcp.stream",
           "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.seq", "-e", "tcp.payload"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SetupError("tshark failed on %s: %s" % (pcap, done.stderr.strip()))
    segments = []
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 7 or not parts[6]:
            continue
        frame, time, stream, sport, dport, seq, payload = parts
        segments.append((int(frame), float(time), int(stream), int(sport), int(dport), int(seq),
                         bytes.fromhex(payload.replace(":", ""))))
    return segments


def count_streams(pcap, ports):
    """Every TCP stream that touches the server ports, with or without payload."""
    port_filter = " || ".join("tcp.port==%d" % p for p in ports)
    done = subprocess.run(["tshark", "-r", pcap, "-n", "-Y", port_filter, "-T", "fields", "-e", "tcp.stream"],
                          capture_output=True, text=True)
    return len({s for s in done.stdout.split() if s})


# --- following the protocols -------------------------------------------------------------------

class Row:
    """One line of the conversation: who sent it, the text, the reply code and the state after it."""

    def __init__(self, frame, time, direction, text, code="", enhanced="", state=""):
        self.frame, self.time, self.direction = frame, time, direction
        self.text, self.code, self.enhanced, self.state = text, code, enhanced, state
        self.command = False        # a command line (not a body or a listing)
        self.first = None           # (frame, time) where a body began, when it spans frames
        self.reply = False          # the row that stands for a whole reply in the summary


class Conversation:
    """One TCP stream: its bytes in each direction, cut into lines by the protocol's rules."""

    protocol = "?"

    def __init__(self, stream, client_port):
        self.stream, self.client_port = stream, client_port
        self.rows = []
        self.client_bytes = 0
        self.client_buf = b""
        self.server_buf = b""
        self.client_marks = collections.deque()     # (frame, time, octets) of what client_buf holds
        self.next_seq = {}
        self.client_frame = self.server_frame = (0, 0.0)

    def feed(self, frame, time, from_client, seq, payload):
        key = "c" if from_client else "s"
        expected = self.next_seq.get(key)
        if expected is not None and seq < expected:
            payload = payload[expected - seq:]      # a retransmission: keep only new bytes
            seq = expected
        if not payload:
            return
        self.next_seq[key] = seq + len(payload)
        if from_client:
            self.client_bytes += len(payload)
            self.client_frame = (frame, time)
            self.client_buf += payload
            self.client_marks.append([frame, time, len(payload)])
            self.parse_client()
        else:
            self.server_frame = (frame, time)
            self.server_buf += payload
            self.parse_server()

    def add(self, at, direction, text, code="", enhanced="", state=""):
        self.rows.append(Row(at[0], at[1], direction, text, code, enhanced, state))
        return self.rows[-1]

    def finish(self):
        if self.client_buf:
            self.add(self.client_frame, "C→S", "(%s left unread at the end of the capture)" % plural(len(self.client_buf), "octet"))
        if self.server_buf:
            self.add(self.server_frame, "S→C", "(%s left unread at the end of the capture)" % plural(len(self.server_buf), "octet"))

    def used_client(self, octets):
        """Drops octets from the front of the client buffer; returns the frame of the first one."""
        first = None
        self.client_buf = self.client_buf[octets:]
        while octets > 0 and self.client_marks:
            mark = self.client_marks[0]
            if first is None:
                first = (mark[0], mark[1])
            step = min(octets, mark[2])
            mark[2] -= step
            octets -= step
            if mark[2] == 0:
                self.client_marks.popleft()
        return first

    @staticmethod
    def take_line(buf):
        """(line without its line end, rest), or (None, buf) if no LF yet."""
        lf = buf.find(b"\n")
        if lf < 0:
            return None, buf
        line = buf[:lf]
        if line.endswith(b"\r"):
            line = line[:-1]
        return line, buf[lf + 1:]


def text_of(line):
    return line.decode("ascii", errors="backslashreplace")


class SmtpConversation(Conversation):
    """SMTP as ActorMail's decider sees it; the state names are SmtpState's."""

    protocol = "SMTP"

    def __init__(self, stream, client_port):
        super().__init__(stream, client_port)
        self.state = "Connected"
        self.greeted = False
        self.pending = collections.deque()
        self.mode = "command"                       # command | data-wait | body

    def parse_client(self):
        while True:
            if self.mode == "data-wait":
                return                              # what follows DATA is a body only after 354
            if self.mode == "body":
                buf = self.client_buf
                if buf.startswith(b".\r\n"):
                    body, used = b"", 3
                else:
                    end = buf.find(b"\r\n.\r\n")
                    if end < 0:
                        return
                    body, used = buf[:end + 2], end + 5
                first = self.used_client(used)
                self.add(self.client_frame, "C→S", describe_body(body)).first = first
                self.add(self.client_frame, "C→S", "`.` end of data (CRLF.CRLF)")
                self.pending.append("<end of data>")
                self.mode = "command"
                continue
            line, rest = self.take_line(self.client_buf)
            if line is None:
                return
            self.used_client(len(self.client_buf) - len(rest))
            text = text_of(line)
            verb = text.split(" ", 1)[0].upper()
            words = text.split(" ")
            shown = " ".join(words[:2] + ["****"]) if verb == "AUTH" and len(words) > 2 else text
            self.add(self.client_frame, "C→S", code_span(shown)).command = True
            self.pending.append(verb)
            if verb == "DATA":
                self.mode = "data-wait"

    def parse_server(self):
        while True:
            line, self.server_buf = self.take_line(self.server_buf)
            if line is None:
                return
            text = text_of(line)
            code = text[:3] if len(text) >= 3 and text[:3].isdigit() else ""
            rest = text[4:].split(" ", 1)[0] if len(text) > 4 else ""
            enhanced = rest if ENHANCED.match(rest) else ""
            row = self.add(self.server_frame, "S→C", code_span(text), code, enhanced)
            if len(text) > 3 and text[3] == "-":
                continue                            # more lines of this reply follow
            self.reply(int(code) if code else 0, row)

    def reply(self, code, row):
        if not self.greeted:
            self.greeted = True
            self.state = "Greeted" if code == 220 else "Closed"
        else:
            verb = self.pending.popleft() if self.pending else None
            self.state = smtp_next_state(self.state, verb, code)
            if verb == "DATA":
                self.mode = "body" if code == 354 else "command"
        row.state = self.state
        row.reply = True
        self.parse_client()


def smtp_next_state(state, verb, code):
    """The SMTP state after a reply, from the command it answers and its code."""
    if code == 421 or (verb == "QUIT" and code == 221):
        return "Closed"
    if verb is None:
        return state
    if verb == "<end of data>":
        return "Ready"                              # stored (250) or refused: the transaction is over
    if code // 100 != 2 and code != 354:
        return state                                # refused: the state does not change
    return {
        "HELO": "Ready", "EHLO": "Ready",
        "MAIL": "MailGiven", "RCPT": "RcptGiven", "DATA": "ReceivingData",
        "RSET": "Greeted" if state == "Greeted" else "Ready",
    }.get(verb, state)


def describe_body(body):
    lines = body.split(b"\r\n")[:-1] if body else []
    stuffed = sum(1 for line in lines if line.startswith(b"."))
    bare_lf = body.count(b"\n") - body.count(b"\r\n")
    bare_cr = body.count(b"\r") - body.count(b"\r\n")
    parts = [plural(len(lines), "line"), plural(len(body), "octet")]
    if stuffed:
        parts.append("%d dot-stuffed" % stuffed)
    if bare_lf:
        parts.append("%d bare LF" % bare_lf)
    if bare_cr:
        parts.append("%d bare CR" % bare_cr)
    return "(message body: %s)" % ", ".join(parts)


class Pop3Conversation(Conversation):
    """POP3 as RFC 1939 and ActorMail's decider see it."""

    protocol = "POP3"

    def __init__(self, stream, client_port):
        super().__init__(stream, client_port)
        self.state = "Connected"
        self.greeted = False
        self.pending = collections.deque()
        self.multiline = None                      # [first row, line count] while a listing streams

    def parse_client(self):
        while True:
            line, rest = self.take_line(self.client_buf)
            if line is None:
                return
            self.used_client(len(self.client_buf) - len(rest))
            text = text_of(line)
            words = text.split(" ")
            verb = words[0].upper()
            if verb == "PASS" and len(words) > 1:
                text = words[0] + " ****"
            self.add(self.client_frame, "C→S", code_span(text)).command = True
            self.pending.append((verb, len(words) - 1))

    def parse_server(self):
        while True:
            line, self.server_buf = self.take_line(self.server_buf)
            if line is None:
                return
            if self.multiline is not None:
                if line == b".":
                    self.add(self.server_frame, "S→C", "(%s)" % plural(self.multiline, "line"))
                    self.add(self.server_frame, "S→C", "`.` end of multi-line response", state=self.state)
                    self.multiline = None
                else:
                    self.multiline += 1
                continue
            text = text_of(line)
            indicator = "+OK" if text.startswith("+OK") else "-ERR" if text.startswith("-ERR") else ""
            code = ""
            m = re.match(r"^[-+][A-Z]+ \[([A-Z/-]+)\]", text)
            if m:
                code = "[%s]" % m.group(1)
            row = self.add(self.server_frame, "S→C", code_span(text), indicator, code)
            self.response(indicator, row)

    def response(self, indicator, row):
        ok = indicator == "+OK"
        row.reply = True
        if not self.greeted:
            self.greeted = True
            self.state = "AUTHORIZATION" if ok else "closed"
            row.state = self.state
            return
        verb, nargs = self.pending.popleft() if self.pending else (None, 0)
        if verb is None:
            self.state = "closed"                   # an unsolicited -ERR: the server is closing
        elif verb == "PASS" and ok and self.state == "AUTHORIZATION":
            self.state = "TRANSACTION"
        elif verb == "QUIT":
            self.state = "closed (after UPDATE)" if self.state == "TRANSACTION" else "closed"
        multi = ok and (verb in POP3_MULTILINE or (verb in POP3_MULTILINE_NO_ARG and nargs == 0))
        if multi:
            self.multiline = 0
        else:
            row.state = self.state


def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def code_span(text):
    """Text as a markdown code span that survives a table cell."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return "%s%s%s%s%s" % (fence, pad, text, pad, fence)


def follow(segments, smtp_port, pop3_port):
    conversations = collections.OrderedDict()
    for frame, time, stream, sport, dport, seq, payload in segments:
        server_port = dport if dport in (smtp_port, pop3_port) else sport
        from_client = dport == server_port
        conv = conversations.get(stream)
        if conv is None:
            kind = SmtpConversation if server_port == smtp_port else Pop3Conversation
            conv = conversations[stream] = kind(stream, sport if from_client else dport)
        conv.feed(frame, time, from_client, seq, payload)
    for conv in conversations.values():
        conv.finish()
    return list(conversations.values())


# --- printing ----------------------------------------------------------------------------------

def render(conversations, pcap_label, total_streams, frames):
    talking = [c for c in conversations if c.client_bytes > 0]
    silent = total_streams - len(talking)
    out = []
    if not frames:
        out.append("<!-- generated by tools/pcap_report.py from %s; edit the script, not this section -->" % pcap_label)
        out.append("")
    counts = collections.Counter(c.protocol for c in talking)
    # How many silent connections there were depends on how fast the server started: only --frames tells.
    silent_note = (" (%d here)" % silent) if frames else ""
    out.append("Conversations in `%s`: %d SMTP and %d POP3 in which the client sent data. "
               "Connections in which the client sent nothing (port probes while a server starts)%s are not listed."
               % (pcap_label, counts["SMTP"], counts["POP3"], silent_note))
    out.append("")
    out.append("| conversation | commands | reply codes in order | final state |")
    out.append("|---|---:|---|---|")
    numbers = {}
    for conv in talking:
        numbers[conv.protocol] = numbers.get(conv.protocol, 0) + 1
        label = "%s %d" % (conv.protocol, numbers[conv.protocol])
        conv.label = label
        commands = sum(1 for r in conv.rows if r.command)
        codes = [r.code or "?" for r in conv.rows if r.reply]
        final = next((r.state for r in reversed(conv.rows) if r.state), "")
        extra = " (stream %d, client port %d)" % (conv.stream, conv.client_port) if frames else ""
        out.append("| %s%s | %d | %s | %s |" % (label, extra, commands, " ".join(codes), final))
    for conv in talking:
        out.append("")
        title = "#### %s" % conv.label
        if frames:
            title += " — tcp.stream == %d" % conv.stream
        out.append(title)
        out.append("")
        if frames:
            out.append("| frame | time (s) | dir | line | code | enhanced / [resp-code] | state after |")
            out.append("|---:|---:|---|---|---|---|---|")
        else:
            out.append("| step | dir | line | code | enhanced / [resp-code] | state after |")
            out.append("|---:|---|---|---|---|---|")
        for i, r in enumerate(conv.rows, 1):
            first = "%d | %.3f" % (r.frame, r.time) if frames else "%d" % i
            if frames and r.first is not None and r.first[0] != r.frame:
                first = "%d–%d | %.3f" % (r.first[0], r.frame, r.time)
            text = r.text if frames or r.direction != "S→C" else SESSION_ID.sub("<id>", r.text)
            out.append("| %s | %s | %s | %s | %s | %s |" % (first, r.direction, text, r.code, r.enhanced, r.state))
    return "\n".join(out) + "\n"


def section_of(doc_text, path):
    begin, end = doc_text.find(BEGIN), doc_text.find(END)
    if begin < 0 or end < 0 or end < begin:
        raise SetupError("%s has no %s ... %s section" % (path, BEGIN, END))
    return begin + len(BEGIN), end


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", default=os.path.join(ROOT, DEFAULT_PCAP), help="capture to read (default %s)" % DEFAULT_PCAP)
    ap.add_argument("--smtp-port", type=int, default=2525)
    ap.add_argument("--pop3-port", type=int, default=2110)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--frames", action="store_true", help="add frame numbers, times, streams and ports")
    mode.add_argument("--write", metavar="DOC", help="replace DOC's generated section")
    mode.add_argument("--check", metavar="DOC", help="exit 1 if DOC's generated section differs")
    args = ap.parse_args(argv)

    pcap = args.pcap if os.path.isabs(args.pcap) else os.path.join(os.getcwd(), args.pcap)
    label = os.path.relpath(pcap, ROOT) if pcap.startswith(ROOT + os.sep) else args.pcap
    ports = (args.smtp_port, args.pop3_port)
    try:
        conversations = follow(read_segments(pcap, ports), *ports)
        text = render(conversations, label, count_streams(pcap, ports), args.frames)
        if args.write or args.check:
            doc = args.write or args.check
            with open(doc, encoding="utf-8") as f:
                current = f.read()
            start, stop = section_of(current, doc)
            wanted = "\n" + text
            if args.check:
                if current[start:stop] == wanted:
                    print("pcap_report: %s matches %s" % (doc, label))
                    return EXIT_OK
                diff = difflib.unified_diff(current[start:stop].splitlines(), wanted.splitlines(),
                                            "%s (in the document)" % doc, "%s (now)" % label, lineterm="")
                print("\n".join(diff))
                print("pcap_report: %s is out of date; run tools/pcap_report.py --pcap %s --write %s"
                      % (doc, args.pcap, doc), file=sys.stderr)
                return EXIT_DIFF
            with open(doc, "w", encoding="utf-8") as f:
                f.write(current[:start] + wanted + current[stop:])
            print("pcap_report: wrote the tables of %s into %s" % (label, doc))
            return EXIT_OK
        sys.stdout.write(text)
        return EXIT_OK
    except (SetupError, OSError) as e:
        print("pcap_report: %s" % e, file=sys.stderr)
        return EXIT_SETUP


if __name__ == "__main__":
    sys.exit(main())
