/* conf: the INI config file — every key and its type, every kind of bad input reported
 * as FILE:LINE: key: what, secret file modes, and conf_print read back unchanged. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "record/record.h"
#include "tests/tap.h"

static char tmpdir[PATH_MAX];

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX + 64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	if (fp == NULL) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(99);
	}
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

static char *
print_conf(const struct conf *c)
{
	char *text = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&text, &n);

	if (fp == NULL)
		exit(99);
	conf_print(c, fp);
	fclose(fp);
	return text;
}

#define BASE "[node]\nid = n1\ndata_dir = /var/lib/x\n"

/* Loads BASE + `extra` and checks the error is exactly `want`. */
static void
bad(const char *extra, const char *want)
{
	char text[4096];
	struct conf_err err;
	struct conf *c;

	snprintf(text, sizeof(text), BASE "%s", extra);
	c = conf_load_string(text, "t.conf", &err);
	ok(c == NULL, "rejected: %s", want ? want : extra);
	if (want != NULL)
		is_str(c == NULL ? err.msg : "", want, "message: %s", want);
	conf_free(c);
}

static void
test_parsers(void)
{
	int64_t us = -7;
	uint64_t sz = 7;
	int b = -1;

	ok(conf_parse_duration("10s", &us) == 0 && us == 10000000, "10s");
	ok(conf_parse_duration("15m", &us) == 0 && us == 900000000LL, "15m");
	ok(conf_parse_duration("4h", &us) == 0 && us == 14400000000LL, "4h");
	ok(conf_parse_duration("1d", &us) == 0 && us == 86400000000LL, "1d");
	ok(conf_parse_duration("500ms", &us) == 0 && us == 500000, "500ms");
	ok(conf_parse_duration("1h30m", &us) == 0 && us == 5400000000LL, "1h30m");
	ok(conf_parse_duration("0s", &us) == 0 && us == 0, "0s");
	us = 42;
	ok(conf_parse_duration("10", &us) == -1 && us == 42, "no unit refused, untouched");
	ok(conf_parse_duration("", &us) == -1, "empty duration refused");
	ok(conf_parse_duration("-1s", &us) == -1, "negative refused");
	ok(conf_parse_duration("1w", &us) == -1, "unknown unit refused");
	ok(conf_parse_duration("1.5h", &us) == -1, "fraction refused");
	ok(conf_parse_duration("99999999999999999999d", &us) == -1, "overflow refused");
	ok(conf_parse_duration("100000d", &us) == -1, "beyond ten years refused");
	ok(conf_parse_duration("s", &us) == -1, "unit alone refused");

	ok(conf_parse_size("5MiB", &sz) == 0 && sz == 5242880, "5MiB");
	ok(conf_parse_size("500KiB", &sz) == 0 && sz == 512000, "500KiB");
	ok(conf_parse_size("1GiB", &sz) == 0 && sz == 1073741824, "1GiB");
	ok(conf_parse_size("1234", &sz) == 0 && sz == 1234, "plain bytes");
	ok(conf_parse_size("12B", &sz) == 0 && sz == 12, "B suffix");
	sz = 9;
	ok(conf_parse_size("5MB", &sz) == -1 && sz == 9, "5MB refused, untouched");
	ok(conf_parse_size("MiB", &sz) == -1, "unit alone refused");
	ok(conf_parse_size("-1", &sz) == -1, "negative size refused");
	ok(conf_parse_size("99999999999999999999", &sz) == -1, "size overflow refused");
	ok(conf_parse_size("17179869184GiB", &sz) == -1, "size multiply overflow refused");

	ok(conf_parse_bool("on", &b) == 0 && b == 1, "on");
	ok(conf_parse_bool("Off", &b) == 0 && b == 0, "Off");
	ok(conf_parse_bool("yes", &b) == 0 && b == 1, "yes");
	ok(conf_parse_bool("false", &b) == 0 && b == 0, "false");
	ok(conf_parse_bool("maybe", &b) == -1, "maybe refused");
}

static void
test_defaults(void)
{
	struct conf *c = conf_new_defaults();

	ok(c != NULL, "defaults");
	if (c == NULL)
		return;
	ok(c->node.id == NULL && c->node.data_dir == NULL, "no id or data_dir by default");
	is_int(c->node.log_level, CONF_LOG_INFO, "log_level info");
	is_int(c->server.nlisten, 1, "one listen address");
	is_str(c->server.listen[0], "127.0.0.1:9090", "listen 127.0.0.1:9090");
	is_int(c->server.dashboard, 1, "dashboard on");
	is_int(c->server.allow_private_push, 0, "private pushes refused by default");
	is_int(c->observer.enabled, 1, "observer enabled");
	is_int(c->observer.interval_us, 4LL * 3600 * 1000000, "interval 4h");
	is_int(c->observer.anchor_minute, 0, "anchor 00:00");
	is_str(c->observer.anchor_tz, "UTC", "anchor zone UTC");
	is_int(c->observer.concurrency, 256, "concurrency 256");
	is_int(c->observer.host_spacing_us, 10000000, "host_spacing 10s");
	is_int(c->observer.connect_timeout_us, 10000000, "connect_timeout 10s");
	is_int(c->observer.timeout_us, 30000000, "timeout 30s");
	is_int(c->observer.max_body, 5 * 1024 * 1024, "max_body 5MiB");
	is_int(c->observer.max_redirects, 5, "max_redirects 5");
	is_int(c->observer.ping_count, 4, "ping_count 4");
	is_int(c->observer.robots_respect, 1, "robots respect");
	is_int(c->observer.allow_private, 0, "allow_private false");
	is_str(c->observer.user_agent, "Mozilla/5.0 (compatible)", "user_agent");
	is_str(c->observer.accept_encoding, "gzip, deflate", "accept_encoding");
	ok(c->observer.proxy == NULL && c->observer.targets_file == NULL, "unset is NULL");
	is_int(c->npeers, 0, "no peers");
	conf_free(c);
	conf_free(NULL); /* a no-op: a crash here fails the test */
}

