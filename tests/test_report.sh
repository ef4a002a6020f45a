#!/bin/sh
# report, import --format json and the exports, through the built binary: a small history
# made here (records with correct ids), every kind of bad record file, the round trip, the
# report's JSON, and the blocklists checked with the tools that read them.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
PACK=${TESTS_BUILDDIR:?}/c2pack
[ -x "$PACK" ] || { echo "Bail out! c2pack ($PACK) is not built"; exit 1; }
cd "$T" || exit 99

node() { # node NAME [ID]: a config for a node with its own data directory
	printf '[node]\nid = %s\ndata_dir = %s/%s.data\n' "${2:-$1}" "$T" "$1" > "$1.conf"
}

# rec NODE VANTAGE THREAT TARGET TIME(seconds) HTTP PING ADDR: one record, its id computed
rec() {
	at=$(date -u -d "@$5" +%Y-%m-%dT%H:%M:%S)
	id=$(printf '%s\0%s\0%s.000000Z\0' "$1" "$4" "$at" | sha256sum | cut -c1-64)
	printf '{"id":"%s","threat_id":"%s","node":"%s","vantage":"%s","observed_at":"%sZ",' \
		"$id" "$3" "$1" "$2" "$at"
	printf '"target":{"input":"%s","ipv4":[%s],"ipv6":[]},"ping":%s,"http":%s,"error":%s}\n' \
		"$4" "$8" "$7" "$6" "$9"
}

ok200='{"status":200,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","ssdeep":"3:abc:def"}'
start=$(date -u -d "2026-01-01" +%s)
: > hist.ndjson
i=0
while [ $i -lt 60 ]; do
	t=$((start + i * 86400))
	rec n1 tokyo T1 "http://alive.example/gate.php" $t "$ok200" '{"sent":4,"received":4}' \
		'"198.51.100.7"' null >> hist.ndjson
	rec n2 paris T1 "http://alive.example/gate.php" $t "$ok200" null '"198.51.100.7"' null \
		>> hist.ndjson
	rec n1 tokyo T1 "dead.example" $t null '{"sent":4,"received":0}' '' \
		'{"kind":"timeout","detail":"x"}' >> hist.ndjson
	rec n1 tokyo T2 "http://sunk.example/" $t null null '"131.253.18.5"' \
		'{"kind":"refused","detail":"x"}' >> hist.ndjson
	rec n1 tokyo T2 "203.0.113.9:8080" $t "$ok200" null '' null >> hist.ndjson
	rec n1 tokyo T2 "http://bücher.example/" $t "$ok200" null '' null >> hist.ndjson
	# a peer's record may name anything: a zone file must not take this
	rec n2 paris T2 'evil.example; @ IN NS attacker.example.' $t null null '' \
		'{"kind":"dns","detail":"x"}' >> hist.ndjson
	i=$((i + 1))
done
n=$(wc -l < hist.ndjson)
to=$(date -u -d "@$((start + 60 * 86400))" +%Y-%m-%dT%H:%M:%SZ)

node a n1
# This node's own records must verify: an unsigned one is refused, the file with it.
out=$("$C" import hist.ndjson --format json -c a.conf 2>&1); rc=$?
is "$rc" 2 "this node's unsigned records: exit 2"
has "$out" "hist.ndjson:1: sig: record" "named by line, as a signature refusal"
is "$("$C" export --format json -c a.conf 2>/dev/null)" "[]" "and nothing stored"
# So n1's records are signed with a's key (made on first use), n2's stay unsigned.
"$C" key show -c a.conf > /dev/null 2>&1
grep '"node":"n1"' hist.ndjson | jq -s . > own.json
grep -v '"node":"n1"' hist.ndjson > others.ndjson
{ "$PACK" own.json all --sign a.data/node.key --json; cat others.ndjson; } > hist.ndjson
is "$(wc -l < hist.ndjson)" "$n" "the history signed: every record still there"
out=$("$C" import hist.ndjson --format json -c a.conf 2>&1); rc=$?
is "$rc" 0 "import of one record a line"
has "$out" "$n observation records merged: $n new" "every record new"
out=$("$C" import hist.ndjson --format json -c a.conf 2>&1)
has "$out" "0 new, $n already held" "a second import adds nothing (set union)"

# --- round trip: export json, import into a fresh node, export again
"$C" export --format json -c a.conf > a.json
node b
"$C" import a.json --format json -c b.conf > /dev/null 2>&1
ok $? "export's JSON array imports"
"$C" export --format json -c b.conf > b.json
cmp -s a.json b.json
ok $? "export then import gives back the same records, in the same form"
is "$(grep -c "\"node\":\"n2\"" b.json)" 120 "each record keeps its origin node"

