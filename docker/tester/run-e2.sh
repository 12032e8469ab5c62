#!/bin/sh
# The compose tester's run: capture every interface of this network namespace (smtp_server's)
# with tcpdump -i any, run `pytest -m e2` (or the marker PYTEST_MARKER names: e3 with
# docker-compose.e3.yml) against the servers already running, stop the capture cleanly (2 s after
# the last test, then SIGINT), and validate it with tools/validate_pcap.py.
# Exit status: pytest's if it failed, else the validator's.
#
# Environment: PCAP_PATH (capture file), PROJECT_CODE (rule set, S08 or S08_E3),
# ACTORMAIL_E2E_EXTERNAL (host:smtp_port:pop3_port of the running servers) and
# ACTORMAIL_E2E_POP3_HOST (where POP3 is, if not on that host), both read by tests/e2e/conftest.py,
# and ACTORMAIL_DATA (the shared mail root, mounted here read-only).
set -u
: "${PCAP_PATH:?PCAP_PATH names the capture file}"
: "${PROJECT_CODE:?PROJECT_CODE names the rule set under tools/pcap_rules}"
marker=${PYTEST_MARKER:-e2}
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-python3}

mkdir -p "$(dirname "$PCAP_PATH")"
partial="$PCAP_PATH.partial"
log=$(mktemp)
rm -f "$partial"
# -Z root: keep root when writing, so a mounted artifacts folder owned by root stays writable.
tcpdump -i any -U -n -s 0 -Z root -w "$partial" 'tcp port 2525 or tcp port 2110' 2>"$log" &
dump=$!

# tcpdump prints "listening on" once the capture is live; give it 10 s.
tries=0
until grep -q "listening on" "$log"; do
    if ! kill -0 "$dump" 2>/dev/null || [ "$tries" -ge 100 ]; then
        echo "run-e2: tcpdump did not start: $(cat "$log")" >&2
        kill -INT "$dump" 2>/dev/null
        exit 2
    fi
    tries=$((tries + 1))
    sleep 0.1
done

cd "$root"
"$python" -m pytest -m "$marker" -q -p no:cacheprovider
tests=$?

# Stopping within a second of the last packet can leave the file without it.
sleep 2
kill -INT "$dump"
wait "$dump"
cat "$log" >&2
rm -f "$log"

if [ "$tests" -ne 0 ]; then
    echo "run-e2: pytest -m $marker failed ($tests)" >&2
    exit "$tests"
fi
mv "$partial" "$PCAP_PATH"
exec "$python" tools/validate_pcap.py --project "$PROJECT_CODE" --pcap "$PCAP_PATH"
