#!/bin/sh
# Starts a demo node from the source tree: its config and data live under ./var, it
# listens on 127.0.0.1 only, and it observes the bundled sample targets, which are served
# by the simulated C2 farm (tests/c2farm) on 127.0.1.x:18081, so nothing leaves this
# machine. Records appear within a minute (c2watch export -c var/demo.conf --format json);
# Ctrl-C stops the node and the farm.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${C2WATCH:-$top/c2watch}
farm=${C2FARM:-$top/tests/c2farm}
[ -x "$bin" ] || { echo "demo: $bin is not built (run make first)" >&2; exit 1; }
if [ ! -x "$farm" ]; then
	echo "demo: building the simulated C2 farm (make tests/c2farm)"
	make -C "$(dirname "$bin")" tests/c2farm > /dev/null
fi
mkdir -p "$top/var"
conf=$top/var/demo.conf
cat > "$conf" <<CONF
; demo node: written by tools/demo.sh
[node]
id = demo-node
organization = c2watch demo
data_dir = data
log_level = info

[server]
listen = 127.0.0.1:9090
dashboard = on

[observer]
enabled = true
interval = 1m
anchor = 00:00 UTC
host_spacing = 1s
timeout = 5s
connect_timeout = 2s
ping_count = 2
allow_private = true
vantage = demo

[analysis]
sinkholes_file = $top/var/demo-sinkholes.txt
CONF
# The sinkhole list: the built-in one, plus the demo sinkhole page's body.
{
	cat "$top/conf/sinkholes.txt"
	echo "sha256 $(printf 'demo sinkhole page' | sha256sum | cut -c1-64) demo sinkhole page"
} > "$top/var/demo-sinkholes.txt"
echo "demo: config written to var/demo.conf"
"$bin" check-config -c "$conf" > /dev/null
echo "demo: config is valid (c2watch check-config -c var/demo.conf prints it)"
"$bin" import "$top/conf/demo/targets.csv" -c "$conf"
"$bin" targets -c "$conf"
# Five weeks of 4-hourly records of the same destinations from two vantages, so the
# dashboard has months, categories and verdicts to show from the start.
if [ ! -e "$top/var/demo-history.json" ]; then
	echo "demo: generating five weeks of history from two vantages (about 20 s)"
	"$top/tools/demo_history.sh" "$(date +%s)" 35 > "$top/var/demo-history.json" 2> /dev/null
fi
"$bin" import "$top/var/demo-history.json" --format json -c "$conf"

# The farm's script: what each demo destination answers. The farm moves to its next
# cycle every minute (SIGUSR1 below), so the gate goes quiet and wakes up again.
cat > "$top/var/demo-farm.script" <<'FARM'
listen gate 127.0.1.1 18081
listen panel 127.0.1.2 18081
listen loader 127.0.1.4 18081
listen sinkhole 127.0.1.5 18081
rule * /robots.txt * page type=text/plain body="User-agent: *\nDisallow: /admin/\n"
rule gate /gate.php 2,5,8,11,14,17,20 close
rule gate /gate.php * page server=Apache type=text/html ua=MSIE body="<html><body>OK</body></html>"
rule gate /gate.php * page status=403 reason=Forbidden server=Apache body=forbidden
rule loader /load.bin * page status=302 reason=Found location=http://{loader}/payload.bin
rule loader /payload.bin * page type=application/octet-stream body="MZ demo payload"
rule sinkhole * * page server=sinkhole type=text/html body="<html>This domain has been sinkholed.</html>"
FARM
"$farm" "$top/var/demo-farm.script" > "$top/var/demo-farm.out" 2>&1 &
farm_pid=$!
node_pid=
ticker_pid=
cleanup() {
	for p in $ticker_pid $node_pid $farm_pid; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
# Ctrl-C or SIGTERM asks the node to stop cleanly; the farm goes when the node is gone.
stop_node() {
	[ -z "$node_pid" ] || kill -TERM "$node_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap stop_node INT TERM
i=0
while ! grep -q '^listening' "$top/var/demo-farm.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 "$farm_pid" 2>/dev/null; then
		echo "demo: the farm did not start:" >&2
		cat "$top/var/demo-farm.out" >&2
		exit 1
	fi
	sleep 0.1
done
echo "demo: the simulated C2 farm serves the targets on 127.0.1.x:18081 (pid $farm_pid)"
(while sleep 60; do kill -USR1 "$farm_pid" 2>/dev/null || exit 0; done) &
ticker_pid=$!
echo "demo: starting the node; a cycle starts every minute on the minute (Ctrl-C stops)"
echo "demo: see the records with: $bin export --format json -c var/demo.conf"
echo "demo: the dashboard is at http://127.0.0.1:9090/ (blocklist: http://127.0.0.1:9090/blocklist?style=plain)"
set +e
"$bin" run -c "$conf" &
node_pid=$!
# A signal interrupts wait; wait again until the node itself has ended, for its status.
while :; do
	wait "$node_pid"
	status=$?
	kill -0 "$node_pid" 2>/dev/null || break
done
node_pid=
echo "demo: the node stopped (exit $status); stopping the farm"
exit "$status"
