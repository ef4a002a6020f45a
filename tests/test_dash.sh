#!/bin/sh
# The dashboard through a real daemon: records whose fields are markup are stored, every
# page is fetched and must carry them escaped only, with a script-free CSP; the feeds
# give report --json's JSON and export's blocklist, with validators that answer 304;
# authentication is the TAXII server's; and headless Chromium renders each page (charts
# in the DOM, no console error, the numbers report --json gives).
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
TOP=$(cd "$TESTS_SRCDIR/.." && pwd)
cd "$T" || exit 99
. "$TESTS_SRCDIR/daemons.sh"
# skipn WHY N: N skipped tests.
skipn() {
	for _ in $(seq "$2"); do tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $1"; done
}

# hostile ID THREAT NODE VANTAGE INPUT REASON SERVER LOCATION (JSON-escaped where needed)
hostile() {
	at=2026-11-10T04:00:00Z
	id=$(printf '%s\0%s\0%s\0' "$2" "$4" 2026-11-10T04:00:00.000000Z | sha256sum | cut -c1-64)
	printf '{"id":"%s","threat_id":"%s","node":"%s","vantage":"%s","observed_at":"%s",' \
		"$id" "$1" "$2" "$3" "$at"
	printf '"target":{"input":"%s"},"ping":{"sent":2,"received":1},' "$5"
	printf '"http":{"status":200,"reason":"%s","server":"%s","location":"%s",' "$6" "$7" "$8"
	printf '"sha256":"%s"},"error":null}\n' "$(printf x | sha256sum | cut -c1-64)"
}
# The raw input (as the id is computed over it) and its JSON form differ by the quote.
EVIL_IN='http://evil.example/"><svg onload=alert(1)>'
EVIL_IN_J='http://evil.example/\"><svg onload=alert(1)>'
EVIL_TH='<script>alert(2)</script>'
id=$(printf '%s\0%s\0%s\0' n-evil "$EVIL_IN" 2026-11-10T04:00:00.000000Z | sha256sum | cut -c1-64)
{
	printf '{"id":"%s","threat_id":"%s","node":"n-evil","vantage":"<b>v</b>",' "$id" "$EVIL_TH"
	printf '"observed_at":"2026-11-10T04:00:00Z","target":{"input":"%s"},' "$EVIL_IN_J"
	printf '"ping":{"sent":2,"received":1},"http":{"status":200,"reason":"<script>x</script>",'
	printf '"server":"\\"><svg onload=alert(3)>","location":"javascript:alert(4)",'
	printf '"content_type":"text/html\\"><img src=x onerror=alert(5)>",'
	printf '"sha256":"%s"},"error":null}\n' "$(printf x | sha256sum | cut -c1-64)"
} > evil.json
"$TOP/tools/demo_history.sh" "$(date -d 2026-11-20 +%s)" 4 > history.json 2> /dev/null

printf '[node]\nid = dash-node\ndata_dir = data\n[server]\nlisten = 127.0.0.1:0\n' > n.conf
printf 'users_file = users\n[observer]\nenabled = false\n' >> n.conf
printf '[analysis]\nsinkholes_file = sink.txt\n' >> n.conf
echo "sha256 $(printf 'demo sinkhole page' | sha256sum | cut -c1-64) demo sinkhole" > sink.txt
: > users
chmod 600 users
printf 'pw-viewer\n' | "$C" user add viewer --collections observations,blocklist -c n.conf > /dev/null
printf 'pw-other\n' | "$C" user add other --collections targets -c n.conf > /dev/null
"$C" import evil.json --format json -c n.conf > /dev/null 2>&1
is "$?" 0 "records with markup in every field import"
"$C" import history.json --format json -c n.conf > /dev/null 2>&1
is "$?" 0 "and a generated history"
start n || { echo "Bail out! the node did not start"; exit 99; }
B="http://127.0.0.1:$PORT_n"
AUTH="-u viewer:pw-viewer"

