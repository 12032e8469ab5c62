#!/usr/bin/python3
"""The Docker Compose stack, run for real: `make compose-e2` and `make compose-e3`.

    /usr/bin/python3 tools/compose/compose_run.py e2|e3

1. An engine: the one DOCKER_HOST names, or the one answering on /var/run/docker.sock; if there
   is none, a private dockerd started here with --iptables=false --ip6tables=false
   --ip-forward=false --bridge=none: no bridge, no rules and no forwarding on the machine. Its
   data root (images, build cache) is kept in $ACTORMAIL_DOCKER_CACHE/docker (default
   /var/cache/actormail/docker), so the base images are made once, and one run at a time uses it
   (a lock); its socket and exec root are in a temporary folder.
2. The base images the Dockerfiles name, if missing: pulled if a registry answers, otherwise made
   here. debian:12 with debootstrap from the machine's own Debian mirror (read from its apt
   sources, never written down), the two .NET images from tools/compose/images/ with the
   machine's own .NET installation, tagged with the official names.
3. docker-compose up --build --abort-on-container-exit --exit-code-from tester, over
   docker-compose.yml (and docker-compose.e3.yml for e3; with the private engine also
   tools/compose/build-host-network.yml, so image builds reach the mirrors), as docker-compose
   config resolves them but with no host port published: the tester reaches the servers inside
   the compose network, and host ports 2525 and 2110 stay free for the other suites.
4. The capture the tester wrote is checked again here with tools/validate_pcap.py.
5. docker-compose down -v. A private engine is then stopped by its PID, whatever it mounted is
   unmounted, its temporary folder removed, and the machine's network checked to be as it was.

Exit status 0 only if every step passed.
"""
import argparse
import fcntl
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml  # python3-yaml, which docker-compose itself depends on

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = ROOT / "tools" / "compose"
PY = "/usr/bin/python3"
CACHE = pathlib.Path(os.environ.get("ACTORMAIL_DOCKER_CACHE") or "/var/cache/actormail")
DEFAULT_SOCKET = "/var/run/docker.sock"
TMP_PREFIX = "actormail-dockerd-"

# scenario: compose files, the capture the tester writes, its rule set
SCENARIOS = {
    "e2": (["docker-compose.yml"], "artifacts/pcap/traffic_e2.pcap", "S08"),
    "e3": (["docker-compose.yml", "docker-compose.e3.yml"], "artifacts/pcap/traffic_e3.pcap", "S08_E3"),
}
BUILD_ON_HOST_NETWORK = "tools/compose/build-host-network.yml"

DEBIAN = "debian:12"
RUNTIME = "mcr.microsoft.com/dotnet/aspnet:10.0"
SDK = "mcr.microsoft.com/dotnet/sdk:10.0"
STAND_IN = "org.actormail.stand-in"

PRIVATE_ENGINE_FLAGS = ["--iptables=false", "--ip6tables=false", "--ip-forward=false", "--bridge=none"]
# What an engine adds to the machine's network when it may: the check after a private run.
DOCKER_LINK = re.compile(r"^(docker\d+|br-[0-9a-f]{12}|veth[0-9a-f]{7})$")

PULL_SECONDS = 60
BUILD_SECONDS = 900
UP_SECONDS = 1200
# A private engine's untagged images (old builds, and the node's build stage, which is what keeps
# the next build cached) are pruned only once its data root grows over this.
CACHE_LIMIT_BYTES = int(float(os.environ.get("ACTORMAIL_DOCKER_CACHE_GB") or 8) * 2**30)


class Failure(Exception):
    """A step failed; the message says which and why."""


def say(message):
    print(f"compose: {message}", flush=True)


def on_sigterm(signum, frame):
    raise Failure("stopped by SIGTERM")


# --- the engine -------------------------------------------------------------------------------------

