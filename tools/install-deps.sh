#!/usr/bin/env bash
# Installs the Debian packages the tests, the lab pipeline and the benchmark need.
# Idempotent: does nothing when every tool is already present.
set -euo pipefail

need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v swaks >/dev/null || need+=(swaks)
# swaks --tls (tests/e2e/test_tls.py) needs Perl's TLS modules.
perl -MNet::SSLeay -MIO::Socket::SSL -e 1 2>/dev/null || need+=(libnet-ssleay-perl libio-socket-ssl-perl)
command -v curl >/dev/null || need+=(curl)
command -v smtp-source >/dev/null || need+=(postfix)
# real POP3 clients for tests/e2e/test_real_clients.py
command -v fetchmail >/dev/null || need+=(fetchmail)
command -v mpop >/dev/null || need+=(mpop)
/usr/bin/python3 -c 'import pytest' 2>/dev/null || need+=(python3-pytest)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
command -v dovecot >/dev/null || need+=(dovecot-pop3d)
command -v docker-compose >/dev/null || need+=(docker-compose)
# The engine for make compose-e2/e3 (started privately by tools/compose/run.py), and the base
# image it makes when no registry can be reached.
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v ping >/dev/null || need+=(iputils-ping)
/usr/bin/python3 -c 'import mininet' 2>/dev/null || need+=(mininet)
command -v brctl >/dev/null || need+=(bridge-utils)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
# The web page's browser tests (tests/e2e/test_web.py): Debian's Chromium, driven by playwright-core.
command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(npm)
# netcat with -C (CRLF line ends) for tools/phase0_capture.sh
[[ "$(nc -h 2>&1 || true)" == *"-C"* ]] || need+=(netcat-openbsd)

# playwright-core as pinned by tests/browser/package-lock.json; it downloads no browser.
browser_tests() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
  if [ ! -d "$dir/node_modules/playwright-core" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

if [ ${#need[@]} -eq 0 ]; then
  browser_tests
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
# Installed, no daemon may start: Docker's own start-up would add a bridge and iptables rules and
# turn on ip_forward. Without a policy of its own, the machine gets one for this run.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
echo "install-deps: installing ${need[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
browser_tests
