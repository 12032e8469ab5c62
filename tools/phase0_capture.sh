#!/usr/bin/env bash
# Phase 0 capture: typed SMTP and POP3 sessions against ActorMail and, for comparison, against
# aiosmtpd (SMTP) and Dovecot (POP3), recorded on loopback into a pcapng file.
#
#   tools/phase0_capture.sh [OUTPUT.pcapng]        (default: artifacts/pcap/phase0.pcapng)
#
# Sessions are typed with netcat: `nc -C` turns each line end into CRLF, as telnet does. The two
# smuggling probes use plain `nc` with every byte written out by printf, so their bare LFs reach
# the server unchanged. The first line waits one second for the greeting, and each line after
# it follows a short pause, as a person would type it.
#
# Ports (127.0.0.1 only; override with the environment):
#   PHASE0_ACTORMAIL_SMTP (2600)  PHASE0_ACTORMAIL_POP3 (2601)  PHASE0_AIOSMTPD (2602)  PHASE0_DOVECOT (2603)
# The node is ACTORMAIL_NODE_DLL, or src/ActorMail/bin/Release/net10.0/actormail.dll (make build).
# Needs: dotnet, nc (netcat-openbsd), dumpcap and tshark, dovecot, python3-aiosmtpd.
# Everything started here is stopped by PID on exit; the work folder is removed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/artifacts/pcap/phase0.pcapng}"
NODE_DLL="${ACTORMAIL_NODE_DLL:-$ROOT/src/ActorMail/bin/Release/net10.0/actormail.dll}"
A_SMTP="${PHASE0_ACTORMAIL_SMTP:-2600}"
A_POP3="${PHASE0_ACTORMAIL_POP3:-2601}"
B_SMTP="${PHASE0_AIOSMTPD:-2602}"
B_POP3="${PHASE0_DOVECOT:-2603}"
PAUSE="${PHASE0_PAUSE:-0.3}"
PY=/usr/bin/python3

for tool in dotnet nc dumpcap tshark dovecot; do
  command -v "$tool" >/dev/null || { echo "phase0: $tool is missing (tools/install-deps.sh installs it)" >&2; exit 2; }
done
"$PY" -c 'import aiosmtpd' 2>/dev/null || { echo "phase0: python3-aiosmtpd is missing" >&2; exit 2; }
[ -f "$NODE_DLL" ] || { echo "phase0: $NODE_DLL is missing: run make build or set ACTORMAIL_NODE_DLL" >&2; exit 2; }
[[ "$(nc -h 2>&1 || true)" == *"-C"* ]] || { echo "phase0: this nc has no -C option; install netcat-openbsd" >&2; exit 2; }

WORK="$(mktemp -d /tmp/actormail-phase0.XXXXXX)"
chmod 755 "$WORK"   # Dovecot's mail processes run as nobody and must reach the Maildir below.
PIDS=()

cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    wait "${PIDS[i]}" 2>/dev/null || true
  done
  # Dovecot removes master.pid when its last process has gone.
  for _ in $(seq 50); do
    [ -e "$WORK/dovecot/run/master.pid" ] || break
    sleep 0.1
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
  local port=$1 pid=$2
  for _ in $(seq 150); do
    nc -z 127.0.0.1 "$port" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "phase0: the server for port $port exited" >&2; return 1; }
    sleep 0.2
  done
  echo "phase0: nothing listens on $port after 30 s" >&2
  return 1
}

# typed PORT LINE...: one line at a time with CRLF line ends (nc -C), then wait for the server.
typed() {
  local port=$1
  shift
  echo "---- nc -C 127.0.0.1 $port"
  { sleep 1; for line in "$@"; do printf '%s\n' "$line"; sleep "$PAUSE"; done; sleep 1; } | nc -C -q 2 127.0.0.1 "$port"
}

# raw PORT CHUNK...: exact bytes (printf escapes), one chunk per pause, plain nc.
raw() {
  local port=$1
  shift
  echo "---- nc 127.0.0.1 $port (raw bytes)"
  { sleep 1; for chunk in "$@"; do printf '%b' "$chunk"; sleep "$PAUSE"; done; sleep 1; } | nc -q 2 127.0.0.1 "$port"
}

# --- servers --------------------------------------------------------------------------------
mkdir -p "$WORK/actormail" "$WORK/dovecot/run"
ACTORMAIL_SMTP_PORT="$A_SMTP" ACTORMAIL_POP3_PORT="$A_POP3" ACTORMAIL_HTTP_PORT=0 ACTORMAIL_BIND=127.0.0.1 \
  ACTORMAIL_DATA="$WORK/actormail/maildir" ACTORMAIL_LOGS="$WORK/actormail/logs" ACTORMAIL_ROLE=all \
  dotnet "$NODE_DLL" serve >"$WORK/actormail/node.out" 2>&1 &
NODE_PID=$!
PIDS+=("$NODE_PID")

