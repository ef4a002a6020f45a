#!/bin/sh
# The built c2watch binary: config checking, target import and listing, export, usage errors
# and exit statuses, run in a temporary directory.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
cd "$T" || exit 99

cat > node.conf <<'CONF'
[node]
id = cli-test
organization = Test CERT
data_dir = data ; relative to this file
CONF

# --- check-config
out=$("$C" check-config -c node.conf); rc=$?
is "$rc" 0 "check-config accepts a minimal config"
has "$out" "id = cli-test" "and prints the effective config"
has "$out" "interval = 4h" "with defaults filled in"
"$C" check-config -c node.conf > printed.conf
sed -i '1d' printed.conf
out=$("$C" check-config -c printed.conf); rc=$?
is "$rc" 0 "the printed config is itself valid"

# Every key away from its default: the printed config, loaded back (from another directory,
# so relative paths must have been printed resolved), prints the same config again.
mkdir full full/again
(
	cd full || exit 1
	umask 077
	echo secret > pw
	: > users
	: > excl.txt
	: > t.csv
	: > ca.pem
	printf '#!/bin/sh\ncat > /dev/null\n' > hook.sh
	chmod 700 hook.sh
)
cat > full/full.conf <<'CONF'
[node]
id = full-node
organization = Full CERT, Inc.
data_dir = data
log_level = debug
[server]
listen = 127.0.0.1:0, [::1]:0
users_file = users
dashboard = off
allow_private_push = true
[observer]
enabled = false
interval = 1h30m
anchor = 06:15 Asia/Tokyo
concurrency = 17
host_spacing = 250ms
user_agent = Agent/1.0 (x; y)
accept_encoding = identity
connect_timeout = 3s
timeout = 45s
max_body = 3MiB
max_redirects = 0
ping_count = 2
robots = ignore
exclude_file = excl.txt
allow_private = true
vantage = osaka
source_address = 127.0.0.1
proxy = socks5h://127.0.0.1:1080
targets_file = t.csv
[peer b]
url = http://127.0.0.1:9/taxii/poll
collection = feed
interval = 20m
username = member
password_file = pw
threat_id = PEER-B
push = true
[peer c]
url = https://c.example:9443/taxii/poll
ca_file = ca.pem
[hook]
on_change = hook.sh
CONF
"$C" check-config -c full/full.conf > full/again/printed.conf
is "$?" 0 "check-config of a config setting every key"
"$C" check-config -c full/again/printed.conf > full/reprinted.conf
is "$?" 0 "its printed form loads back"
tail -n +2 full/again/printed.conf > full/a
tail -n +2 full/reprinted.conf > full/b
cmp -s full/a full/b
rc=$?
ok $rc "and prints the same config again"
[ $rc -eq 0 ] || diff full/a full/b | sed 's/^/#   /'
for kv in "interval = 90m" "anchor = 06:15 Asia/Tokyo" "dashboard = false" \
    "user_agent = Agent/1.0 (x; y)" "robots = ignore" "max_redirects = 0" \
    "listen = 127.0.0.1:0, [::1]:0" "threat_id = PEER-B" "collection = observations" \
    "data_dir = $T/full/data" "on_change = $T/full/hook.sh"; do
	grep -qxF "$kv" full/b
	ok $? "printed back: $kv"
done

printf '[node]\nid = x\ndata_dir = d\nbogus = 1\n' > bad.conf
err=$("$C" check-config -c bad.conf 2>&1); rc=$?
is "$rc" 2 "an unknown key exits 2"
has "$err" "bad.conf:4: bogus:" "and names file, line and key"
printf '[node]\nid = x\ndata_dir = d\n[observer]\ninterval = 4 hours\n' > bad2.conf
err=$("$C" check-config -c bad2.conf 2>&1); rc=$?
is "$rc" 2 "a bad duration exits 2"
has "$err" "bad2.conf:5: interval:" "and names file, line and key"
err=$("$C" check-config -c missing.conf 2>&1); rc=$?
is "$rc" 2 "a missing config file exits 2"
has "$err" "missing.conf" "and names it"
out=$(C2WATCH_CONF=node.conf "$C" check-config); rc=$?
is "$rc" 0 "\$C2WATCH_CONF names the config when -c is absent"
mkdir sub && cp node.conf sub/c2watch.conf
out=$(cd sub && "$C" check-config); rc=$?
is "$rc" 0 "./c2watch.conf is found next"

