#!/bin/bash
# Writes a generated history of the demo destinations (conf/demo/targets.csv) as JSON
# records, one a line, for `c2watch import --format json`: DAYS days (default 35) of
# 4-hourly observations from two vantages ending at END (seconds since the epoch; default
# now), so a fresh demo node has months, categories and verdicts to show.
# Usage: demo_history.sh [END [DAYS]] > history.json
set -eu
end=${1:-$(date +%s)}
days=${2:-35}
end=$((end / 14400 * 14400))
start=$((end - days * 86400))
# Bodies: their SHA-256 stands for the content (no ssdeep: every change counts as large).
body_a=$(printf 'gate v1' | sha256sum | cut -c1-64)
body_b=$(printf 'gate v2' | sha256sum | cut -c1-64)
body_404=$(printf 'not found' | sha256sum | cut -c1-64)
body_load=$(printf 'payload' | sha256sum | cut -c1-64)
body_sink=$(printf 'demo sinkhole page' | sha256sum | cut -c1-64)

# rec THREAT NODE VANTAGE T INPUT IPV4 PORT PING_RECV HTTP_JSON ERROR_JSON ROBOTS_PRESENT
rec() {
	local at id
	at=$(date -u -d "@$4" +%Y-%m-%dT%H:%M:%SZ)
	id=$(printf '%s\0%s\0%s\0' "$2" "$5" "$(date -u -d "@$4" +%Y-%m-%dT%H:%M:%S.000000Z)" |
		sha256sum | cut -c1-64)
	local loss=$(( (2 - $8) * 50 ))
	printf '{"id":"%s","threat_id":"%s","node":"%s","vantage":"%s","observed_at":"%s",' \
		"$id" "$1" "$2" "$3" "$at"
	printf '"target":{"input":"%s","domain":null,"ipv4":["%s"],"ipv6":[],"port":%s},' \
		"$5" "$6" "$7"
	printf '"ping":{"sent":2,"received":%s,"loss_pct":%s},' "$8" "$loss"
	printf '"robots":{"status":%s,"present":%s,"allowed":true},' \
		"$([ "${11}" = true ] && echo 200 || echo 404)" "${11}"
	printf '"http":%s,"error":%s}\n' "$9" "${10}"
}

http() { # STATUS REASON SHA
	printf '{"status":%s,"reason":"%s","content_type":"text/html","server":"nginx",' "$1" "$2"
	printf '"location":null,"redirects":[],"size":120,"truncated":false,"sha256":"%s"}' "$3"
}
none='null'
timeout='{"kind":"timeout","detail":"no answer in 5 s"}'
refused='{"kind":"refused","detail":"connection refused"}'

for ((t = start; t < end; t += 14400)); do
	day=$(( (t - start) / 86400 ))
	hour=$(( (t / 3600) % 24 ))
	for v in osaka frankfurt; do
		node=demo-peer-$v
		tv=$t
		[ $v = frankfurt ] && tv=$((t + 600))
		# The gate sleeps at night (UTC 0-8), changed its content on day 20, and
		# answers Frankfurt 403 in its last week (it cloaks from Europe).
		if [ $hour -lt 8 ]; then
			rec DEMO-RAT $node $v $tv http://127.0.1.1:18081/gate.php 127.0.1.1 18081 0 \
				"$none" "$timeout" false
		elif [ $v = frankfurt ] && [ $day -ge $((days - 7)) ]; then
			rec DEMO-RAT $node $v $tv http://127.0.1.1:18081/gate.php 127.0.1.1 18081 2 \
				"$(http 403 Forbidden "$body_404")" "$none" true
		else
			b=$body_a
			[ $day -ge 20 ] && b=$body_b
			rec DEMO-RAT $node $v $tv http://127.0.1.1:18081/gate.php 127.0.1.1 18081 2 \
				"$(http 200 OK "$b")" "$none" true
		fi
		rec DEMO-RAT $node $v $tv http://127.0.1.2:18081/panel/ 127.0.1.2 18081 2 \
			"$(http 404 'Not Found' "$body_404")" "$none" false
		rec DEMO-RAT $node $v $tv 127.0.1.3 127.0.1.3 0 2 "$none" "$refused" false
		# The payload server answered its first four days, then went silent.
		if [ $day -lt 4 ]; then
			rec DEMO-LOADER $node $v $tv http://127.0.1.4:18081/load.bin 127.0.1.4 18081 1 \
				"$(http 200 OK "$body_load")" "$none" false
		else
			rec DEMO-LOADER $node $v $tv http://127.0.1.4:18081/load.bin 127.0.1.4 18081 0 \
				"$none" "$timeout" false
		fi
		rec DEMO-LOADER $node $v $tv http://127.0.1.5:18081/ 127.0.1.5 18081 2 \
			"$(http 200 OK "$body_sink")" "$none" true
	done
done
echo "sha256 $body_sink demo sinkhole page" >&2
