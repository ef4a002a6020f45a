#!/bin/sh
# GET /metrics of real daemons, read by a strict parser of the text format (promparse):
# node a (no observer, a users file) holds records made by observe --once and has a push
# subscription whose subscriber is down; node b observes every 2 s and polls a. The
# values must be what the test did: records by origin, the subscription's backlog, the
# poll, the cycles and their probe outcomes, the refused logins, the requests by service.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
FARM=${TESTS_BUILDDIR:?}/c2farm
PARSE=${TESTS_BUILDDIR:?}/promparse
[ -x "$FARM" ] || skip_all "the farm ($FARM) is not built"
[ -x "$PARSE" ] || skip_all "the parser ($PARSE) is not built"
command -v curl > /dev/null 2>&1 || skip_all "no curl command"
cd "$T" || exit 99
. "$TESTS_SRCDIR/daemons.sh"

# The parser itself refuses what the format does not allow.
bad() { # bad TEXT WHAT
	printf '%b' "$1" | "$PARSE" --prefix c2watch_ > /dev/null 2>&1
	ok $((! $?)) "the parser refuses $2"
}
bad '# TYPE c2watch_x gauge\nc2watch_x 1\nc2watch_x 2\n' "a series twice"
bad 'c2watch_x 1\n' "a sample without TYPE"
bad '# TYPE c2watch_x gauge\nc2watch_x{a="b} 1\n' "an unclosed label value"
bad '# TYPE c2watch_x gauge\nc2watch_x{a="\\q"} 1\n' "a bad escape"
bad '# TYPE c2watch_x gauge\nc2watch_x{a="1",a="2"} 1\n' "a label twice"
bad '# TYPE c2watch_x gauge\nc2watch_x one\n' "a value that is not a float"
bad '# TYPE c2watch_x gauge\nc2watch_x 1\n# TYPE c2watch_y gauge\nc2watch_y 1\nc2watch_x{a="b"} 1\n' \
    "a family split in two"
bad '# TYPE other_x gauge\nother_x 1\n' "a name without the prefix"
bad '# TYPE c2watch_h histogram\nc2watch_h_bucket 1\n' "a bucket without le"
bad '# TYPE c2watch_x gauge\n\nc2watch_x 1\n' "an empty line"
printf '# HELP c2watch_x a\\\\b\n# TYPE c2watch_x counter\nc2watch_x{a="q\\"\\n"} 1.5e3\n' |
    "$PARSE" --prefix c2watch_ > /dev/null
ok $? "the parser takes escapes and exponents"

cat > farm.script <<'EOF2'
listen g 127.0.0.1 0
rule g /robots.txt * page status=404 body=none
rule g /gate.php * page server=c2 type=text/html body=gate
rule g /panel/ * page status=403 body=no
EOF2
farm_start farm.script g || { echo "Bail out! the farm did not start"; exit 99; }
cat > targets.csv <<EOF2
threat_id,url,summary
MET-T,http://127.0.0.1:$FPORT/gate.php,gate
MET-T,http://127.0.0.1:$FPORT/panel/,panel
EOF2

# conf NAME OBSERVE [EXTRA]
conf() {
	{
		printf '[node]\nid = %s\ndata_dir = %s.data\nlog_level = info\n' "$1" "$1"
		printf '[server]\nlisten = 127.0.0.1:0\nallow_private_push = true\n'
		[ "$1" = a ] && printf 'users_file = users\n'
		printf '[observer]\nenabled = %s\ninterval = 2s\nallow_private = true\n' "$2"
		printf 'ping_count = 0\nhost_spacing = 10ms\ntimeout = 3s\nconnect_timeout = 1s\n'
		printf 'targets_file = targets.csv\n'
		[ -n "${3:-}" ] && printf '%b' "$3"
	} > "$1.conf"
}

# metric FILE SERIES: the value of one series of a parsed scrape ("" when absent).
metric() {
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}

