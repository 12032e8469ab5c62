"""Tests of tools/validate_pcap.py and its S08 / S08_E3 rule files.

Captures are built with pcapgen (hand-made IPv4/TCP frames), so these tests
need tshark but no root, no network and no running ActorMail node.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pcapgen
from pcapgen import CLIENT as C, SERVER as S

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / "tools" / "validate_pcap.py"
RULES_DIR = ROOT / "tools" / "pcap_rules"

pytestmark = pytest.mark.tools

SMTP_HEAD = [
    (S, b"220 mail.example ActorMail ESMTP ready\r\n"),
    (C, b"EHLO client.example\r\n"),
    (S, b"250-mail.example greets client.example\r\n250 SIZE 1048576\r\n"),
    (C, b"MAIL FROM:<alice@example.org>\r\n"),
    (S, b"250 2.1.0 Ok\r\n"),
    (C, b"RCPT TO:<bob@example.org>\r\n"),
    (S, b"250 2.1.5 Ok\r\n"),
]
SMTP_QUIT = [(C, b"QUIT\r\n"), (S, b"221 2.0.0 Bye\r\n")]
SMTP_FULL = SMTP_HEAD + [
    (C, b"DATA\r\n"),
    (S, b"354 End data with <CR><LF>.<CR><LF>\r\n"),
    (C, b"Subject: hello\r\n\r\nHi Bob,\r\nlunch at noon?\r\n.\r\n"),
    (S, b"250 2.0.0 Ok: queued\r\n"),
] + SMTP_QUIT

POP3_FULL = [
    (S, b"+OK ActorMail POP3 ready\r\n"),
    (C, b"USER bob\r\n"),
    (S, b"+OK\r\n"),
    (C, b"PASS secret\r\n"),
    (S, b"+OK mailbox locked\r\n"),
    (C, b"LIST\r\n"),
    (S, b"+OK 1 messages\r\n1 45\r\n.\r\n"),
    (C, b"RETR 1\r\n"),
    (S, b"+OK 45 octets\r\nSubject: hello\r\n\r\nHi Bob,\r\nlunch at noon?\r\n.\r\n"),
    (C, b"DELE 1\r\n"),
    (S, b"+OK message 1 deleted\r\n"),
    (C, b"QUIT\r\n"),
    (S, b"+OK bye\r\n"),
]

SMTP_RULES = ["R1", "R2", "R3", "R4", "R5", "R6"]
POP3_RULES = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"]


def smtp(exchanges, client_port=40000):
    return pcapgen.tcp_conversation(exchanges, server_port=2525, client_port=client_port)


def pop3(exchanges, client_port=40001):
    return pcapgen.tcp_conversation(exchanges, server_port=2110, client_port=client_port)


@pytest.fixture
def pcap(tmp_path):
    """Write packets to a fresh capture file and return its path."""
    def write(packets, linktype=pcapgen.LINKTYPE_ETHERNET, name="capture.pcap"):
        return pcapgen.write_pcap(str(tmp_path / name), packets, linktype)
    return write


def validate(pcap_path, project="S08", rules_dir=None, env=None):
    cmd = [sys.executable, str(VALIDATOR), "--project", project, "--pcap", str(pcap_path)]
    if rules_dir is not None:
        cmd += ["--rules-dir", str(rules_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def verdicts(stdout):
    """Map rule id -> PASS/FAIL from the validator's per-rule lines."""
    rows = [line.split() for line in stdout.splitlines()
            if line.strip() and not line.startswith("SUMMARY")]
    return {row[0]: row[-1] for row in rows}


def assert_each_id_once(stdout, ids):
    for rule_id in ids:
        hits = re.findall(r"(?<![\w.])%s(?![\w.])" % re.escape(rule_id), stdout)
        assert len(hits) == 1, "%s named %d times in:\n%s" % (rule_id, len(hits), stdout)


def write_rules(directory, project, rules):
    directory.mkdir(exist_ok=True)
    (directory / (project + ".json")).write_text(
        json.dumps({"project": project, "description": "test", "rules": rules}))
    return directory


# --- pcapgen itself --------------------------------------------------------

@pytest.mark.parametrize("linktype", [pcapgen.LINKTYPE_ETHERNET, pcapgen.LINKTYPE_RAW])
def test_generated_capture_is_clean_for_tshark(pcap, linktype):
    path = pcap(smtp(SMTP_FULL), linktype)
    problems = ("ip.checksum.status != 1 || tcp.checksum.status != 1 || "
                "tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= warning")
    base = ["tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE",
            "-o", "tcp.check_checksum:TRUE", "-T", "fields", "-e", "frame.number"]
    every = subprocess.run(base, capture_output=True, text=True, check=True).stdout.split()
    bad = subprocess.run(base + ["-Y", problems], capture_output=True, text=True, check=True)
    assert len(every) == 3 + len(SMTP_FULL) + 3
    assert bad.stdout.split() == []


