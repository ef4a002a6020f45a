#!/bin/sh
# Merges that are cut off or refused, through real daemons on 127.0.0.1. Node src holds
# $N records; node dst polls it and is killed with -9 in the middle of the merge, twice.
# Restarted, it polls src again from its saved cursor (the start: no merge was complete)
# and takes the rest: nothing lost, nothing twice, the cursor where the complete merge
# left it. Then src itself is killed in the middle of a poll and comes back: dst resumes
# without a gap. Last, dst polls a peer whose answer is larger than any poll may be, a
# peer that refuses its credentials and one that never answers: the first two are logged,
# nothing of theirs is stored, and dst keeps serving and stops when told, whatever the
# third does.
. "$TESTS_SRCDIR/tap.sh"
C=${C2WATCH:?}
FARM=${TESTS_BUILDDIR:?}/c2farm
FILL=${TESTS_BUILDDIR:?}/c2fill
[ -x "$FARM" ] || skip_all "the farm ($FARM) is not built"
[ -x "$FILL" ] || skip_all "c2fill ($FILL) is not built"
cd "$T" || exit 99
. "$TESTS_SRCDIR/daemons.sh"
N=30000
MORE=25000

# conf NAME PORT [PEER-LINES]: a node with the observer off.
conf() {
	{
		printf '[node]\nid = %s\ndata_dir = %s.data\nlog_level = info\n' "$1" "$1"
		printf '[server]\nlisten = 127.0.0.1:%s\n' "$2"
		[ "$1" = locked ] && printf 'users_file = users\n'
		printf '[observer]\nenabled = false\n'
		[ -n "${3:-}" ] && printf '%b' "$3"
	} > "$1.conf"
}

count() {
	ids "$1" | wc -l | tr -d ' '
}

# kb NAME: the disk space NAME's data file takes, KiB: it grows as a merge commit writes.
kb() {
	du -k "$1.data/data.mdb" 2>/dev/null | cut -f1
}

# crash_after_growth NAME KIB [VICTIM]: kills VICTIM (default NAME) with -9 as soon as
# NAME's data file has grown by KIB beyond what it is now (at most 60 s): while a merge
# commit is being written, or just after. Cheap enough to react at once, where counting
# the records would lag behind the merge on a busy machine. 1 if it never grew so much.
crash_after_growth() {
	base=$(kb "$1")
	i=0
	while [ $i -lt 1200 ]; do
		if [ "$(kb "$1")" -gt $((base + $2)) ]; then
			crash "${3:-$1}"
			echo "# ${3:-$1} killed while $1 was writing"
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	echo "# $1's data file did not grow by $2 KiB in 60 s"
	return 1
}

# txn NAME: the id of the last transaction committed to NAME's store: the larger of the
# txnids of LMDB's two meta pages (its data format 1 on a 64-bit machine, 4 KiB pages:
# the magic at byte 16 of each page, the txnid at byte 144), read without opening it.
txn() {
	d_f=$1.data/data.mdb
	[ "$(od -An -t x4 -j 16 -N 4 "$d_f" 2>/dev/null | tr -d ' ')" = beefc0de ] &&
	    [ "$(od -An -t x4 -j 4112 -N 4 "$d_f" 2>/dev/null | tr -d ' ')" = beefc0de ] || {
		echo -1
		return
	}
	d_a=$(od -An -t u8 -j 144 -N 8 "$d_f" | tr -d ' ')
	d_b=$(od -An -t u8 -j 4240 -N 8 "$d_f" | tr -d ' ')
	echo $((d_a > d_b ? d_a : d_b))
}

# crash_after_commit NAME [VICTIM]: kills VICTIM (default NAME) with -9 as soon as NAME has
# committed a transaction beyond those it had (at most 120 s): a merge's batch is then in
# the store, and the next one is being merged. 1 if none came.
crash_after_commit() {
	d_t0=$(txn "$1")
	[ "$d_t0" -ge 0 ] || { echo "# $1.data/data.mdb is not an LMDB file as expected"; return 1; }
	i=0
	while [ $i -lt 2400 ]; do
		if [ "$(txn "$1")" -gt "$d_t0" ]; then
			crash "${2:-$1}"
			echo "# ${2:-$1} killed after $1 committed transaction $(txn "$1")"
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	echo "# $1 committed nothing in 120 s"
	return 1
}

"$FILL" src.data src $N
ok $? "src holds $N records"
conf src 0
start src && pin src
ok $? "src serves them, on a port of the kernel's choosing that it keeps across restarts"
ps=$PORT_src
[ -n "$ps" ] || { echo "Bail out! src did not start"; exit 99; }
ids src > src.ids

conf dst 0 "[peer src]\nurl = http://127.0.0.1:$ps/taxii/poll\ninterval = 1s\n"

# Killed twice in the middle of the merge, the kill landing while a commit is written or
# just after: LMDB keeps either all of a commit or none of it.
start dst
ok $? "dst runs, polling src"
crash_after_growth dst 256
ok $? "dst is killed with -9 while merging"
held1=$(count dst)
[ "$held1" -lt $N ]
ok $? "the merge was cut short ($held1 of $N committed)"
start dst
ok $? "dst restarts after kill -9"
crash_after_commit dst
ok $? "restarted, dst is killed with -9 again, once a batch of the merge is committed"
held2=$(count dst)
[ "$held2" -ge "$held1" ] && [ "$held2" -gt 0 ] && [ "$held2" -lt $N ]
ok $? "what was committed stays, and the merge is part done ($held2 of $N)"
grep -q "peer src: $N blocks" dst.log
ok $((! $?)) "no poll of src was reported complete"

