# ActorMail: the two commands are `make run` and `make test`; everything else is a step of theirs
# or a longer run of its own (bench, crashtest, demo).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PY        := /usr/bin/python3
# The tools import tools/harness as the package `harness` (pytest.ini does the same for the tests).
TOOL      := PYTHONPATH=$(CURDIR)/tools $(PY)
CONFIG    := Release
NODE_DLL  := src/ActorMail/bin/$(CONFIG)/net10.0/actormail.dll
CARGO     := $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: screenshots help deps build run cluster cluster-chaos cluster-netns test test-dotnet test-tools test-flex flex e2 e3 compose-e2 compose-e3 phase0 demo crashtest fuzz hostile bench bench-quick mailboxes format-check clean

help:
	@echo "make run     build and start SMTP on 127.0.0.1:2525, POP3 on 127.0.0.1:2110, HTTP on 127.0.0.1:8025 (demo users alice, bob)"
	@echo "make cluster three clustered nodes over ./data/maildir: SMTP 2525/2526/2527, POP3 2110/2111/2112 (Ctrl-C stops all three)"
	@echo "make test    install what the tests need, then run every suite"
	@echo "make e2      E2 scenario: pytest -m e2 under tcpdump, then validate artifacts/pcap/traffic_e2.pcap"
	@echo "make e3      E3 scenario with POP3 into artifacts/pcap/traffic_e3.pcap"
	@echo "make compose-e2 / compose-e3   the same scenarios through docker-compose (own engine if none runs)"
	@echo "make demo    Mininet demo (root): h2 sends via h1, h4 reads via h3, capture artifacts/pcap/demo_mininet.pcap"
	@echo "make bench   ActorMail beside Postfix, aiosmtpd, smtp4dev, MailDev, smtp-sink and Dovecot in one run; ratios in artifacts/bench/results.md"
	@echo "make crashtest / make fuzz / make hostile / make cluster-chaos   the long reliability runs (short versions are in make test)"
	@echo "make cluster-netns   (root, ~3 min) three nodes in network namespaces of their own; a cut link: the minority stops, the majority takes over"
	@echo "make mailboxes   list mailboxes and message counts (reads file names only)"

deps:
	bash tools/install-deps.sh

build:
	dotnet build ActorMail.sln -c $(CONFIG) -nologo -v q

run: build
	exec dotnet $(NODE_DLL) serve

mailboxes: build
	dotnet $(NODE_DLL) mailboxes

# Three nodes of one cluster on this machine, one shared mail root; each node serves every user.
# Cluster ports 4053-4055; the first seed starts the cluster. Ctrl-C (SIGINT to the group) stops all three.
cluster: build
	$(TOOL) tools/cluster.py

format-check:
	dotnet format ActorMail.sln --verify-no-changes -v q

# compose-e2/e3 come before e2/e3: the captures left in artifacts/pcap are the host runs' ones,
# which docs/E2_pcap_analysis.md reads.
test: deps build format-check test-dotnet test-tools flex test-flex compose-e2 compose-e3 e2 e3 demo
	@echo "make test: all suites passed"

test-dotnet:
	dotnet test tests/ActorMail.Protocol.Tests -c $(CONFIG) --no-build -nologo
	dotnet test tests/ActorMail.Tests -c $(CONFIG) --no-build -nologo

test-tools: build
	$(PY) -m pytest -m tools -q tests/e2e tools/bench tools/harness

flex:
	cd flex && RUSTFLAGS=-Dwarnings $(CARGO) build --release --offline -q && RUSTFLAGS=-Dwarnings $(CARGO) test --offline -q

test-flex: build flex
	$(PY) -m pytest -m flex -q

e2: build
	$(PY) tools/run_scenario.py --marker e2 --pcap artifacts/pcap/traffic_e2.pcap --project S08
	$(PY) tools/pcap_report.py --pcap artifacts/pcap/traffic_e2.pcap --check docs/E2_pcap_analysis.md

e3: build
	$(PY) tools/run_scenario.py --marker e3 --pcap artifacts/pcap/traffic_e3.pcap --project S08_E3

# docker-compose up for real: tools/compose/compose_run.py (a running engine, or a private one it starts and stops).
compose-e2: deps
	$(PY) tools/compose/compose_run.py e2

compose-e3: deps
	$(PY) tools/compose/compose_run.py e3

demo: build
	$(TOOL) tools/mininet/demo.py

# Long runs of their own; short versions run inside make test (pytest -m tools).
# tools/bench/install-peers.sh brings smtp4dev and MailDev into a cache folder outside the repository.
bench: deps build
	bash tools/bench/install-peers.sh
	$(TOOL) tools/bench/run.py
	$(TOOL) tools/bench/cluster_hop.py

bench-quick: deps build
	bash tools/bench/install-peers.sh
	$(TOOL) tools/bench/run.py --quick

# Rounds of SIGKILL/SIGTERM and restart of random nodes of a three-node cluster under SMTP and
# POP3 load; figures (lost, duplicated, seconds to recover) into artifacts/cluster-chaos/figures.json.
cluster-chaos: build
	$(TOOL) tools/cluster_chaos.py --rounds 10 --figures artifacts/cluster-chaos/figures.json

# The same three nodes, each in a network namespace of its own on one bridge (10.231.0.0/24 inside
# the namespaces only; the bridge sits in a fourth one, so the root namespace is never changed), and
# a cut link per round: the minority node must be downed and exit 3, the majority takes over, and no
# mailbox is served or written by two nodes at once. Needs root; not in make test (about 3 minutes).
cluster-netns: build
	$(TOOL) tools/cluster_netns.py --figures artifacts/cluster-netns/figures.json

crashtest: build
	$(TOOL) tools/crashtest/crashtest.py --rounds 25 --seconds-per-round 3

fuzz: build
	$(TOOL) tools/fuzz/fuzz.py --iterations 50000 --seconds 900

# The hostile-load suite at the sizes of the original attacks (1 GiB floods, 850 guessers for
# 50 s, 64 reset threads for 30 s); its figures go to artifacts/hostile/figures.json.
hostile: build
	mkdir -p artifacts/hostile && rm -f artifacts/hostile/figures.json
	ACTORMAIL_HOSTILE=full ACTORMAIL_HOSTILE_FIGURES=$(CURDIR)/artifacts/hostile/figures.json \
		$(PY) -m pytest -m tools -q -s tests/e2e/test_load.py

# The pictures of the web page in docs/ (README, docs/WEB.md), taken by its browser test.
screenshots: deps build
	ACTORMAIL_SCREENSHOTS=$(CURDIR)/docs $(PY) -m pytest -q tests/e2e/test_web.py

phase0: build
	bash tools/phase0_capture.sh

clean:
	dotnet clean ActorMail.sln -nologo -v q
	rm -rf flex/target
