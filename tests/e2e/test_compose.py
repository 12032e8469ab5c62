"""docker-compose.yml, docker-compose.e3.yml, docker/ and tools/compose/: what can be checked
without a Docker engine. (`make compose-e2` and `make compose-e3` run the stack for real.)

docker-compose (v1.29) validates the file and prints the resolved configuration; that output is
read with a small parser of the block YAML it writes. The tester service must match the brief
exactly; the roles the servers are given must be roles the node really runs (each is started here
on ports the system chooses); the Dockerfiles must copy files that exist; and the tester's script runs the E2
scenario for real in a network namespace standing in for smtp_server's."""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import NODE_DLL, Node, ToolModule, port_answers
from harness import free_port, greeting

compose_run = ToolModule("compose_run", folder="compose")

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_E3 = ROOT / "docker-compose.e3.yml"
BUILD_ON_HOST_NETWORK = ROOT / "tools" / "compose" / "build-host-network.yml"
HEALTHCHECK = ROOT / "docker" / "node" / "healthcheck.sh"
TESTER_SCRIPT = ROOT / "docker" / "tester" / "run-e2.sh"


# --- a reader for the YAML that `docker-compose config` prints -------------------------------

def _scalar(text):
    text = text.strip()
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return bytes(text[1:-1], "utf-8").decode("unicode_escape")
    if text[:1] in ("[", "{", "&", "*", "!", "|", ">"):
        raise ValueError(f"YAML this reader does not handle: {text!r}")
    return text


def _split_key(content):
    """'key: value' or 'key:' -> (key, value or None); None if the line is no mapping entry."""
    m = re.match(r"^((?:'[^']*')|[^'\s:][^:]*?):(?:\s+(.*))?$", content)
    if not m:
        return None
    return _scalar(m.group(1)), (m.group(2) if m.group(2) not in (None, "") else None)


def parse_block_yaml(text):
    """Parses the block-style YAML of `docker-compose config` (mappings, sequences, plain and
    quoted scalars, {} and []). Anything else raises ValueError rather than being misread."""
    lines = []
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError(f"tab in indentation: {raw!r}")
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))
    pos = 0

    def block(indent):
        nonlocal pos
        if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
            return sequence(indent)
        return mapping(indent)

    def mapping(indent):
        nonlocal pos
        result = {}
        while pos < len(lines) and lines[pos][0] == indent and not lines[pos][1].startswith("- "):
            entry = _split_key(lines[pos][1])
            if entry is None:
                raise ValueError(f"expected 'key: value' at line {pos + 1}: {lines[pos][1]!r}")
            key, value = entry
            pos += 1
            if value is not None:
                result[key] = _scalar(value)
            elif pos < len(lines) and (lines[pos][0] > indent or
                                       (lines[pos][0] == indent and lines[pos][1].startswith("- "))):
                result[key] = block(lines[pos][0])
            else:
                result[key] = None
        if pos < len(lines) and lines[pos][0] > indent:
            raise ValueError(f"unexpected indentation at line {pos + 1}: {lines[pos][1]!r}")
        return result

    def sequence(indent):
        nonlocal pos
        result = []
        while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- "):
            item = lines[pos][1][2:]
            if _split_key(item) is None:
                result.append(_scalar(item))
                pos += 1
                continue
            # A mapping inside the sequence: its first entry is on the dash line.
            lines[pos] = (indent + 2, item)
            result.append(mapping(indent + 2))
        return result

    parsed = block(lines[0][0]) if lines else {}
    if pos != len(lines):
        raise ValueError(f"unparsed YAML from line {pos + 1}: {lines[pos][1]!r}")
    return parsed


# --- helpers ---------------------------------------------------------------------------------