def answers(socket_path, timeout=3.0):
    """True if a Docker engine answers GET /_ping on this unix socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(socket_path)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return s.recv(64).split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]
    except (OSError, IndexError):
        return False


def running_engine():
    """DOCKER_HOST if set (it must answer), else the default socket if it answers, else None."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        if host.startswith("unix://"):
            ok = answers(host[len("unix://"):])
        else:
            ok = subprocess.run(["docker", "version"], capture_output=True, timeout=30).returncode == 0
        if not ok:
            raise Failure(f"DOCKER_HOST={host} does not answer")
        return host
    if answers(DEFAULT_SOCKET):
        return f"unix://{DEFAULT_SOCKET}"
    return None


def mounts_under(folders):
    """Mount points at or below any of folders, deepest first (from /proc/self/mountinfo)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if any(point == str(d) or point.startswith(f"{d}/") for d in folders):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_all(folders):
    for point in mounts_under(folders):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
        say(f"unmounted {point}")


def processes_mentioning(text):
    """PIDs whose command line contains text (the private engine's children name its folders)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


class PrivateEngine:
    """A dockerd of this run's own. start() and stop() are safe to call after a partial start."""

    def __init__(self):
        self.data_root = CACHE / "docker"
        self.pidfile = CACHE / "dockerd.pid"
        self.lock = None
        self.tmp = None
        self.process = None
        self.host = None
        self.network_before = None

    def start(self):
        CACHE.mkdir(parents=True, exist_ok=True)
        self.lock = open(CACHE / "lock", "w")
        self._take_lock(timeout=1800)
        self._stop_leftover()
        self.network_before = network_state()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
        sock = self.tmp / "docker.sock"
        self.host = f"unix://{sock}"
        command = ["dockerd", "--data-root", str(self.data_root), "--exec-root", str(self.tmp / "exec"),
                   "--pidfile", str(self.pidfile), "-H", self.host, *PRIVATE_ENGINE_FLAGS]
        say("no engine running: starting " + " ".join(command))
        with open(self.tmp / "dockerd.log", "wb") as log:
            # Its own session: a Ctrl-C reaches this script, which stops the engine in order.
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while not answers(str(sock)):
            if self.process.poll() is not None:
                raise Failure(f"dockerd exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise Failure(f"dockerd did not answer within 60 s:\n{self.log_tail()}")
            time.sleep(0.2)
        say(f"private dockerd {self.process.pid} answers on {sock}")
        return self.host

    def _take_lock(self, timeout):
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            say(f"another run uses {CACHE}; waiting for it (up to {timeout} s)")
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Failure(f"{CACHE} stayed locked for {timeout} s")
                time.sleep(2)

    def _stop_leftover(self):
        """Stops the dockerd of an earlier run that was killed before it could stop it (the engine
        runs in a session of its own, so it outlives a SIGKILL of this script). It is known by the
        pidfile and the data root on its command line; the lock says no run uses it."""
        try:
            pid = int(self.pidfile.read_text().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = [a.decode(errors="replace") for a in f.read().split(b"\0")]
        except (OSError, ValueError):
            return
        if not args[0].endswith("dockerd") or str(self.data_root) not in args or "--exec-root" not in args:
            return
        tmp = pathlib.Path(args[args.index("--exec-root") + 1]).parent
        say(f"the dockerd of an earlier run ({pid}) still runs: stopping it")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while pathlib.Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        if pathlib.Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
        self._clean(tmp)

    def _clean(self, tmp):
        # The containerd and shims dockerd started name its exec root; none should outlive it.
        for pid in processes_mentioning(str(tmp)):
            say(f"process {pid} of the private engine still runs: SIGKILL")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.5)
        unmount_all([tmp, self.data_root])
        if tmp.name.startswith(TMP_PREFIX):
            shutil.rmtree(tmp, ignore_errors=True)

    def bound_cache(self, docker):
        du = subprocess.run(["du", "-sb", str(self.data_root)], capture_output=True, text=True, timeout=300)
        used = int(du.stdout.split()[0]) if du.returncode == 0 else 0
        if used > CACHE_LIMIT_BYTES:
            say(f"{self.data_root} holds {used / 2**30:.1f} GB: pruning untagged images")
            docker.run("image", "prune", "--force", timeout=600)

    def log_tail(self, lines=30):
        path = self.tmp / "dockerd.log" if self.tmp else None
        if not path or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                say(f"dockerd {self.process.pid} did not stop in 60 s: SIGKILL")
                self.process.kill()
                self.process.wait(10)
            say(f"private dockerd {self.process.pid} stopped ({self.process.returncode})")
        if self.tmp is not None:
            self._clean(self.tmp)
            self.tmp = None
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def network_state():
    """What an engine would change on the machine: its links, forwarding, its iptables chains."""
    state = {"links": sorted(n for n in os.listdir("/sys/class/net") if DOCKER_LINK.match(n))}
    for key in ("ipv4/ip_forward", "ipv6/conf/all/forwarding"):
        try:
            state[key] = pathlib.Path("/proc/sys/net", key).read_text().strip()
        except OSError:
            pass
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool):
            out = subprocess.run([tool], capture_output=True, text=True, timeout=30).stdout
            state[tool] = [line for line in out.splitlines() if "DOCKER" in line]
    return state


# --- docker and docker-compose ------------------------------------------------------------------------

class Docker:
    def __init__(self, host, private):
        self.private = private
        self.env = dict(os.environ, DOCKER_HOST=host)
        if private:
            for key in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
                self.env.pop(key, None)
            # docker-compose builds through the engine's API with the classic builder, as do the
            # stand-in builds below: the same path whichever docker CLI is first on PATH.
            self.env.update(COMPOSE_DOCKER_CLI_BUILD="0", DOCKER_BUILDKIT="0")

    def run(self, *args, timeout, capture=True, **kwargs):
        return subprocess.run(["docker", *args], env=self.env, timeout=timeout, capture_output=capture,
                              text=capture, **kwargs)

    def has(self, image):
        return self.run("image", "inspect", "--format", "{{.Id}}", image, timeout=60).returncode == 0

    def pull(self, image):
        try:
            result = self.run("pull", "--quiet", image, timeout=PULL_SECONDS)
        except subprocess.TimeoutExpired:
            return f"no answer in {PULL_SECONDS} s"
        return None if result.returncode == 0 else (result.stderr.strip().splitlines() or ["failed"])[-1]

    def build_from_tar(self, image, dockerfile, members, build_args):
        """docker build with a context streamed as a tar: the Dockerfile, then (source, name) pairs."""
        command = ["docker", "build", "--network=host", "--label", f"{STAND_IN}=tools/compose/images/{dockerfile.name}",
                   "-t", image]
        for key, value in build_args.items():
            command += ["--build-arg", f"{key}={value}"]
        command.append("-")
        process = subprocess.Popen(command, env=self.env, stdin=subprocess.PIPE)
        try:
            # GNU format: a PAX header first (subsecond mtimes) would hide from the docker CLI that
            # standard input is a tar, and it would take the whole stream for a Dockerfile.
            with tarfile.open(fileobj=process.stdin, mode="w|", format=tarfile.GNU_FORMAT) as tar:
                tar.add(dockerfile, arcname="Dockerfile")
                for source, name in members:
                    if source is None:
                        info = tarfile.TarInfo(name)
                        info.type, info.mode = tarfile.DIRTYPE, 0o755
                        tar.addfile(info)
                    else:
                        tar.add(source, arcname=name)
            process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            code = process.wait(BUILD_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise Failure(f"building {image} took over {BUILD_SECONDS} s")
        if code != 0:
            raise Failure(f"building {image} failed ({code})")


def compose(docker, stack, *args, timeout):
    command = ["docker-compose", "--project-directory", str(ROOT), "-f", str(stack), *args]
    say(" ".join(command))
    process = subprocess.Popen(command, cwd=ROOT, env=docker.env)
    try:
        return process.wait(timeout)
    except BaseException:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


# --- base images --------------------------------------------------------------------------------------

def debian_mirror(apt=pathlib.Path("/etc/apt")):
    """The machine's own Debian mirror for bookworm, read from its apt sources (one-line .list
    files or deb822 .sources files)."""
    sources = [apt / "sources.list"]
    folder = apt / "sources.list.d"
    if folder.is_dir():
        sources += sorted(p for p in folder.iterdir() if p.suffix in (".list", ".sources"))
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if line.strip() and not line.startswith("#") and ":" in line:
                        key, _, value = line.partition(":")
                        fields[key.strip().lower()] = value.strip()
                if ("deb" in fields.get("types", "").split() and "bookworm" in fields.get("suites", "").split()
                        and fields.get("enabled", "yes").lower() != "no" and fields.get("uris")):
                    return fields["uris"].split()[0]
        else:
            for line in text.splitlines():
                m = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m and m.group(2) == "bookworm":
                    return m.group(1)
    raise Failure(f"no Debian bookworm mirror in {apt}/sources.list or sources.list.d")


def make_debian(docker, work):
    mirror = debian_mirror()
    rootfs = work / "rootfs"
    say(f"making {DEBIAN}: debootstrap --variant=minbase bookworm from {mirror}")
    try:
        result = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), mirror],
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise Failure(f"debootstrap failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        result = docker.run("import", "--change", 'CMD ["bash"]',
                            "--change", f'LABEL {STAND_IN}="debootstrap --variant=minbase bookworm"',
                            "-", DEBIAN, stdin=tar.stdout, timeout=600)
        tar.stdout.close()
        tar.wait()
        if result.returncode != 0 or tar.returncode != 0:
            raise Failure(f"docker import of {DEBIAN} failed: {result.stderr.strip()}")
    finally:
        unmount_all([rootfs])
        shutil.rmtree(rootfs, ignore_errors=True)


