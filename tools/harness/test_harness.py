"""The harness itself: the wire helpers without a server, then the node on ports the system chose."""
import socket

import pytest

from harness import Node, NodeFailed, free_port, port_answers, scripted_peer, wire

pytestmark = pytest.mark.tools


def fed(chunks, **options):
    """A Client whose server writes `chunks` one send at a time, then closes."""
    return wire.Client(scripted_peer(chunks), **options)


def split(stream, step):
    return [stream[i:i + step] for i in range(0, len(stream), step)]


def test_smtp_replies_are_parsed_whole_wherever_the_reads_split_them():
    stream = b"220 hi\r\n250-first\r\n250-SIZE 1\r\n250 PIPELINING\r\n354\r\n"
    for step in (1, 2, 5, len(stream)):
        c = fed(split(stream, step))
        assert c.reply() == (220, [b"220 hi"])
        assert c.reply() == (250, [b"250-first", b"250-SIZE 1", b"250 PIPELINING"])
        assert c.reply() == (354, [b"354"])
        with pytest.raises(wire.Closed):
            c.reply()
        assert c.closed


def test_the_smtp_parser_refuses_what_is_not_a_reply():
    assert wire.smtp_reply_at(b"250-a\r\n250 b") is None
    assert wire.smtp_reply_at(b"250-a\r\n250 b\r\nrest") == (250, [b"250-a", b"250 b"], 14)
    assert wire.smtp_reply_at(b"xx\r\n220 ok\r\n", 4) == (220, [b"220 ok"], 12)
    for bad in (b"oops\r\n", b"25\r\n", b"250x\r\n", b"250-a\r\n251 b\r\n"):
        with pytest.raises(wire.ProtocolError):
            wire.smtp_reply_at(bad)


def test_pop3_status_lines_multiline_answers_and_blocks():
    stream = (b"+OK hi\r\n+OK 2 messages\r\n1 5\r\n2 5\r\n.\r\n"
              b"+OK 12 octets\r\nab\r\n..dot\r\n.\r\n"     # a stuffed line does not end the answer
              b"+OK\r\n.\r\n"                            # an empty message
              b"-ERR no such message\r\nnot a status\r\n")
    for step in (1, 3, 7, len(stream)):
        c = fed(split(stream, step), protocol="pop3", text=True, record=True)
        assert c.reply() == "+OK hi"
        assert c.reply() == "+OK 2 messages"
        assert c.multiline() == ["1 5", "2 5"]
        assert c.reply() == "+OK 12 octets"
        assert c.block() == b"ab\r\n..dot\r\n"
        assert c.reply() == "+OK"
        assert c.block() == b""
        assert c.reply() == "-ERR no such message"
        with pytest.raises(wire.ProtocolError):
            c.reply()
        assert bytes(c.transcript) == stream


def test_a_large_answer_is_read_across_buffer_compaction():
    body = b"y" * 98 + b"\r\n"
    one = b"+OK\r\n" + body * 300 + b".\r\n"
    count = (3 * wire.COMPACT_AFTER) // len(one)
    c = fed(split(one * count, 65536), protocol="pop3")
    for _ in range(count):
        assert c.reply() == b"+OK"
        assert c.block() == body * 300


def test_waiting_for_the_server_to_close_or_to_stay_silent():
    a, b = socket.socketpair()
    c = wire.Client(a, record=True)
    assert c.nothing_within(0.2)
    b.sendall(b"421 bye\r\n")
    assert not c.nothing_within(1.0)
    assert not c.wait_closed(0.2)
    b.close()
    assert c.wait_closed(2.0)
    assert bytes(c.transcript) == b"421 bye\r\n"
    c.close()


def test_dot_stuffing_and_the_trace_lines():
    message = b".first\r\nmiddle\r\n..second\r\n"
    assert wire.dot_stuff(message) == b"..first\r\nmiddle\r\n...second\r\n"
    assert [wire.dot_unstuff(line) for line in wire.dot_stuff(message).split(b"\r\n")] == message.split(b"\r\n")
    stored = b"Return-Path: <a@b>\r\nReceived: from x\r\n\tby y\r\nSubject: s\r\n\r\nbody\r\n"
    assert wire.strip_trace(stored) == b"Subject: s\r\n\r\nbody\r\n"


