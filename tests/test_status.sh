#!/bin/sh
# c2watch status reads the data directory alone: with no daemon (nothing there yet), with
# a running daemon after a cycle and a poll of a peer, and after that daemon was killed
# with -9 (not running, its state stale). --json is read with jq.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
FARM=${TESTS_BUILDDIR:?}/c2farm
[ -x "$FARM" ] || skip_all "the farm ($FARM) is not built"
command -v jq > /dev/null 2>&1 || skip_all "no jq command"
command -v curl > /dev/null 2>&1 || skip_all "no curl command"
cd "$T" || exit 99
. "$TESTS_SRCDIR/daemons.sh"

cat > farm.script <<'EOF2'
listen g 127.0.0.1 0
rule g /robots.txt * page status=404 body=none
rule g /gate.php * page server=c2 type=text/html body=gate
rule g /panel/ * page status=403 body=no
rule g /hold * hold
EOF2
farm_start farm.script g || { echo "Bail out! the farm did not start"; exit 99; }
cat > targets.csv <<EOF2
threat_id,url,summary
ST-T,http://127.0.0.1:$FPORT/gate.php,gate
ST-T,http://127.0.0.1:$FPORT/panel/,panel
EOF2

# conf NAME OBSERVE [EXTRA]
conf() {
	{
		printf '[node]\nid = %s\ndata_dir = %s.data\nlog_level = info\n' "$1" "$1"
		printf '[server]\nlisten = 127.0.0.1:0\nallow_private_push = true\n'
		printf '[observer]\nenabled = %s\ninterval = 2s\nallow_private = true\n' "$2"
		printf 'ping_count = 0\nhost_spacing = 10ms\ntimeout = 3s\nconnect_timeout = 1s\n'
		printf 'targets_file = targets.csv\n'
		[ -n "${3:-}" ] && printf '%b' "$3"
	} > "$1.conf"
}

conf p false
conf n true "[peer p]\nurl = http://127.0.0.1:1/taxii/poll\ninterval = 1s\n"

# No daemon, no data directory yet.
"$C" status -c n.conf > none.txt 2>&1
is $? 1 "no daemon: exit 1"
has "$(cat none.txt)" "daemon:       not running" "no daemon: not running"
"$C" status -c n.conf --json > none.json
is "$(jq -r '[.running, .stale, .pid] | map(tostring) | join(" ")' none.json)" \
    "false false null" "no daemon: running false, nothing stale, no pid (json)"

"$C" observe --once -c p.conf > p.out 2>&1
ok $? "the peer holds records"
start p
ok $? "the peer runs"
conf n true "[peer p]\nurl = http://127.0.0.1:$PORT_p/taxii/poll\ninterval = 1s\n\
[peer gone]\nurl = http://127.0.0.1:1/taxii/poll\ninterval = 1s\n"
start n
ok $? "the node runs"

# A push subscription on n whose subscriber is down: n's own records wait for it.
cat > sub.req <<'EOF2'
<taxii_11:Subscription_Management_Request xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1" message_id="1" action="SUBSCRIBE" collection_name="observations"><taxii_11:Push_Parameters><taxii_11:Protocol_Binding>urn:taxii.mitre.org:protocol:http:1.0</taxii_11:Protocol_Binding><taxii_11:Address>http://127.0.0.1:1/taxii/inbox</taxii_11:Address><taxii_11:Message_Binding>urn:taxii.mitre.org:message:xml:1.1</taxii_11:Message_Binding></taxii_11:Push_Parameters></taxii_11:Subscription_Management_Request>
EOF2
curl -s --noproxy '*' -o sub.xml -X POST --data-binary @sub.req \
    -H 'Content-Type: application/xml' -H 'X-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1' \
    -H 'X-TAXII-Services: urn:taxii.mitre.org:services:1.1' \
    "http://127.0.0.1:$PORT_n/taxii/collections"
