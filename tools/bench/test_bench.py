"""Checks of the benchmark's own parsing and arithmetic, no server needed:
/usr/bin/python3 -m pytest tools/bench -q (pytest puts this folder on the import path, pytest.ini tools/)"""
import os
import socket
import subprocess
import threading

import pytest

import clients
import levers
import report
import run
import targets
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


def runs(values, **extra):
    return [{"round": i + 1, "msg_per_s": v, "server_cpu_s": 1.0, **extra} for i, v in enumerate(values)]


def pop(values, messages=100):
    return [{"round": i + 1, "messages": messages, "msg_per_s": v, "retr_msg_per_s": v, "login_s": 0.1,
             "server_cpu_s": 1, "client_cpu_s": 1} for i, v in enumerate(values)]


def big(am, dv, bytes_per_msg=150):
    """Big-maildrop runs where every operation of ActorMail takes `am` seconds and of Dovecot `dv`."""
    def side(t, extra):
        return [{"round": 1, "state": st, "signin_s": t, "stat_s": t, "list_s": t, "uidl_s": t, "signin_stat_s": 2 * t, **extra}
                for st in ("cold", "warm")]
    return {"messages": 100000, "ActorMail": side(am, {"rss_growth_bytes_per_msg": bytes_per_msg}), "Dovecot": side(dv, {})}


def synthetic(am_new, peer_new, sink_new, am_pop, dv_pop, failed=0, peak_kb=500_000, growth=1_000_000, big_mailbox=None):
    """Results where Postfix runs at peer_new, the other peers at a third of it."""
    third = [v / 3 for v in peer_new]
    smtp = {"ActorMail": runs(am_new), "Postfix": runs(peer_new), "aiosmtpd": runs(third), "smtp4dev": runs(third),
            "MailDev": runs(third), "smtp-sink": runs(sink_new)}
    out = {
        "settings": {"messages": 100, "connections": 10000, "large_octets": 104857600},
        "smtp": {"new": smtp, "reuse": smtp},
        "pop3": {"ActorMail": pop(am_pop), "Dovecot": pop(dv_pop), "smtp4dev": pop([1 for _ in dv_pop], messages=20)},
        "scale": {"failed": failed, "requested": 10000, "peak_rss_kb": peak_kb},
        "large": {"growth_octets": growth},
    }
    if big_mailbox:
        out["big_mailbox"] = big_mailbox
    return out


def statuses(results):
    return {t["target"]: t["status"] for t in report.summarize(results)["targets"]}


def test_ratios_are_per_round_then_median_and_targets_follow():
    r = synthetic([300, 900, 600], [100, 100, 200], [1000, 1000, 1000], [15, 30, 45], [10, 10, 10], big_mailbox=big(0.5, 1.0))
    s = report.summarize(r)
    assert s["ratios"]["new/Postfix"] == {"median": 3.0, "min": 3.0, "max": 9.0}
    assert s["ratios"]["pop3/Dovecot"]["median"] == 3.0
    assert s["ratios"]["pop3/smtp4dev"]["median"] == 30.0
    status = statuses(r)
    assert status["SMTP new connection: ActorMail / best peer"] == "MET"     # 3 >= 2.5
    assert status["SMTP reused: ActorMail / best peer"] == "MET"             # 3 >= 3
    assert status["SMTP new connection: ActorMail / smtp-sink"] == "MET"     # 0.6 >= 0.3
    assert status["POP3 one session: ActorMail / Dovecot"] == "MET"          # 3 >= 1.5
    assert status["100,000-message maildrop, LIST warm: ActorMail / Dovecot time"] == "MET"
    assert status["100,000-message maildrop: node memory per message"] == "MET"
    assert status["10,000 connections: failures"] == "MET"
    assert status["100 MiB message: RSS growth"] == "MET"