def test_nodes_on_port_0_get_ports_of_their_own_and_new_ones_when_restarted(tmp_path):
    first = Node(tmp_path / "first")
    second = Node(tmp_path / "second", role="smtp", pop3_port=free_port())
    try:
        first.start()
        second.start()
        assert first.ready["pid"] == first.process.pid
        assert first.ready["smtp"] == f"127.0.0.1:{first.smtp_port}"
        assert first.ready["pop3"] == f"127.0.0.1:{first.pop3_port}"
        assert first.ready["http"] == f"127.0.0.1:{first.http_port}"
        assert len({first.smtp_port, first.pop3_port, first.http_port, second.smtp_port}) == 4
        # The SMTP-only node serves no POP3 and leaves alone the port it was given for it.
        assert second.ready["pop3"] is None and not port_answers(second.host, second.pop3_port)
        assert second.ready["http"] is None
        for node in (first, second):
            with wire.Client.connect(node.host, node.smtp_port, text=True) as smtp:
                assert smtp.reply()[0] == 220
        with wire.Client.connect(first.host, first.pop3_port, "pop3", text=True) as pop3:
            assert pop3.reply().startswith("+OK")
        before = first.smtp_port, first.process.pid
        first.stop()
        assert first.process.returncode == 0
        first.start()
        assert (first.smtp_port, first.process.pid) != before
        assert port_answers(first.host, first.smtp_port)
    finally:
        first.stop()
        second.stop()


def test_a_node_that_cannot_start_says_why(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        node = Node(tmp_path, smtp_port=holder.getsockname()[1])
        with pytest.raises(NodeFailed, match="address already in use"):
            node.start()


def test_a_node_of_another_build_is_started_from_that_build(tmp_path):
    other = tmp_path / "elsewhere/actormail.dll"
    with pytest.raises(NodeFailed, match=str(other)):
        Node(tmp_path, dll=other).start()
    assert not (tmp_path / "node.out").exists()  # refused before anything was started


# tools/cluster_netns.py's one-writer analysis, on processes made up here (the run itself needs root).
def _netns_process(name, spans, links):
    import cluster_netns
    p = object.__new__(cluster_netns.Process)
    p.name, p.spans, p.links = name, spans, links
    return p


def _maildir_with(root, mailbox, names):
    for folder in ("new", "cur"):
        (root / mailbox / folder).mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / mailbox / "new" / name).write_bytes(b"x")


@pytest.mark.tools
def test_netns_one_writer_accepts_links_inside_their_own_serving_interval(tmp_path):
    import cluster_netns
    _maildir_with(tmp_path, "u0", ["f1", "f2"])
    a = _netns_process("a", {"u0": [(0.0, 10.0)]}, {"u0": [(5.0, "f1")]})
    b = _netns_process("b", {"u0": [(12.0, 20.0)]}, {"u0": [(15.0, "f2")]})
    _, overlaps, outside, counted = cluster_netns.one_writer([a, b], tmp_path)
    assert (overlaps, outside, counted) == ([], [], 2)


@pytest.mark.tools
def test_netns_one_writer_finds_overlaps_links_outside_and_files_nobody_linked(tmp_path):
    import cluster_netns
    _maildir_with(tmp_path, "u0", ["f1", "f2", "f3"])
    a = _netns_process("a", {"u0": [(0.0, 10.0)]}, {"u0": [(11.0, "f1")]})
    b = _netns_process("b", {"u0": [(9.0, 20.0)]}, {"u0": [(15.0, "f2")]})
    _, overlaps, outside, _ = cluster_netns.one_writer([a, b], tmp_path)
    assert len(overlaps) == 1
    assert any("f1 linked at 11.000000 by a outside" in o for o in outside)
    assert any("f3 on disk, but no process logged linking it" in o for o in outside)
    assert len(outside) == 2


@pytest.mark.tools
def test_json_lines_skips_a_cut_line_and_a_missing_file(tmp_path):
    from harness import json_lines
    log = tmp_path / "node.log"
    log.write_text('{"@mt": "a"}\n{"@mt": "b"\n{"@mt": "c"}\n')
    assert [e["@mt"] for e in json_lines(log)] == ["a", "c"]
    assert json_lines(tmp_path / "missing.log") == []