# fetch NAME PATH [curl args]: body to NAME.body, headers to NAME.hdr, prints the status.
fetch() {
	n=$1 p=$2
	shift 2
	curl -s -m 20 -D "$1.hdr" -o "$n.body" -w '%{http_code}' "$@" "$B$p" 2>/dev/null ||
		echo 000
}
fetch_h() { n=$1; shift; curl -s -m 20 -D "$n.hdr" -o "$n.body" -w '%{http_code}' "$@"; }

EVIL_TH_U='%3Cscript%3Ealert%282%29%3C%2Fscript%3E'
EVIL_IN_U='http%3A%2F%2Fevil.example%2F%22%3E%3Csvg%20onload%3Dalert%281%29%3E'
PAGES="/ /threat/$EVIL_TH_U?month=2026-11 /threat/DEMO-RAT?month=2026-11
/destination?threat=$EVIL_TH_U&target=$EVIL_IN_U /categories /tables"
i=0
for p in $PAGES; do
	i=$((i + 1))
	st=$(curl -s -m 20 $AUTH -D "p$i.hdr" -o "p$i.body" -w '%{http_code}' "$B$p")
	is "$st" 200 "$p answers"
	grep -qi "^Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'" "p$i.hdr"
	ok $? "$p: a CSP that allows no script"
	grep -qi '^X-Content-Type-Options: nosniff' "p$i.hdr"
	ok $? "$p: nosniff"
	bad=$(grep -o -i -e '<script' -e '<svg onload' -e '<img src=x' \
		-e 'href="javascript:' -e '<b>v</b>' -e 'onerror=alert(5)>' "p$i.body" | head -n 3)
	is "$bad" "" "$p: no record's markup unescaped"
done
grep -q '&lt;script&gt;alert(2)&lt;/script&gt;' p1.body
ok $? "the overview shows the hostile threat ID, escaped"
grep -q "href=\"/threat/$EVIL_TH_U?month=" p1.body
ok $? "and links to it percent-encoded"
grep -q "href=\"/destination?threat=$EVIL_TH_U&amp;target=$EVIL_IN_U\"" p5.body
ok $? "a dot links to its destination, percent-encoded"
grep -q 'javascript:alert(4)' p4.body && ! grep -q 'href="javascript' p4.body
ok $? "a javascript: location is shown as text, never as a link"
grep -q '<title>' p2.body && grep -q '<polyline' p3.body && grep -q '<circle' p3.body
ok $? "a month's page draws lines and dots with tooltips"
grep -c '<ul class="legend"' p3.body | grep -qv '^0$'
ok $? "with legends"

# Authentication: the server's 401, the dispatcher's 403 for a user without observations.
st=$(curl -s -m 20 -D a.hdr -o /dev/null -w '%{http_code}' "$B/")
is "$st" 401 "no credentials: 401"
grep -qi '^WWW-Authenticate: Basic' a.hdr
ok $? "with WWW-Authenticate"
st=$(curl -s -m 20 -u other:pw-other -o /dev/null -w '%{http_code}' "$B/")
is "$st" 403 "a user who may not poll observations: 403"
st=$(curl -s -m 20 -u viewer:wrong -o /dev/null -w '%{http_code}' "$B/")
is "$st" 401 "a wrong password: 401"
st=$(curl -s -m 20 $AUTH -o /dev/null -w '%{http_code}' "$B/no-such-page")
is "$st" 404 "another path: 404"

# Feeds.
curl -s -m 20 $AUTH -o rep.http "$B/report.json?threat=DEMO-RAT&month=2026-11"
"$C" report --json --threat-id DEMO-RAT --month 2026-11 -c n.conf > rep.cli
cmp -s rep.http rep.cli
ok $? "/report.json is report --json, same query"
st=$(curl -s -m 20 $AUTH -o /dev/null -w '%{http_code}' "$B/report.json?month=2026-13")
is "$st" 400 "a bad month: 400"
st=$(curl -s -m 20 $AUTH -D b.hdr -o bl.http -w '%{http_code}' "$B/blocklist?style=plain&verdict=keep,sinkholed")
is "$st" 200 "/blocklist answers"
"$C" export --format blocklist --style plain --verdict keep,sinkholed -c n.conf > bl.cli
cmp -s bl.http bl.cli
ok $? "with export --format blocklist's bytes"
etag=$(sed -n 's/^ETag: *\(.*\)\r$/\1/ip' b.hdr)
lm=$(sed -n 's/^Last-Modified: *\(.*\)\r$/\1/ip' b.hdr)
ok "$([ -n "$etag" ] && [ -n "$lm" ]; echo $?)" "with ETag and Last-Modified"
: > nm.body
st=$(curl -s -m 20 $AUTH -H "If-None-Match: $etag" -o nm.body -w '%{http_code}' \
	"$B/blocklist?style=plain&verdict=keep,sinkholed")
