"""The servers under test: how each is started on a loopback port of its own, how the benchmark
knows it is ready, how it is stopped (by PID, never by name), and what /proc says about its memory
and CPU. ActorMail is started by tools/harness, on a port the system chooses; the peers, which
cannot say which port they bound, get a free one picked just before they start."""
import hashlib
import json
import os
import pathlib
import pwd
import re
import secrets
import signal
import subprocess
import threading
import time

from clients import BenchError
from harness import Node, NodeFailed, free_port, port_answers, stop_process, wait_for_greeting

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Process:
    """What the benchmark reads of a running server (whose class gives it name, log_path and pid):
    its output, and its memory and CPU in /proc."""

    def tail(self, lines=5):
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

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


class Server(Process):
    """A peer's process. `banner` is what its greeting starts with; `quit` ends a probe session."""

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
        if port_answers("127.0.0.1", self.port):
            raise BenchError(f"{self.name}: port {self.port} is already in use")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         env=self.env, cwd=self.workdir)
        _running.append(self)
        try:
            wait_for_greeting("127.0.0.1", self.port, self.banner, timeout, process=self.proc, goodbye=self.quit)
        except NodeFailed as e:
            raise BenchError(f"{self.name} not ready: {e}; see {self.log_path}: {self.tail()}") from None
        return self

    def stop(self, timeout=30.0):
        """SIGTERM to our own PID, SIGKILL if it outlives `timeout`; then wait for the processes
        it had started (Postfix's and Dovecot's daemons leave on their own, a busy one is sent
        SIGKILL at the timeout); and, for a daemon with a pid file (Dovecot), until the file is gone."""
        if self.proc is None:
            return
        children = _children(self.pid) if self.proc.poll() is None else []
        stop_process(self.proc, timeout=timeout)
        if self in _running:
            _running.remove(self)
        deadline = time.monotonic() + timeout
        while children and time.monotonic() < deadline:
            children = [c for c in children if _alive(c)]
            time.sleep(0.1)
        for c in children:
            try:
                os.kill(c, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.pidfile is not None:
            deadline = time.monotonic() + timeout
            while pathlib.Path(self.pidfile).exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            if pathlib.Path(self.pidfile).exists():
                raise BenchError(f"{self.name}: {self.pidfile} still there {timeout:.0f} s after stopping")


class ActorMail(Process):
    """The node under test, a harness.Node: ready once its ready file says which port it bound."""

    def __init__(self, node, role, name):
        self.node = node
        self.role = role
        self.name = name
        self.log_path = node.output_file

    @property
    def pid(self):
        return self.node.process.pid

    @property
    def port(self):
        return self.node.pop3_port if self.role == "pop3" else self.node.smtp_port

    def start(self, timeout=60.0):
        try:
            self.node.start(timeout)
        except NodeFailed as e:
            raise BenchError(f"{self.name}: {e}") from None
        _running.append(self)
        return self

    def stop(self, timeout=30.0):
        self.node.stop(timeout)
        if self in _running:
            _running.remove(self)


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


def _alive(pid):
    """True while `pid` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


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


def tree_pss_kb(pid):
    """Proportional set size of `pid` and its live descendants, in kB: the memory a server of
    several processes (Postfix, Dovecot) holds, each shared page counted once in all."""
    total = 0
    for p in [pid] + _children(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


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


def actormail(workdir, role, data, config_text=None, name="actormail", env=None, cwd=None, dll=None):
    """The node (tools/harness's NODE_DLL, or dll) serving `role` over the mail root `data`, with the
    shipped settings plus config_text and the environment plus env; its logs go to
    <workdir>/<name>-logs. It runs in workdir, or in cwd if given."""
    workdir = pathlib.Path(workdir)
    node = Node(cwd or workdir, role=role, mail_root=data, log_dir=workdir / f"{name}-logs", dll=dll,
                extra_config=ONE_ADDRESS + (config_text or ""),
                extra_env={"DOTNET_CLI_TELEMETRY_OPTOUT": "1", "DOTNET_NOLOGO": "1", **(env or {})})
    return ActorMail(node, role, name)


def aiosmtpd(workdir, maildir, name="aiosmtpd"):
    if pathlib.Path(maildir).exists():
        raise BenchError(f"aiosmtpd: {maildir} must not exist beforehand")
    port = free_port()
    argv = ["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
    return Server(name, argv, port, workdir)


def smtp_sink(workdir, name="smtp-sink"):
    port = free_port()
    return Server(name, ["smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "256"], port, workdir)


MAIL_USER = "mail"


# ActorMail's shipped users are PBKDF2 hashes; Dovecot is given PBKDF2 at the same iteration count,
# so that a sign-in costs both servers a derivation of the same length (Dovecot's PBKDF2 is
# HMAC-SHA1, ActorMail's HMAC-SHA256: the nearest scheme it has).
SHIPPED_HOCON = pathlib.Path(__file__).resolve().parents[2] / "hocon" / "actormail.conf"


def shipped_pbkdf2_rounds(hocon=SHIPPED_HOCON):
    """The iteration count of the shipped users' password hashes."""
    rounds = set(re.findall(r'"pbkdf2-sha256\$(\d+)\$', pathlib.Path(hocon).read_text()))
    if len(rounds) != 1:
        raise BenchError(f"{hocon}: expected one PBKDF2 iteration count for the shipped users, found {sorted(rounds)}")
    return int(rounds.pop())


def dovecot_pbkdf2(password, rounds, salt=None):
    """A Dovecot passwd-file entry of scheme PBKDF2: {PBKDF2}$1$salt$rounds$hex(HMAC-SHA1 key of 20 octets)."""
    salt = salt or secrets.token_hex(8)
    key = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), rounds, dklen=20)
    return f"{{PBKDF2}}$1${salt}${rounds}${key.hex()}"


