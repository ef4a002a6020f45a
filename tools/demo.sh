#!/bin/sh
# Starts a demo node from the source tree: its config and data live under ./var, it
# listens on 127.0.0.1 only, and it observes the bundled sample targets (loopback
# addresses of the simulated C2 farm, so nothing leaves this machine).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${C2WATCH:-$top/c2watch}
[ -x "$bin" ] || { echo "demo: $bin is not built (run make first)" >&2; exit 1; }
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
CONF
echo "demo: config written to var/demo.conf"
"$bin" check-config -c "$conf" > /dev/null
echo "demo: config is valid (c2watch check-config -c var/demo.conf prints it)"
"$bin" import "$top/conf/demo/targets.csv" -c "$conf"
echo "demo: targets stored in var/data; list them with: $bin targets -c var/demo.conf"
"$bin" targets -c "$conf"
if "$bin" run --help > /dev/null 2>&1; then
	echo "demo: starting the node (Ctrl-C stops it)"
	exec "$bin" run -c "$conf"
fi
echo "demo: this build has no observer or TAXII server yet, so the demo stops here."
