#!/bin/sh
# The observer through the built binary: observe --once twice against the simulated C2
# farm (moved to its next cycle in between), the stored records and change events, the
# on_change hook, probe, and the daemon (run) started, observing, stopped by SIGTERM.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
FARM=${TESTS_BUILDDIR:?}/c2farm
command -v jq > /dev/null 2>&1 || skip_all "jq is not installed"
[ -x "$FARM" ] || skip_all "the farm ($FARM) is not built"
cd "$T" || exit 99
farm_pid=
run_pid=
trap 'for p in $run_pid $farm_pid; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT INT TERM

cat > farm.script <<'EOF'
listen g 127.0.0.1 0
rule g /robots.txt * page type=text/plain body="User-agent: *\nDisallow: /private\n"
rule g /gate.php 0 page server=c2 type=text/html body=version-one
rule g /gate.php 1- page server=c2 type=text/html body=version-two
rule g /wake 0 close
rule g /wake 1- page body=awake
rule g /status 0 page body=fine
rule g /status 2- page status=500 reason=Broken body=still-broken
rule g /status 1- page status=500 reason=Broken body=broken
EOF
"$FARM" farm.script > farm.out 2>&1 &
farm_pid=$!
waitfor 10 "the farm's listening line" grep -q '^listening' farm.out
port=$(awk '$1 == "listen" && $2 == "g" { print $4 }' farm.out)
[ -n "$port" ] || { echo "Bail out! the farm did not start"; exit 99; }
base=http://127.0.0.1:$port

# The hook takes its time, so that an observe --once not waiting for it would miss events.
cat > hook.sh <<'EOF'
#!/bin/sh
sleep 0.2
cat >> "$(dirname "$0")/events.out"
EOF
chmod 755 hook.sh
cat > node.conf <<'EOF'
[node]
id = obs-test
data_dir = data
log_level = info

[server]
listen = 127.0.0.1:0

[observer]
allow_private = true
ping_count = 0
host_spacing = 50ms
timeout = 3s
connect_timeout = 1s
user_agent = TestAgent/1.0

[hook]
on_change = hook.sh
EOF
cat > t.csv <<EOF
threat_id,ip,domain,url,port,report_date,malware_sha256,file_type,summary,user_agent
OBS,,,$base/gate.php,,,,,,Gate/2.0
OBS,,,$base/wake,,,,,,
OBS,,,$base/status,,,,,,
OBS,,,$base/private/p,,,,,,
EOF
"$C" import t.csv -c node.conf > /dev/null
is "$?" 0 "targets imported"

# --- first cycle
out=$("$C" observe --once -c node.conf 2>err1); rc=$?
is "$rc" 0 "observe --once exits 0"
has "$out" "4 targets observed" "and prints a summary"
has "$out" "4 records stored" "with the records stored"
has "$out" "0 events" "no event on a first observation"
recs=$("$C" export --format json -c node.conf)
is "$(printf '%s' "$recs" | jq length)" 4 "export: four records"
g() { printf '%s' "$recs" | jq -r "[.[] | select(.target.input == \"$1\")][${3:-0}] | $2"; }
is "$(g "$base/gate.php" .threat_id)" OBS "record: threat_id"
is "$(g "$base/gate.php" .node)" obs-test "record: node"
is "$(g "$base/gate.php" .vantage)" obs-test "record: vantage defaults to the node id"
is "$(g "$base/gate.php" .id | wc -c)" 65 "record: id of 64 hex digits"
is "$(g "$base/gate.php" .target.ipv4[0])" 127.0.0.1 "record: target.ipv4"
is "$(g "$base/gate.php" .target.port)" "$port" "record: target.port"
is "$(g "$base/gate.php" .target.user_agent)" Gate/2.0 "record: the target's user agent"
is "$(g "$base/wake" .target.user_agent)" TestAgent/1.0 "record: the config's user agent"
is "$(g "$base/gate.php" .ping)" null "record: ping null with ping_count 0"
is "$(g "$base/gate.php" .robots.status)" 200 "record: robots.status"
is "$(g "$base/gate.php" .http.status)" 200 "record: http.status"
is "$(g "$base/gate.php" .http.server)" c2 "record: http.server"
is "$(g "$base/gate.php" .http.size)" 11 "record: http.size"
is "$(g "$base/gate.php" .http.sha256)" \
	"$(printf version-one | sha256sum | cut -d' ' -f1)" "record: http.sha256 of the body"