static char full_path[PATH_MAX + 64];

static void
make_full(void)
{
	char text[8192];

	write_file("cert.pem", "cert\n", 0644);
	write_file("key.pem", "key\n", 0600);
	write_file("ca.pem", "ca\n", 0644);
	write_file("users", "u:h:observations\n", 0600);
	write_file("exclude.txt", "example.com\n", 0644);
	write_file("targets.csv", "threat_id,url\n", 0644);
	write_file("pw", "secret\n", 0400);
	write_file("ccert.pem", "c\n", 0644);
	write_file("ckey.pem", "k\n", 0600);
	write_file("kpw", "pass\n", 0600);
	write_file("on-change", "#!/bin/sh\ncat >/dev/null\n", 0755);
	snprintf(text, sizeof(text),
	    "; a full config\n"
	    "[node]\n"
	    "id = cert-a-tokyo-1            ; comment\n"
	    "organization = Example CERT\n"
	    "data_dir = data\n"
	    "log_level = debug\n"
	    "\n"
	    "[server]\n"
	    "listen = 127.0.0.1:9090, [::1]:9091 ,localhost:0,[0:0::0]:80\n"
	    "tls_cert = cert.pem\n"
	    "tls_key = %s/key.pem\n"
	    "client_ca = ca.pem\n"
	    "users_file = users\n"
	    "dashboard = off\n"
	    "allow_private_push = yes\n"
	    "[observer]\n"
	    "enabled = no\n"
	    "interval = 1h30m\n"
	    "anchor = 09:15 Asia/Tokyo\n"
	    "concurrency = 17\n"
	    "host_spacing = 0s\n"
	    "user_agent = Mozilla/5.0 (Windows NT 10.0; Win64; x64)\n"
	    "accept_encoding = identity\n"
	    "connect_timeout = 1500ms\n"
	    "timeout = 2m\n"
	    "max_body = 1000\n"
	    "max_redirects = 0\n"
	    "ping_count = 0\n"
	    "robots = ignore\n"
	    "exclude_file = exclude.txt\n"
	    "allow_private = TRUE\n"
	    "vantage = tokyo\n"
	    "source_address = 2001:DB8::0:1\n"
	    "proxy = socks5h://127.0.0.1:1080\n"
	    "targets_file = targets.csv\n"
	    "[peer cert-b]\n"
	    "url = https://b.example:9090/taxii/poll\n"
	    "collection = obs-2\n"
	    "interval = 1d\n"
	    "username = alice\n"
	    "password_file = pw\n"
	    "client_cert = ccert.pem\n"
	    "client_key = ckey.pem\n"
	    "client_key_password_file = kpw\n"
	    "ca_file = ca.pem\n"
	    "push = yes\n"
	    "threat_id = campaign X\n"
	    "[peer hub]\n"
	    "url = http://hub.example/taxii/poll\n"
	    "[hook]\n"
	    "on_change = on-change\n"
	    "[analysis]\n"
	    "sinkholes_file = sinkholes.txt\n"
	    "remove_after = 45d\n",
	    tmpdir);
	write_file("sinkholes.txt", "net 192.0.2.0/24 test\n", 0644);
	write_file("full.conf", text, 0644);
	snprintf(full_path, sizeof(full_path), "%s/full.conf", tmpdir);
}

