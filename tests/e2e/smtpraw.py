"""A raw SMTP client for tests where the exact bytes on the wire matter: the harness's client,
with replies as text, (code, [lines])."""
import socket

from harness import wire


class RawSmtp(wire.Client):
    def __init__(self, host, port, timeout=10.0):
        super().__init__(socket.create_connection((host, port), timeout=timeout), "smtp", text=True)
