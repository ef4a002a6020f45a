#!/bin/sh
# Federation through real daemons: three member nodes and a hub, each a `c2watch run`
# process with its own config and data directory on 127.0.0.1. Members observe the
# simulated C2 farm, the hub polls them and they poll the hub, until every node holds the
# same records (same ids, none twice, three origins). Then a member is killed with -9 and
# restarted, the hub is down for several intervals, and a member polls a peer that answers
# garbage: nothing lost, nothing duplicated, everyone keeps serving.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
FARM=${TESTS_BUILDDIR:?}/c2farm
[ -x "$FARM" ] || skip_all "the farm ($FARM) is not built"
cd "$T" || exit 99
. "$TESTS_SRCDIR/daemons.sh"

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
HUB-T,http://127.0.0.1:$fport/gate.php,gate
HUB-T,http://127.0.0.1:$fport/panel/,panel
EOF

# conf NAME PORT OBSERVE PEERS...: PEERS are "name=port" pairs.
conf() {
	name=$1 port=$2 observe=$3
	shift 3
	{
		printf '[node]\nid = %s\ndata_dir = %s.data\nlog_level = info\n' "$name" "$name"
		printf '[server]\nlisten = 127.0.0.1:%s\n' "$port"
		printf '[observer]\nenabled = %s\ninterval = 1d\nallow_private = true\n' "$observe"
		printf 'ping_count = 0\nhost_spacing = 10ms\ntimeout = 3s\nconnect_timeout = 1s\n'
		for p in "$@"; do
			printf '[peer %s]\nurl = http://127.0.0.1:%s/taxii/poll\ninterval = 1s\n' \
			    "${p%%=*}" "${p#*=}"
		done
	} > "$name.conf"
}


# converge COUNT: waits (at most 40 s) until every node holds the same COUNT ids.
converge() {
	want=$1
	i=0
	while [ $i -lt 200 ]; do
		ids hub > hub.ids
		same=1
		for n in a b c; do
			ids $n > $n.ids
			cmp -s hub.ids $n.ids || same=0
		done
		[ $same = 1 ] && [ "$(wc -l < hub.ids)" -eq "$want" ] && return 0
		sleep 0.2
		i=$((i + 1))
	done
	echo "# not converged on $want records: hub $(wc -l < hub.ids), a $(wc -l < a.ids)," \
	    "b $(wc -l < b.ids), c $(wc -l < c.ids)"
	return 1
}

# The hub first, on a port of the kernel's choosing, without peers: the members need its
# port. Then the members, each on a port of its own choosing, polling the hub. Last the hub
# restarts where it was, now polling them. Every restart below comes back on the port the
# node first bound, as its peers expect.
conf hub 0 false
start hub || { echo "Bail out! hub did not start"; exit 99; }
pin hub || { echo "Bail out! hub's port not kept"; exit 99; }
ph=$PORT_hub
conf a 0 true hub="$ph"
conf b 0 true hub="$ph"
conf c 0 true hub="$ph" junk="$fport"
sed -i "s#http://127.0.0.1:$fport/taxii/poll#http://127.0.0.1:$fport/gate.php#" c.conf
for n in a b c; do
	start $n && pin $n
	ok $? "$n runs"
done
pa=$PORT_a pb=$PORT_b pc=$PORT_c
stop hub
conf hub "$ph" false a="$pa" b="$pb" c="$pc"
start hub
ok $? "hub runs, polling the three members"
is "$PORT_hub" "$ph" "on the port it first bound"

for n in a b c; do
	"$C" import targets.csv -c $n.conf > /dev/null
	"$C" observe --once -c $n.conf > $n.observe 2>&1
	ok $? "member $n observes the farm"
done
converge 6
ok $? "every node holds the same six records"
is "$(uniq -d hub.ids | wc -l)" 0 "none of them twice"
origins=$("$C" export --format json -c hub.conf | grep -o '"node":"[a-z]*"' | sort -u | tr '\n' ' ')
is "$origins" '"node":"a" "node":"b" "node":"c" ' "three origins, kept through the hub"

# kill -9 a member, observe while it is down, restart it.
crash b
"$C" observe --once -c b.conf > /dev/null 2>&1
start b
ok $? "b restarts after kill -9"
is "$PORT_b" "$pb" "on its port"
converge 8
ok $? "its new records reach every node, nothing lost"
is "$(uniq -d a.ids | wc -l)" 0 "and nothing duplicated"

# The hub is down for several intervals; a member observes meanwhile.
for n in a b c; do
	mark $n
done
stop hub
ok $? "the hub stops on SIGTERM"
"$C" observe --once -c a.conf > /dev/null 2>&1
for n in a b c; do
	waitfor 20 "$n to find the hub gone" logged $n 'peer hub: poll failed'
	ok $? "member $n logs the hub's absence"
done
start hub
ok $? "the hub comes back"
is "$PORT_hub" "$ph" "on its port"
converge 10
ok $? "polling resumes without a gap: every node holds all ten records"

# A peer answering garbage: logged, nothing stored, c keeps serving.
waitfor 10 "c's poll of junk to fail" grep -q 'peer junk: poll failed' c.log
ok $? "a peer answering garbage is logged"
printf '[node]\nid = probe\ndata_dir = probe.data\n' > probe.conf
out=$("$C" poll --url "http://127.0.0.1:$pc/taxii/poll" --collection observations -c probe.conf 2>&1)
has "$out" "10 new records" "c still serves its records to a poller"

for n in hub a b c; do
	stop $n && [ "$GONE_RC" -eq 0 ] && tail -n 1 $n.log | grep -q 'stopped'
	ok $? "$n stops cleanly on SIGTERM (exit 0, \"stopped\" logged last)"
done
done_testing