def version_key(name):
    return [int(part) for part in re.findall(r"\d+", name)]


def newest(folder, prefix="10."):
    versions = [d.name for d in folder.iterdir() if d.name.startswith(prefix)] if folder.is_dir() else []
    if not versions:
        raise Failure(f"no .NET {prefix}x in {folder}")
    return max(versions, key=version_key)


def dotnet_home():
    exe = shutil.which("dotnet")
    if not exe:
        raise Failure("no dotnet on PATH to make the .NET images from")
    return pathlib.Path(os.path.realpath(exe)).parent


def make_runtime(docker, work):
    home = dotnet_home()
    version = newest(home / "shared" / "Microsoft.NETCore.App")
    # The node's HTTP side runs on ASP.NET Core's shared framework, as in the official aspnet image.
    aspnet = newest(home / "shared" / "Microsoft.AspNetCore.App")
    say(f"making {RUNTIME}: Debian 12 with this machine's .NET runtime {version} and ASP.NET Core {aspnet} ({home})")
    members = [(None, "dotnet"), (home / "dotnet", "dotnet/dotnet"), (home / "host", "dotnet/host"),
               (None, "dotnet/shared"), (None, "dotnet/shared/Microsoft.NETCore.App"),
               (home / "shared/Microsoft.NETCore.App" / version, f"dotnet/shared/Microsoft.NETCore.App/{version}"),
               (None, "dotnet/shared/Microsoft.AspNetCore.App"),
               (home / "shared/Microsoft.AspNetCore.App" / aspnet, f"dotnet/shared/Microsoft.AspNetCore.App/{aspnet}")]
    members += [(home / n, f"dotnet/{n}") for n in ("LICENSE.txt", "ThirdPartyNotices.txt") if (home / n).exists()]
    docker.build_from_tar(RUNTIME, HERE / "images" / "runtime.Dockerfile", members, {"DOTNET_VERSION": version})