# --- S08 --------------------------------------------------------------------

def test_s08_rules_file_holds_exactly_the_brief_filters():
    doc = json.loads((RULES_DIR / "S08.json").read_text())
    assert doc["project"] == "S08"
    assert [(r["id"], r["filter"], r["condition"]) for r in doc["rules"]] == [
        ("R1", r'tcp.dstport==2525 && tcp.flags.syn==1 && tcp.flags.ack==0', ">= 1"),
        ("R2", r'tcp.port==2525 && (frame contains "EHLO" || frame contains "HELO")', ">= 1"),
        ("R3", r'tcp.port==2525 && frame contains "MAIL FROM"', ">= 1"),
        ("R4", r'tcp.port==2525 && frame contains "RCPT TO"', ">= 1"),
        ("R5", r'tcp.port==2525 && frame contains "DATA"', ">= 1"),
        ("R6", r'tcp.port==2525 && (frame contains "\r\n.\r\n" || frame contains "\n.\n")', ">= 1"),
    ]


@pytest.mark.parametrize("linktype", [pcapgen.LINKTYPE_ETHERNET, pcapgen.LINKTYPE_RAW])
def test_full_smtp_session_passes_s08(pcap, linktype):
    result = validate(pcap(smtp(SMTP_FULL), linktype))
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == {rule_id: "PASS" for rule_id in SMTP_RULES}
    assert sum(line.endswith("PASS") for line in result.stdout.splitlines()) == 6
    assert_each_id_once(result.stdout, SMTP_RULES)
    assert result.stdout.splitlines()[-1].startswith("SUMMARY S08 PASS: 6/6")


def test_session_without_data_fails_r5_and_r6(pcap):
    result = validate(pcap(smtp(SMTP_HEAD + SMTP_QUIT)))
    assert result.returncode == 1, result.stdout + result.stderr
    assert verdicts(result.stdout) == {"R1": "PASS", "R2": "PASS", "R3": "PASS",
                                       "R4": "PASS", "R5": "FAIL", "R6": "FAIL"}
    assert_each_id_once(result.stdout, SMTP_RULES)
    assert "SUMMARY S08 FAIL: 4/6" in result.stdout


def test_data_without_terminator_fails_only_r6(pcap):
    unterminated = SMTP_HEAD + [(C, b"DATA\r\n"), (S, b"354 go ahead\r\n"),
                                (C, b"Subject: hello\r\n\r\nHi Bob,\r\n")]
    result = validate(pcap(smtp(unterminated)))
    assert result.returncode == 1
    assert verdicts(result.stdout)["R5"] == "PASS"
    assert verdicts(result.stdout)["R6"] == "FAIL"


def test_r6_matches_real_crlf_not_escaped_text(pcap):
    # The frame carries the characters backslash, r, backslash, n -- not CR/LF.
    literal = SMTP_HEAD + [(C, b"DATA\r\n"), (S, b"354 go ahead\r\n"),
                           (C, b"see \\r\\n.\\r\\n and \\n.\\n in the docs\r\n")]
    result = validate(pcap(smtp(literal)))
    assert verdicts(result.stdout)["R6"] == "FAIL", result.stdout


