"""The one package that starts, probes and stops the ActorMail node for every test and tool, and
talks SMTP and POP3 to it.

    from harness import Node                      # harness/node.py: the node process, ports, probes
    from harness import wire                      # harness/wire.py: lines, replies, dot-stuffing

    node = Node(workdir).start()                  # ports the system chose: node.smtp_port, node.pop3_port
    with wire.Client.connect(node.host, node.smtp_port, text=True) as smtp:
        code, lines = smtp.reply()                # (220, ['220 localhost ESMTP ActorMail ready'])
    node.stop()

It is imported with tools/ on the import path: pytest.ini's `pythonpath` gives it to the tests,
and the Makefile runs the tools with PYTHONPATH=tools (by hand: `PYTHONPATH=tools /usr/bin/python3
tools/fuzz/fuzz.py ...` from the repository's root). Standard library only."""
from harness import wire
from harness.node import (NODE_DLL, ROOT, USERS, Node, NodeFailed, free_port, greeting, greets, json_lines, port_answers,
                          scripted_peer, stop_process, wait_for_greeting)
from harness.wire import strip_trace

__all__ = ["NODE_DLL", "ROOT", "USERS", "Node", "NodeFailed", "free_port", "greeting", "greets", "json_lines", "port_answers",
           "scripted_peer", "stop_process", "strip_trace", "wait_for_greeting", "wire"]