is "$(g "$base/gate.php" .error)" null "record: error null"
is "$(g "$base/wake" .http.status)" null "closed without an answer: status null"
is "$(g "$base/wake" .error.kind)" reset "and error reset"
is "$(g "$base/private/p" .error.kind)" robots-disallowed "robots.txt obeyed"
is "$(g "$base/private/p" .http)" null "no GET when disallowed"

# --- the farm's next cycle, the second observation
curl -s "$base/_farm/next" > /dev/null
out=$("$C" observe --once -c node.conf 2>err2); rc=$?
is "$rc" 0 "second observe --once exits 0"
has "$out" "4 events" "four change events stored (gate content; status code and content; up)"
recs=$("$C" export --format json -c node.conf)
is "$(printf '%s' "$recs" | jq length)" 8 "export: eight records"
is "$(g "$base/status" .http.status 1)" 500 "second record of a target: the new status"
is "$(g "$base/wake" .http.status 1)" 200 "and the target that woke up"
is "$(wc -l < events.out)" 4 "observe --once waited for its hooks: they ran, once per event"
kinds=$(jq -r .kind events.out | sort | tr '\n' ' ')
is "$kinds" "content content status up " "with each event's JSON on stdin"
ev=$(jq -c 'select(.kind == "status")' events.out)
is "$(printf '%s' "$ev" | jq -r .from)-$(printf '%s' "$ev" | jq -r .to)" 200-500 \
	"status event: from and to"
is "$(printf '%s' "$ev" | jq -r .target)" "$base/status" "status event: target"
is "$(printf '%s' "$ev" | jq -r .record)" "$(g "$base/status" .id 1)" \
	"status event: the new record's id"
is "$(printf '%s' "$ev" | jq -r .threat_id)" OBS "status event: threat_id"

# --- a hook that never ends is killed after 10 s, and observe --once waits that long only.
# One event (a new body for /status) on a copy of the store.
cat > stuck.sh <<'EOF'
#!/bin/sh
exec sleep 300
EOF
chmod 755 stuck.sh
cp -r data data3
sed 's/^data_dir = data/data_dir = data3/; s/^on_change = hook.sh/on_change = stuck.sh/' \
	node.conf > node3.conf
curl -s "$base/_farm/next" > /dev/null
t0=$(date +%s)
out=$("$C" observe --once -c node3.conf 2>err3); rc=$?
dt=$(($(date +%s) - t0))
is "$rc" 0 "a stuck hook: observe --once exits 0"
has "$out" "1 event" "after one event"
has "$(cat err3)" "stuck.sh: still running after 10000 ms, killed" "the hook is killed, saying so"
ok "$([ "$dt" -ge 10 ] && [ "$dt" -lt 60 ]; echo $?)" "once its 10 s are up (observe took $dt s)"

# --- probe stores nothing
out=$("$C" probe --json "$base/gate.php" --ua Probe/1 -c node.conf); rc=$?
is "$rc" 0 "probe --json exits 0"
is "$(printf '%s\n' "$out" | wc -l)" 1 "probe --json prints one line"
is "$(printf '%s' "$out" | jq -r .http.status)" 200 "probe: the record's status"
is "$(printf '%s' "$out" | jq -r .target.user_agent)" Probe/1 "probe: --ua"
is "$("$C" export --format json -c node.conf | jq length)" 8 "probe stored nothing"
out=$("$C" probe "$base/status" -c node.conf); rc=$?
is "$rc" 0 "probe (human-readable) exits 0"
has "$out" "http      500 Broken" "and prints the status line"
"$C" probe -c node.conf > /dev/null 2>&1
is "$?" 2 "probe without a target exits 2"
"$C" observe -c node.conf > /dev/null 2>&1
is "$?" 2 "observe without --once exits 2"

# --- targets_file is re-imported at each cycle
cat > t2.csv <<EOF
threat_id,ip,domain,url,port,report_date,malware_sha256,file_type,summary,user_agent
FILE,,,$base/gate.php,,,,,,
EOF
sed 's/^data_dir = data/data_dir = data2/; s/^\[observer\]/[observer]\ntargets_file = t2.csv/' \
	node.conf > node2.conf
