"""A raw SMTP client for tests where the exact bytes on the wire matter."""
import socket


class RawSmtp:
    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def reply(self):
        """Reads one (possibly multi-line) reply; returns (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines!r}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("ascii")
            lines.append(text)
            if len(text) < 4 or text[3] == " ":
                return int(text[:3]), lines

    def cmd(self, line: str):
        self.send(line.encode("ascii") + b"\r\n")
        return self.reply()

    def closed_by_server(self):
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True