static void
test_full(void)
{
	char want[PATH_MAX + 64];
	struct conf_err err;
	struct conf *c, *c2;
	char *p1, *p2;
	FILE *fp;

	make_full();
	c = conf_load(full_path, &err);
	ok(c != NULL, "full config loads");
	if (c == NULL) {
		tap_diag("%s", err.msg);
		return;
	}
	is_str(c->path, full_path, "path kept");
	is_str(c->node.id, "cert-a-tokyo-1", "node.id (inline comment stripped)");
	is_str(c->node.organization, "Example CERT", "organization");
	snprintf(want, sizeof(want), "%s/data", tmpdir);
	is_str(c->node.data_dir, want, "relative data_dir anchored at the file's directory");
	is_int(c->node.log_level, CONF_LOG_DEBUG, "log_level debug");
	is_int(c->server.nlisten, 4, "four listen addresses");
	if (c->server.nlisten == 4) {
		is_str(c->server.listen[0], "127.0.0.1:9090", "listen v4");
		is_str(c->server.listen[1], "[::1]:9091", "listen v6");
		is_str(c->server.listen[2], "localhost:0", "listen name, port 0");
		is_str(c->server.listen[3], "[::]:80", "listen v6 canonical");
	}
	snprintf(want, sizeof(want), "%s/cert.pem", tmpdir);
	is_str(c->server.tls_cert, want, "tls_cert");
	snprintf(want, sizeof(want), "%s/key.pem", tmpdir);
	is_str(c->server.tls_key, want, "tls_key absolute");
	snprintf(want, sizeof(want), "%s/ca.pem", tmpdir);
	is_str(c->server.client_ca, want, "client_ca");
	snprintf(want, sizeof(want), "%s/users", tmpdir);
	is_str(c->server.users_file, want, "users_file");
	is_int(c->server.dashboard, 0, "dashboard off");
	is_int(c->server.allow_private_push, 1, "allow_private_push read");
	is_int(c->observer.enabled, 0, "enabled no");
	is_int(c->observer.interval_us, 5400LL * 1000000, "interval 1h30m");
	is_int(c->observer.anchor_minute, 9 * 60 + 15, "anchor minute");
	is_str(c->observer.anchor_tz, "Asia/Tokyo", "anchor zone");
	is_int(c->observer.concurrency, 17, "concurrency");
	is_int(c->observer.host_spacing_us, 0, "host_spacing 0s");
	is_str(c->observer.user_agent, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
	    "user_agent keeps ';' without a blank before it");
	is_str(c->observer.accept_encoding, "identity", "accept_encoding");
	is_int(c->observer.connect_timeout_us, 1500000, "connect_timeout 1500ms");
	is_int(c->observer.timeout_us, 120000000, "timeout 2m");
	is_int(c->observer.max_body, 1000, "max_body 1000");
	is_int(c->observer.max_redirects, 0, "max_redirects 0");
	is_int(c->observer.ping_count, 0, "ping_count 0");
	is_int(c->observer.robots_respect, 0, "robots ignore");
	snprintf(want, sizeof(want), "%s/exclude.txt", tmpdir);
	is_str(c->observer.exclude_file, want, "exclude_file");
	is_int(c->observer.allow_private, 1, "allow_private TRUE");
	is_str(c->observer.vantage, "tokyo", "vantage");
	is_str(c->observer.source_address, "2001:db8::1", "source_address canonical");
	is_str(c->observer.proxy, "socks5h://127.0.0.1:1080", "proxy");
	snprintf(want, sizeof(want), "%s/targets.csv", tmpdir);
	is_str(c->observer.targets_file, want, "targets_file");
	is_int(c->npeers, 2, "two peers");
	if (c->npeers == 2) {
		const struct conf_peer *p = &c->peers[0];

		is_str(p->name, "cert-b", "peer name");
		is_int(p->line, 36, "peer section line");
		is_str(p->url, "https://b.example:9090/taxii/poll", "peer url");
		is_str(p->collection, "obs-2", "peer collection");
		is_int(p->interval_us, 86400LL * 1000000, "peer interval 1d");
		is_str(p->username, "alice", "peer username");
		snprintf(want, sizeof(want), "%s/pw", tmpdir);
		is_str(p->password_file, want, "peer password_file");
		snprintf(want, sizeof(want), "%s/ccert.pem", tmpdir);
		is_str(p->client_cert, want, "peer client_cert");
		snprintf(want, sizeof(want), "%s/ckey.pem", tmpdir);
		is_str(p->client_key, want, "peer client_key");
		snprintf(want, sizeof(want), "%s/kpw", tmpdir);
		is_str(p->client_key_password_file, want, "peer client_key_password_file");
		snprintf(want, sizeof(want), "%s/ca.pem", tmpdir);
		is_str(p->ca_file, want, "peer ca_file");
		is_int(p->push, 1, "peer push");
		is_str(p->threat_id, "campaign X", "peer threat_id");
		p = &c->peers[1];
		is_str(p->name, "hub", "second peer");
		is_str(p->collection, "observations", "default collection");
		is_int(p->interval_us, 900LL * 1000000, "default peer interval 15m");
		is_int(p->push, 0, "default push false");
		ok(p->username == NULL && p->threat_id == NULL, "unset peer keys NULL");
	}
	snprintf(want, sizeof(want), "%s/on-change", tmpdir);
	is_str(c->hook.on_change, want, "hook on_change");
	snprintf(want, sizeof(want), "%s/sinkholes.txt", tmpdir);
	is_str(c->analysis.sinkholes_file, want, "analysis sinkholes_file");
	is_int(c->analysis.remove_after_us, 45LL * 86400 * 1000000, "analysis remove_after");

	/* conf_print must read back to the same config */
	p1 = print_conf(c);
	write_file("printed.conf", p1, 0644);
	snprintf(want, sizeof(want), "%s/printed.conf", tmpdir);
	c2 = conf_load(want, &err);
	ok(c2 != NULL, "printed config loads back");
	if (c2 == NULL) {
		tap_diag("%s", err.msg);
	} else {
		p2 = print_conf(c2);
		is_str(p2, p1, "printed config re-prints identically");
		is_int(c2->observer.connect_timeout_us, c->observer.connect_timeout_us,
		    "connect_timeout survives");
		is_int(c2->observer.max_body, c->observer.max_body, "max_body survives");
		is_int(c2->npeers, 2, "peers survive");
		is_str(c2->server.listen[1], "[::1]:9091", "listen survives");
		free(p2);
	}
	has_str(p1, "[peer cert-b]\n", "print has the peer section");
	has_str(p1, "interval = 90m\n", "print writes 1h30m as 90m");
	has_str(p1, "connect_timeout = 1500ms\n", "print writes ms");
	conf_free(c2);
	free(p1);
	conf_free(c);

	/* defaults print and reload too */
	c = conf_load_string(BASE, "t.conf", &err);
	ok(c != NULL, "minimal config loads");
	if (c != NULL) {
		is_str(c->observer.vantage, "n1", "vantage defaults to the node id");
		is_int(c->observer.interval_us, 4LL * 3600 * 1000000, "default interval");
		p1 = print_conf(c);
		c2 = conf_load_string(p1, "t.conf", &err);
		ok(c2 != NULL, "printed defaults load back");
		if (c2 != NULL) {
			p2 = print_conf(c2);
			is_str(p2, p1, "printed defaults re-print identically");
			free(p2);
		} else {
			tap_diag("%s", err.msg);
		}
		has_str(p1, "max_body = 5MiB\n", "max_body printed as 5MiB");
		has_str(p1, "interval = 4h\n", "interval printed as 4h");
		has_str(p1, "anchor = 00:00 UTC\n", "anchor printed");
		has_str(p1, "tls_cert =\n", "unset key printed empty");
		conf_free(c2);
		free(p1);
		conf_free(c);
	}
	fp = fopen("/dev/null", "w");
	if (fp != NULL)
		fclose(fp);
}

