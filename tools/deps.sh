#!/bin/sh
# Installs the Debian 12 packages c2watch builds and tests with (run as root).
set -e
pkgs="build-essential autoconf automake pkg-config clang
 libcurl4-openssl-dev libxml2-dev libxml2-utils libssl-dev libmicrohttpd-dev liblmdb-dev liblz4-dev
 libjansson-dev libmagic-dev libfuzzy-dev libinih-dev libc-ares-dev libpsl-dev libidn2-dev
 libgnutls28-dev
 curl iproute2 iputils-ping jq openssl mandoc systemd bind9-utils chromium
 dpkg-dev debhelper lintian fakeroot"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
else
	echo "deps: all packages present"
fi