# --- bad files: FILE:LINE: field: what, exit 2, nothing stored
good=$(sed -n 1p hist.ndjson)
bad() { # bad DESCRIPTION WANT LINE...: a file of a good record then the lines given
	desc=$1; want=$2; shift 2
	{ echo "$good"; for l in "$@"; do printf '%s\n' "$l"; done; } > bad.json
	node c
	out=$("$C" import bad.json --format json -c c.conf 2>&1); rc=$?
	is "$rc" 2 "$desc: exit 2"
	has "$out" "$want" "$desc: $want"
	is "$("$C" export --format json -c c.conf 2>/dev/null)" "[]" "$desc: nothing stored"
	rm -rf c.data
}
rep() { # rep FIELD-EXPRESSION: the good record changed by jq
	printf '%s\n' "$good" | jq -c "$1"
}
bad "not JSON" "bad.json:2: JSON:" '{"id": nope}'
bad "a number, not a record" "bad.json:2: JSON: a record (an object" '42'
bad "id missing" "bad.json:2: id: missing" "$(rep 'del(.id)')"
bad "id not hex" "bad.json:2: id: not 64 hex digits" "$(rep '.id = ("zz" * 32)')"
bad "id of another record" "bad.json:2: id: not the SHA-256 of node, target.input and observed_at" \
	"$(rep '.id = ("ab" * 32)')"
bad "threat_id missing" "bad.json:2: threat_id: missing" "$(rep 'del(.threat_id)')"
bad "threat_id too long" "bad.json:2: threat_id: longer than" "$(rep '.threat_id = ("x" * 201)')"
bad "node not a string" "bad.json:2: node: missing, empty or not a string" "$(rep '.node = 3')"
bad "observed_at bad" "bad.json:2: observed_at: not an RFC 3339 time" \
	"$(rep '.observed_at = "yesterday"')"
bad "target missing" "bad.json:2: target: missing or not an object" "$(rep 'del(.target)')"
bad "target.input empty" "bad.json:2: target.input: missing, empty" "$(rep '.target.input = ""')"
bad "vantage a number" "bad.json:2: vantage: not a string" "$(rep '.vantage = 1')"
bad "http.status a string" "bad.json:2: http.status: not an integer" "$(rep '.http.status = "200"')"
bad "http.sha256 short" "bad.json:2: http.sha256: not 64 hex digits" "$(rep '.http.sha256 = "ab"')"
bad "ping.sent a string" "bad.json:2: ping: sent and received must be integers" \
	"$(rep '.ping.sent = "4"')"
bad "a string broken over lines" "bad.json:2: JSON: line break inside a string" \
	'{"id": "ab' 'cd"}'
bad "a record cut off by the end" "bad.json:2: JSON: the file ends inside a record" \
	'{"id": "x", "target": {'
bad "the third line bad" "bad.json:3: node" "$good" "$(rep '.node = ""')"

# A file long enough to be checked on two threads (the halves of a batch): the reports
# in the file's order, the first 20 of them, and nothing counted past a syntax error.
badnode=$(rep '.node = ""')
big() { # big N LINE=TEXT...: N lines of the good record, the lines given replaced
	n_=$1; shift
	awk -v n="$n_" -v good="$good" 'BEGIN {
		for (i = 2; i < ARGC; i++) { p = index(ARGV[i], "="); r[substr(ARGV[i], 1, p - 1)] = substr(ARGV[i], p + 1) }
		for (i = 1; i <= n; i++) print ((i in r) ? r[i] : good); exit }' x "$@" > bad.json
}
big 400 "10=$badnode" "250=$badnode" "390=$badnode"
node c
out=$("$C" import bad.json --format json -c c.conf 2>&1); rc=$?
is "$rc" 2 "a long file with three bad records: exit 2"
is "$(printf '%s\n' "$out" | grep -o 'bad.json:[0-9][0-9]*' | tr '\n' ' ')" \
	"bad.json:10 bad.json:250 bad.json:390 " "each reported once, in the file's order"
has "$out" "nothing imported (3 bad records)" "and counted"
set --
i=1
while [ $i -le 30 ]; do set -- "$@" "$((i * 13))=$badnode"; i=$((i + 1)); done
big 400 "$@"
out=$("$C" import bad.json --format json -c c.conf 2>&1)
want=; i=1
while [ $i -le 20 ]; do want="${want}bad.json:$((i * 13)) "; i=$((i + 1)); done
is "$(printf '%s\n' "$out" | grep -o 'bad.json:[0-9][0-9]*' | tr '\n' ' ')" "$want" \
	"30 bad records: the first 20 reported"
