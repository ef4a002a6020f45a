#!/bin/sh
# Signed records between real daemons: member A observes the farm and signs its records,
# hub H polls A, and receivers R (unknown = accept) and S (unknown = refuse) poll H with
# A's key in their keys_file. H is made to hold one of A's records altered and one forged
# in A's name (imported from doctored packages: H lists nobody, so it takes them). R and S
# must refuse exactly those two, logging their ids and origin, and take everything else;
# S also refuses the records of member B, whom it does not list. Records A held before it
# had a key are signed on first use of the key and when its daemon starts, and verify at R.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
FARM=${TESTS_BUILDDIR:?}/c2farm
PACK=${TESTS_BUILDDIR:?}/c2pack
FILL=${TESTS_BUILDDIR:?}/c2fill
[ -x "$FARM" ] || skip_all "the farm ($FARM) is not built"
[ -x "$PACK" ] || skip_all "c2pack ($PACK) is not built"
[ -x "$FILL" ] || skip_all "c2fill ($FILL) is not built"
cd "$T" || exit 99
. "$TESTS_SRCDIR/daemons.sh"

cat > farm.script <<'EOF'
listen g 127.0.0.1 0
rule g /robots.txt * page status=404 body=none
rule g /gate.php * page server=c2 type=text/html body=gate
rule g /panel/ * page status=403 body=no
rule g /x/ * page status=200 body=x
EOF
farm_start farm.script g || { echo "Bail out! the farm did not start"; exit 99; }
fport=$FPORT
cat > targets.csv <<EOF
threat_id,url,summary
TR,http://127.0.0.1:$fport/gate.php,gate
TR,http://127.0.0.1:$fport/panel/,panel
TR,http://127.0.0.1:$fport/x/,x
EOF

# conf NAME PORT OBSERVE UNKNOWN PEERS...: PEERS are "name=port" pairs; UNKNOWN is the
# [trust] unknown policy, with NAME.keys as keys_file ("-": no [trust] section).
conf() {
	name=$1 port=$2 observe=$3 unknown=$4
	shift 4
	{
		printf '[node]\nid = %s\ndata_dir = %s.data\nlog_level = info\n' "$name" "$name"
		printf '[server]\nlisten = 127.0.0.1:%s\n' "$port"
		printf '[observer]\nenabled = %s\ninterval = 1d\nallow_private = true\n' "$observe"
		printf 'ping_count = 0\nhost_spacing = 10ms\ntimeout = 3s\nconnect_timeout = 1s\n'
		for p in "$@"; do
			printf '[peer %s]\nurl = http://127.0.0.1:%s/taxii/poll\ninterval = 1s\n' \
			    "${p%%=*}" "${p#*=}"
		done
		if [ "$unknown" != - ]; then
			printf '[trust]\nkeys_file = %s.keys\nunknown = %s\n' "$name" "$unknown"
		fi
	} > "$name.conf"
}

