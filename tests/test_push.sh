#!/bin/sh
# Subscriptions through real daemons: node b subscribes to node a's observations with
# plain curl, as any TAXII 1.1 client would, giving its own inbox as the push address;
# a's daemon then pushes what it observes to b. Every answer is checked against the TAXII
# 1.1 XSD (xmllint) when SHARED_DIR has it. PAUSE holds the pushes back, RESUME delivers
# them with none missing, UNSUBSCRIBE ends them. Last, a third node with a [peer] whose
# push = true sends its own records to b's inbox, and only its own, and a fourth pushes
# to an HTTPS peer trusting that peer's ca_file.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
FARM=${TESTS_BUILDDIR:?}/c2farm
[ -x "$FARM" ] || skip_all "the farm ($FARM) is not built"
command -v curl > /dev/null 2>&1 || skip_all "no curl command"
cd "$T" || exit 99
. "$TESTS_SRCDIR/daemons.sh"

XSD=${SHARED_DIR:-}/schemas/taxii/TAXII_XMLMessageBinding_Schema_11.xsd
check_xsd=0
if ! command -v xmllint > /dev/null 2>&1; then
	skip "answers checked against the TAXII 1.1 XSD" "xmllint (libxml2-utils) is not installed"
elif [ ! -f "$XSD" ]; then
	skip "answers checked against the TAXII 1.1 XSD" "SHARED_DIR has no $XSD"
else
	check_xsd=1
fi

cat > farm.script <<'EOF'
listen g 127.0.0.1 0
rule g /robots.txt * page status=404 body=none
rule g /gate.php * page server=c2 type=text/html body=gate
rule g /panel/ * page status=403 body=no
EOF
farm_start farm.script g || { echo "Bail out! the farm did not start"; exit 99; }
fport=$FPORT

cat > targets.csv <<EOF
threat_id,url,summary
SUB-T,http://127.0.0.1:$fport/gate.php,gate
SUB-T,http://127.0.0.1:$fport/panel/,panel
EOF

# conf NAME OBSERVE
conf() {
	{
		printf '[node]\nid = %s\ndata_dir = %s.data\nlog_level = info\n' "$1" "$1"
		printf '[server]\nlisten = 127.0.0.1:0\nallow_private_push = true\n'
		printf '[observer]\nenabled = %s\ninterval = 1d\nallow_private = true\n' "$2"
		printf 'ping_count = 0\nhost_spacing = 10ms\ntimeout = 3s\nconnect_timeout = 1s\n'
	} > "$1.conf"
}