static void
test_bad_values(void)
{
	bad("[server]\nlisten = 127.0.0.1\n", "t.conf:5: listen: expected host:port in \"127.0.0.1\"");
	bad("[server]\nlisten = 300.0.0.1:80\n",
	    "t.conf:5: listen: bad IPv4 address in \"300.0.0.1:80\"");
	bad("[server]\nlisten = ::1:80\n",
	    "t.conf:5: listen: IPv6 addresses need brackets: [v6]:port in \"::1:80\"");
	bad("[server]\nlisten = [::g]:80\n", "t.conf:5: listen: bad IPv6 address in \"[::g]:80\"");
	bad("[server]\nlisten = 127.0.0.1:65536\n",
	    "t.conf:5: listen: port out of range 0..65535 in \"127.0.0.1:65536\"");
	bad("[server]\nlisten = 127.0.0.1:80,,[::1]:80\n",
	    "t.conf:5: listen: empty address in list in \"\"");
	bad("[server]\nlisten = a:1, a:1\n", "t.conf:5: listen: \"a:1\" listed twice");
	bad("[server]\nlisten =\n", "t.conf:5: listen: at least one address is required");
	bad("[server]\ndashboard = sometimes\n",
	    "t.conf:5: dashboard: expected true or false, got \"sometimes\"");
	bad("[observer]\ninterval = 4\n",
	    "t.conf:5: interval: bad duration \"4\" (a number with ms, s, m, h or d)");
	bad("[observer]\ninterval = 0s\n", "t.conf:5: interval: duration \"0s\" out of range");
	bad("[observer]\ntimeout = 2 h\n",
	    "t.conf:5: timeout: bad duration \"2 h\" (a number with ms, s, m, h or d)");
	bad("[observer]\nmax_body = 5MB\n",
	    "t.conf:5: max_body: bad size \"5MB\" (bytes, or a number with KiB, MiB or GiB)");
	bad("[observer]\nmax_body = 0\n", "t.conf:5: max_body: size \"0\" out of range");
	bad("[observer]\nmax_body = 2GiB\n", "t.conf:5: max_body: size \"2GiB\" out of range");
	bad("[observer]\nuser_agent = a\x01b\n", "t.conf:5: user_agent: control character in value");
	bad("[observer]\ntimeout = 2h\n", "t.conf:5: timeout: duration \"2h\" out of range");
	bad("[observer]\nconcurrency = 0\n", "t.conf:5: concurrency: 0 out of range 1..65536");
	bad("[observer]\nconcurrency = -3\n",
	    "t.conf:5: concurrency: expected a whole number, got \"-3\"");
	bad("[observer]\nmax_redirects = 5x\n",
	    "t.conf:5: max_redirects: expected a whole number, got \"5x\"");
	bad("[observer]\nping_count = 101\n", "t.conf:5: ping_count: 101 out of range 0..100");
	bad("[observer]\nrobots = obey\n",
	    "t.conf:5: robots: expected respect or ignore, got \"obey\"");
	bad("[observer]\nanchor = 24:00 UTC\n", "t.conf:5: anchor: hour out of range in \"24:00 UTC\"");
	bad("[observer]\nanchor = 0:00\n",
	    "t.conf:5: anchor: expected \"HH:MM Zone/Name\", got \"0:00\"");
	bad("[observer]\nanchor = 12:00 Mars/Olympus\n",
	    "t.conf:5: anchor: unknown time zone \"Mars/Olympus\"");
	bad("[observer]\nanchor = 12:00 ../../etc/passwd\n",
	    "t.conf:5: anchor: unknown time zone \"../../etc/passwd\"");
	bad("[observer]\nproxy = ftp://127.0.0.1:21\n",
	    "t.conf:5: proxy: bad proxy \"ftp://127.0.0.1:21\": scheme \"ftp\" not allowed (use "
	    "http https socks5 socks5h)");
	bad("[observer]\nproxy = socks5://127.0.0.1\n",
	    "t.conf:5: proxy: proxy \"socks5://127.0.0.1\" has no port");
	bad("[observer]\nsource_address = 10.0.0\n",
	    "t.conf:5: source_address: expected an IPv4 or IPv6 address, got \"10.0.0\"");
	bad("[observer]\nvantage = tokyo west\n",
	    "t.conf:5: vantage: \"tokyo west\" is not a name (1 to 64 letters, digits, '.', "
	    "'_', '-')");
	bad("[observer]\nexclude_file = does-not-exist\n", NULL);
	bad("[node]\nlog_level = verbose\n", "t.conf:4: duplicate section [node] (first at line 1)");
	bad("[peer b]\nurl = ftp://b.example/\n",
	    "t.conf:5: url: bad URL \"ftp://b.example/\": scheme \"ftp\" not allowed (use http "
	    "https)");
	bad("[peer b]\nurl = https://b..example/\n",
	    "t.conf:5: url: bad URL \"https://b..example/\": empty label in host name in URL");
	bad("[peer b]\nurl = https://user:pw@b.example/\n",
	    "t.conf:5: url: bad URL \"https://user:pw@b.example/\": user name or password in "
	    "URL");
	bad("[peer b]\nurl = https://b.example:0/\n",
	    "t.conf:5: url: bad URL \"https://b.example:0/\": port out of range 1..65535 in URL");
	bad("[peer b]\ncollection =\nurl = http://b/\n",
	    "t.conf:4: collection: must not be empty in [peer b]");
	bad("[peer b]\nurl = http://127.0.0.1:9090/taxii/poll\npush = true\n",
	    "t.conf:4: push: [peer b] is at 127.0.0.1, a loopback address: pushes go to public "
	    "addresses only unless [server] allow_private_push = true");
	bad("[peer b]\nurl = https://[fd00::5]/taxii/poll\npush = yes\n",
	    "t.conf:4: push: [peer b] is at fd00::5, a private address: pushes go to public "
	    "addresses only unless [server] allow_private_push = true");
	bad("[peer b]\nurl = http://localhost:9090/taxii/poll\npush = on\n",
	    "t.conf:4: push: [peer b] is at localhost, a loopback address: pushes go to public "
	    "addresses only unless [server] allow_private_push = true");
	{
		struct conf_err e;
		struct conf *c = conf_load_string(BASE "[server]\nallow_private_push = true\n"
		    "[peer b]\nurl = http://127.0.0.1:9090/taxii/poll\npush = true\n", "t.conf", &e);

		ok(c != NULL, "a loopback push peer is taken with allow_private_push (%s)",
		    c ? "" : e.msg);
		conf_free(c);
		c = conf_load_string(BASE "[peer b]\nurl = http://127.0.0.1:9090/taxii/poll\n",
		    "t.conf", &e);
		ok(c != NULL, "and a loopback peer that is only polled always (%s)", c ? "" : e.msg);
		conf_free(c);
	}
	bad("[peer b]\nurl = http://b/\npush = 2\n",
	    "t.conf:6: push: expected true or false, got \"2\"");
	bad("[peer b]\nurl = http://b/\ninterval = 1y\n",
	    "t.conf:6: interval: bad duration \"1y\" (a number with ms, s, m, h or d)");
}

