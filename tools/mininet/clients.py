#!/usr/bin/env python3
"""The demo's POP3 client step, run inside a Mininet host (h4) by tools/mininet/demo.py.

    clients.py read HOST PORT USER MARKER              POP3: LIST, RETR, DELE the marked message, QUIT,
                                                       then a second session shows it is gone

The password of USER comes from the environment (ACTORMAIL_DEMO_PASSWORD), never the command line.
Exit status 0 only if the step did what it says."""
import argparse
import os
import poplib
import sys
import time


def say(line):
    print(line.decode(errors="replace") if isinstance(line, bytes) else line, flush=True)


def sign_in(args, password):
    client = poplib.POP3(args.host, args.port, timeout=10)
    say(f"S: {client.getwelcome().decode(errors='replace')}")
    say(f"C: USER {args.user}")
    say(f"S: {client.user(args.user).decode()}")
    say("C: PASS ********")
    say(f"S: {client.pass_(password).decode()}")
    return client


def read(args):
    password = os.environ.get("ACTORMAIL_DEMO_PASSWORD")
    if not password:
        print("ACTORMAIL_DEMO_PASSWORD is not set", file=sys.stderr)
        return 2
    marker = args.marker.encode()
    client = sign_in(args, password)
    say("C: LIST")
    resp, listing, _ = client.list()
    say(f"S: {resp.decode()}")
    for entry in listing:
        say(f"S: {entry.decode()}")
    found = None
    for entry in listing:
        number = int(entry.split()[0])
        say(f"C: RETR {number}")
        resp, lines, _ = client.retr(number)
        say(f"S: {resp.decode()}")
        if any(marker in line for line in lines):
            for line in lines:
                say(f"S: {line.decode(errors='replace')}")
            say("S: .")
            found = (number, lines)
            break
    if found is None:
        print(f"no message with marker {args.marker} in the maildrop", file=sys.stderr)
        client.quit()
        return 1
    number, lines = found
    say(f"C: DELE {number}")
    say(f"S: {client.dele(number).decode()}")
    say("C: QUIT")
    say(f"S: {client.quit().decode()}")

    # The dot-stuffed line arrives as sent (poplib removes the stuffing the server adds).
    if b".a line that starts with a dot" not in lines:
        print("the line that starts with a dot did not come back intact", file=sys.stderr)
        return 1

    # DELE took effect at QUIT: a new session no longer has the message. The maildrop lock of the
    # session that just quit is released a moment after its +OK.
    deadline = time.monotonic() + 10
    while True:
        try:
            client = sign_in(args, password)
            break
        except poplib.error_proto as e:
            if b"IN-USE" not in e.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    say("C: LIST")
    resp, listing, _ = client.list()
    say(f"S: {resp.decode()}")
    still = []
    for entry in listing:
        n = int(entry.split()[0])
        _, body, _ = client.retr(n)
        if any(marker in line for line in body):
            still.append(n)
    say("C: QUIT")
    say(f"S: {client.quit().decode()}")
    if still:
        print(f"the deleted message is still there as #{still}", file=sys.stderr)
        return 1
    print(f"message {args.marker} read and deleted; a new session no longer lists it")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="step", required=True)
    r = sub.add_parser("read")
    r.add_argument("host")
    r.add_argument("port", type=int)
    r.add_argument("user")
    r.add_argument("marker")
    args = ap.parse_args()
    try:
        return read(args)
    except (OSError, poplib.error_proto) as e:
        print(f"{args.step} failed: {e!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