subid=$(sed -n 's/.*<taxii_11:Subscription_ID>\([^<]*\)<.*/\1/p' sub.xml)
ok $((! ${#subid})) "a push subscription is made on n"

# wait_json FILTER [NAME]: waits (at most 30 s) until status --json of node NAME (default n,
# into NAME.json) makes FILTER true.
wait_json() {
	i=0 w=${2:-n}
	while [ $i -lt 300 ]; do
		"$C" status -c "$w.conf" --json > "$w.json" 2>/dev/null
		[ "$(jq -r "$1" "$w.json" 2>/dev/null)" = true ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
wait_json '.last_cycle.result == "ok" and (.peers[0].last_ok != null) and (.peers[1].last_error != null)'
ok $? "status shows a finished cycle and both peers' rounds"
wait_json ".subscriptions[0].backlog >= 2"
ok $? "the subscription's backlog grows with the cycles after it"
is "$(jq -r '.subscriptions[0] | .id + " " + .status + " " + .push_address' n.json)" \
    "$subid active http://127.0.0.1:1/taxii/inbox" "the subscription, its status and push address"
"$C" status -c n.conf --json > n.json
is $? 0 "a running daemon: exit 0"
is "$(jq -r .running n.json)" true "running"
# The keys are the ones c2watch(8) lists for --json, no more and no fewer.
documented=$(sed -n '/^The same as one JSON object:/,/^\.It Fl c/p' "$TESTS_SRCDIR/../doc/c2watch.8" |
    sed -n 's/^\.Li //p' | tr -d ',.' | tr ' ' '\n' | grep -v '^$' | sort | tr '\n' ' ')
is "$(jq -r 'keys | join(" ")' n.json) " "$documented" "the JSON's keys are those c2watch(8) lists"
is "$(jq -r .pid n.json)" "$PID_n" "its pid"
is "$(jq -r '.listen[0].port' n.json)" "$PORT_n" "where it listens"
is "$(jq -r '.listen[0].host + " " + .listen[0].scheme' n.json)" "127.0.0.1 http" "on which host, how"
since=$(jq -r .since n.json)
ok "$(case $since in 20*Z) echo 0 ;; *) echo 1 ;; esac)" "since when ($since)"
is "$(jq -r '.last_cycle.targets' n.json)" 2 "the last cycle took 2 targets"
is "$(jq -r '.last_cycle.answered' n.json)" 2 "both answered"
is "$(jq -r '.last_cycle.seconds >= 0' n.json)" true "and how long it took"
is "$(jq -r '.next_cycle != null or .last_cycle.ended == null' n.json)" true "the next cycle"
is "$(jq -r '.peers[0].name + " " + (.peers[0].last_error | tostring)' n.json)" "p null" \
    "peer p: a good poll, no error"
has "$(jq -r '.peers[1].last_error' n.json)" "127.0.0.1:1" "peer gone: its last error"
is "$(jq -r '.peers[1].last_ok' n.json)" null "and no good poll"
records=$(jq -r .store.records n.json)
ok "$([ "$records" -ge 4 ]; echo $?)" "the store's records: p's 2 and at least one cycle's 2 ($records)"
is "$(jq -r .store.targets n.json)" 2 "the store's targets"
ok "$([ "$(jq -r .store.bytes n.json)" -gt 0 ]; echo $?)" "the store's bytes"
"$C" status -c n.conf > n.txt
has "$(cat n.txt)" "daemon:       running, pid $PID_n" "the text says running, with the pid"
has "$(cat n.txt)" "listening:    http://127.0.0.1:$PORT_n" "and where"
has "$(cat n.txt)" "peer gone:" "and each peer"
has "$(cat n.txt)" "subscription: $subid (active), push to http://127.0.0.1:1/taxii/inbox, backlog" \
    "and each subscription with its backlog"

# A cycle that is running (its one target holds the request until the 3 s timeout) shows
# its start apart from the last finished cycle.
printf 'threat_id,url,summary\nST-H,http://127.0.0.1:%s/hold,held\n' "$FPORT" > hold.csv
conf h true
sed 's/^targets_file = targets.csv$/targets_file = hold.csv/' h.conf > h2.conf && mv h2.conf h.conf
start h
ok $? "node h runs"
wait_json '.cycle_running_since != null' h
ok $? "a running cycle: its start"
is "$(jq -r '.last_cycle' h.json)" null "and no finished cycle yet"
"$C" status -c h.conf > h.txt
has "$(cat h.txt)" "cycle:        running since $(jq -r .cycle_running_since h.json)" \
    "the text says a cycle runs, since when"
has "$(cat h.txt)" "last cycle:   none" "and that none has finished"
has "$(cat h.txt)" "next cycle:   when the running one ends" "the next comes after it"
began=$(jq -r .cycle_running_since h.json)
wait_json '.last_cycle != null' h
ok $? "the cycle finishes"
is "$(jq -r .last_cycle.started h.json)" "$began" "the finished cycle is the one that ran"
stop h

crash n
"$C" status -c n.conf --json > dead.json
is $? 1 "after kill -9: exit 1"
is "$(jq -r '[.running, .stale] | map(tostring) | join(" ")' dead.json)" "false true" \
    "after kill -9: not running, stale"
is "$(jq -r .pid dead.json)" "$PID_n" "the stale pid is the one killed"
"$C" status -c n.conf > dead.txt
has "$(cat dead.txt)" "not running (stale state: pid $PID_n is gone" "the text says stale"
ok "$([ "$(jq -r .store.records dead.json)" -ge "$records" ]; echo $?)" "the store is still read"
stop p
done_testing