def test_bare_lf_terminator_satisfies_r6(pcap):
    bare_lf = SMTP_HEAD + [(C, b"DATA\r\n"), (S, b"354 go ahead\r\n"),
                           (C, b"Subject: hello\n\nHi Bob\n.\n"), (S, b"250 Ok\r\n")] + SMTP_QUIT
    result = validate(pcap(smtp(bare_lf)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout)["R6"] == "PASS"


def test_smtp_on_another_port_does_not_count(pcap):
    packets = pcapgen.tcp_conversation(SMTP_FULL, server_port=25)
    result = validate(pcap(packets))
    assert result.returncode == 1
    assert set(verdicts(result.stdout).values()) == {"FAIL"}


# --- S08_E3 -----------------------------------------------------------------

def test_e3_passes_with_smtp_then_pop3(pcap):
    result = validate(pcap(smtp(SMTP_FULL) + pop3(POP3_FULL)), project="S08_E3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == {rule_id: "PASS" for rule_id in SMTP_RULES + POP3_RULES}
    assert_each_id_once(result.stdout, SMTP_RULES + POP3_RULES)


def test_e3_fails_with_smtp_only(pcap):
    result = validate(pcap(smtp(SMTP_FULL)), project="S08_E3")
    assert result.returncode == 1
    got = verdicts(result.stdout)
    assert [got[r] for r in SMTP_RULES] == ["PASS"] * 6
    assert [got[r] for r in POP3_RULES] == ["FAIL"] * 8
    assert_each_id_once(result.stdout, SMTP_RULES + POP3_RULES)


def test_e3_pop3_commands_must_go_to_the_server(pcap):
    # Swap directions: the server port 2110 is now the side sending commands.
    reversed_pop3 = [(C if side == S else S, data) for side, data in POP3_FULL]
    result = validate(pcap(smtp(SMTP_FULL) + pop3(reversed_pop3)), project="S08_E3")
    got = verdicts(result.stdout)
    assert result.returncode == 1
    assert got["P1"] == "PASS"
    assert [got[r] for r in ["P2", "P3", "P4", "P5", "P6", "P7", "P8"]] == ["FAIL"] * 7


# --- conditions and custom rules ---------------------------------------------

SYN_2525 = "tcp.dstport==2525 && tcp.flags.syn==1 && tcp.flags.ack==0"


CONDITIONS = [  # the capture has exactly one SYN to 2525
    (">= 1", "PASS"), (">= 2", "FAIL"), ("== 1", "PASS"), ("== 0", "FAIL"),
    ("<= 1", "PASS"), ("<= 0", "FAIL"), ("> 0", "PASS"), ("> 1", "FAIL"),
    ("< 2", "PASS"), ("<1", "FAIL"),
]


def test_conditions(pcap, tmp_path):
    rules = write_rules(tmp_path / "rules", "T", [
        {"id": "C%d" % i, "filter": SYN_2525, "condition": cond}
        for i, (cond, _) in enumerate(CONDITIONS, 1)])
    result = validate(pcap(smtp(SMTP_FULL)), project="T", rules_dir=rules)
    assert result.returncode == 1
    assert verdicts(result.stdout) == {
        "C%d" % i: expected for i, (_, expected) in enumerate(CONDITIONS, 1)}
    assert "SUMMARY T FAIL: 5/10" in result.stdout


def test_all_passing_custom_rules_exit_zero(pcap, tmp_path):
    rules = write_rules(tmp_path / "rules", "T", [
        {"id": "C1", "filter": SYN_2525, "condition": "== 1"},
        {"id": "C2", "filter": "tcp.port==2110", "condition": "== 0"}])
    result = validate(pcap(smtp(SMTP_FULL)), project="T", rules_dir=rules)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == {"C1": "PASS", "C2": "PASS"}


# --- setup errors: exit 2 with one line on stderr -----------------------------

def assert_setup_error(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


def test_empty_file_is_rejected(tmp_path):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    assert_setup_error(validate(empty), "empty")


def test_header_only_capture_is_rejected(pcap):
    assert_setup_error(validate(pcap([])), "no packets")


def test_corrupt_file_is_rejected(tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture file\n" * 20)
    assert_setup_error(validate(junk), "not readable")


def test_truncated_capture_is_rejected(pcap, tmp_path):
    whole = Path(pcap(smtp(SMTP_FULL))).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[:-10])
    assert_setup_error(validate(cut), "not readable")


def test_missing_file_is_rejected(tmp_path):
    assert_setup_error(validate(tmp_path / "nothing.pcap"), "not found")


def test_unknown_project_is_rejected(pcap):
    assert_setup_error(validate(pcap(smtp(SMTP_FULL)), project="S99"), "unknown project")


def test_missing_tshark_is_reported(pcap, tmp_path):
    path = pcap(smtp(SMTP_FULL))
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))
    assert_setup_error(validate(path, env=env), "tshark")


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"project": "T", "rules": []}),
    json.dumps({"project": "T", "rules": [{"id": "X1", "filter": "tcp"}]}),
    json.dumps({"project": "T", "rules": [{"id": "X1", "filter": "tcp", "condition": "~ 1"}]}),
    json.dumps({"project": "T", "rules": [{"id": "X1", "filter": "tcp", "condition": ">= 1"},
                                          {"id": "X1", "filter": "udp", "condition": ">= 1"}]}),
    json.dumps({"project": "OTHER", "rules": [{"id": "X1", "filter": "tcp", "condition": ">= 1"}]}),
])
def test_malformed_rules_file_is_rejected(pcap, tmp_path, content):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "T.json").write_text(content)
    assert_setup_error(validate(pcap(smtp(SMTP_FULL)), project="T", rules_dir=rules), "T.json")


def test_filter_rejected_by_tshark_is_a_setup_error(pcap, tmp_path):
    rules = write_rules(tmp_path / "rules", "T",
                        [{"id": "B1", "filter": "tcp.port === (", "condition": ">= 1"}])
    assert_setup_error(validate(pcap(smtp(SMTP_FULL)), project="T", rules_dir=rules), "B1")
