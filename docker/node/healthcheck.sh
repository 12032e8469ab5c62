#!/bin/sh
# Healthy when every server of this container's role (ACTORMAIL_ROLE: all, smtp or pop3) has a
# listening TCP socket. It reads /proc/net/tcp and tcp6 instead of connecting, so the check adds
# no session to the logs and no packet to the tester's capture. Needs only sh and grep.
role=${ACTORMAIL_ROLE:-all}
smtp_port=${ACTORMAIL_SMTP_PORT:-2525}
pop3_port=${ACTORMAIL_POP3_PORT:-2110}

listening() {
    hex=$(printf '%04X' "$1")
    # Lines: "sl: local_address rem_address st ...", addresses as HEXIP:HEXPORT, st 0A = LISTEN.
    grep -Eq "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]{4} 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

case "$role" in
    all) ports="$smtp_port $pop3_port" ;;
    smtp) ports="$smtp_port" ;;
    pop3) ports="$pop3_port" ;;
    *) echo "actormail-healthcheck: unknown role $role" >&2; exit 1 ;;
esac

for port in $ports; do
    if ! listening "$port"; then
        echo "actormail-healthcheck: nothing listens on $port ($role)" >&2
        exit 1
    fi
done
exit 0