static void
test_bad_structure(void)
{
	struct conf_err err;
	struct conf *c;
	char line[400];

	bad("[node]\n", "t.conf:4: duplicate section [node] (first at line 1)");
	bad("[server]\ncolour = blue\n", "t.conf:5: colour: unknown key in [server]");
	bad("[observer]\ntimeout = 1s\ntimeout = 2s\n",
	    "t.conf:6: timeout: duplicate key in [observer]");
	bad("[sever]\nlisten = 1.2.3.4:5\n", "t.conf:4: unknown section [sever]");
	bad("[peer]\nurl = http://x/\n", "t.conf:4: unknown section [peer]");
	bad("[peer a b]\n", "t.conf:4: [peer a b]: peer name must be 1 to 64 letters, digits, "
			     "'.', '_', '-'");
	bad("[peer a]\nurl = http://a/\n[peer a]\n",
	    "t.conf:6: [peer a]: duplicate peer (first at line 4)");
	bad("[peer a]\ncollection = x\n", "t.conf:4: url: required in [peer a]");
	bad("[peer a]\nurl = http://a/\nclient_cert = /dev/null\n", NULL);
	bad("[server]\nthis line has no equals sign\n",
	    "t.conf:5: syntax error (expected \"key = value\" or \"[section]\")");
	bad("[server\n", "t.conf:4: section header without ']'");
	bad("[server] junk\n", "t.conf:4: text after section header");
	bad("[analysis]\nremove_after = 10m\n",
	    "t.conf:5: remove_after: duration \"10m\" out of range");
	bad("[analysis]\nsinkhole_file = x\n", "t.conf:5: sinkhole_file: unknown key in [analysis]");
	bad("[hook]\non_change = /dev/null\n", "t.conf:5: on_change: \"/dev/null\" is not a regular file");

	/* A data_dir whose own line fits but whose default key file's line would not (found
	 * by fuzzing: check-config printed a config that did not load back). */
	{
		char dd[200], text[400];

		memset(dd, 'd', sizeof(dd));
		dd[190 - strlen("key_file = ") - strlen("/node.key")] = '\0';
		dd[0] = '/';
		snprintf(text, sizeof(text), "[node]\nid = n1\ndata_dir = %s\n", dd);
		c = conf_load_string(text, "t.conf", &err);
		ok(c != NULL, "a data_dir whose key file fits a config line (%s)",
		    c ? "" : err.msg);
		conf_free(c);
		memset(dd, 'd', sizeof(dd));
		dd[180] = '\0'; /* its own line fits (191 characters), the key file's not */
		dd[0] = '/';
		snprintf(text, sizeof(text), "[node]\nid = n1\ndata_dir = %s\n", dd);
		c = conf_load_string(text, "t.conf", &err);
		ok(c == NULL && strstr(err.msg, "data_dir: too long for the default key_file"),
		    "a data_dir too long for its default key file is refused (%s)",
		    c ? "loaded" : err.msg);
		conf_free(c);
	}
	c = conf_load_string("id = x\n[node]\n", "t.conf", &err);
	ok(c == NULL, "key before any section refused");
	is_str(err.msg, "t.conf:1: id: key outside any section", "key outside section message");
	conf_free(c);
	c = conf_load_string("[node]\nid = x\n", "t.conf", &err);
	is_str(err.msg, "t.conf:1: data_dir: required in [node]", "data_dir required");
	conf_free(c);
	c = conf_load_string("[node]\ndata_dir = /x\n", "t.conf", &err);
	is_str(err.msg, "t.conf:1: id: required in [node]", "id required");
	conf_free(c);
	c = conf_load_string("[server]\n", "t.conf", &err);
	is_str(err.msg, "t.conf: id: required in [node]", "no [node] at all: no line");
	conf_free(c);
	c = conf_load_string(BASE "[node", "t.conf", &err);
	ok(c == NULL, "unterminated header at end of file refused");
	conf_free(c);

	memset(line, 'a', sizeof(line));
	memcpy(line, "organization = ", 15);
	line[250] = '\0';
	{
		char text[600];

		snprintf(text, sizeof(text), BASE "%s\n[server]\n", line);
		c = conf_load_string(text, "t.conf", &err);
		ok(c == NULL, "long line refused");
		is_str(err.msg, "t.conf:4: line longer than 197 characters", "long line message");
		conf_free(c);
	}
	/* 197 characters is still fine */
	line[197] = '\0';
	{
		char text[600];

		snprintf(text, sizeof(text), BASE "%s\n", line);
		c = conf_load_string(text, "t.conf", &err);
		ok(c != NULL && strlen(c->node.organization) == 197 - 15, "197-character line ok");
		conf_free(c);
	}

	c = conf_load_string("\xEF\xBB\xBF[node]\r\nid = bom\r\n  data_dir = /d\r\n; c\r\n# c\r\n",
	    "t.conf", &err);
	ok(c != NULL, "BOM, CRLF, indented keys and comments accepted");
	if (c != NULL) {
		is_str(c->node.id, "bom", "id after BOM");
		is_str(c->node.data_dir, "/d", "indented key is not a continuation");
	}
	conf_free(c);

	{
		char cwd[PATH_MAX], want[PATH_MAX + 16];

		c = conf_load_string("[node]\nid = x\ndata_dir = rel/d\n", "t.conf", &err);
		ok(c != NULL && getcwd(cwd, sizeof(cwd)) != NULL, "relative data_dir, bare name");
		snprintf(want, sizeof(want), "%s/rel/d", cwd);
		is_str(c ? c->node.data_dir : NULL, want, "bare name: relative to the current directory");
		conf_free(c);
	}

	c = conf_load("/nonexistent/c2watch.conf", &err);
	ok(c == NULL, "missing file refused");
	is_str(err.msg, "/nonexistent/c2watch.conf: cannot read: No such file or directory",
	    "missing file message");
}