# src serves its feed in label order, so each committed batch moved dst's cursor with it:
# the poll resumes after the last record committed and reads only what is missing.
start dst
ok $? "dst restarts again"
waitlog dst "peer src: [0-9]+ blocks, [0-9]+ new records"
ok $? "restarted again, dst completes the merge"
line=$(grep -E "peer src: [0-9]+ blocks, [0-9]+ new records" dst.log | head -n 1)
has "$line" "$((N - held2)) blocks, $((N - held2)) new records" \
    "the poll resumed at the cursor the cut poll moved: only the $((N - held2)) missing were read"
ids dst > dst.ids
cmp -s src.ids dst.ids
ok $? "dst holds exactly src's records: nothing lost"
is "$(uniq -d dst.ids | wc -l | tr -d ' ')" 0 "nothing twice"
stop dst
ok $? "dst stops"
out=$("$C" poll src -c dst.conf 2>&1)
has "$out" "0 new records" "the cursor is consistent: a poll now brings nothing new"
case "$out" in
*"from the start"*) ok 1 "and starts past the merged records ($out)" ;;
*) ok 0 "and starts past the merged records" ;;
esac

# src is killed in the middle of a poll, then comes back: no gap.
stop src
ok $? "src stops"
"$FILL" src.data src-b $MORE
ok $? "src holds $MORE records more"
start src
ok $? "src restarts"
is "$PORT_src" "$ps" "on its port"
ids src > src.ids
start dst
ok $? "dst restarts"
mark dst
crash_after_commit dst src
ok $? "src is killed with -9 once dst has committed part of what it sends"
waitlog dst "peer src: poll failed"
ok $? "dst logs the failed poll"
held=$(count dst)
[ "$held" -gt $N ] && [ "$held" -lt $((N + MORE)) ]
ok $? "part of it was committed ($held)"
start src
ok $? "src comes back"
is "$PORT_src" "$ps" "on its port"
left=$((N + MORE - held))
waitlog dst "peer src: $left blocks, $left new records"
ok $? "dst finishes the poll after src's return, from where the cut poll's cursor moved ($left left)"
ids dst > dst.ids
cmp -s src.ids dst.ids
ok $? "dst holds all $((N + MORE)) records"
is "$(uniq -d dst.ids | wc -l | tr -d ' ')" 0 "none twice"
stop dst
ok $? "dst stops"

# A peer answering beyond any poll's size, and a peer refusing the credentials.
cat > farm.script <<'EOF'
listen f 127.0.0.1 0
rule f /taxii/poll * huge size=200M type=application/xml
rule f /slow/poll * hold
EOF
farm_start farm.script f || { echo "Bail out! the farm did not start"; exit 99; }
"$FILL" locked.data locked 50
conf locked 0
printf 'right\n' | "$C" user add member --collections observations -c locked.conf
ok $? "node locked takes a user"
start locked
ok $? "node locked serves to that user only"
umask 077
printf 'wrong\n' > wrong.pw
conf dst 0 "[peer src]\nurl = http://127.0.0.1:$ps/taxii/poll\ninterval = 1h\n\
[peer huge]\nurl = http://127.0.0.1:$FPORT/taxii/poll\ninterval = 1h\n\
[peer locked]\nurl = http://127.0.0.1:$PORT_locked/taxii/poll\ninterval = 1h\n\
username = member\npassword_file = wrong.pw\n\
[peer slow]\nurl = http://127.0.0.1:$FPORT/slow/poll\ninterval = 1h\n"
start dst
waitlog dst "peer huge: poll failed"
ok $? "the oversize answer is logged"
grep "peer huge: poll failed" dst.log | grep -Eiq "large|big|exceed|max"
ok $? "as too large"
waitlog dst "peer locked: poll failed"
ok $? "the refused credentials are logged"
grep "peer locked: poll failed" dst.log | grep -q "UNAUTHORIZED"
ok $? "as UNAUTHORIZED"
printf '[node]\nid = probe\ndata_dir = probe.data\n' > probe.conf
out=$("$C" poll --url "http://127.0.0.1:$PORT_dst/taxii/poll" --collection targets \
    -c probe.conf 2>&1)
ok $? "dst keeps serving ($out)"
# The huge and locked polls are over: a connection to the farm still open is dst's poll of
# the peer that never answers.
slow_open() {
	[ "$(ss -Htn state established "( dport = :$FPORT )" | wc -l)" -ge 1 ]
}
waitfor 20 "dst's poll of the slow peer to be under way" slow_open
ok $? "the poll of a peer that never answers is under way"
grep -q "peer slow: poll failed" dst.log
ok $((! $?)) "and still waited for"
t0=$(date +%s)
stop dst
ok $? "dst stops on SIGTERM all the same"
is "$(( $(date +%s) - t0 < 5 ))" 1 "at once (within 5 s)"
is "$GONE_RC" 0 "with exit 0"
ids dst > dst.ids
cmp -s src.ids dst.ids
ok $? "and holds exactly what it held: nothing of theirs stored"
done_testing
