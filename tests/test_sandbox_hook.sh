#!/bin/sh
# contrib/on-change-sandbox against a stand-in of the Cuckoo/CAPE REST API on 127.0.0.1
# (tests/sandbox_api, port 0, read back): an "up" event for a target with a sample
# submits that file with the activation time in the options; other events, targets
# without a sample, a missing or mismatched sample, a malformed event and hostile field
# values submit nothing (and run nothing). Last, the whole path: c2watch observe --once
# sees a destination wake up and its hook submits the sample.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
HOOK=$TESTS_SRCDIR/../contrib/on-change-sandbox
API=$TESTS_BUILDDIR/sandbox_api
cd "$T" || exit 99

for t in jq curl sha256sum; do
	command -v "$t" > /dev/null || { ok 1 "$t is installed (tools/deps.sh)"; done_testing; exit 1; }
done
[ -x "$HOOK" ]; ok $? "the hook is executable"
[ -x "$API" ] || { ok 1 "tests/sandbox_api is built"; done_testing; exit 1; }

pids=
cleanup() {
	for p in $pids; do kill "$p" 2> /dev/null; done
	for p in $pids; do wait "$p" 2> /dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# start DIR [PORT]: a stand-in recording into DIR; sets $port (bounded wait).
start() {
	mkdir -p "$1"
	"$API" "$1" 120 ${2:-} > "$1.out" 2> "$1.err" &
	pids="$pids $!"
	port=
	i=0
	while [ $i -lt 100 ] && [ -z "$port" ]; do
		port=$(sed -n 's/^port //p' "$1.out")
		[ -n "$port" ] || sleep 0.1
		i=$((i + 1))
	done
	[ -n "$port" ]
}
requests() { ls -d "$1"/req-* 2> /dev/null | wc -l | tr -d ' '; }

start "$T/api"; ok $? "the stand-in API listens (port $port)"
APIPORT=$port

# --- a node with targets: with a sample, without one, with one not in the sample dir,
# with a sample whose content is not its name's, and one whose fields are hostile
mkdir samples
printf 'MZ\000\001 sample one\n' > s1
printf 'sample two; type=text/plain\n' > s2
printf 'not what it says\n' > s3
S1=$(sha256sum < s1 | cut -c1-64)
S2=$(sha256sum < s2 | cut -c1-64)
S4=$(printf 'never filed' | sha256sum | cut -c1-64)
S5=$(printf 'claimed' | sha256sum | cut -c1-64)
cp s1 "samples/$S1" && cp s2 "samples/$S2" && cp s3 "samples/$S5"
printf 'sekrit-token.1\n' > token && chmod 600 token
cat > node.conf <<CONF
[node]
id = hook-test
data_dir = data
[observer]
allow_private = true
ping_count = 0
robots = ignore
connect_timeout = 2s
timeout = 3s
CONF
cat > targets.csv <<CSV
threat_id,url,domain,ip,port,malware_sha256
APT-1,http://c2.example:8080/gate.php,,,,$S1
APT-1,,c2b.example,,8443,$S2
APT-1,http://nosample.example/,,,,
APT-1,http://missing.example/,,,,$S4
APT-1,http://liar.example/,,,,$S5
"x'\$(touch $T/pwned)\`touch $T/pwned2\`;""q",http://evil.example/;touch\$IFS$T/pwned3;/\$(id)/g.php,,,,$S1
CSV
"$C" import targets.csv -c node.conf > import.log 2>&1; rc=$?
is "$rc" 0 "the targets are imported"

ID=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
AT=2026-11-22T04:00:00.000123Z
# event KIND THREAT TARGET [TIME]: one event as c2watch writes it (threat and target as
# JSON strings, so any bytes can be given).
event() {
	jq -cn --arg k "$1" --arg t "$2" --arg g "$3" --arg at "${4:-$AT}" --arg id "$ID" \
		'{threat_id: $t, target: $g, node: "hook-test", time: $at, kind: $k,
		  from: "down", to: "up", record: $id}'
}
# hook [VAR=value ...] < event: runs the hook with this node's settings.
hook() {
	env SANDBOX_URL="http://127.0.0.1:$APIPORT" SAMPLE_DIR="$T/samples" \
		SANDBOX_TOKEN_FILE="$T/token" C2WATCH="$C" C2WATCH_CONF="$T/node.conf" \
		C2WATCH_SANDBOX_CONF=/nonexistent "$@" "$HOOK" 2>> "$T/hook.err"
}