def make_sdk(docker, work):
    home = dotnet_home()
    version = newest(home / "sdk")
    certificates = sorted(pathlib.Path("/usr/local/share/ca-certificates").glob("*.crt"))
    say(f"making {SDK}: Debian 12 with this machine's .NET SDK {version} ({home}) and "
        f"{len(certificates)} extra CA certificate(s)")
    members = [(home, "dotnet"), (None, "ca-certificates")]
    members += [(c, f"ca-certificates/{c.name}") for c in certificates]
    docker.build_from_tar(SDK, HERE / "images" / "sdk.Dockerfile", members, {"DOTNET_SDK_VERSION": version})


def ensure_base_images(docker, work):
    for image, make in ((DEBIAN, make_debian), (RUNTIME, make_runtime), (SDK, make_sdk)):
        if docker.has(image):
            say(f"{image}: present")
            continue
        started = time.monotonic()
        why = docker.pull(image)
        if why is None:
            say(f"{image}: pulled in {time.monotonic() - started:.0f} s")
            continue
        say(f"{image}: cannot be pulled ({why})")
        started = time.monotonic()
        make(docker, work)
        say(f"{image}: made in {time.monotonic() - started:.0f} s")


# --- the run ------------------------------------------------------------------------------------------

def stamp(path):
    try:
        st = path.stat()
        return st.st_mtime_ns, st.st_size
    except FileNotFoundError:
        return None


