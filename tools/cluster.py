"""make cluster: three ActorMail nodes of one cluster in the foreground over one mail root.

Node n (0, 1, 2) serves SMTP on 2525+n, POP3 on 2110+n and HTTP on 8025+n, with its cluster
port 4053+n; all three name the same three seeds, and the first starts the cluster. Mail goes to
./data/maildir, each node's logs to ./logs/node-n. Ctrl-C stops the three nodes by their PIDs."""
import os
import pathlib
import signal
import subprocess
import sys

from harness.node import NODE_DLL, stop_process

ROOT = pathlib.Path(__file__).resolve().parents[1]
NODES = 3
SEEDS = ",".join(f"127.0.0.1:{4053 + n}" for n in range(NODES))


def stop_on_term(*_):
    raise KeyboardInterrupt


def main():
    # Ctrl-C, or SIGTERM to this process: stop the three nodes by their PIDs. (A shell that
    # starts a job in the background leaves SIGINT ignored, hence the explicit handlers.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop_on_term)
    processes = []
    try:
        for n in range(NODES):
            env = dict(os.environ,
                       ACTORMAIL_DATA=str(ROOT / "data/maildir"),
                       ACTORMAIL_LOGS=str(ROOT / f"logs/node-{n}"),
                       ACTORMAIL_SMTP_PORT=str(2525 + n),
                       ACTORMAIL_POP3_PORT=str(2110 + n),
                       ACTORMAIL_HTTP_PORT=str(8025 + n),
                       ACTORMAIL_CLUSTER="on",
                       ACTORMAIL_CLUSTER_PORT=str(4053 + n),
                       ACTORMAIL_CLUSTER_SEEDS=SEEDS)
            processes.append(subprocess.Popen(["dotnet", str(NODE_DLL), "serve"], cwd=str(ROOT), env=env))
            print(f"node {n}: SMTP 127.0.0.1:{2525 + n}, POP3 127.0.0.1:{2110 + n}, HTTP 127.0.0.1:{8025 + n}, "
                  f"cluster 127.0.0.1:{4053 + n} (PID {processes[-1].pid})", flush=True)
        print("Ctrl-C stops all three; `dotnet " + str(NODE_DLL) + " cluster --node 127.0.0.1:4053` shows the members", flush=True)
        while all(p.poll() is None for p in processes):
            try:
                processes[0].wait(1)
            except subprocess.TimeoutExpired:
                pass
    except KeyboardInterrupt:
        pass
    finally:
        for p in processes:
            stop_process(p, signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