static void
test_secrets(void)
{
	char text[PATH_MAX * 2], want[PATH_MAX * 4];
	static const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602 };
	struct conf_err err;
	struct conf *c;
	size_t i;

	write_file("cert.pem", "cert\n", 0644);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		write_file("loose.key", "key\n", modes[i]);
		snprintf(text, sizeof(text),
		    BASE "[server]\ntls_cert = cert.pem\ntls_key = loose.key\n");
		snprintf(want, sizeof(want), "%s/t.conf", tmpdir);
		c = conf_load_string(text, want, &err);
		ok(c == NULL, "tls_key mode %04o refused", (unsigned)modes[i]);
		snprintf(want, sizeof(want),
		    "%s/t.conf:6: tls_key: \"%s/loose.key\" holds a secret but is readable or "
		    "writable by group or others (mode %04o; chmod 600 it)",
		    tmpdir, tmpdir, (unsigned)modes[i]);
		is_str(err.msg, want, "mode %04o message", (unsigned)modes[i]);
		conf_free(c);
	}
	write_file("loose.key", "key\n", 0600);
	snprintf(want, sizeof(want), "%s/t.conf", tmpdir);
	c = conf_load_string(text, want, &err);
	ok(c != NULL, "tls_key mode 0600 accepted");
	conf_free(c);

	snprintf(text, sizeof(text), BASE "[server]\nusers_file = nope\n");
	c = conf_load_string(text, want, &err);
	ok(c == NULL, "missing users_file refused");
	snprintf(want, sizeof(want),
	    "%s/t.conf:5: users_file: cannot use \"%s/nope\": No such file or directory", tmpdir,
	    tmpdir);
	is_str(err.msg, want, "missing secret message");
	conf_free(c);

	write_file("pw", "x\n", 0644);
	snprintf(text, sizeof(text), BASE "[peer p]\nurl = http://p/\nusername = u\npassword_file = pw\n");
	snprintf(want, sizeof(want), "%s/t.conf", tmpdir);
	c = conf_load_string(text, want, &err);
	ok(c == NULL, "group-readable password_file refused");
	has_str(err.msg, "t.conf:7: password_file: ", "password_file message names line and key");
	conf_free(c);

	snprintf(text, sizeof(text), BASE "[observer]\nuser_agent =;M1\n");
	c = conf_load_string(text, want, &err);
	ok(c == NULL, "a value beginning with ';' refused (written back, it would be a comment)");
	has_str(err.msg, "t.conf:5: user_agent: a value cannot begin with ';'",
	    "and the message names line and key");
	conf_free(c);

	write_file("kpw2", "x\n", 0600);
	snprintf(text, sizeof(text),
	    BASE "[peer p]\nurl = http://p/\nclient_key_password_file = kpw2\n");
	c = conf_load_string(text, want, &err);
	ok(c == NULL, "client_key_password_file without client_key refused");
	has_str(err.msg, "client_key: required with client_key_password_file in [peer p]",
	    "and the message says so");
	conf_free(c);

	snprintf(text, sizeof(text), BASE "[server]\ntls_key = loose.key\n");
	c = conf_load_string(text, want, &err);
	ok(c == NULL, "tls_key without tls_cert refused");
	has_str(err.msg, "t.conf:4: tls_cert: required when tls_key is set", "pairing message");
	conf_free(c);
}