# --- an up event for a target with a sample: one submission
event up APT-1 http://c2.example:8080/gate.php | hook; rc=$?
is "$rc" 0 "an up event with a sample: the hook exits 0"
is "$(requests api)" 1 "and submits one task"
R=api/req-1
is "$(cat $R/method 2>/dev/null) $(cat $R/url 2>/dev/null)" "POST /tasks/create/file" \
	"to POST /tasks/create/file"
cmp -s s1 "$R/files/file"; ok $? "the file field holds the sample, byte for byte"
is "$(cat $R/filenames/file 2>/dev/null)" "$S1" "named by its SHA-256"
opts=$(cat "$R/fields/options" 2>/dev/null)
has "$opts" "c2watch_activation=$AT" "the options carry the activation time"
has "$opts" "c2watch_record=$ID" "and the record"
is "$(cat $R/authorization 2>/dev/null)" "Bearer sekrit-token.1" "Cuckoo's bearer token is sent"
has "$(cat $R/fields/custom 2>/dev/null)" "APT-1 http://c2.example:8080/gate.php up at $AT" \
	"the custom field says what woke up"
has "$(cat hook.err)" "as task 1" "the hook logs the task id"

# --- a domain with a port is matched by its destination key
event up APT-1 c2b.example:8443 | hook; rc=$?
is "$rc:$(requests api)" "0:2" "a domain:port target's sample is submitted"
cmp -s s2 api/req-2/files/file; ok $? "and it is that target's sample"

# --- CAPE: its path, its token scheme, its answer
event up APT-1 http://c2.example:8080/gate.php |
	hook SANDBOX_KIND=cape SANDBOX_OPTIONS=route=tor,procmemdump=1; rc=$?
is "$rc:$(requests api)" "0:3" "CAPE: submitted"
is "$(cat api/req-3/url 2>/dev/null)" "/tasks/create/file/" "to /tasks/create/file/"
is "$(cat api/req-3/authorization 2>/dev/null)" "Token sekrit-token.1" "with a Token header"
has "$(cat api/req-3/fields/options 2>/dev/null)" ",route=tor,procmemdump=1" \
	"SANDBOX_OPTIONS are added"

# --- the settings file (parsed, not run), the environment winning over it
cat > sandbox.conf <<CONF
# a comment
SANDBOX_URL=http://127.0.0.1:$APIPORT
SAMPLE_DIR=$T/samples
SANDBOX_KIND=cape
C2WATCH_CONF=$T/node.conf
C2WATCH=$C
CONF
event up APT-1 http://c2.example:8080/gate.php |
	env -u SANDBOX_URL C2WATCH_SANDBOX_CONF="$T/sandbox.conf" SANDBOX_KIND=cuckoo \
	"$HOOK" 2>> hook.err; rc=$?
is "$rc:$(requests api)" "0:4" "settings from C2WATCH_SANDBOX_CONF"
is "$(cat api/req-4/url 2>/dev/null)" "/tasks/create/file" "the environment wins over the file"
[ ! -f api/req-4/authorization ]; ok $? "no token file: no Authorization header"
printf 'SANDBOX_URL=http://x/\nPATH=/tmp\n' > bad.conf
event up APT-1 http://c2.example:8080/gate.php |
	env C2WATCH_SANDBOX_CONF="$T/bad.conf" "$HOOK" 2> bad.err; rc=$?
is "$rc:$(requests api)" "1:4" "an unknown key in the settings file is an error"

# --- nothing submitted
n=4
for k in down status content; do
	event "$k" APT-1 http://c2.example:8080/gate.php | hook; rc=$?
	is "$rc:$(requests api)" "0:$n" "a $k event submits nothing"
