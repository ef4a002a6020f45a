# Shell helpers for the tests that run whole nodes: source it after tap.sh, from $T.
# Every process started here is killed on exit, whatever happens; node NAME runs from
# NAME.conf, logs to NAME.log and is known by PID_NAME and PORT_NAME once started.
pids=
trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT INT TERM

# farm_start SCRIPT LISTENER: runs the C2 farm on SCRIPT, sets FPORT to LISTENER's port.
farm_start() {
	"$FARM" "$1" > farm.out 2>&1 &
	pids="$pids $!"
	waitfor 10 "the farm's listening line" grep -q '^listening' farm.out || return 1
	FPORT=$(awk -v l="$2" '$1 == "listen" && $2 == l { print $4 }' farm.out)
	[ -n "$FPORT" ]
}

# run_seen FILE PID: the port of this run's "listening" line, once FILE (this run's part of
# the log) holds the line "c2watch: running (..., pid PID)" that the daemon prints when
# every component has started: the new process itself, not an earlier run, is listening.
run_seen() {
	awk -v pid="$2" '
		/taxii: listening on 127\.0\.0\.1:/ {
			port = $0; sub(/.*127\.0\.0\.1:/, "", port); sub(/[^0-9].*/, "", port)
		}
		/c2watch: running \(/ && index($0, ", pid " pid ")") { print port; found = 1; exit }
		END { exit !found }' "$1"
}

# alive PID: the process still runs.
alive() {
	kill -0 "$1" 2>/dev/null
}

# start NAME: runs the node and waits (at most 30 s) until this very process says it runs;
# sets PID_NAME and PORT_NAME (the port it listens on). Fails, saying why, when the process
# exits first or is not seen running in time. The log is appended to across restarts: only
# what follows the lines already there is this run's.
start() {
	eval "PORT_$1="
	d_before=$(cat "$1.log" 2>/dev/null | wc -l)
	"$C" run -c "$1.conf" >> "$1.log" 2>&1 &
	d_pid=$!
	pids="$pids $d_pid"
	eval "PID_$1=$d_pid"
	d_end=$(($(date +%s) + 30))
	while :; do
		tail -n +$((d_before + 1)) "$1.log" > "$1.run" 2>/dev/null
		d_p=$(run_seen "$1.run" "$d_pid") && break
		if ! alive "$d_pid"; then
			echo "# $1 (pid $d_pid) exited before it was running; its log:"
			sed 's/^/#   /' "$1.run" | tail -n 20
			return 1
		fi
		if [ "$(date +%s)" -ge "$d_end" ]; then
			echo "# $1 (pid $d_pid) not running after 30 s"
			return 1
		fi
		sleep 0.1
	done
	[ -n "$d_p" ] || { echo "# $1 (pid $d_pid) runs but logged no listening port"; return 1; }
	eval "PORT_$1=$d_p"
}

# gone PID SECONDS: waits (at most SECONDS) for PID to exit and collects its status in
# GONE_RC; 1, saying so, when it is still there.
gone() {
	waitfor "$2" "pid $1 to exit" eval "! alive $1" || return 1
	wait "$1" 2>/dev/null
	GONE_RC=$?
}

# stop NAME: SIGTERM, and waits (at most 30 s) for the node to exit; one that does not is
# killed with -9 and stop fails.
stop() {
	eval "d_pid=\$PID_$1"
	kill "$d_pid" 2>/dev/null
	if ! gone "$d_pid" 30; then
		echo "# $1 (pid $d_pid) ignored SIGTERM for 30 s"
		kill -9 "$d_pid" 2>/dev/null
		return 1
	fi
}

# crash NAME: SIGKILL, no chance to clean up.
crash() {
	eval "d_pid=\$PID_$1"
	kill -9 "$d_pid" 2>/dev/null
	gone "$d_pid" 10
}

# mark NAME: remembers how far NAME's log goes now; logged NAME ERE then looks only at what
# was logged since, so an old line cannot stand in for a new event.
mark() {
	eval "MARK_$1=$(cat "$1.log" 2>/dev/null | wc -l)"
}
logged() {
	eval "d_m=\${MARK_$1:-0}"
	tail -n +$((d_m + 1)) "$1.log" 2>/dev/null | grep -Eq "$2"
}

# waitlog NAME PATTERN: waits (at most 120 s) for an extended regex in NAME.log, in what
# was logged since `mark NAME` (or ever, without a mark). A line follows the event it
# tells of, so a test that saw the event still waits for its line.
waitlog() {
	i=0
	while [ $i -lt 1200 ]; do
		logged "$1" "$2" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# no line matching \"$2\" in $1.log after 120 s"
	return 1
}

# pin NAME: NAME's config keeps the port it listens on, so that a restarted NAME comes
# back where its peers poll or push to it.
pin() {
	eval "d_p=\$PORT_$1"
	sed -i "s/^listen = 127\.0\.0\.1:0\$/listen = 127.0.0.1:$d_p/" "$1.conf"
	grep -q "^listen = 127.0.0.1:$d_p\$" "$1.conf"
}

# ids NAME: the sorted record ids NAME holds.
ids() {
	"$C" export --format json -c "$1.conf" 2>/dev/null | grep -o '"id":"[0-9a-f]*"' | sort
}