# same COUNT: waits (at most 20 s) until b holds exactly a's COUNT records.
same() {
	i=0
	while [ $i -lt 100 ]; do
		ids a > a.ids
		ids b > b.ids
		cmp -s a.ids b.ids && [ "$(wc -l < a.ids)" -eq "$1" ] && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# same_count NAME COUNT: waits (at most 20 s) for NAME to hold COUNT records.
holds() {
	[ "$(ids "$1" | wc -l)" -eq "$2" ]
}
same_count() {
	waitfor 20 "$1 to hold $2 records" holds "$1" "$2" || { echo "#   it holds $(ids "$1" | wc -l)"; return 1; }
}

# manage ACTION [ID [PUSH_ADDRESS]]: one Subscription_Management_Request to a; the answer
# in ACTION.xml, checked against the XSD.
manage() {
	{
		printf '<taxii_11:Subscription_Management_Request '
		printf 'xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1" '
		printf 'message_id="%s" action="%s" collection_name="observations">' "$$" "$1"
		[ -n "$2" ] && printf '<taxii_11:Subscription_ID>%s</taxii_11:Subscription_ID>' "$2"
		if [ -n "$3" ]; then
			printf '<taxii_11:Push_Parameters>'
			printf '<taxii_11:Protocol_Binding>urn:taxii.mitre.org:protocol:http:1.0'
			printf '</taxii_11:Protocol_Binding><taxii_11:Address>%s</taxii_11:Address>' "$3"
			printf '<taxii_11:Message_Binding>urn:taxii.mitre.org:message:xml:1.1'
			printf '</taxii_11:Message_Binding></taxii_11:Push_Parameters>'
		fi
		printf '</taxii_11:Subscription_Management_Request>\n'
	} > "$1.req"
	curl -s --noproxy '*' -o "$1.xml" -X POST --data-binary "@$1.req" \
	    -H 'Content-Type: application/xml' \
	    -H 'X-TAXII-Content-Type: urn:taxii.mitre.org:message:xml:1.1' \
	    -H 'X-TAXII-Accept: urn:taxii.mitre.org:message:xml:1.1' \
	    -H 'X-TAXII-Services: urn:taxii.mitre.org:services:1.1' \
	    -H 'X-TAXII-Protocol: urn:taxii.mitre.org:protocol:http:1.0' \
	    "http://127.0.0.1:$PORT_a/taxii/collections" || return 1
	[ $check_xsd = 0 ] || xmllint --noout --nonet --schema "$XSD" "$1.xml" 2> "$1.xsd"
}

# status FILE: the status attribute of the one Subscription in an answer.
status() {
	sed -n 's/.*<taxii_11:Subscription status="\([A-Z]*\)".*/\1/p' "$1"
}

conf a true
conf b false
conf w false
start a && start b && start w && pin b
ok $? "three nodes run (b subscribes, w witnesses the pushes)"
"$C" import targets.csv -c a.conf > /dev/null
ok $? "a has targets"

manage SUBSCRIBE "" "http://127.0.0.1:$PORT_b/taxii/inbox"
ok $? "SUBSCRIBE answer is valid TAXII 1.1"
is "$(status SUBSCRIBE.xml)" ACTIVE "b's subscription to a is ACTIVE"
id=$(sed -n 's/.*<taxii_11:Subscription_ID>\([^<]*\)<.*/\1/p' SUBSCRIBE.xml)
has "$id" "urn:c2watch:subscription:" "with its Subscription_ID"
grep -q "http://127.0.0.1:$PORT_b/taxii/inbox" SUBSCRIBE.xml
ok $? "and b's inbox as its push address"

"$C" observe --once -c a.conf > /dev/null 2>&1
ok $? "a observes the farm"
same 2
ok $? "a's daemon pushes both records to b"
waitlog a 'push: subscription .*2 records delivered'
ok $? "and logs the delivery"

manage PAUSE "$id"
ok $? "PAUSE answer is valid"
is "$(status PAUSE.xml)" PAUSED "the subscription is PAUSED"
# w subscribes too: once a's pusher has delivered the new records to w, it has had its
# chance to push them to b as well.
manage SUBSCRIBE "" "http://127.0.0.1:$PORT_w/taxii/inbox" && mv SUBSCRIBE.xml W.xml
is "$(status W.xml)" ACTIVE "a second subscription, w's, is ACTIVE"
"$C" observe --once -c a.conf > /dev/null 2>&1
same_count w 2
ok $? "w gets all four records"
is "$(ids b | wc -l)" 2 "paused: b gets nothing new meanwhile"

manage RESUME "$id"
is "$(status RESUME.xml)" ACTIVE "RESUME: ACTIVE again"
same 4
ok $? "resumed: b gets the records it missed, all four"

pb=$PORT_b
stop b
ok $? "b stops"
mark a
"$C" observe --once -c a.conf > /dev/null 2>&1
waitfor 20 "a's push to b to fail" logged a "push: subscription $id: .*Couldn.t connect"
ok $? "b down: a logs the failed push"
# b comes back on the same port: the push address a holds.
start b
ok $? "b restarts"
is "$PORT_b" "$pb" "on its port"
same 6
ok $? "after its backoff a delivers what b missed, nothing lost"

manage UNSUBSCRIBE "$id"
is "$(status UNSUBSCRIBE.xml)" UNSUBSCRIBED "UNSUBSCRIBE"
"$C" observe --once -c a.conf > /dev/null 2>&1
same_count w 6
ok $? "w, still subscribed, gets the two new records"
is "$(ids b | wc -l)" 6 "ended: nothing more reaches b meanwhile"

manage STATUS "urn:c2watch:subscription:nope"
grep -q 'status_type="NOT_FOUND"' STATUS.xml
ok $? "STATUS of an unknown id: NOT_FOUND"

# [peer] push = true: c sends its own records to b's inbox, and only its own.
FILL=$TESTS_BUILDDIR/c2fill
if [ -x "$FILL" ]; then
	"$FILL" c.data c 300
	conf c false
	sed -i 's/^log_level = info/log_level = debug/' c.conf # a line for every poll round
	printf '[peer b]\nurl = http://127.0.0.1:%s/taxii/poll\ninterval = 1s\npush = true\n' \
	    "$PORT_b" >> c.conf
	before=$(ids b | wc -l)
	start c
	ok $? "c runs with push = true towards b"
	same_count b $((before + 300))
	ok $? "b receives c's 300 records through its inbox"
	waitfor 10 "c to log its push" grep -q 'peer b: pushed 300 records' c.log
	ok $? "c logs the push"
	same_count c $((before + 300))
	ok $? "c merges b's records by polling b"
	# Each round polls, then pushes: after three more polls, two whole rounds have passed.
	mark c
	polls() {
		eval "pm=\$MARK_c"
		[ "$(tail -n +$((pm + 1)) c.log | grep -c 'peer b: [0-9]* blocks\?,')" -ge 3 ]
	}
	waitfor 20 "three more rounds of c's peer loop" polls
	ok $? "c goes on polling b"
	is "$(grep -c 'peer b: pushed' c.log)" 1 \
	    "c pushed once: b's records, merged since, are not pushed back"
	stop c

	# Over HTTPS to a peer whose certificate only its ca_file vouches for: the push
	# trusts that file (the system's CAs would refuse the certificate).
	cp "$TESTS_SRCDIR/data/taxii/tls/cert.pem" "$TESTS_SRCDIR/data/taxii/tls/key.pem" .
	chmod 600 key.pem
	{
		printf '[node]\nid = t\ndata_dir = t.data\nlog_level = info\n'
		printf '[server]\nlisten = 127.0.0.1:0\ntls_cert = cert.pem\ntls_key = key.pem\n'
		printf '[observer]\nenabled = false\n'
	} > t.conf
	"$FILL" d.data d 50
	conf d false
	start t
	ok $? "t serves HTTPS"
	printf '[peer t]\nurl = https://127.0.0.1:%s/taxii/poll\ninterval = 1s\npush = true\n' \
	    "$PORT_t" >> d.conf
	printf 'ca_file = cert.pem\n' >> d.conf
	start d
	ok $? "d runs with push = true towards t over HTTPS, with t's ca_file"
	same_count t 50
	ok $? "t receives d's 50 records pushed over HTTPS"
	waitlog d 'peer t: pushed 50 records'
	ok $? "d logs the push"
	stop d
	stop t
else
	skip "[peer] push = true" "c2fill ($FILL) is not built"
fi

stop a
stop b
done_testing