has "$out" "10 more bad records not shown" "the rest counted"
has "$out" "nothing imported (30 bad records)" "all 30 in the total"
big 400 "50=$badnode" "120={\"id\": nope}" "300=$badnode"
out=$("$C" import bad.json --format json -c c.conf 2>&1); rc=$?
is "$(printf '%s\n' "$out" | grep -o 'bad.json:[0-9][0-9]*' | tr '\n' ' ')" \
	"bad.json:50 bad.json:120 " "a syntax error stops the check: nothing after it reported"
has "$out" "nothing imported (2 bad records)" "nor counted"
is "$("$C" export --format json -c c.conf 2>/dev/null)" "[]" "the long files stored nothing"
rm -rf c.data
big 400
out=$("$C" import bad.json --format json -c c.conf 2>&1); rc=$?
is "$rc" 0 "the long file without its bad lines imports"
has "$out" "400 observation records merged: 1 new, 399 already held" "as one record"
rm -rf c.data
printf '[%s,\n%s\n' "$good" "$good" > bad.json; node c
out=$("$C" import bad.json --format json -c c.conf 2>&1); rc=$?
is "$rc" 2 "an array not closed: exit 2"
has "$out" "bad.json:3: JSON: the array is not closed" "an array not closed: where"
printf '[%s\n%s]\n' "$good" "$good" > bad.json
out=$("$C" import bad.json --format json -c c.conf 2>&1); rc=$?
is "$rc" 2 "records without a comma: exit 2"
has "$out" "bad.json:2: JSON: ',' or ']' expected" "records without a comma: where"
printf '[%s]\n{}\n' "$good" > bad.json
out=$("$C" import bad.json --format json -c c.conf 2>&1); rc=$?
has "$out" "bad.json:2: JSON: text after the array's end" "text after the array"
is "$("$C" export --format json -c c.conf 2>/dev/null)" "[]" "none of those stored anything"
printf '[]\n' > empty.json
out=$("$C" import empty.json --format json -c c.conf 2>&1); rc=$?
is "$rc" 0 "an empty array imports"
has "$out" "0 observation records" "and merges nothing"

# --- the report
json=$("$C" report --json --to "$to" -c a.conf); rc=$?
is "$rc" 0 "report --json"
is "$(printf '%s' "$json" | jq -c 'keys_unsorted')" \
	'["from","to","records","status_share","transitions","shared_content","monthly","destinations"]' \
	"top-level keys in the documented order"
is "$(printf '%s' "$json" | jq -c '.destinations[0] | keys_unsorted')" \
	'["threat_id","target","nodes","observations","answered","unanswered","inactive_ratio","changes","mean_change_ratio","category","last_answered","last_ping_reply","cloaking_pairs","cloaking_compared","cloaking_suspect","verdict","evidence","unverified"]' \
	"destination keys in the documented order"
is "$(printf '%s' "$json" | jq -r '.records')" "$n" "every record counted"
is "$(printf '%s' "$json" | jq -r '.from')" "2026-01-01T00:00:00Z" "from: the first record"
v() { printf '%s' "$json" | jq -r ".destinations[] | select(.target == \"$1\") | .$2"; }
is "$(v http://alive.example/gate.php verdict)" keep "answering: keep"
is "$(v http://alive.example/gate.php nodes | jq -c .)" '["n1","n2"]' "nodes of a destination"
is "$(v http://alive.example/gate.php unverified)" 60 "records of another node: unverified"
is "$(v dead.example unverified)" 0 "this node's own records are not"
is "$(v dead.example verdict)" remove-candidate "silent 60 days: remove-candidate"
is "$(v dead.example category)" down-single-content "never answered: down-single-content"
is "$(v http://sunk.example/ verdict)" sinkholed "resolves into a listed sinkhole range"
has "$(v http://sunk.example/ evidence)" "131.253.18.0/24" "the evidence names the entry"
is "$(printf '%s' "$json" | jq -r '.shared_content[0].destinations')" 3 \
	"one body at three destinations"
is "$(printf '%s' "$json" | jq -c '.shared_content[0].threat_ids')" '["T1","T2"]' \
	"with their threat IDs"
is "$(printf '%s' "$json" | jq -r '[.monthly[] | select(.threat_id == "T2")][0].ping_http_phi')" \
	"null" "phi is null when no ping ran"
is "$(printf '%s' "$json" | jq -r '[.monthly[] | select(.threat_id == "T1")][0].ping_http_phi')" \
	"1" "phi 1 when ping replies exactly when HTTP answers"