# scrape NAME FILE [CURL ARGS]: GET /metrics of NAME into FILE.raw, parsed into FILE;
# the HTTP code in FILE.code, the Content-Type in FILE.type.
scrape() {
	eval "port=\$PORT_$1"
	out=$2
	shift 2
	curl -s --noproxy '*' -o "$out.raw" -D "$out.hdr" -w '%{http_code}' "$@" \
	    "http://127.0.0.1:$port/metrics" > "$out.code"
	tr -d '\r' < "$out.hdr" | sed -n 's/^[Cc]ontent-[Tt]ype: //p' > "$out.type"
	[ "$(cat "$out.code")" = 200 ] || return 1
	"$PARSE" --prefix c2watch_ < "$out.raw" > "$out" 2> "$out.err"
}

umask 077
conf a false
printf 'watchpw\n' | "$C" user add watcher --collections observations -c a.conf > /dev/null
printf 'otherpw\n' | "$C" user add other --collections targets -c a.conf > /dev/null
"$C" observe --once -c a.conf > observe1.out 2>&1
ok $? "node a observes once (2 records)"
start a
ok $? "node a runs"

# A push subscription whose subscriber is down: what enters a waits for it.
cat > sub.req <<'EOF2'
<taxii_11:Subscription_Management_Request xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1" message_id="1" action="SUBSCRIBE" collection_name="observations"><taxii_11:Push_Parameters><taxii_11:Protocol_Binding>urn:taxii.mitre.org:protocol:http:1.0</taxii_11:Protocol_Binding><taxii_11:Address>http://127.0.0.1:1/taxii/inbox</taxii_11:Address><taxii_11:Message_Binding>urn:taxii.mitre.org:message:xml:1.1</taxii_11:Message_Binding></taxii_11:Push_Parameters></taxii_11:Subscription_Management_Request>
EOF2
curl -s --noproxy '*' -u watcher:watchpw -o sub.xml -X POST --data-binary @sub.req \
    -H 'Content-Type: application/xml' -H 'X-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1' \
    -H 'X-TAXII-Services: urn:taxii.mitre.org:services:1.1' \
    "http://127.0.0.1:$PORT_a/taxii/collections"
