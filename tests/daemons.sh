# Shell helpers for the tests that run whole nodes: source it after tap.sh, from $T.
# Every process started here is killed on exit, whatever happens; node NAME runs from
# NAME.conf, logs to NAME.log and is known by PID_NAME and PORT_NAME once started.
pids=
trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT INT TERM

# farm_start SCRIPT LISTENER: runs the C2 farm on SCRIPT, sets FPORT to LISTENER's port.
farm_start() {
	"$FARM" "$1" > farm.out 2>&1 &
	pids="$pids $!"
	i=0
	while ! grep -q '^listening' farm.out 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	FPORT=$(awk -v l="$2" '$1 == "listen" && $2 == l { print $4 }' farm.out)
	[ -n "$FPORT" ]
}

# listening NAME: how many "listening" lines NAME's log holds (0 when there is no log yet).
listening() {
	n=$(grep -c 'taxii: listening' "$1.log" 2>/dev/null)
	echo "${n:-0}"
}

# start NAME: runs the node, waits (at most 30 s) for its "listening" line, sets PID_NAME
# and PORT_NAME. The log is appended to across restarts: only a "listening" line beyond
# those already there is this run's.
start() {
	seen=$(listening "$1")
	"$C" run -c "$1.conf" >> "$1.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	eval "PID_$1=$pid"
	i=0
	while [ "$(listening "$1")" -le "$seen" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	p=$(sed -n 's/.*taxii: listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$1.log" | tail -n 1)
	eval "PORT_$1=$p"
	[ -n "$p" ]
}

# stop NAME: SIGTERM, and waits for the node to exit.
stop() {
	eval "pid=\$PID_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# crash NAME: SIGKILL, no chance to clean up.
crash() {
	eval "pid=\$PID_$1"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# ids NAME: the sorted record ids NAME holds.
ids() {
	"$C" export --format json -c "$1.conf" 2>/dev/null | grep -o '"id":"[0-9a-f]*"' | sort
}
