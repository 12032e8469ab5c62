#!/usr/bin/env bash
# Installs the Debian packages the tests, the lab pipeline and the benchmark need.
# Idempotent: does nothing when every tool is already present.
set -euo pipefail

need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v swaks >/dev/null || need+=(swaks)
command -v curl >/dev/null || need+=(curl)
command -v smtp-source >/dev/null || need+=(postfix)
# real POP3 clients for tests/e2e/test_real_clients.py
command -v fetchmail >/dev/null || need+=(fetchmail)
command -v mpop >/dev/null || need+=(mpop)
/usr/bin/python3 -c 'import pytest' 2>/dev/null || need+=(python3-pytest)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
command -v dovecot >/dev/null || need+=(dovecot-pop3d)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v ping >/dev/null || need+=(iputils-ping)
/usr/bin/python3 -c 'import mininet' 2>/dev/null || need+=(mininet)
command -v brctl >/dev/null || need+=(bridge-utils)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
# netcat with -C (CRLF line ends) for tools/phase0_capture.sh
[[ "$(nc -h 2>&1 || true)" == *"-C"* ]] || need+=(netcat-openbsd)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
echo "install-deps: installing ${need[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