m=$("$C" report --json --month 2025-06 -c a.conf | jq -c '.destinations')
is "$m" "[]" "a month without records"
"$C" report --month 2026-13 -c a.conf > /dev/null 2>&1
is "$?" 2 "a bad month: exit 2"
"$C" report --month 2026-01 --from 2026-01-01 -c a.conf > /dev/null 2>&1
is "$?" 2 "--month with --from: exit 2"
txt=$("$C" report --threat-id T2 --to "$to" -c a.conf)
has "$txt" "Monthly HTTP response rate" "tables for a person"
has "$txt" "sinkholed" "with the verdicts"

# --- blocklists, as their readers take them
# As of now the history (January and February 2026) is long silent: every destination is
# a remove-candidate or sinkholed, so the lists ask for those unless told otherwise.
bl() { "$C" export --format blocklist --style "$1" --verdict "${2:-keep,remove-candidate}" -c a.conf; }
is "$(bl plain keep,sinkholed,remove-candidate | wc -l)" 5 \
	"plain: every destination once (not the one whose name no list can hold)"
has "$(bl edl-url)" "alive.example/gate.php" "edl-url: the URL"
ok "$(bl edl-url | grep -c '://')" "edl-url: no scheme"
has "$(bl edl-domain)" "xn--bcher-kva.example" "edl-domain: IDNs in punycode"
is "$(bl edl-ip)" "203.0.113.9" "edl-ip: the address, without port"
bl rpz keep,sinkholed,remove-candidate > z.rpz
has "$(cat z.rpz)" "*.dead.example CNAME ." "rpz: a name and its subdomains"
has "$(cat z.rpz)" "32.9.113.0.203.rpz-ip CNAME ." "rpz: an rpz-ip trigger for an address"
is "$(grep -c attacker z.rpz)" 0 "rpz: a name with blanks and a ';' is left out"
if command -v named-checkzone > /dev/null; then
	named-checkzone rpz.example z.rpz > zone.log 2>&1
	ok $? "named-checkzone loads the RPZ zone"
else
	echo "# named-checkzone not installed (bind9-utils): zone syntax not checked"
fi
s1=$(sed -n 's/.*SOA [^ ]* [^ ]* \([0-9]*\) .*/\1/p' z.rpz); sleep 1
s2=$(bl rpz | sed -n 's/.*SOA [^ ]* [^ ]* \([0-9]*\) .*/\1/p')
ok "$([ "$s2" -gt "$s1" ]; echo $?)" "the SOA serial grows"
is "$(bl plain keep)" "" "nothing is still answering now: no keep"
sur=$(bl suricata keep,sinkholed,remove-candidate)
is "$(printf '%s\n' "$sur" | grep -v '^#' | grep -cv '^[0-9a-f.:]*,[0-9]\{1,2\},[0-9]\{1,3\}$')" 0 \
	"suricata: ip,category,score lines"
has "$sur" "# 1,c2watch-keep," "suricata: its categories file in the comments"
zk=$(bl zeek)
is "$(printf '%s\n' "$zk" | sed -n 1p)" "$(printf '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc')" \
	"zeek: the #fields header"
is "$(printf '%s\n' "$zk" | awk -F'\t' 'NR > 1 && NF != 4' | wc -l)" 0 "zeek: four tab-separated fields"
has "$zk" "$(printf 'alive.example/gate.php\tIntel::URL')" "zeek: a URL without scheme"
has "$(bl csv)" "destination,threat_id,verdict,last_answered,evidence" "csv: its header"
"$C" export --format blocklist --style pf -c a.conf > /dev/null 2>&1
is "$?" 2 "an unknown style: exit 2"
"$C" export --format blocklist --style plain --verdict maybe -c a.conf > /dev/null 2>&1
is "$?" 2 "an unknown verdict: exit 2"

# --- STIX
"$C" export --format stix -c a.conf > all.xml
ok $? "export --format stix"
xsd="${SHARED_DIR:-}/schemas/stix/validate-stix-1.2.xsd"
if [ -f "$xsd" ] && command -v xmllint > /dev/null; then
	xmllint --noout --schema "$xsd" all.xml > xsd.log 2>&1
	ok $? "the STIX document validates against the STIX 1.2 schemas"
else
	echo "# STIX schemas or xmllint not found: the document is not validated"
fi
node d
"$C" import all.xml --format stix -c d.conf > /dev/null 2>&1
"$C" export --format json -c d.conf | sort > d.json
sort a.json > a.sorted
is "$(wc -l < d.json)" "$(wc -l < a.sorted)" "the STIX document imports back every record"
done_testing