def test_the_best_peer_is_the_fastest_of_each_round():
    assert report.best_per_round([{1: 5, 2: 1}, {1: 2, 2: 7}, {2: 3}]) == {1: 5, 2: 7}
    r = synthetic([300, 300, 300], [100, 100, 100], [1000] * 3, [10] * 3, [10] * 3)
    r["smtp"]["new"]["MailDev"] = runs([50, 200, 50])   # faster than Postfix in round 2 only
    s = report.summarize(r)
    assert s["ratios"]["new/best peer"] == {"median": 3.0, "min": 1.5, "max": 3.0}
    assert s["ratios"]["new/MailDev"]["median"] == 6.0


def test_a_peer_that_served_fewer_messages_is_charged_cpu_per_its_own_count():
    r = synthetic([300], [100], [1000], [10], [10])
    r["smtp"]["new"]["smtp4dev"] = runs([10], messages=20)   # 1 s of CPU for 20 messages
    s = report.summarize(r)
    assert s["smtp"]["new"]["smtp4dev"]["cpu_us_per_msg"] == 50000.0
    assert s["smtp"]["new"]["Postfix"]["cpu_us_per_msg"] == 10000.0   # the settings' 100 messages


def test_targets_not_met_are_reported_as_such():
    r = synthetic([100], [100], [1000], [5], [10], failed=3, peak_kb=2_000_000, growth=60_000_000, big_mailbox=big(2.0, 1.0, 900))
    assert set(statuses(r).values()) == {"NOT MET"}


def test_big_maildrop_times_are_compared_per_operation_and_state():
    b = big(1.0, 1.0)
    b["ActorMail"][0]["list_s"] = 3.0  # cold LIST three times Dovecot's
    s = report.summarize(synthetic([300], [100], [1000], [10], [10], big_mailbox=b))
    assert s["big_mailbox"]["cold/list_s"]["ratio"]["median"] == 3.0
    assert s["big_mailbox"]["warm/list_s"]["ratio"]["median"] == 1.0
    assert s["big_mailbox"]["cold/signin_s"]["ratio"]["median"] == 1.0   # shown, but no target
    status = statuses(synthetic([300], [100], [1000], [10], [10], big_mailbox=b))
    assert status["100,000-message maildrop, LIST cold: ActorMail / Dovecot time"] == "NOT MET"
    assert status["100,000-message maildrop, LIST warm: ActorMail / Dovecot time"] == "MET"   # equal is within 1x
    assert status["100,000-message maildrop, sign-in with its snapshot (sign-in + STAT) cold: ActorMail / Dovecot time"] == "MET"
    assert not any(", sign-in cold" in name or ", sign-in warm" in name for name in status)


def test_a_dovecot_that_did_not_answer_in_time_bounds_the_ratio():
    b = big(2.0, 1.0)
    b["Dovecot"] = [{"round": 1, "state": "cold", "signin_s": 1.0, "timed_out": "stat_s", "timed_out_s": 300}]
    status = statuses(synthetic([300], [100], [1000], [10], [10], big_mailbox=b))
    # ActorMail's sign-in + STAT (4 s) against a Dovecot whose STAT got no answer within 300 s.
    assert status["100,000-message maildrop, sign-in with its snapshot (sign-in + STAT) cold: ActorMail / Dovecot time"] == "MET"
    assert status["100,000-message maildrop, STAT cold: ActorMail / Dovecot time"] == "MET"         # 2 s <= 300 s
    assert status["100,000-message maildrop, LIST cold: ActorMail / Dovecot time"] == "n/a"         # never sent
    assert status["100,000-message maildrop, STAT warm: ActorMail / Dovecot time"] == "n/a"