def compose(*args, overrides=()):
    files = [a for f in (COMPOSE, *overrides) for a in ("-f", str(f))]
    return subprocess.run(["docker-compose", *files, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def resolved(*overrides):
    result = compose("config", overrides=overrides)
    assert result.returncode == 0, result.stderr
    return parse_block_yaml(result.stdout)


@pytest.fixture(scope="module")
def config():
    return resolved()


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def dockerfile_instructions(path):
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


# --- the reader itself -------------------------------------------------------------------------

def test_the_yaml_reader_reads_nested_blocks_and_refuses_what_it_does_not_know():
    text = ("services:\n  a:\n    cap_add:\n    - X\n    - 'y z'\n    ports:\n    - published: 1\n"
            "      target: 2\n    env:\n      K: '0.0.0.0'\nvolumes:\n  v: {}\n")
    assert parse_block_yaml(text) == {
        "services": {"a": {"cap_add": ["X", "y z"], "ports": [{"published": "1", "target": "2"}],
                           "env": {"K": "0.0.0.0"}}},
        "volumes": {"v": {}}}
    for bad in ("a: [1, 2]\n", "a:\n  b: 1\n   c: 2\n", "a: 1\n  b: 2\n"):
        with pytest.raises(ValueError):
            parse_block_yaml(bad)


# --- the compose file ----------------------------------------------------------------------------

def test_docker_compose_config_validates_the_file():
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_the_three_services(config):
    assert set(config["services"]) == {"smtp_server", "pop3_server", "tester"}


def test_tester_is_set_up_exactly_as_the_brief_says(config):
    tester = config["services"]["tester"]
    assert tester["network_mode"] == "service:smtp_server"
    assert tester["cap_add"] == ["NET_ADMIN", "NET_RAW"]
    # docker-compose resolves ./artifacts against the project folder.
    assert f"{ROOT / 'artifacts'}:/artifacts:rw" in tester["volumes"]
    env = env_of(tester)
    assert env["PROJECT_CODE"] == "S08"
    assert env["PCAP_PATH"] == "/artifacts/pcap/traffic_e2.pcap"
    # The same lines as the brief writes them, in the file itself.
    raw = COMPOSE.read_text()
    for line in ('network_mode: "service:smtp_server"', 'cap_add: ["NET_ADMIN", "NET_RAW"]',
                 "- ./artifacts:/artifacts", "- PROJECT_CODE=S08",
                 "- PCAP_PATH=/artifacts/pcap/traffic_e2.pcap"):
        assert line in raw, line


def test_tester_command_captures_runs_e2_stops_and_validates(config):
    command = config["services"]["tester"]["command"]
    assert command == ["/opt/actormail/docker/tester/run-e2.sh"]
    script = TESTER_SCRIPT.read_text()
    steps = [r"marker=\$\{PYTEST_MARKER:-e2\}", r"tcpdump -i any .*-w \"\$partial\"", r"-m pytest -m \"\$marker\"",
             r"sleep 2", r"kill -INT \"\$dump\"",
             r"tools/validate_pcap.py --project \"\$PROJECT_CODE\" --pcap \"\$PCAP_PATH\""]
    at = 0
    for step in steps:
        m = re.compile(step).search(script, at)
        assert m, f"{step} missing or out of order in {TESTER_SCRIPT.name}"
        at = m.end()
    assert subprocess.run(["sh", "-n", str(TESTER_SCRIPT)]).returncode == 0
    assert subprocess.run(["sh", "-n", str(HEALTHCHECK)]).returncode == 0


def test_tester_starts_once_both_servers_are_healthy(config):
    services = config["services"]
    assert services["tester"]["depends_on"] == {
        "smtp_server": {"condition": "service_healthy"},
        "pop3_server": {"condition": "service_healthy"},
    }
    for name in ("smtp_server", "pop3_server"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "/usr/local/bin/actormail-healthcheck"]


def test_servers_are_one_image_one_role_each_over_a_shared_mail_root(config):
    services = config["services"]
    smtp, pop3 = services["smtp_server"], services["pop3_server"]
    assert smtp["build"] == pop3["build"]
    assert smtp["image"] == pop3["image"]
    assert env_of(smtp)["ACTORMAIL_ROLE"] == "smtp"
    assert env_of(pop3)["ACTORMAIL_ROLE"] == "pop3"
    for service in (smtp, pop3):
        env = env_of(service)
        assert env["ACTORMAIL_BIND"] == "0.0.0.0"
        assert env["ACTORMAIL_DATA"] == "/var/mail/actormail"
        assert "maildata:/var/mail/actormail:rw" in service["volumes"]
    assert "maildata" in config["volumes"]
    assert smtp["ports"] == [{"published": "2525", "target": "2525"}]
    assert pop3["ports"] == [{"published": "2110", "target": "2110"}]
    # The tester reads the same mail root (the e2 tests check the stored file), read-only.
    tester = services["tester"]
    assert "maildata:/var/mail/actormail:ro" in tester["volumes"]
    assert env_of(tester)["ACTORMAIL_DATA"] == "/var/mail/actormail"
    assert env_of(tester)["ACTORMAIL_E2E_EXTERNAL"] == "127.0.0.1:2525:2110"
    assert env_of(tester)["ACTORMAIL_E2E_POP3_HOST"] == "pop3_server"


def test_the_e3_file_changes_only_what_the_tester_runs_and_checks(config):
    changed = {"PYTEST_MARKER": "e3", "PROJECT_CODE": "S08_E3", "PCAP_PATH": "/artifacts/pcap/traffic_e3.pcap"}
    expected = json.loads(json.dumps(config))
    expected["services"]["tester"]["environment"] = {**env_of(config["services"]["tester"]), **changed}
    assert resolved(COMPOSE_E3) == expected


def test_the_host_network_override_changes_only_how_images_are_built(config):
    built = resolved(BUILD_ON_HOST_NETWORK)
    for name, service in built["services"].items():
        assert service["build"].pop("network") == "host", name
    assert built == config


def as_text(value):
    """YAML scalars as the block reader gives them (strings), to compare with PyYAML's output."""
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    return value if value is None else str(value)


def test_compose_run_brings_up_the_stack_with_no_host_port_published(config, tmp_path):
    """make compose-e2/e3 leave host ports 2525 and 2110 to the other suites: what they bring up is
    the resolved stack with the ports taken out, and nothing else changed."""
    no_engine = type("NoEngine", (), {"env": dict(os.environ)})()
    stack = json.loads(compose_run.stack_without_host_ports(no_engine, [str(COMPOSE)], tmp_path).read_text())
    expected = json.loads(json.dumps(config))
    for service in expected["services"].values():
        service.pop("ports", None)
    assert as_text(stack) == expected


def test_compose_run_finds_the_debian_mirror_in_either_apt_format(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("# deb http://old.example/debian bookworm main\n"
                                           "deb [arch=amd64] http://mirror.example/debian bookworm main\n")
    assert compose_run.debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text("")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\n# a comment\nURIs: http://deb822.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n")
    assert compose_run.debian_mirror(tmp_path) == "http://deb822.example/debian"
    (tmp_path / "sources.list.d" / "debian.sources").write_text("Types: deb\nURIs: http://x/\nSuites: trixie\n")
    with pytest.raises(compose_run.Failure):
        compose_run.debian_mirror(tmp_path)


# --- the Dockerfiles -------------------------------------------------------------------------------

def test_every_build_copies_files_that_exist(config):
    for name, service in config["services"].items():
        context = Path(service["build"]["context"])
        dockerfile = context / service["build"]["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile}"
        copies = [args for word, args in dockerfile_instructions(dockerfile) if word == "COPY"]
        assert copies, dockerfile
        for args in copies:
            if args.startswith("--from="):
                continue   # copies from an earlier build stage, not from the context
            words = [w for w in shlex.split(args) if not w.startswith("--")]
            for source in words[:-1]:
                assert (context / source).exists(), f"{dockerfile.name}: COPY {source} does not exist"


def test_node_image_is_built_from_source_with_the_dotnet_10_images():
    instructions = dockerfile_instructions(ROOT / "docker" / "node" / "Dockerfile")
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms == ["mcr.microsoft.com/dotnet/sdk:10.0 AS build", "mcr.microsoft.com/dotnet/aspnet:10.0"]
    runs = " ".join(args for word, args in instructions if word == "RUN")
    assert "dotnet publish src/ActorMail -c Release -o /app" in runs
    assert ("ENTRYPOINT", '["dotnet", "/app/actormail.dll"]') in instructions
    # The published node reads its defaults from hocon/ beside the binary: the build must see them.
    assert ("COPY", "hocon/ hocon/") in instructions
    assert "hocon\\*.conf" in (ROOT / "src/ActorMail/ActorMail.csproj").read_text()


def test_tester_image_is_debian_12_with_pytest_tcpdump_and_tshark():
    instructions = dockerfile_instructions(ROOT / "docker" / "tester" / "Dockerfile")
    assert [args for word, args in instructions if word == "FROM"] == ["debian:12"]
    runs = " ".join(args for word, args in instructions if word == "RUN")
    for package in ("python3-pytest", "tcpdump", "tshark"):
        assert re.search(rf"apt-get install .*\b{package}\b", runs), package


# --- the roles the compose file uses, run for real ---------------------------------------------------

def compose_roles(config):
    return sorted(env_of(s)["ACTORMAIL_ROLE"] for s in config["services"].values()
                  if "ACTORMAIL_ROLE" in env_of(s))


def healthcheck(role, smtp_port, pop3_port):
    env = dict(os.environ, ACTORMAIL_ROLE=role, ACTORMAIL_SMTP_PORT=str(smtp_port),
               ACTORMAIL_POP3_PORT=str(pop3_port))
    return subprocess.run(["sh", str(HEALTHCHECK)], env=env, capture_output=True).returncode


@pytest.mark.parametrize("role", ["smtp", "pop3"])
def test_each_compose_role_runs_only_its_own_server(config, role, tmp_path):
    assert role in compose_roles(config)
    other = "pop3" if role == "smtp" else "smtp"
    # The other protocol's port is named, so that the node can be seen to leave it alone.
    other_port = free_port()
    assert not port_answers("127.0.0.1", other_port)
    node = Node(tmp_path, role=role, **{f"{other}_port": other_port})
    try:
        node.start()
        ports = {"smtp": node.smtp_port, "pop3": node.pop3_port}
        assert greeting("127.0.0.1", ports[role]).startswith({"smtp": b"220 ", "pop3": b"+OK"}[role])
        assert not port_answers("127.0.0.1", ports[other])
        # The compose healthcheck agrees: healthy for this role, not for the other or for both.
        assert healthcheck(role, node.smtp_port, node.pop3_port) == 0
        assert healthcheck(other, node.smtp_port, node.pop3_port) == 1
        assert healthcheck("all", node.smtp_port, node.pop3_port) == 1
        assert node.process.poll() is None
    finally:
        node.stop()
    assert healthcheck(role, node.smtp_port, node.pop3_port) == 1


def test_the_node_refuses_a_role_it_does_not_know(tmp_path):
    """So that a role the node accepts above means something."""
    env = dict(os.environ, ACTORMAIL_ROLE="imap", ACTORMAIL_SMTP_PORT="0",
               ACTORMAIL_POP3_PORT="0", ACTORMAIL_DATA=str(tmp_path / "maildir"),
               ACTORMAIL_LOGS=str(tmp_path / "logs"))
    run = subprocess.run(["dotnet", str(NODE_DLL), "serve"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "configuration error" in run.stderr and "actormail.role" in run.stderr


# --- the tester's script, run for real in a network namespace ---------------------------------------

def test_tester_script_runs_the_e2_scenario_and_validates_its_capture():
    """A network namespace plays smtp_server's (the tester joins it in compose): the two roles run
    there on their default ports over one mail root, and run-e2.sh captures, tests and validates."""
    namespace = f"actormail-compose-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="actormail-compose-"))
    mail_root = work / "maildir"
    pcap = work / "artifacts" / "pcap" / "traffic_e2.pcap"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ACTORMAIL_")}
    base_env["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin:" + base_env.get("PATH", "")
    servers = []
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        for role in ("smtp", "pop3"):
            (work / role).mkdir()
            env = dict(base_env, ACTORMAIL_ROLE=role, ACTORMAIL_BIND="0.0.0.0",
                       ACTORMAIL_DATA=str(mail_root), ACTORMAIL_LOGS=str(work / role / "logs"))
            servers.append(subprocess.Popen(
                ["ip", "netns", "exec", namespace, "dotnet", str(NODE_DLL), "serve"],
                cwd=work / role, env=env, stdout=open(work / role / "node.out", "wb"), stderr=subprocess.STDOUT))
        # What compose waits for: both healthchecks pass.
        deadline = time.monotonic() + 30
        for role in ("smtp", "pop3"):
            while subprocess.run(["ip", "netns", "exec", namespace, "sh", str(HEALTHCHECK)],
                                 env=dict(base_env, ACTORMAIL_ROLE=role), capture_output=True).returncode:
                assert time.monotonic() < deadline, f"{role} not healthy: {(work / role / 'node.out').read_text()}"
                assert all(s.poll() is None for s in servers)
                time.sleep(0.2)
        env = dict(base_env, PCAP_PATH=str(pcap), PROJECT_CODE="S08",
                   ACTORMAIL_E2E_EXTERNAL="127.0.0.1:2525:2110", ACTORMAIL_DATA=str(mail_root))
        run = subprocess.run(["ip", "netns", "exec", namespace, str(TESTER_SCRIPT)], env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert re.search(r"^\d+ passed", run.stdout, re.MULTILINE), run.stdout
        assert "SUMMARY S08 PASS: 6/6 rules passed" in run.stdout
        assert pcap.stat().st_size > 24 and not Path(f"{pcap}.partial").exists()
        # The e2 tests stored mail through the SMTP-only process into the shared root.
        assert list((mail_root / "bob" / "new").iterdir()) or list((mail_root / "bob" / "cur").iterdir())
    finally:
        for server in servers:
            if server.poll() is None:
                server.terminate()
        for server in servers:
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
        subprocess.run(["ip", "netns", "del", namespace])
        shutil.rmtree(work, ignore_errors=True)