static void
test_example(void)
{
	const char *src = getenv("TESTS_SRCDIR");
	char path[PATH_MAX];
	struct conf_err err;
	struct conf *c;

	if (src == NULL) {
		tap_skip("the example config", "TESTS_SRCDIR unset");
		return;
	}
	snprintf(path, sizeof(path), "%s/../conf/c2watch.conf.example", src);
	c = conf_load(path, &err);
	ok(c != NULL, "the example config loads");
	if (c == NULL) {
		tap_diag("%s", err.msg);
		return;
	}
	is_str(c->node.id, "cert-a-tokyo-1", "example node id");
	is_int(c->npeers, 1, "example has one peer");
	is_str(c->observer.anchor_tz, "Asia/Tokyo", "example anchor zone");
	ok(c->server.tls_cert == NULL && c->server.users_file == NULL &&
	    c->observer.proxy == NULL && c->hook.on_change == NULL,
	    "example: empty values with a trailing comment are unset");
	is_str(c->observer.user_agent, "Mozilla/5.0 (compatible)", "example: comment stripped");
	is_str(c->server.listen[0], "127.0.0.1:9090", "example listen");
	ok(c->analysis.sinkholes_file == NULL, "example: built-in sinkhole list");
	is_int(c->analysis.remove_after_us, 30LL * 86400 * 1000000, "example remove_after 30d");
	conf_free(c);
}