def stack_without_host_ports(docker, files, work):
    """The stack as docker-compose resolves it from files, less the host ports the servers publish.
    The tester reaches them inside the compose network, and any engine binds a published port on
    the host (dockerd itself does, without iptables or userland proxy), where 2525 and 2110 belong
    to the other suites. docker-compose v1 cannot take a port away with an override file (it merges port lists),
    so the resolved configuration is written out without them."""
    command = ["docker-compose"]
    for f in files:
        command += ["-f", f]
    say(" ".join(command + ["config"]) + ", less every service's ports")
    result = subprocess.run(command + ["config"], cwd=ROOT, env=docker.env, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise Failure(f"docker-compose config failed: {result.stderr.strip()}")
    config = yaml.safe_load(result.stdout)
    for service in config["services"].values():
        service.pop("ports", None)
    stack = work / "docker-compose.json"
    stack.write_text(json.dumps(config, indent=2))
    return stack


def scenario(docker, name, work):
    files, pcap_name, project = SCENARIOS[name]
    if docker.private:
        files = files + [BUILD_ON_HOST_NETWORK]
    stack = stack_without_host_ports(docker, files, work)
    pcap = ROOT / pcap_name
    # Leftovers of an interrupted run of this project (containers, the mail volume) go first.
    compose(docker, stack, "down", "-v", "--remove-orphans", timeout=300)
    before = stamp(pcap)
    started = time.monotonic()
    try:
        code = compose(docker, stack, "up", "--build", "--abort-on-container-exit", "--exit-code-from", "tester",
                       timeout=UP_SECONDS)
        say(f"docker-compose up: exit status {code} after {time.monotonic() - started:.0f} s")
        if code != 0:
            raise Failure(f"the tester failed ({code})")
        if stamp(pcap) in (None, before):
            raise Failure(f"the tester wrote no new {pcap_name}")
        say(f"{PY} tools/validate_pcap.py --project {project} --pcap {pcap_name}")
        if subprocess.run([PY, str(ROOT / "tools/validate_pcap.py"), "--project", project, "--pcap", str(pcap)],
                          cwd=ROOT, timeout=300).returncode != 0:
            raise Failure(f"{pcap_name} does not pass the {project} rules")
    finally:
        compose(docker, stack, "down", "-v", "--remove-orphans", timeout=300)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    engine = None
    work = pathlib.Path(tempfile.mkdtemp(prefix="actormail-compose-"))
    try:
        host = running_engine()
        if host:
            say(f"using the running engine at {host}")
        else:
            engine = PrivateEngine()
            host = engine.start()
        docker = Docker(host, private=engine is not None)
        ensure_base_images(docker, work)
        scenario(docker, args.scenario, work)
        if engine is not None:
            engine.bound_cache(docker)
    except (Failure, subprocess.TimeoutExpired, KeyboardInterrupt) as e:
        print(f"compose-{args.scenario}: FAIL: {e or type(e).__name__}", file=sys.stderr, flush=True)
        return 1
    finally:
        if engine is not None:
            engine.stop()
        shutil.rmtree(work, ignore_errors=True)
    if engine is not None:
        network_after = network_state()
        if network_after != engine.network_before:
            print(f"compose-{args.scenario}: FAIL: the network is not as it was: {engine.network_before} -> "
                  f"{network_after}", file=sys.stderr, flush=True)
            return 1
        say("network, iptables and forwarding as they were found")
    say(f"compose-{args.scenario}: PASS in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
