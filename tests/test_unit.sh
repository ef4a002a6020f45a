#!/bin/sh
# The systemd unit (conf/c2watch.service): `systemd-analyze verify` finds nothing wrong,
# `systemd-analyze security` rates it below 2.0 and at the score the README records, and
# the one capability it grants is enough for ping: c2watch as an unprivileged user with
# only CAP_NET_RAW (and no new privileges) gets ICMP echo replies from 127.0.0.1.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
SRC=$TESTS_SRCDIR/..
UNIT=$SRC/conf/c2watch.service

if ! command -v systemd-analyze > /dev/null; then
	ok 1 "systemd-analyze is installed (tools/deps.sh installs systemd)"
	done_testing
	exit 1
fi

# The unit as installed, with the binary under test and the manual pages it names.
sed "s|/usr/local/bin/c2watch|$C|g" "$UNIT" > "$T/c2watch.service"
mkdir -p "$T/man/man8" "$T/man/man5"
cp "$SRC/doc/c2watch.8" "$T/man/man8/" && cp "$SRC/doc/c2watch.conf.5" "$T/man/man5/"
if ! command -v man > /dev/null; then
	# verify looks the Documentation= pages up with man(1); without it, that check alone
	# is left out.
	echo "# man(1) is not installed: Documentation= is not looked up"
	sed -i '/^Documentation=/d' "$T/c2watch.service"
fi
out=$(cd "$T" && MANPATH=$T/man systemd-analyze verify c2watch.service 2>&1); rc=$?
is "$rc" 0 "systemd-analyze verify passes"
is "$out" "" "and says nothing"

out=$(cd "$T" && systemd-analyze security --offline=true c2watch.service 2>&1); rc=$?
is "$rc" 0 "systemd-analyze security runs"
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for c2watch.service: \([0-9.]*\) .*/\1/p')
[ -n "$score" ]; ok $? "it prints the exposure level ($score)"
awk -v s="${score:-99}" 'BEGIN { exit !(s < 2.0) }'; ok $? "the exposure level is below 2.0"
has "$out" "$score OK" "and rated OK"
readme=$(sed -n 's/.*exposure level for c2watch.service: \([0-9.]*\) OK.*/\1/p' "$SRC/README.md" |
	head -n1)
is "$readme" "$score" "the README records that score"

# Every setting the confinement relies on is there.
for d in ProtectSystem=strict ReadWritePaths=/var/lib/c2watch NoNewPrivileges=yes \
	CapabilityBoundingSet=CAP_NET_RAW AmbientCapabilities=CAP_NET_RAW PrivateTmp=yes \
	ProtectHome=yes MemoryDenyWriteExecute=yes SystemCallFilter=@system-service \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' \
	ConditionPathExists=/etc/c2watch/c2watch.conf; do
	grep -qx "$d" "$UNIT"; ok $? "the unit sets $d"
done
grep -q '^PrivateUsers=yes' "$UNIT"; rc=$?
is "$rc" 1 "and not PrivateUsers (a user namespace's CAP_NET_RAW opens no raw socket)"

# --- ping with exactly what the unit grants
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv > /dev/null; then
	ok 0 "ping with only CAP_NET_RAW # SKIP needs root and setpriv to drop to it"
	done_testing
	exit
fi
chmod 711 "$T" && mkdir -m 755 "$T/pub"
cp "$C" "$T/pub/c2watch" && chmod 755 "$T/pub/c2watch"
printf '[node]\nid = unit-test\ndata_dir = %s\n[observer]\nallow_private = true\nping_count = 1\nrobots = ignore\nconnect_timeout = 1s\ntimeout = 2s\n' \
	"$T/pub/data" > "$T/pub/node.conf"
chmod 644 "$T/pub/node.conf"
nobody=$(id -u nobody 2>/dev/null || echo 65534)
out=$(setpriv --reuid="$nobody" --regid="$nobody" --clear-groups --no-new-privs \
	--inh-caps=-all,+net_raw --ambient-caps=+net_raw --bounding-set=-all,+net_raw \
	"$T/pub/c2watch" probe 127.0.0.1 --json -c "$T/pub/node.conf" 2> "$T/probe.err")
rc=$?
is "$rc" 0 "probe runs as an unprivileged user with only CAP_NET_RAW"
[ "$rc" -ne 0 ] && sed 's/^/#   /' "$T/probe.err"
is "$(printf '%s' "$out" | jq -r '.ping.received' 2>/dev/null)" 1 "and its ping gets the reply"
# Without the capability, the same user gets no raw socket; unless ping_group_range lets
# it use a datagram one, ping is null, which is why the unit grants it.
range=$(cat /proc/sys/net/ipv4/ping_group_range 2>/dev/null)
set -- $range
if [ -n "${2:-}" ] && [ "$nobody" -ge "$1" ] 2>/dev/null && [ "$nobody" -le "$2" ]; then
	ok 0 "without CAP_NET_RAW ping is null # SKIP ping_group_range ($range) allows datagram ICMP"
else
	out=$(setpriv --reuid="$nobody" --regid="$nobody" --clear-groups --no-new-privs \
		--inh-caps=-all --bounding-set=-all \
		"$T/pub/c2watch" probe 127.0.0.1 --json -c "$T/pub/node.conf" 2>/dev/null)
	is "$(printf '%s' "$out" | jq -r '.ping' 2>/dev/null)" null \
		"without CAP_NET_RAW ping is null (ping_group_range $range)"
fi

done_testing