def dovecot(workdir, mail_root, users, name="dovecot"):
    """Dovecot POP3 from a private configuration (`users`: name -> password): everything it writes stays under `workdir`.
    It runs as root; the mail is read as the fixed user `mail` (Dovecot refuses uid 0 for mail)."""
    workdir = pathlib.Path(workdir)
    run = workdir / "dovecot-run"
    state = workdir / "dovecot-state"
    for d in (run, state):
        d.mkdir(parents=True, exist_ok=True)
    passwd = workdir / "dovecot-passwd"
    rounds = shipped_pbkdf2_rounds()
    passwd.write_text("".join(f"{u}:{dovecot_pbkdf2(pw, rounds)}\n" for u, pw in users.items()))
    pw = pwd.getpwnam(MAIL_USER)
    port = free_port()
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
  args = scheme=PBKDF2 {passwd}
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


# --- the peers a developer would pick instead (issue 21) ---------------------------------------

# Installed by tools/bench/install-peers.sh outside the repository; the same default here and there.
PEERS_CACHE = pathlib.Path(os.environ.get("ACTORMAIL_BENCH_CACHE")
                           or pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "actormail-bench")
SMTP4DEV = PEERS_CACHE / "smtp4dev-3.15.0/smtp4dev"
MAILDEV = PEERS_CACHE / "maildev-3.0.0/node_modules/maildev/dist/bin/maildev.js"


