"""The servers under test: how each is started on its own loopback port, how the harness knows it
is ready, how it is stopped (by PID, never by name), and what /proc says about its memory and CPU."""
import os
import pathlib
import pwd
import signal
import socket
import subprocess
import threading
import time

from clients import BenchError

CLK_TCK = os.sysconf("SC_CLK_TCK")


def port_in_use(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Server:
    """One server process. `banner` is what its greeting starts with; `quit` ends a probe session."""

    def __init__(self, name, argv, port, workdir, env=None, banner=b"220", quit=b"QUIT\r\n", pidfile=None):
        self.name = name
        self.argv = argv
        self.port = port
        self.workdir = pathlib.Path(workdir)
        self.env = env
        self.banner = banner
        self.quit = quit
        self.pidfile = pidfile
        self.proc = None
        self.log_path = self.workdir / f"{name}.out"

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=60.0):
        if port_in_use(self.port):
            raise BenchError(f"{self.name}: port {self.port} is already in use")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         env=self.env, cwd=self.workdir)
        _running.append(self)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode} before it was ready; see {self.log_path}: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                    s.settimeout(5)
                    line = s.recv(512)
                    if line.startswith(self.banner):
                        s.sendall(self.quit)
                        try:
                            s.recv(512)
                        except OSError:
                            pass
                        return
                    last = repr(line[:80])
            except OSError as e:
                last = e.strerror or str(e)
            time.sleep(0.1)
        raise BenchError(f"{self.name} not ready on port {self.port} after {timeout:.0f} s ({last})")

    def tail(self, lines=5):
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout=30.0):
        """SIGTERM to our own PID, SIGKILL if it outlives `timeout`; then, for a daemon with a
        pid file (Dovecot), wait until the file is gone."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self in _running:
            _running.remove(self)
        if self.pidfile is not None:
            deadline = time.monotonic() + timeout
            while pathlib.Path(self.pidfile).exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            if pathlib.Path(self.pidfile).exists():
                raise BenchError(f"{self.name}: {self.pidfile} still there {timeout:.0f} s after stopping")

    # --- /proc -----------------------------------------------------------------------------------

    def memory_kb(self):
        """VmRSS and VmHWM (peak) of the process, in kB."""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        return out

    def cpu_seconds(self):
        """User plus system CPU of the process and its children so far (the children matter for
        Dovecot, whose work happens in forked processes)."""
        return process_tree_cpu(self.pid)


def _stat_cpu(path):
    with open(path) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); fields here start at field 3.
    return [int(x) for x in fields[11:15]]


def process_tree_cpu(pid):
    """CPU seconds of `pid` plus every live descendant plus its reaped children."""
    total = 0
    try:
        utime, stime, cutime, cstime = _stat_cpu(f"/proc/{pid}/stat")
        total += utime + stime + cutime + cstime
    except OSError:
        return 0.0
    for child in _children(pid):
        try:
            u, s, _, _ = _stat_cpu(f"/proc/{child}/stat")
            total += u + s
        except OSError:
            pass
    return total / CLK_TCK


def _children(pid):
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    kids = [int(x) for x in f.read().split()]
                out += kids
                todo += kids
        except OSError:
            pass
    return out


def system_busy_seconds():
    """CPU seconds that processes on the machine have used since boot, every CPU, in user and system
    mode. Interrupt and softirq time is left out: loopback networking runs there and is charged to
    no process, so it would make our own traffic look like someone else's."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system = fields[:3]
    return (user + nice + system) / CLK_TCK


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def thread_cpu(pid):
    """{thread id: (name, CPU seconds)} for every thread of `pid`."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            u, s, _, _ = _stat_cpu(f"/proc/{pid}/task/{tid}/stat")
            out[int(tid)] = (name, (u + s) / CLK_TCK)
        except OSError:
            pass
    return out


def thread_cpu_delta(before, after):
    """CPU seconds per thread name between two thread_cpu() snapshots, largest first."""
    by_name = {}
    counts = {}
    for tid, (name, cpu) in after.items():
        used = cpu - before.get(tid, (name, 0.0))[1]
        by_name[name] = by_name.get(name, 0.0) + used
        counts[name] = counts.get(name, 0) + 1
    return sorted(((n, round(c, 3), counts[n]) for n, c in by_name.items()), key=lambda x: -x[1])


class RssSampler:
    """Polls VmRSS of a process every `interval` seconds in a thread; keeps the largest seen."""

    def __init__(self, server, interval=0.05):
        self.server = server
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self.server.memory_kb()["VmRSS"])
            except (OSError, KeyError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        try:
            self.peak_kb = max(self.peak_kb, self.server.memory_kb()["VmRSS"])
        except (OSError, KeyError):
            pass


_running = []


def stop_all():
    """Stops whatever is still running (after an error or an interrupt); reports, never raises."""
    for server in list(reversed(_running)):
        try:
            server.stop(timeout=15)
        except (BenchError, OSError) as e:
            print(f"bench: stopping {server.name}: {e}")


# --- the targets -------------------------------------------------------------------------------

# Every benchmark client connects from 127.0.0.1, so the per-address guards (connections and
# connection rate per client address, which the benchmark does not measure) are lifted; the
# global limits stay as shipped unless a load raises them.
ONE_ADDRESS = "".join(
    f"actormail.{protocol}.max-connections-per-address = 1000000\n"
    f"actormail.{protocol}.connection-rate-per-address = 0\n"
    for protocol in ("smtp", "pop3"))


def actormail(dll, workdir, smtp_port, pop3_port, role, data, config_text=None, name="actormail"):
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    argv = ["dotnet", str(dll), "serve"]
    conf = workdir / f"{name}.conf"
    conf.write_text(ONE_ADDRESS + (config_text or ""))
    argv += ["--config", str(conf)]
    env = dict(os.environ)
    env.update({
        "ACTORMAIL_BIND": "127.0.0.1",
        "ACTORMAIL_SMTP_PORT": str(smtp_port),
        "ACTORMAIL_POP3_PORT": str(pop3_port),
        "ACTORMAIL_HTTP_PORT": "0",  # any free port: the HTTP API is not what is measured
        "ACTORMAIL_DATA": str(data),
        "ACTORMAIL_LOGS": str(workdir / f"{name}-logs"),
        "ACTORMAIL_ROLE": role,
        "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
        "DOTNET_NOLOGO": "1",
    })
    port = pop3_port if role == "pop3" else smtp_port
    banner = b"+OK" if role == "pop3" else b"220"
    return Server(name, argv, port, workdir, env=env, banner=banner)


def aiosmtpd(workdir, port, maildir, name="aiosmtpd"):
    if pathlib.Path(maildir).exists():
        raise BenchError(f"aiosmtpd: {maildir} must not exist beforehand")
    argv = ["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
    return Server(name, argv, port, workdir)


def smtp_sink(workdir, port, name="smtp-sink"):
    return Server(name, ["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "256"], port, workdir)


MAIL_USER = "mail"


def dovecot(workdir, port, mail_root, users, name="dovecot"):
    """Dovecot POP3 from a private configuration (`users`: name -> password): everything it writes stays under `workdir`.
    It runs as root; the mail is read as the fixed user `mail` (Dovecot refuses uid 0 for mail)."""
    workdir = pathlib.Path(workdir)
    run = workdir / "dovecot-run"
    state = workdir / "dovecot-state"
    for d in (run, state):
        d.mkdir(parents=True, exist_ok=True)
    passwd = workdir / "dovecot-passwd"
    passwd.write_text("".join(f"{u}:{{PLAIN}}{pw}\n" for u, pw in users.items()))
    pw = pwd.getpwnam(MAIL_USER)
    conf = workdir / "dovecot.conf"
    conf.write_text(f"""listen = 127.0.0.1
protocols = pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
base_dir = {run}
state_dir = {state}
log_path = {workdir}/dovecot.log
mail_location = maildir:{mail_root}/%u
mail_uid = {pw.pw_uid}
mail_gid = {pw.pw_gid}
first_valid_uid = {pw.pw_uid}
first_valid_gid = {pw.pw_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = static
  args = uid={pw.pw_uid} gid={pw.pw_gid} home={mail_root}/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port}
  }}
}}
""")
    return Server(name, ["dovecot", "-F", "-c", str(conf)], port, workdir, banner=b"+OK", pidfile=run / "master.pid")


def chown_tree(root, user=MAIL_USER):
    pw = pwd.getpwnam(user)
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, pw.pw_uid, pw.pw_gid)
        for n in filenames:
            os.chown(os.path.join(dirpath, n), pw.pw_uid, pw.pw_gid)