out=$("$C" observe --once -c node2.conf 2>/dev/null); rc=$?
is "$rc" 0 "observe --once with targets_file"
has "$out" "1 target observed" "observes the file's target"
has "$("$C" targets -c node2.conf)" "FILE" "which is stored as a target"
out=$("$C" observe --once --threat-id NONE -c node.conf 2>&1); rc=$?
is "$rc" 0 "observe --once for a threat ID without targets exits 0"
has "$out" "no targets to observe" "and says so"

# --- the daemon
sed -i 's/^log_level = info/log_level = debug/; s/^\[observer\]/[observer]\ninterval = 1s/' node.conf
"$C" run -c node.conf 2> run.log &
run_pid=$!
waitfor 30 "the daemon's running line" grep -q 'c2watch: running' run.log
ok $? "run: logs that it is running"
stored() { # stored MORE-THAN: the store holds more than MORE-THAN records
	[ "$("$C" export --format json -c node.conf | jq length)" -gt "$1" ]
}
waitfor 30 "a cycle of the daemon to store records" stored 8
ok $? "run: a cycle stored new records"
waitfor 30 "the cycle's summary" grep -q 'observer: 4 targets observed' run.log
ok $? "run: logs each cycle's summary"
# stopped PID: waits (at most 30 s) for PID to exit; its status in rc.
stopped() {
	waitfor 30 "pid $1 to exit" eval "! kill -0 $1 2>/dev/null" || return 1
	wait "$1"
	rc=$?
}
kill -TERM "$run_pid"
stopped "$run_pid"
ok $? "run: SIGTERM stops it"
is "$rc" 0 "with exit 0"
run_pid=
has "$(cat run.log)" "stopped" "run: logs the clean stop"

# Disabled, the observer stores nothing: the count is taken before the daemon starts, and
# the daemon runs for longer than the enabled one took to store its first records.
n2=$("$C" export --format json -c node.conf | jq length)
sed -i 's/^\[observer\]/[observer]\nenabled = false/' node.conf
"$C" run -c node.conf 2> run2.log &
run_pid=$!
waitfor 30 "the daemon's running line" grep -q 'c2watch: running' run2.log
ok $? "run with the observer disabled runs"
has "$(cat run2.log)" "observer: disabled" "and says the observer is disabled"
sleep 2
kill -TERM "$run_pid"
stopped "$run_pid"
ok $? "and stops on SIGTERM"
is "$rc" 0 "cleanly"
run_pid=
grep -q 'targets\? observed' run2.log
ok $((! $?)) "it logged no cycle"
n3=$("$C" export --format json -c node.conf | jq length)
is "$n3" "$n2" "and observes nothing"

# --- many targets: the stored targets reach the cycle a chunk at a time, each once, in
# both threat IDs and with --threat-id. They are all excluded: no request leaves.
mkdir big
cat > big/node.conf <<'EOF'
[node]
id = obs-big
data_dir = data
log_level = warn

[observer]
ping_count = 0
exclude_file = exclude.txt
EOF
echo excluded.example > big/exclude.txt
awk 'BEGIN { print "threat_id,ip,domain,url,port,report_date,malware_sha256,file_type,summary,user_agent"
	for (i = 0; i < 5000; i++) printf "%s,,h%d.excluded.example,,,,,,,\n", (i % 3 ? "BIGA" : "BIGB"), i }' > big/t.csv
(cd big && "$C" import t.csv -c node.conf > /dev/null)
is "$?" 0 "5000 targets imported"
out=$(cd big && "$C" observe --once -c node.conf 2>err); rc=$?
is "$rc" 0 "5000 targets: observe --once exits 0"
has "$out" "5000 targets observed" "every target taken, over several chunks"
has "$out" "5000 records stored" "and each one's record stored"
recs=$(cd big && "$C" export --format json -c node.conf)
is "$(printf '%s' "$recs" | jq '[.[].target.input] | unique | length')" 5000 \
	"each target observed once"
is "$(printf '%s' "$recs" | jq '[.[] | select(.error.kind == "excluded")] | length')" 5000 \
	"all excluded, none contacted"
out=$(cd big && "$C" observe --once --threat-id BIGB -c node.conf 2>err); rc=$?
is "$rc" 0 "one threat ID: observe --once exits 0"
has "$out" "1667 targets observed" "only its 1667 targets"

kill "$farm_pid"
stopped "$farm_pid"
ok $? "the farm stops"
farm_pid=
done_testing