is "$st" 304 "If-None-Match of the current copy: 304"
is "$(wc -c < nm.body | tr -d ' ')" 0 "without a body"
st=$(curl -s -m 20 $AUTH -H "If-Modified-Since: $lm" -o /dev/null -w '%{http_code}' \
	"$B/blocklist?style=plain&verdict=keep,sinkholed")
is "$st" 304 "If-Modified-Since: 304"
st=$(curl -s -m 20 $AUTH -H 'If-None-Match: "other"' -o /dev/null -w '%{http_code}' \
	"$B/blocklist?style=plain&verdict=keep,sinkholed")
is "$st" 200 "another ETag: the list again"
curl -s -m 20 $AUTH -o rpz1 "$B/blocklist?style=rpz"
curl -s -m 20 $AUTH -o rpz2 "$B/blocklist?style=rpz"
cmp -s rpz1 rpz2
ok $? "rpz: the same zone, serial included, while nothing changed"
st=$(curl -s -m 20 $AUTH -o /dev/null -w '%{http_code}' "$B/blocklist?style=nope")
is "$st" 400 "an unknown style: 400"

# The TAXII collection blocklist: listed, polled, one indicator per destination to keep.
taxii() { # taxii SERVICE BODY-FILE OUT-FILE
	curl -s -m 20 $AUTH -o "$3" -H 'Content-Type: application/xml' \
		-H 'X-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1' \
		-H 'X-TAXII-Accept: urn:taxii.mitre.org:message:xml:1.1' \
		-H 'X-TAXII-Protocol: urn:taxii.mitre.org:protocol:http:1.0' \
		-H 'X-TAXII-Services: urn:taxii.mitre.org:services:1.1' \
		--data-binary "@$2" "$B/taxii/$1"
}
NS='xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1"'
printf '<taxii_11:Collection_Information_Request %s message_id="1"/>' "$NS" > ci.xml
taxii collections ci.xml ci.out
grep -q 'collection_name="blocklist"' ci.out
ok $? "collection information lists blocklist"
printf '<taxii_11:Poll_Request %s message_id="2" collection_name="blocklist">' "$NS" > poll.xml
printf '<taxii_11:Poll_Parameters allow_asynch="false"><taxii_11:Response_Type>FULL' >> poll.xml
printf '</taxii_11:Response_Type></taxii_11:Poll_Parameters></taxii_11:Poll_Request>' >> poll.xml
taxii poll poll.xml poll.out
keep=$("$C" report --json -c n.conf | jq '[.destinations[] | select(.verdict == "keep")] | length')
blocks=$(grep -o '<taxii_11:Content_Block>' poll.out | wc -l | tr -d ' ')
ok "$([ "$blocks" -gt 0 ] && [ "$blocks" -le "$keep" ]; echo $?)" \
	"a poll gives one indicator per destination to keep ($blocks of $keep)"
grep -q 'verdict keep: ' poll.out
ok $? "each with its verdict and evidence"
"$C" report --json -c n.conf | jq -r '.destinations[] | .target + " " + .verdict' |
	grep -q '^http://127.0.1.5:18081/ sinkholed$' && ! grep -q 'http://127.0.1.5:18081/' poll.out