# --- import
cat > t.csv <<'CSV'
threat_id,ip,domain,url,port,report_date,malware_sha256,file_type,summary,user_agent
APT-1,203.0.113.5,,,,2026-11-01,,,"first, with a comma",
APT-1,,c2.example,,8443,,,,,
APT-2,,,http://Gate.Example/p.php,,,,,"say ""hi""",Mozilla/5.0 (bot)
CSV
out=$("$C" import t.csv -c node.conf); rc=$?
is "$rc" 0 "import of a good CSV"
has "$out" "3 new" "counts three new targets"
out=$("$C" -c node.conf import t.csv 2>&1); rc=$?
is "$rc" 2 "options go after the command: one before it is a usage error"
has "$out" 'unknown command "-c"' "naming what was taken for the command"
out=$("$C" import -c node.conf t.csv); rc=$?
is "$rc" 0 "options before the operand work too"
has "$out" "3 unchanged" "importing again adds nothing"
out=$("$C" targets -c node.conf --json); rc=$?
is "$rc" 0 "targets --json"
n=$(printf '%s\n' "$out" | grep -c threat_id)
is "$n" 3 "lists three targets"
has "$out" '"url":"http://gate.example/p.php"' "with the URL host lowercased"
has "$out" '"summary":"say \"hi\""' "and quotes unescaped from CSV"
out=$("$C" targets --threat-id APT-2 -c node.conf); rc=$?
has "$out" "gate.example" "targets --threat-id filters"
case "$out" in *203.0.113.5*) ok 1 "and leaves other threats out" ;; *) ok 0 "and leaves other threats out" ;; esac

cat > bad.csv <<'CSV'
threat_id,ip,domain
APT-3,300.1.2.3,
APT-3,,ok.example
APT-3,,
CSV
err=$("$C" import bad.csv -c node.conf 2>&1); rc=$?
is "$rc" 2 "a CSV with bad lines exits 2"
has "$err" 'bad.csv:2: ip: bad IPv4 address "300.1.2.3"' "reports line 2"
has "$err" "bad.csv:4:" "and line 4"
out=$("$C" targets --threat-id APT-3 --json -c node.conf)
is "$out" "[]" "and imports nothing, not even the good line"

printf 'ip\n198.51.100.7\n' > nothreat.csv
err=$("$C" import nothreat.csv -c node.conf 2>&1); rc=$?
is "$rc" 2 "without a threat_id column, --threat-id is needed"
out=$("$C" import nothreat.csv --threat-id OPS-9 -c node.conf); rc=$?
is "$rc" 0 "--threat-id supplies it"
out=$("$C" targets --threat-id OPS-9 --json -c node.conf)
has "$out" "198.51.100.7" "and the target is stored under it"

: > empty.csv
err=$("$C" import empty.csv -c node.conf 2>&1); rc=$?
is "$rc" 2 "an empty file exits 2"
err=$("$C" import nosuch.csv -c node.conf 2>&1); rc=$?
is "$rc" 2 "a missing file exits 2"
has "$err" "nosuch.csv" "and names it"
err=$("$C" import t.csv --format xml -c node.conf 2>&1); rc=$?
is "$rc" 2 "an unknown format exits 2"