# holds NAME COUNT: waits (at most 40 s) until NAME holds COUNT records.
holds() {
	i=0
	while [ $i -lt 200 ]; do
		[ "$(ids "$1" | wc -l)" -eq "$2" ] && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# Ports: every daemon once with a kernel-chosen one.
for n in a h r s; do
	conf $n 0 false -
	start $n || { echo "Bail out! $n did not start"; exit 99; }
	stop $n
	rm -rf $n.data
done
pa=$PORT_a ph=$PORT_h pr=$PORT_r ps=$PORT_s
rm -f ./*.log

conf a "$pa" true -
conf h "$ph" false - a="$pa"
conf r "$pr" false accept h="$ph"
conf s "$ps" false refuse h="$ph"
conf b 0 false -

# Two records A made before it had a key (as an older c2watch made them): unsigned.
"$FILL" a.data a 2 > /dev/null 2>&1
ok $? "A holds two records from before signing"
[ ! -e a.data/node.key ]
ok $? "and no key yet"

# A's key, and the line the receivers list.
"$C" key show -c a.conf > a.pub 2> a.keyerr
ok $? "key show makes A's key on first use"
has "$(cat a.keyerr)" "a new key made" "and says so"
is "$(stat -c %a a.data/node.key)" 600 "the key file is mode 0600"
grep -qE '^a ed25519:[A-Za-z0-9+/]{43}=$' a.pub
ok $? "key show prints NODE-ID ed25519:BASE64"
"$C" key show -c a.conf > a.pub2 2> a.keyerr2
cmp -s a.pub a.pub2 && [ ! -s a.keyerr2 ]
ok $? "the same key the second time, no new one made"
cp a.pub r.keys
cp a.pub s.keys

"$C" import targets.csv -c a.conf > /dev/null
"$C" observe --once -c a.conf > a.observe 2>&1
ok $? "A observes the farm"
has "$(cat a.observe)" "signed 2 records this node made before" \
    "its two older records are signed on the way"
"$C" observe --once -c a.conf > /dev/null 2>&1
"$C" export --format json -c a.conf > a.json
is "$(grep -c '"sig":"ed25519:' a.json)" 8 "all eight of A's records are signed"

# B's records: unsigned, of a node nobody lists.
"$FILL" b.data b 2 > /dev/null 2>&1
"$C" export --format json -c b.conf > b.json

# What the hostile hub holds before it ever polls A: one of A's records altered (same id,
# a field changed) and one forged in A's name (its own valid id, signed with H's key).
"$C" key show -c h.conf > /dev/null 2>&1
"$PACK" a.json 3 --set vantage=osaka > altered.xml 2> altered.id
ok $? "a package of one of A's records, altered"
"$PACK" a.json 4 --time 2026-01-02T03:04:05.000000Z --set vantage=forged \
    --sign h.data/node.key > forged.xml 2> forged.id
ok $? "a package of a record forged in A's name"
altered=$(cat altered.id) forged=$(cat forged.id)
"$C" import altered.xml --format stix -c h.conf > /dev/null 2>&1
ok $? "H takes the altered record (it lists nobody)"
"$C" import forged.xml --format stix -c h.conf > /dev/null 2>&1
ok $? "and the forged one"
for i in 0 1; do
	"$PACK" b.json $i > b$i.xml 2> /dev/null
	"$C" import b$i.xml --format stix -c h.conf > /dev/null 2>&1
done

# A's own check: the altered record, imported back, rejects the file.
out=$("$C" import altered.xml --format stix -c a.conf 2>&1)
rc=$?
is "$rc" 2 "A refuses its own record altered, from a file (exit 2)"
has "$out" "record $altered of node a refused" "naming it and its origin"

for n in a h r s; do
	start $n
	ok $? "$n runs"
done
holds h 11
ok $? "H holds A's eight (one altered), the forged one and B's two"
holds r 9
ok $? "R holds nine records"
holds s 7
ok $? "S holds seven"
sleep 2 # a few more polls: nothing more arrives

ids h > h.ids
ids r > r.ids
ids s > s.ids
grep -v -e "$altered" -e "$forged" h.ids > want.ids
cmp -s want.ids r.ids
ok $? "R: everything but the altered and the forged record"
is "$(grep -c -e "$altered" -e "$forged" r.ids)" 0 "neither of them"
waitlog r "record $altered of node a refused: signature does not verify"
ok $? "R logs the altered record with its id and origin"
grep -q "record $forged of node a refused: signed with a key that is not the node's" r.log
ok $? "R logs the forged record with its id and origin"
is "$(grep -c 'of node [a-z]* refused:' r.log | tr -d ' ')" \
    "$(grep -c -e "$altered" -e "$forged" r.log | tr -d ' ')" "and nothing else is refused"
b_ids=$(grep -o '"id":"[0-9a-f]*"' b.json | sort)
is "$(printf '%s\n' "$b_ids" | grep -c -F -f - r.ids)" 2 \
    "R takes B's unsigned records (unknown = accept)"

grep -v -e "$altered" -e "$forged" h.ids | grep -v -F "$b_ids" > want_s.ids
cmp -s want_s.ids s.ids
ok $? "S: A's records but the altered one, nothing of B's nor the forged one"
grep -q "record $forged of node a refused" s.log && grep -q "record $altered of node a refused" s.log
ok $? "S logs the two"
is "$(grep -c 'of node b refused: the node is not in the trusted keys' s.log)" 2 \
    "S refuses B's records, naming node b (unknown = refuse)"

# The upgrade at daemon start: one more record of A's from before signing (as a restored
# older store would hold) is signed when the daemon starts, verifies at R, and only once.
stop a
"$FILL" a.data a 3 > /dev/null 2>&1
start a
ok $? "A restarts"
is "$(grep -c 'signed 1 record this node made before records were signed' a.log)" 1 \
    "the daemon signs the one unsigned record of its own at start"
is "$("$C" export --format json -c a.conf | grep -c '"sig":"ed25519:')" 9 \
    "all nine of A's records are signed"
holds r 10
ok $? "it reaches R through H and verifies there"
stop a
start a
is "$(grep -c 'signed [0-9]* record' a.log)" 1 "the next start has nothing left to sign"

# A rotates its key: the records signed before still verify at A itself.
"$C" key rotate -c a.conf > a.rot
ok $? "key rotate"
is "$(wc -l < a.data/node.key.pub.old)" 1 "the old public key is kept"
old=$(sed 's/^a //' a.pub)
is "$(cat a.data/node.key.pub.old)" "$old" "it is the key A had"
"$PACK" a.json 5 > old.xml 2> /dev/null
out=$("$C" import old.xml --format stix -c a.conf 2>&1)
ok $? "a record signed with the old key still verifies at A"
"$C" key show -c a.conf > a.pub3
! cmp -s a.pub a.pub3
ok $? "key show prints the new key"

chmod 640 a.data/node.key
"$C" key show -c a.conf > /dev/null 2> loose.err
[ $? -ne 0 ]
ok $? "a key file group can read is refused"
has "$(cat loose.err)" "readable or writable by group or others" "and says why"
chmod 600 a.data/node.key

for n in a h r s; do
	stop $n
done
done_testing