ok $? "a sinkholed destination is not in it"
sd=${SHARED_DIR:-$TOP/../shared}
xmllint --xpath "(//*[local-name()='STIX_Package'])[1]" poll.out > pkg.xml 2> /dev/null
if [ -f "$sd/schemas/taxii/TAXII_XMLMessageBinding_Schema_11.xsd" ] &&
	[ -f "$sd/schemas/stix/validate-stix-1.2.xsd" ] && command -v xmllint > /dev/null; then
	xmllint --noout --schema "$sd/schemas/taxii/TAXII_XMLMessageBinding_Schema_11.xsd" \
		poll.out > v1.log 2>&1
	ok $? "the poll response validates against the TAXII 1.1 schema"
	xmllint --noout --schema "$sd/schemas/stix/validate-stix-1.2.xsd" pkg.xml > v2.log 2>&1
	ok $? "its indicator packages validate against the STIX 1.2 schemas"
else
	skipn "schemas ($sd/schemas) or xmllint not found" 2
fi
printf '<taxii_11:Inbox_Message %s message_id="3"><taxii_11:Destination_Collection_Name>' \
	"$NS" > inbox.xml
printf 'blocklist</taxii_11:Destination_Collection_Name><taxii_11:Content_Block>' >> inbox.xml
printf '<taxii_11:Content_Binding binding_id="urn:stix.mitre.org:xml:1.2"/>' >> inbox.xml
printf '<taxii_11:Content>%s</taxii_11:Content></taxii_11:Content_Block>' "$(cat pkg.xml)" \
	>> inbox.xml
printf '</taxii_11:Inbox_Message>' >> inbox.xml
taxii inbox inbox.xml inbox.out
grep -q 'status_type="DESTINATION_COLLECTION_ERROR"' inbox.out &&
	grep -q 'takes no Inbox content' inbox.out
ok $? "an Inbox into blocklist is refused"

# Headless Chromium, a fresh profile per run, every run bounded.
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	skipn "chromium is not installed (tools/deps.sh installs it)" 14
elif ! timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu \
	--user-data-dir="$T/chr0" --dump-dom about:blank > /dev/null 2> chr0.err; then
	skipn "chromium cannot run here: $(tail -n 1 chr0.err)" 14
else
	# The console check sees what a page prints (else it would pass on anything).
	printf '<p>x</p><script>console.error("planted")</script>' > planted.html
	timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrp" \
		--enable-logging=stderr --v=0 --dump-dom "file://$T/planted.html" > /dev/null 2> p.err
	grep 'CONSOLE' p.err | grep -q planted
	ok $? "the console check catches a planted console error"
	# Chromium takes the credentials in the URL for Basic authentication.
	CB="http://viewer:pw-viewer@127.0.0.1:$PORT_n"
	j=0
	for p in / "/threat/DEMO-RAT?month=2026-11" \
		"/destination?threat=DEMO-RAT&target=http%3A%2F%2F127.0.1.1%3A18081%2Fgate.php" \
		/categories /tables; do
		j=$((j + 1))
		timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars \
			--user-data-dir="$T/chr$j" --window-size=1400,1000 --enable-logging=stderr \
			--v=0 --dump-dom "$CB$p" > "dom$j.html" 2> "dom$j.err"
		timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars \
			--user-data-dir="$T/chs$j" --window-size=1400,1000 \
			--screenshot="$T/shot$j.png" "$CB$p" > /dev/null 2>&1
		sz=$(wc -c < "shot$j.png" 2>/dev/null || echo 0)
		ok "$([ "$sz" -gt 20000 ]; echo $?)" "chromium renders $p ($sz bytes of PNG)"
		# The pages run no script: any console line (a CSP refusal, an error) is wrong.
		err=$(grep 'CONSOLE' "dom$j.err" | head -n 2)
		is "$err" "" "$p: no console message"
	done
	grep -q '<svg' dom2.html && grep -q '<polyline' dom2.html &&
		grep -q 'http://127.0.1.2:18081/panel/' dom2.html
	ok $? "the month's DOM holds its charts and its destinations"
	recs=$("$C" report --json -c n.conf | jq .records)
	grep -q "$recs records" dom1.html
	ok $? "the overview shows report --json's record count ($recs)"
	miss=
	for c in $("$C" report --json -c n.conf | jq '.status_share[].count'); do
		grep -q "<td class=\"n\">$c</td>" dom5.html || miss="$miss $c"
	done
	is "$miss" "" "the tables show report --json's status counts"
fi
stop n
done_testing