# --- sandbox reports
out=$("$C" import "$TESTS_SRCDIR/data/cuckoo/cape-style.report.json" --format cuckoo --threat-id SBX-1 -c node.conf 2>&1); rc=$?
is "$rc" 0 "import --format cuckoo"
has "$out" "5 new" "takes the report's five destinations"
out=$("$C" targets --threat-id SBX-1 --json -c node.conf)
has "$out" '"user_agent":"WinHTTP Loader/1.0"' "with the requests' user agents"
printf '{"info": {}, "network": {"hosts": ["8.8.8.8"]}}' > nohash.json
err=$("$C" import nohash.json --format cuckoo -c node.conf 2>&1); rc=$?
is "$rc" 2 "a report without a sample hash needs --threat-id"

# --- STIX from other producers
if [ -d "${SHARED_DIR:-/nonexistent}/testdata/stix" ]; then
	fails=0
	for f in "$SHARED_DIR"/testdata/stix/*.xml; do
		"$C" import "$f" --format stix -c node.conf > /dev/null 2>&1 || { fails=$((fails + 1)); echo "# import failed: $f"; }
	done
	is "$fails" 0 "every STIX sample imports without error"
	out=$("$C" import "$SHARED_DIR/testdata/stix/idiom-sample-combined.xml" --format stix -c node.conf 2>&1)
	has "$out" "3 targets imported" "a sample's indicators become targets"
	out=$("$C" import "$SHARED_DIR/testdata/stix/idiom-campaign-v-actors.xml" --format stix -c node.conf 2>&1); rc=$?
	has "$out" "no network indicator" "a file without one says so"
	is "$rc" 0 "and is no error"
else
	skip "STIX samples import" "SHARED_DIR ($SHARED_DIR) absent"
fi
printf '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>\n' > xxe.xml
err=$("$C" import xxe.xml --format stix -c node.conf 2>&1); rc=$?
is "$rc" 2 "a STIX file with a DOCTYPE is refused"
printf 'not xml at all' > junk.xml
err=$("$C" import junk.xml --format stix -c node.conf 2>&1); rc=$?
is "$rc" 2 "garbage is refused"
has "$err" "junk.xml" "naming the file"

# --- export
out=$("$C" export --format json -c node.conf); rc=$?
is "$rc" 0 "export json with no records"
is "$out" "[]" "is an empty array"
out=$("$C" export --format csv -c node.conf); rc=$?
has "$out" "id,threat_id,node" "export csv prints its header"
err=$("$C" export --format json --since yesterday -c node.conf 2>&1); rc=$?
is "$rc" 2 "a bad --since exits 2"

# --- usage
for cmd in check-config import targets export version; do
	out=$("$C" $cmd --help); rc=$?
	is "$rc" 0 "$cmd --help exits 0"
	has "$out" "usage: c2watch $cmd" "$cmd --help shows its usage"
done
err=$("$C" frobnicate 2>&1); rc=$?
is "$rc" 2 "an unknown command exits 2"
err=$("$C" targets --bogus -c node.conf 2>&1); rc=$?
is "$rc" 2 "an unknown option exits 2"
err=$("$C" 2>&1); rc=$?
is "$rc" 2 "no command exits 2"
out=$("$C" version); rc=$?
has "$out" "c2watch" "version prints the name"

# --- two processes on one data directory
awk 'BEGIN { print "threat_id,ip"; for (i = 0; i < 3000; i++) printf "BULK-A,10.%d.%d.%d\n", int(i/65536)%256, int(i/256)%256, i%256 }' > a.csv
awk 'BEGIN { print "threat_id,ip"; for (i = 0; i < 3000; i++) printf "BULK-B,10.%d.%d.%d\n", int(i/65536)%256, int(i/256)%256, i%256 }' > b.csv
# Each bounded: a deadlock between the two fails here, it does not hang.
timeout 120 "$C" import a.csv -c node.conf > a.out & pa=$!
timeout 120 "$C" import b.csv -c node.conf > b.out & pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
is "$ra$rb" 00 "two imports at once both succeed"
na=$("$C" targets --threat-id BULK-A --json -c node.conf | grep -c BULK-A)
nb=$("$C" targets --threat-id BULK-B --json -c node.conf | grep -c BULK-B)
is "$na/$nb" 3000/3000 "and every target of both is stored"

done_testing