static void
test_find_path(void)
{
	char cwd[PATH_MAX], conf[PATH_MAX + 32];

	is_str(conf_find_path("given.conf"), "given.conf", "-c wins");
	setenv("C2WATCH_CONF", "/env/c2watch.conf", 1);
	is_str(conf_find_path(NULL), "/env/c2watch.conf", "$C2WATCH_CONF next");
	unsetenv("C2WATCH_CONF");
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(tmpdir) != 0) {
		ok(0, "chdir to the temporary directory");
		return;
	}
	is_str(conf_find_path(NULL), "/etc/c2watch/c2watch.conf", "default when none exists");
	write_file("c2watch.conf", BASE, 0644);
	is_str(conf_find_path(NULL), "./c2watch.conf", "./c2watch.conf when it exists");
	snprintf(conf, sizeof(conf), "%s/c2watch.conf", tmpdir);
	unlink(conf);
	if (chdir(cwd) != 0)
		ok(0, "chdir back");
}

/* [node] key_file's default and [trust]: the keys file read at load, its bad lines named
 * FILE:LINE, unknown = accept | refuse. */
static void
test_trust(void)
{
	static const char pub[] = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	char text[PATH_MAX * 2], name[PATH_MAX * 2], want[PATH_MAX * 4], *printed;
	struct conf_err err;
	struct conf *c;

	c = conf_load_string(BASE, "t.conf", &err);
	ok(c != NULL && c->node.key_file != NULL &&
	    strcmp(c->node.key_file, "/var/lib/x/node.key") == 0,
	    "key_file defaults to DATA_DIR/node.key");
	ok(c != NULL && c->trust.set != NULL && c->trust.keys_file == NULL &&
	    !c->trust.unknown_refuse, "an empty trust set, unknown = accept, by default");
	printed = c ? print_conf(c) : NULL;
	has_str(printed ? printed : "", "\n[trust]\nkeys_file =\nunknown = accept\n",
	    "check-config prints [trust]");
	has_str(printed ? printed : "", "key_file = /var/lib/x/node.key\n",
	    "and the key file");
	free(printed);
	conf_free(c);

	write_file("keys", "# members\n\nm-a ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
	    "m-b ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n", 0644);
	snprintf(text, sizeof(text), BASE "key_file = k/node.key\n[trust]\nkeys_file = keys\n"
	    "unknown = refuse\n");
	snprintf(name, sizeof(name), "%s/t.conf", tmpdir);
	c = conf_load_string(text, name, &err);
	ok(c != NULL, "[trust] with a keys file loads");
	if (c != NULL) {
		snprintf(want, sizeof(want), "%s/k/node.key", tmpdir);
		is_str(c->node.key_file, want, "key_file relative to the config's directory");
		ok(c->trust.unknown_refuse && rec_trust_listed(c->trust.set, "m-a", 3) &&
		    rec_trust_listed(c->trust.set, "m-b", 3) &&
		    !rec_trust_listed(c->trust.set, "m-c", 3),
		    "its nodes are in the trust set, unknown = refuse");
		ok(rec_trust_add(c->trust.set, "n1", pub, err.msg, sizeof(err.msg)) == 0 &&
		    rec_trust_listed(c->trust.set, "n1", 2), "the node adds its own key");
	}
	conf_free(c);

	write_file("keys", "m-a ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
	    "# fine\nm-b ed25519:short\n", 0644);
	snprintf(text, sizeof(text), BASE "[trust]\nkeys_file = keys\n");
	c = conf_load_string(text, name, &err);
	snprintf(want, sizeof(want), "%s/keys:3: m-b: not an Ed25519 public key "
	    "(ed25519:BASE64 of 32 bytes)", tmpdir);
	ok(c == NULL, "a keys file with a bad key refused");
	is_str(c == NULL ? err.msg : "", want, "named KEYS_FILE:LINE: node: what");
	conf_free(c);
	write_file("keys", "m-a\n", 0644);
	c = conf_load_string(text, name, &err);
	snprintf(want, sizeof(want), "%s/keys:1: not \"NODE-ID ed25519:BASE64\"", tmpdir);
	is_str(c == NULL ? err.msg : "", want, "a line without a key: KEYS_FILE:LINE");
	conf_free(c);
	bad("[trust]\nunknown = maybe\n", "t.conf:5: unknown: expected accept or refuse, got "
	    "\"maybe\"");
	bad("[trust]\nkeys_file = /nonexistent/keys\n", NULL);
	bad("[trust]\nsigners = x\n", "t.conf:5: signers: unknown key in [trust]");
	bad("[trust]\n[trust]\n", NULL);
}

static void
cleanup(void)
{
	static const char *const names[] = { "cert.pem", "key.pem", "ca.pem", "users",
		"exclude.txt", "targets.csv", "pw", "ccert.pem", "ckey.pem", "on-change",
		"full.conf", "printed.conf", "loose.key", "c2watch.conf", "keys" };
	char path[PATH_MAX + 64];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_conf.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 99;
	}
	test_parsers();
	test_defaults();
	test_full();
	test_bad_values();
	test_bad_structure();
	test_secrets();
	test_example();
	test_find_path();
	test_trust();
	cleanup();
	return tap_done();
}