def peer_versions():
    """The installed versions of smtp4dev and MailDev, read from what their installers left."""
    out = {}
    store = sorted((SMTP4DEV.parent / ".store/rnwood.smtp4dev").glob("*"))
    out["smtp4dev"] = store[-1].name if store else "unknown"
    try:
        out["maildev"] = json.loads((MAILDEV.parents[2] / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        out["maildev"] = "unknown"
    return out


def smtp4dev(workdir, keep=1_000_000, name="smtp4dev"):
    """smtp4dev 3.15 with SMTP and POP3 on loopback ports of their own, IMAP off, its database and
    settings in workdir; `keep` messages kept per mailbox (its default, 100, would drop the load)."""
    workdir = pathlib.Path(workdir)
    port, pop3, web = free_port(), free_port(), free_port()
    argv = [str(SMTP4DEV), f"--smtpport={port}", f"--pop3port={pop3}", "--imapport=", f"--urls=http://127.0.0.1:{web}",
            f"--db={workdir / 'smtp4dev.db'}", "--nousersettings", "--bindaddress=127.0.0.1", "--disableipv6",
            f"--messagestokeep={keep}", "--hostname=localhost"]
    env = {**os.environ, "XDG_CONFIG_HOME": str(workdir / "xdg-config"), "DOTNET_CLI_TELEMETRY_OPTOUT": "1"}
    srv = Server(name, argv, port, workdir, env=env)
    srv.pop3_port = pop3
    return srv


def maildev(workdir, mail_dir, name="maildev"):
    """MailDev 3.0, SMTP and web on loopback ports of their own, each message kept in mail_dir."""
    port, web = free_port(), free_port()
    argv = ["node", str(MAILDEV), "--smtp", str(port), "--ip", "127.0.0.1", "--web", str(web), "--web-ip", "127.0.0.1",
            "--mail-directory", str(mail_dir)]
    return Server(name, argv, port, workdir)


DEFAULT_POSTFIX_MAIN_CF = pathlib.Path("/etc/postfix/main.cf")


def postfix_config(root, port, uid, gid):
    """(main.cf, master.cf) of a private Postfix whose queue, data, log and mail all live under
    `root`: smtpd on 127.0.0.1:port, every recipient at localhost delivered by virtual(8) into
    the Maildir <root>/mail/alice/ as uid/gid."""
    root = pathlib.Path(root)
    main = f"""compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
maillog_file = {root}/log/postfix.log
maillog_file_prefixes = {root}
myhostname = bench.localdomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
virtual_mailbox_domains = localhost
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = static:alice/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = {uid}
"""
    services = [
        (f"127.0.0.1:{port}", "inet", "n", "-", "n", "-", "-", "smtpd"),
        ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
        ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
        ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
        ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
        ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
        ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
        ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
        ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
        ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
        ("error", "unix", "-", "-", "n", "-", "-", "error"),
        ("retry", "unix", "-", "-", "n", "-", "-", "error"),
        ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
        ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
        ("virtual", "unix", "-", "n", "n", "-", "-", "virtual"),
        ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
        ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
        ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
    ]
    master = "".join(" ".join(s) + "\n" for s in services)
    return main, master


def claim_alternate_config(confdir, main_cf=DEFAULT_POSTFIX_MAIN_CF, wait_s=300.0, sleep=time.sleep, poll=0.5):
    """Lets Postfix accept the private configuration directory `confdir`: the default instance's
    main.cf must list it in alternate_config_directories. Writes that main.cf only where none
    exists (created exclusively) and returns a function that removes it again. One that is there
    is never touched: another private instance on the machine may be starting, so it is waited
    out for up to wait_s seconds."""
    main_cf = pathlib.Path(main_cf)
    line = f"alternate_config_directories = {confdir}\n"
    for _ in range(max(1, int(wait_s / poll))):
        try:
            with open(main_cf, "x") as f:
                f.write(line)
            break
        except FileExistsError:
            sleep(poll)
    else:
        raise BenchError(f"{main_cf} exists and stayed for {wait_s:.0f} s: the benchmark writes a default main.cf only where "
                         f"there is none (a private Postfix needs alternate_config_directories = {confdir} in it)")

    def release():
        if main_cf.exists() and main_cf.read_text(errors="replace") == line:
            main_cf.unlink()
    return release


POSTFIX_MASTER = "/usr/lib/postfix/sbin/master"


class Postfix(Server):
    """A private Postfix instance: `postfix -c CONFDIR check` makes its queue, then its master
    daemon runs in the foreground (`master -c CONFDIR -d`), so that it is stopped by its own PID
    like every other peer (`postfix start` would leave a detached master behind)."""

    def __init__(self, root, port):
        self.root = pathlib.Path(root)
        self.confdir = self.root / "conf"
        self.maildir = self.root / "mail/alice"
        super().__init__("postfix", [POSTFIX_MASTER, "-c", str(self.confdir), "-d"], port, self.root)

    def start(self, timeout=60.0):
        pw = pwd.getpwnam(MAIL_USER)
        for d in ("conf", "queue", "data", "log", "mail"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", pw.pw_uid, pw.pw_gid)
        os.chown(self.root / "data", pwd.getpwnam("postfix").pw_uid, -1)
        main, master = postfix_config(self.root, self.port, pw.pw_uid, pw.pw_gid)
        (self.confdir / "main.cf").write_text(main)
        (self.confdir / "master.cf").write_text(master)
        release = claim_alternate_config(self.confdir)
        try:
            check = subprocess.run(["postfix", "-c", str(self.confdir), "check"], capture_output=True, text=True, timeout=60)
            if check.returncode != 0:
                raise BenchError(f"postfix check exited {check.returncode}: {(check.stdout + check.stderr).strip()[-300:]}")
            return super().start(timeout)
        except BenchError as e:
            raise BenchError(f"{e}; postfix log: {self.log_tail()}") from None
        finally:
            release()  # only the start checks it; the running master never reads it again

    def log_tail(self, lines=5):
        try:
            return " | ".join((self.root / "log/postfix.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def delivered(self):
        return sum(1 for _ in os.scandir(self.maildir / "new")) if (self.maildir / "new").is_dir() else 0