subid=$(sed -n 's/.*<taxii_11:Subscription_ID>\([^<]*\)<.*/\1/p' sub.xml)
ok $((! ${#subid})) "a subscription is made on a"
"$C" observe --once -c a.conf > observe2.out 2>&1
ok $? "node a observes once more while its daemon runs (2 records after the subscription)"

# Refusals: no credentials, a wrong password, a user who may not poll observations.
curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_a/metrics" > c1
is "$(cat c1)" 401 "no credentials: 401"
curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -u watcher:nope \
    "http://127.0.0.1:$PORT_a/metrics" > c2
is "$(cat c2)" 401 "a wrong password: 401"
curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -u other:otherpw \
    "http://127.0.0.1:$PORT_a/metrics" > c3
is "$(cat c3)" 403 "a user who may not poll observations: 403"

# b polls a and observes every 2 s.
printf 'watchpw\n' > watch.pw
conf b true "[peer a]\nurl = http://127.0.0.1:$PORT_a/taxii/poll\ninterval = 1s\n\
username = watcher\npassword_file = watch.pw\n"
start b
ok $? "node b runs"
i=0
while [ $i -lt 200 ]; do
	scrape b b.m
	b_parsed=$?
	if [ $b_parsed -eq 0 ] && [ "$(metric b.m 'c2watch_records{origin="a"}')" = 4 ] &&
	    [ "$(metric b.m 'c2watch_cycles_total{result="ok"}')" != 0 ]; then
		break
	fi
	sleep 0.1
	i=$((i + 1))
done

scrape a a.m -u watcher:watchpw
ok $? "a's metrics parse strictly"
[ -s a.m.err ] && sed 's/^/# /' a.m.err
is "$(cat a.m.type)" "text/plain; version=0.0.4; charset=utf-8" "the Content-Type of format 0.0.4"
is "$(metric a.m 'c2watch_records{origin="a"}')" 4 "a holds its 4 records, by origin"
is "$(metric a.m c2watch_targets)" 2 "a holds 2 targets"
is "$(metric a.m "c2watch_subscription_backlog_records{subscription=\"$subid\",owner=\"watcher\",status=\"active\"}")" \
    2 "the subscription's backlog: the 2 records after it"
is "$(metric a.m 'c2watch_auth_failures_total{reason="missing"}')" 1 "one request without credentials"
is "$(metric a.m 'c2watch_auth_failures_total{reason="invalid"}')" 1 "one failed login"
is "$(metric a.m 'c2watch_auth_failures_total{reason="forbidden"}')" 1 "one forbidden user"
is "$(metric a.m 'c2watch_taxii_requests_total{service="page",code="401",status="none"}')" 2 \
    "the two 401 pages, by service and code"
is "$(metric a.m 'c2watch_taxii_requests_total{service="collections",code="200",status="SUCCESS"}')" 1 \
    "the subscription request"
polls=$(metric a.m 'c2watch_taxii_requests_total{service="poll",code="200",status="SUCCESS"}')
[ "${polls:-0}" -ge 1 ]
ok $? "b's polls are counted on a ($polls)"
is "$(metric a.m 'c2watch_cycles_total{result="ok"}')" 0 "a ran no cycle"

ok $b_parsed "b's metrics parse strictly"
[ -s b.m.err ] && sed 's/^/# /' b.m.err
is "$(metric b.m 'c2watch_records{origin="a"}')" 4 "b holds a's 4 records, by origin"
ok "$(metric b.m 'c2watch_peer_polls_total{peer="a"}' | awk '{ exit !($1 >= 1) }'; echo $?)" \
    "b polled a"
is "$(metric b.m 'c2watch_peer_poll_failures_total{peer="a"}')" 0 "without a failure"
last=$(metric b.m 'c2watch_peer_last_success_time_seconds{peer="a"}')
start_b=$(metric b.m c2watch_start_time_seconds)
ok "$(awk -v l="$last" -v s="$start_b" 'BEGIN { exit !(l >= s && l > 0) }'; echo $?)" \
    "the last good poll is after b started"
ok "$(awk -v l="$(metric b.m 'c2watch_peer_lag_seconds{peer="a"}')" 'BEGIN { exit !(l >= 0 && l < 60) }'; echo $?)" \
    "the lag is seconds since it"
cycles=$(metric b.m 'c2watch_cycles_total{result="ok"}')
ok "$([ "${cycles:-0}" -ge 1 ]; echo $?)" "b ran cycles ($cycles)"
is "$(metric b.m c2watch_cycle_duration_seconds_count)" "$cycles" "each in the duration histogram"
is "$(metric b.m 'c2watch_cycle_duration_seconds_bucket{le="+Inf"}')" "$cycles" "up to +Inf"
is "$(metric b.m c2watch_records_made_total)" $((2 * cycles)) "2 records made per cycle"
is "$(metric b.m 'c2watch_probe_outcomes_total{probe="http",outcome="2xx"}')" "$cycles" "a 2xx per cycle"
is "$(metric b.m 'c2watch_probe_outcomes_total{probe="http",outcome="4xx"}')" "$cycles" "a 4xx per cycle"
is "$(metric b.m 'c2watch_probe_outcomes_total{probe="ping",outcome="not_run"}')" $((2 * cycles)) \
    "ping not run (ping_count = 0)"
is "$(metric b.m 'c2watch_probe_outcomes_total{probe="robots",outcome="allowed"}')" $((2 * cycles)) \
    "robots.txt absent: allowed"
is "$(metric b.m 'c2watch_change_events_total{kind="up"}')" 0 "no change events: the answers stay"
held=$(metric b.m 'c2watch_records{origin="b"}')
ok "$([ "${held:-0}" -ge 2 ]; echo $?)" "b holds its own records by origin ($held)"

# [server] metrics = off: no page.
stop a
sed 's/^users_file = users$/users_file = users\nmetrics = off/' a.conf > a2.conf && mv a2.conf a.conf
start a
ok $? "node a runs with metrics = off"
curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -u watcher:watchpw \
    "http://127.0.0.1:$PORT_a/metrics" > c4
is "$(cat c4)" 404 "metrics = off: 404"
stop a
stop b
done_testing