def test_report_renders_every_peer_and_the_big_maildrop_table():
    r = synthetic([300], [100], [1000], [10], [10], big_mailbox=big(0.5, 1.0))
    del r["scale"], r["large"]
    for mode in ("new", "reuse"):
        for t, v in r["smtp"][mode].items():
            for run in v:
                run.update({"seconds": 1.0, "other_cpu_s": 0.0, "peak_rss_kb": 2048, "tree_pss_kb": 1024})
                if t == "Postfix":
                    run["delivered_msg_per_s"] = 90.0
                if t == "ActorMail":
                    run.update({"log_lines_per_msg": 1.0, "console_lines_per_msg": 0.0})
    r["summary"] = report.summarize(r)
    titles = {title: rows for title, _, rows in report.sections(r)}
    smtp = titles["SMTP throughput (smtp-source -s 10, msg/s)"]
    assert [row[1] for row in smtp[:6]] == report.SMTP_TARGETS
    assert smtp[1][5] == "90 (90-90)" and smtp[0][5] == ""          # the Maildir rate, Postfix only
    assert smtp[0][7] == "2" and smtp[0][8] == "1"                  # peak RSS and PSS in MiB
    pop3 = titles["POP3: one session retrieves every message (RETR pipelined by 50)"]
    assert [row[0] for row in pop3] == ["ActorMail", "Dovecot", "smtp4dev"]
    bigrows = next(rows for title, rows in titles.items() if title.startswith("POP3: one maildrop of 100,000"))
    assert ["UIDL", "warm", "0.5000", "1.0000", "0.50 (0.50-0.50)"] in bigrows
    assert bigrows[-1][2] == "150 B"


def test_postfix_configuration_keeps_everything_under_its_folder(tmp_path):
    main, master = targets.postfix_config(tmp_path, 40025, 8, 8)
    settings = {k.strip(): v.strip() for k, v in (line.split("=", 1) for line in main.splitlines())}
    for key in ("queue_directory", "data_directory", "maillog_file", "virtual_mailbox_base"):
        assert settings[key].startswith(str(tmp_path))
    assert settings["maillog_file_prefixes"] == str(tmp_path)
    assert settings["virtual_mailbox_maps"] == "static:alice/"          # the trailing slash makes it a Maildir
    assert settings["virtual_uid_maps"] == settings["virtual_gid_maps"] == "static:8"
    assert int(settings["virtual_minimum_uid"]) <= 8                    # else virtual(8) refuses the mail user
    assert settings["inet_interfaces"] == "127.0.0.1"
    services = [line.split() for line in master.splitlines()]
    assert ["127.0.0.1:40025", "inet", "n", "-", "n", "-", "-", "smtpd"] in services
    assert all(len(s) == 8 and s[4] == "n" for s in services)            # nothing chrooted: the paths are absolute
    assert {"cleanup", "qmgr", "virtual", "postlog", "rewrite"} <= {s[0] for s in services}


def test_the_default_main_cf_is_written_only_where_none_exists_and_removed_again(tmp_path):
    main_cf = tmp_path / "main.cf"
    release = targets.claim_alternate_config(tmp_path / "conf", main_cf)
    assert main_cf.read_text() == f"alternate_config_directories = {tmp_path / 'conf'}\n"
    release()
    assert not main_cf.exists()
    release()  # twice is harmless


def test_a_main_cf_that_is_there_is_never_touched(tmp_path):
    main_cf = tmp_path / "main.cf"
    main_cf.write_text("myhostname = mine\n")
    with pytest.raises(clients.BenchError):
        targets.claim_alternate_config(tmp_path / "conf", main_cf, wait_s=1, sleep=lambda s: None)
    assert main_cf.read_text() == "myhostname = mine\n"
    release = targets.claim_alternate_config(tmp_path / "conf", tmp_path / "other.cf")
    (tmp_path / "other.cf").write_text("changed meanwhile\n")
    release()
    assert (tmp_path / "other.cf").exists()                             # not ours any more


def answering_peer(chunks):
    """Like scripted_peer, but the far end reads until the client closes, so the client's commands are taken."""
    ours, theirs = socket.socketpair()

    def serve():
        for chunk in chunks:
            theirs.sendall(chunk)
        while theirs.recv(4096):
            pass
        theirs.close()

    threading.Thread(target=serve, daemon=True).start()
    return ours