done
event up APT-1 http://nosample.example/ | hook; rc=$?
is "$rc:$(requests api)" "0:$n" "a target without a sample submits nothing"
event up APT-1 http://unknown.example/ | hook; rc=$?
is "$rc:$(requests api)" "0:$n" "a destination the node does not have submits nothing"
event up APT-2 http://c2.example:8080/gate.php | hook; rc=$?
is "$rc:$(requests api)" "0:$n" "nor the right target under another threat ID"
event up APT-1 http://missing.example/ | hook; rc=$?
is "$rc:$(requests api)" "1:$n" "a sample missing from SAMPLE_DIR: exit 1, nothing sent"
event up APT-1 http://liar.example/ | hook; rc=$?
is "$rc:$(requests api)" "1:$n" "a sample whose content is not its SHA-256: exit 1, nothing sent"
event up APT-1 http://c2.example:8080/gate.php '2026-11-22T04:00:00Z,x=1' | hook; rc=$?
is "$rc:$(requests api)" "1:$n" "a time that is not RFC 3339 (option injection): exit 1"
event up APT-1 http://c2.example:8080/gate.php "$(printf '%s\nx=1' "$AT")" | hook; rc=$?
is "$rc:$(requests api)" "1:$n" "a time with a second line: exit 1"
{ event up APT-1 http://c2.example:8080/gate.php; event up APT-1 c2b.example:8443; } | hook
rc=$?
is "$rc:$(requests api)" "1:$n" "two events on one input: exit 1, nothing sent"
printf 'not json' | hook; rc=$?
is "$rc:$(requests api)" "1:$n" "an event that is not JSON: exit 1"
printf '{"kind": "up", "threat_id": "APT-1", "target": "http://c2.example:8080/gate.php", "time": "%s", "record": "../../etc"}' \
	"$AT" | hook; rc=$?
is "$rc:$(requests api)" "1:$n" "a record that is not a record id: exit 1"

# --- hostile fields: submitted as data, nothing run
event up "x'\$(touch $T/pwned)\`touch $T/pwned2\`;\"q" "http://evil.example/;touch\$IFS$T/pwned3;/\$(id)/g.php" |
	hook; rc=$?
n=$((n + 1))
is "$rc:$(requests api)" "0:$n" "a hostile threat ID and target: its sample is submitted"
[ ! -e pwned ] && [ ! -e pwned2 ] && [ ! -e pwned3 ]; ok $? "and nothing in them ran"
has "$(cat api/req-$n/fields/custom 2>/dev/null)" ";touch\$IFS$T/pwned3;" \
	"they reach the sandbox as plain text"
event up APT-1 http://c2.example:8080/gate.php | hook SAMPLE_DIR="$T/samples;type=x" 2> /dev/null
rc=$?
is "$rc:$(requests api)" "1:$n" "a sample directory that does not exist: exit 1"

# --- a failing sandbox
touch api/fail
event up APT-1 http://c2.example:8080/gate.php | hook; rc=$?
is "$rc" 1 "a sandbox answering 500: exit 1"
rm -f api/fail
n=$(requests api)

# --- the whole path: observe --once sees a destination wake up and runs the hook
start "$T/c2"; ok $? "a stand-in C2 listens (port $port)"
C2PORT=$port
kill $pids 2> /dev/null
for p in $pids; do wait "$p" 2> /dev/null; done
pids=
start "$T/api2"; ok $? "a new sandbox stand-in, the C2 stopped (port $port)"
APIPORT=$port
printf 'threat_id,url,malware_sha256\nAPT-9,http://127.0.0.1:%s/gate.php,%s\n' "$C2PORT" "$S1" \
	> live.csv
"$C" import live.csv -c node.conf > /dev/null 2>&1
cat >> node.conf <<CONF
[hook]
on_change = $HOOK
CONF
obs() {
	env SANDBOX_URL="http://127.0.0.1:$APIPORT" SAMPLE_DIR="$T/samples" C2WATCH="$C" \
		C2WATCH_CONF="$T/node.conf" C2WATCH_SANDBOX_CONF=/nonexistent \
		"$C" observe --once --threat-id APT-9 -c node.conf > obs.log 2>&1
}
obs; rc=$?
is "$rc:$(requests api2)" "0:0" "the first observation, C2 down: nothing submitted"
start "$T/c2" "$C2PORT"; ok $? "the C2 wakes up on its port"
obs; rc=$?
is "$rc" 0 "the second observation"
has "$(cat obs.log)" "1 answered, 1 event" "sees it answer: one event"
is "$(requests api2)" 1 "and its hook submits the sample"
R=api2/req-1
cmp -s s1 "$R/files/file"; ok $? "the sample of that target"
rec=$("$C" export --format json --threat-id APT-9 -c node.conf | jq -r '.[-1].id')
obsat=$("$C" export --format json --threat-id APT-9 -c node.conf | jq -r '.[-1].observed_at')
has "$(cat $R/fields/options 2>/dev/null)" "c2watch_activation=$obsat,c2watch_record=$rec" \
	"with the time and id of the record that saw it answer"

done_testing