# aiosmtpd's Mailbox handler stores into one Maildir; Dovecot serves that same Maildir to alice.
AIO_MAIL="$WORK/aiosmtpd-maildir"
"$PY" -m aiosmtpd -n -l "127.0.0.1:$B_SMTP" -c aiosmtpd.handlers.Mailbox "$AIO_MAIL" >"$WORK/aiosmtpd.out" 2>&1 &
AIO_PID=$!
PIDS+=("$AIO_PID")

printf 'alice:{PLAIN}alice-demo::::::\n' >"$WORK/dovecot/users"
cat >"$WORK/dovecot/dovecot.conf" <<EOF
base_dir = $WORK/dovecot/run
state_dir = $WORK/dovecot/run/state
log_path = $WORK/dovecot/dovecot.log
listen = 127.0.0.1
protocols = pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$AIO_MAIL
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN $WORK/dovecot/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$AIO_MAIL
}
service pop3-login {
  inet_listener pop3 {
    port = $B_POP3
  }
}
EOF
dovecot -F -c "$WORK/dovecot/dovecot.conf" >"$WORK/dovecot/dovecot.out" 2>&1 &
DOVECOT_PID=$!
PIDS+=("$DOVECOT_PID")

wait_port "$A_SMTP" "$NODE_PID"
wait_port "$A_POP3" "$NODE_PID"
wait_port "$B_SMTP" "$AIO_PID"
wait_port "$B_POP3" "$DOVECOT_PID"
# Let the readiness probes' connections finish before the capture starts.
sleep 1

# --- capture --------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
PARTIAL="$WORK/phase0.pcapng"
dumpcap -q -i lo -f "tcp portrange $A_SMTP-$B_POP3" -w "$PARTIAL" 2>"$WORK/dumpcap.err" &
DUMP_PID=$!
PIDS+=("$DUMP_PID")
for _ in $(seq 50); do
  grep -q 'Capturing on' "$WORK/dumpcap.err" 2>/dev/null && break
  sleep 0.1
done
grep -q 'Capturing on' "$WORK/dumpcap.err" || { cat "$WORK/dumpcap.err" >&2; exit 2; }

smtp_session=(
  "HELO phase0.example"
  "MAIL FROM:<sender@example.org>"
  "RCPT TO:<alice@localhost>"
  "DATA"
  "From: sender@example.org"
  "To: alice@localhost"
  "Subject: phase 0"
  ""
  "Hello Alice,"
  "..this line starts with a dot, so the client doubled it"
  "last line"
  "."
  "QUIT"
)
pop3_session=("USER alice" "PASS alice-demo" "LIST" "RETR 1" "DELE 1" "RETR 1" "QUIT")
smuggling=(
  'HELO phase0.example\r\n'
  'MAIL FROM:<mallory@example.org>\r\n'
  'RCPT TO:<alice@localhost>\r\n'
  'DATA\r\n'
  'Subject: smuggling probe\r\n\r\nbefore\n.\nMAIL FROM:<forged@example.org>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\nsmuggled\r\n.\r\n'
  'QUIT\r\n'
)

echo "== 1. ActorMail SMTP"
typed "$A_SMTP" "${smtp_session[@]}"
echo "== 2. ActorMail POP3"
typed "$A_POP3" "${pop3_session[@]}"
echo "== 3. aiosmtpd SMTP"
typed "$B_SMTP" "${smtp_session[@]}"
chown -R nobody:nogroup "$AIO_MAIL"
echo "== 4. Dovecot POP3"
typed "$B_POP3" "${pop3_session[@]}"
echo "== 5. ActorMail SMTP, bare-LF smuggling probe"
raw "$A_SMTP" "${smuggling[@]}"
echo "== 6. aiosmtpd SMTP, bare-LF smuggling probe"
raw "$B_SMTP" "${smuggling[@]}"
chown -R nobody:nogroup "$AIO_MAIL"
echo "== 7. ActorMail POP3: what the probe left in alice's mailbox"
typed "$A_POP3" "USER alice" "PASS alice-demo" "LIST" "QUIT"
echo "== 8. Dovecot POP3: what the probe left in aiosmtpd's Maildir"
typed "$B_POP3" "USER alice" "PASS alice-demo" "LIST" "RETR 1" "QUIT"

# Stopping under a second after the last packet can lose the tail of the capture.
sleep 2
kill -INT "$DUMP_PID"
wait "$DUMP_PID" || true
unset 'PIDS[-1]'
mv "$PARTIAL" "$OUT"

size=$(stat -c %s "$OUT")
echo "== wrote $OUT: $size octets, $(tshark -r "$OUT" 2>/dev/null | wc -l) frames, $(tshark -r "$OUT" -T fields -e tcp.stream 2>/dev/null | sort -un | wc -l) TCP streams"
if [ "$size" -gt 2097152 ]; then
  echo "phase0: the capture is over 2 MB" >&2
  exit 1
fi
