#!/usr/bin/env python3
"""Runs one lab scenario end to end: capture loopback traffic on 2525/2110 with tcpdump, run
`pytest -m <marker>` (whose fixture starts the node), stop the capture cleanly, then validate it
with tools/validate_pcap.py. Any failing step fails the run; everything started is stopped by PID."""
import argparse
import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PY = "/usr/bin/python3"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--marker", required=True, help="pytest marker to run (e2 or e3)")
    ap.add_argument("--pcap", required=True, help="capture file to write")
    ap.add_argument("--project", required=True, help="rule set under tools/pcap_rules")
    args = ap.parse_args()

    pcap = ROOT / args.pcap
    pcap.parent.mkdir(parents=True, exist_ok=True)
    partial = pcap.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    dump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "-n", "-s", "0", "-w", str(partial), "tcp port 2525 or tcp port 2110"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # tcpdump says "listening on" once the capture is live.
        line = dump.stderr.readline().decode(errors="replace")
        if "listening" not in line:
            print(f"run_scenario: tcpdump did not start: {line.strip()}", file=sys.stderr)
            return 2
        tests = subprocess.run([PY, "-m", "pytest", "-m", args.marker, "-q", "-p", "no:cacheprovider"], cwd=ROOT)
    finally:
        # Stopping within a second of the last packet can leave the file empty.
        time.sleep(2)
        if dump.poll() is None:
            dump.send_signal(signal.SIGINT)
            try:
                dump.wait(10)
            except subprocess.TimeoutExpired:
                dump.kill()
                dump.wait()
    if tests.returncode != 0:
        print(f"run_scenario: pytest -m {args.marker} failed ({tests.returncode})", file=sys.stderr)
        return tests.returncode
    if not partial.exists() or partial.stat().st_size <= 24:
        print(f"run_scenario: the capture {partial} is empty", file=sys.stderr)
        return 2
    os.replace(partial, pcap)
    return subprocess.run([PY, str(ROOT / "tools/validate_pcap.py"), "--project", args.project, "--pcap", str(pcap)], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
