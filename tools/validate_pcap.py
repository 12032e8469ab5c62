#!/usr/bin/env python3
"""Check a lab capture against a project's PCAP rules.

Usage:
    validate_pcap.py --project S08 --pcap artifacts/pcap/traffic_e2.pcap [--rules-dir DIR]

Loads <rules-dir>/<project>.json (default rules dir: pcap_rules/ next to this
script), counts the frames matching each rule's tshark display filter and
compares the count with the rule's condition (">= N", "== N", "<= N", "> N",
"< N"). Prints one line per rule and a summary line.

Exit codes: 0 all rules pass, 1 at least one rule fails,
2 usage/setup error (no tshark, bad capture, unknown project, bad rules file).
"""

import argparse
import concurrent.futures
import json
import operator
import os
import re
import shutil
import subprocess
import sys

EXIT_OK, EXIT_FAIL, EXIT_SETUP = 0, 1, 2

# Decode the lab ports as SMTP and POP3 (tshark only knows 25 and 110).
DECODE_AS = ["-d", "tcp.port==2525,smtp", "-d", "tcp.port==2110,pop"]

OPERATORS = {">=": operator.ge, "<=": operator.le, "==": operator.eq,
             ">": operator.gt, "<": operator.lt}
CONDITION_RE = re.compile(r"^\s*(>=|<=|==|>|<)\s*(\d+)\s*$")
PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SetupError(Exception):
    """A problem with the tools, capture or rules, not with the traffic."""


def load_rules(rules_dir, project):
    """Return the validated rule list of a project's rules file."""
    if not PROJECT_RE.match(project):
        raise SetupError("invalid project name %r" % project)
    path = os.path.join(rules_dir, project + ".json")
    if not os.path.isfile(path):
        raise SetupError("unknown project %s: no rules file %s" % (project, path))
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise SetupError("cannot read rules file %s: %s" % (path, e))

    def bad(why):
        return SetupError("malformed rules file %s: %s" % (path, why))

    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or not doc["rules"]:
        raise bad('expected an object with a non-empty "rules" list')
    if doc.get("project", project) != project:
        raise bad("it declares project %r" % doc["project"])
    seen = set()
    for i, rule in enumerate(doc["rules"], 1):
        if not isinstance(rule, dict):
            raise bad("rule #%d is not an object" % i)
        for key in ("id", "filter", "condition"):
            if not isinstance(rule.get(key), str) or not rule[key].strip():
                raise bad('rule #%d has no "%s" string' % (i, key))
        if rule["id"] in seen:
            raise bad("duplicate rule id %s" % rule["id"])
        seen.add(rule["id"])
        if not CONDITION_RE.match(rule["condition"]):
            raise bad("rule %s has unsupported condition %r" % (rule["id"], rule["condition"]))
    return doc["rules"]


def condition_holds(condition, count):
    op, limit = CONDITION_RE.match(condition).groups()
    return OPERATORS[op](count, int(limit))


def run_tshark(tshark, pcap, display_filter=None):
    """Return the number of frames tshark reads (matching display_filter)."""
    cmd = [tshark, "-n", "-r", pcap] + DECODE_AS + ["-T", "fields", "-e", "frame.number"]
    if display_filter is not None:
        cmd += ["-Y", display_filter]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        # Drop tshark's "running as root" warning; keep the real complaint.
        lines = [l for l in proc.stderr.splitlines()
                 if l.strip() and not l.startswith("Running as user")]
        raise SetupError(" ".join(lines) or "tshark exited with %d" % proc.returncode)
    return sum(1 for line in proc.stdout.splitlines() if line.strip())


def check_capture(tshark, pcap):
    """Fail early when the capture is missing, empty or unreadable."""
    if not os.path.isfile(pcap):
        raise SetupError("capture file not found: %s" % pcap)
    if os.path.getsize(pcap) == 0:
        raise SetupError("capture file is empty: %s" % pcap)
    try:
        frames = run_tshark(tshark, pcap)
    except SetupError as e:
        raise SetupError("capture file %s is not readable: %s" % (pcap, e))
    if frames == 0:
        raise SetupError("capture file has no packets: %s" % pcap)


def count_rule(tshark, pcap, rule):
    try:
        return run_tshark(tshark, pcap, rule["filter"])
    except SetupError as e:
        raise SetupError("rule %s: tshark rejected it: %s" % (rule["id"], e))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True, help="rules file name, e.g. S08")
    parser.add_argument("--pcap", required=True, help="capture file to check")
    parser.add_argument("--rules-dir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "pcap_rules"))
    args = parser.parse_args(argv)  # exits 2 on usage errors

    try:
        tshark = shutil.which("tshark")
        if tshark is None:
            raise SetupError("tshark not found on PATH (run tools/install-deps.sh)")
        rules = load_rules(args.rules_dir, args.project)
        check_capture(tshark, args.pcap)
        # One tshark per rule; run them side by side, results stay in rule order.
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            counts = list(pool.map(lambda r: count_rule(tshark, args.pcap, r), rules))
        results = [(rule, count, condition_holds(rule["condition"], count))
                   for rule, count in zip(rules, counts)]
    except SetupError as e:
        print("validate_pcap: error: %s" % e, file=sys.stderr)
        return EXIT_SETUP

    for rule, count, ok in results:
        print("%-4s  filter: %s  count: %d  condition: %s  %s"
              % (rule["id"], rule["filter"], count, rule["condition"], "PASS" if ok else "FAIL"))
    passed = sum(1 for _, _, ok in results if ok)
    verdict = "PASS" if passed == len(results) else "FAIL"
    print("SUMMARY %s %s: %d/%d rules passed (%s)"
          % (args.project, verdict, passed, len(results), args.pcap))
    return EXIT_OK if verdict == "PASS" else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
