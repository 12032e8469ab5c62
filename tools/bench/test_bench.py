"""Checks of the benchmark's own parsing and arithmetic, no server needed:
/usr/bin/python3 -m pytest tools/bench -q (pytest puts this folder on the import path, pytest.ini tools/)"""
import os

import pytest

import clients
import levers
import report
from harness import scripted_peer

pytestmark = pytest.mark.tools


@pytest.mark.parametrize("size", [120, 121, 199, 200, 2048, 4097, 65536])
def test_message_has_the_exact_size_and_clean_lines(size):
    data = clients.message_bytes(size, "t")
    assert len(data) == size
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(len(line) <= 78 for line in lines)
    assert not any(line.startswith(b".") for line in lines)
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_percentile_is_nearest_rank():
    samples = list(range(1, 101))
    assert clients.percentile(samples, 50) == 50
    assert clients.percentile(samples, 99) == 99
    assert clients.percentile(samples, 100) == 100
    assert clients.percentile([7], 99) == 7
    with pytest.raises(ValueError):
        clients.percentile([], 50)


def feed(chunks):
    """A LineSocket whose peer writes `chunks` one send at a time, then closes."""
    return clients.LineSocket(0, 5, sock=scripted_peer(chunks))


def test_pop3_responses_split_anywhere_are_read_whole():
    stream = (b"+OK 12 octets\r\nab\r\n..dot\r\n.\r\n"   # a stuffed line must not end the response
              b"+OK\r\n.\r\n"                           # an empty message
              b"+OK 3\r\nxyz\r\n.\r\n")
    for step in (1, 2, 3, 7, len(stream)):
        c = feed([stream[i:i + step] for i in range(0, len(stream), step)])
        assert c.pop3_multiline() == len(b"ab\r\n..dot\r\n")
        assert c.pop3_multiline() == 0
        assert c.pop3_multiline() == len(b"xyz\r\n")
        c.close()


def test_pop3_reader_survives_buffer_compaction():
    # More than the 1 MiB after which consumed octets are dropped from the buffer.
    body = b"y" * 98 + b"\r\n"
    one = b"+OK\r\n" + body * 300 + b".\r\n"
    count = (3 << 20) // len(one)
    stream = one * count
    c = feed([stream[i:i + 65536] for i in range(0, len(stream), 65536)])
    for _ in range(count):
        assert c.pop3_multiline() == len(body) * 300
    c.close()


def test_pop3_error_and_early_close_raise():
    c = feed([b"-ERR no such message\r\n"])
    with pytest.raises(clients.BenchError):
        c.pop3_multiline()
    c = feed([b"+OK\r\npartial\r\n"])
    with pytest.raises(clients.BenchError):
        c.pop3_multiline()


def test_smtp_multiline_reply_ends_at_the_space_line():
    c = feed([b"250-first\r\n250-SIZE 1\r\n250 ", b"PIPELINING\r\n354 go\r\n"])
    assert c.smtp_reply() == (250, b"250 PIPELINING")
    assert c.smtp_reply()[0] == 354
    assert clients._reply_complete(bytearray(b"250-a\r\n250 b")) is None
    assert clients._reply_complete(bytearray(b"250-a\r\n250 b\r\nrest")) == (250, 14)
    assert clients._reply_complete(bytearray(b"oops\r\n"))[0] == -1


def synthetic(am_new, aio_new, sink_new, am_pop, dv_pop, failed=0, peak_kb=500_000, growth=1_000_000):
    def runs(values):
        return [{"round": i + 1, "msg_per_s": v, "server_cpu_s": 1.0} for i, v in enumerate(values)]

    smtp = {"ActorMail": runs(am_new), "aiosmtpd": runs(aio_new), "smtp-sink": runs(sink_new)}
    pop = lambda vals: [{"round": i + 1, "msg_per_s": v, "retr_msg_per_s": v, "login_s": 0.1,  # noqa: E731
                         "server_cpu_s": 1, "client_cpu_s": 1} for i, v in enumerate(vals)]
    return {
        "settings": {"messages": 100, "connections": 10000, "large_octets": 104857600},
        "smtp": {"new": smtp, "reuse": smtp},
        "pop3": {"ActorMail": pop(am_pop), "Dovecot": pop(dv_pop)},
        "scale": {"failed": failed, "requested": 10000, "peak_rss_kb": peak_kb},
        "large": {"growth_octets": growth},
    }


def test_ratios_are_per_round_then_median_and_targets_follow():
    r = synthetic([300, 900, 600], [100, 100, 300], [1000, 1000, 1000], [10, 20, 30], [10, 10, 10])
    s = report.summarize(r)
    assert s["ratios"]["new/aiosmtpd"] == {"median": 3.0, "min": 2.0, "max": 9.0}
    assert s["ratios"]["pop3/Dovecot"]["median"] == 2.0
    status = {t["target"]: t["status"] for t in s["targets"]}
    assert status["SMTP new connection: ActorMail / aiosmtpd"] == "MET"
    assert status["SMTP new connection: ActorMail / smtp-sink"] == "MET"   # 0.6 >= 0.5
    assert status["POP3 one session: ActorMail / Dovecot"] == "MET"
    assert status["10,000 connections: failures"] == "MET"
    assert status["100 MiB message: RSS growth"] == "MET"


def test_targets_not_met_are_reported_as_such():
    r = synthetic([100], [100], [1000], [5], [10], failed=3, peak_kb=2_000_000, growth=60_000_000)
    s = report.summarize(r)
    status = {t["target"]: t["status"] for t in s["targets"]}
    assert set(status.values()) == {"NOT MET"}


def test_disk_counters_read_writes_sectors_and_flushes_of_the_device_under_a_path(tmp_path):
    dev = os.stat(tmp_path).st_dev
    stat = tmp_path / "sys/dev/block" / f"{os.major(dev)}:{os.minor(dev)}" / "stat"
    stat.parent.mkdir(parents=True)
    # reads: ios merges sectors ticks; writes: ios merges sectors ticks; in flight, io ticks, queue time;
    # discards: ios merges sectors ticks; flushes: ios ticks
    stat.write_text("  10 1 80 5  20 3 160 7  0 9 12  0 0 0 0  4 2\n")
    assert levers.disk_counters(tmp_path, sys_root=tmp_path / "sys") == (20, 160, 4)
    stat.write_text("10 1 80 5 20 3 160 7 0 9 12\n")  # a kernel that counts no flushes
    assert levers.disk_counters(tmp_path, sys_root=tmp_path / "sys") == (20, 160, 0)
    assert levers.disk_counters(tmp_path, sys_root=tmp_path / "elsewhere") is None