def test_a_main_cf_of_someone_else_s_private_instance_is_waited_out(tmp_path):
    main_cf = tmp_path / "main.cf"
    main_cf.write_text("alternate_config_directories = /elsewhere\n")
    naps = []

    def sleep(seconds):  # the other instance starts meanwhile and removes its file
        naps.append(seconds)
        if len(naps) == 3:
            main_cf.unlink()
    release = targets.claim_alternate_config(tmp_path / "conf", main_cf, wait_s=10, sleep=sleep)
    assert len(naps) == 3 and "conf" in main_cf.read_text()
    release()
    main_cf.write_text("alternate_config_directories = /elsewhere\n")
    with pytest.raises(clients.BenchError):
        targets.claim_alternate_config(tmp_path / "conf", main_cf, wait_s=1, sleep=lambda s: None)
    assert main_cf.read_text() == "alternate_config_directories = /elsewhere\n"


def test_pop3_listing_times_each_command_and_counts_lines():
    peer = answering_peer([b"+OK ready\r\n", b"+OK\r\n", b"+OK in\r\n", b"+OK 3 300\r\n",
                          b"+OK\r\n1 100\r\n2 100\r\n", b"3 100\r\n.\r\n", b"+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n", b"+OK bye\r\n"])
    seen = []
    partial = {}
    r = clients.pop3_listing(0, "alice", "pw", after_stat=lambda: seen.append(sorted(partial)), sock=peer, times=partial)
    assert seen == [["signin_s", "stat_s"]]                              # filled as each answer comes
    assert (r["messages"], r["list_lines"], r["uidl_lines"]) == (3, 3, 3)
    assert all(r[k] >= 0 for k in ("signin_s", "stat_s", "list_s", "uidl_s"))


def test_pop3_listing_refuses_a_failed_sign_in():
    peer = answering_peer([b"+OK ready\r\n", b"+OK\r\n", b"-ERR [AUTH] no\r\n"])
    with pytest.raises(clients.BenchError):
        clients.pop3_listing(0, "alice", "pw", sock=peer)


def test_a_maildrop_already_seen_by_a_server_is_made_in_cur_with_its_info(tmp_path):
    new = clients.make_maildir(tmp_path / "a", "alice", 3, 200)
    cur = clients.make_maildir(tmp_path / "b", "alice", 3, 200, seen=True)
    assert not os.listdir(new / "cur") and not os.listdir(cur / "new")
    def tail(name):  # without the second it was made in
        return name.split(".", 1)[1]
    assert sorted(tail(n) + ":2," for n in os.listdir(new / "new")) == sorted(tail(n) for n in os.listdir(cur / "cur"))
    assert all(os.path.getsize(cur / "cur" / n) == 200 for n in os.listdir(cur / "cur"))


def test_tree_pss_counts_this_process():
    assert targets.tree_pss_kb(os.getpid()) > 0
    assert targets.tree_pss_kb(2 ** 22 + 7) == 0                      # a PID that is gone counts nothing


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


def test_the_commit_measured_is_named_and_so_are_changes_beside_it(tmp_path):
    def git(*argv):
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=b", "-c", "user.email=b@example.org", *argv],
                              capture_output=True, text=True, check=True).stdout.strip()
    git("init", "-q")
    (tmp_path / "f").write_text("1\n")
    git("add", "f")
    git("commit", "-qm", "one")
    head = git("rev-parse", "--short", "HEAD")
    assert run.commit_of(tmp_path) == head
    (tmp_path / "f").write_text("2\n")
    assert run.commit_of(tmp_path) == head + "+changes"
    assert run.commit_of(tmp_path / "nowhere") == "unknown"


def test_dovecot_is_given_pbkdf2_of_the_shipped_iteration_count():
    # RFC 6070's first PBKDF2-HMAC-SHA1 vector: P "password", S "salt", c 1, dkLen 20.
    assert targets.dovecot_pbkdf2("password", 1, salt="salt") == "{PBKDF2}$1$salt$1$0c60c80f961f0e71f3a9b524af6012062fe037a6"
    assert targets.shipped_pbkdf2_rounds() == 100000


def test_a_shipped_configuration_with_two_iteration_counts_is_refused(tmp_path):
    hocon = tmp_path / "actormail.conf"
    hocon.write_text('a = "pbkdf2-sha256$1000$s$h"\nb = "pbkdf2-sha256$2000$s$h"\n')
    with pytest.raises(clients.BenchError):
        targets.shipped_pbkdf2_rounds(hocon)
