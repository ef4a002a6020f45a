/* conf: the targets CSV and the target check — RFC 4180 details, every bad line reported
 * with its line number, normalisation, duplicates, and a 100,000-row file read quickly. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "record/record.h"
#include "tests/tap.h"
#include "util/util.h"

static char tmpdir[PATH_MAX];
static char csv_path[PATH_MAX + 32];

struct result {
	int rc;
	json_t *out;
	struct util_buf errs;
	size_t nerrors;
};

static void
write_csv(const char *data, size_t n)
{
	FILE *fp = fopen(csv_path, "wb");

	if (fp == NULL || fwrite(data, 1, n, fp) != n || fclose(fp) != 0) {
		printf("Bail out! cannot write %s: %s\n", csv_path, strerror(errno));
		exit(99);
	}
}

static void
run(struct result *r, const char *data, const char *default_tid)
{
	write_csv(data, strlen(data));
	r->out = NULL;
	r->nerrors = 12345;
	util_buf_init(&r->errs, 0);
	r->rc = conf_targets_read(csv_path, default_tid, &r->out, &r->errs, &r->nerrors, NULL,
	    NULL);
}

static void
done(struct result *r)
{
	json_decref(r->out);
	util_buf_fini(&r->errs);
}

static const char *
errs_of(const struct result *r)
{
	return r->errs.data ? r->errs.data : "";
}

/* A CSV that must fail with exactly the error text `want` (FILE: prefix added here). */
static void
fails(const char *data, const char *want, const char *name)
{
	struct result r;
	char full[8192], *w = full;
	const char *p = want;

	/* every line of `want` starts with "@": replaced by the file name */
	while (*p && (size_t)(w - full) < sizeof(full) - PATH_MAX - 64) {
		if (*p == '@') {
			w += snprintf(w, sizeof(full) - (size_t)(w - full), "%s", csv_path);
			p++;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	run(&r, data, NULL);
	ok(r.rc == -1 && r.out == NULL, "%s: rejected", name);
	is_str(errs_of(&r), full, "%s: message", name);
	done(&r);
}

static const char *
sget(const json_t *arr, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(arr, i), key));
}

static void
test_basic(void)
{
	struct result r;

	run(&r,
	    "threat_id,ip,domain,url,port,report_date,malware_sha256,file_type,summary,user_agent\n"
	    "A,203.0.113.5,X.Example.,http://X.EXAMPLE,8080,2026-11-22,"
	    "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789,PE32,\"a, \"\"b\"\"\","
	    "Mozilla/4.0 (compatible; MSIE 6.0)\n"
	    "A,2001:DB8:0:0::1,,,,2026-11-22T13:00:00+09:00,,,,\n"
	    "A,,b\xc3\xbc" "cher.example,,443,,,,,\n"
	    "B,,,HTTPS://[2001:db8::1]:8443/p?q=1#f,,,,,,\n"
	    "B,,,http://x.example/a b/\xc3\xa9,,,,,,\n",
	    NULL);
	ok(r.rc == 0, "valid file read");
	if (r.rc != 0)
		tap_diag("%s", errs_of(&r));
	is_int(r.nerrors, 0, "no errors counted");
	is_int(json_array_size(r.out), 5, "five targets");
	is_str(sget(r.out, 0, "threat_id"), "A", "threat_id");
	is_str(sget(r.out, 0, "ip"), "203.0.113.5", "ip");
	is_str(sget(r.out, 0, "domain"), "x.example", "domain lowercased, trailing dot dropped");
	is_str(sget(r.out, 0, "url"), "http://x.example:8080/",
	    "url: host lowercased, port column folded in, path added");
	is_int(json_integer_value(json_object_get(json_array_get(r.out, 0), "port")), 8080,
	    "port as an integer");
	is_str(sget(r.out, 0, "report_date"), "2026-11-22", "bare date kept");
	is_str(sget(r.out, 0, "malware_sha256"),
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", "sha256 lowercased");
	is_str(sget(r.out, 0, "file_type"), "PE32", "file_type");
	is_str(sget(r.out, 0, "summary"), "a, \"b\"", "quoted comma and doubled quotes");
	is_str(sget(r.out, 0, "user_agent"), "Mozilla/4.0 (compatible; MSIE 6.0)", "user_agent");
	is_str(sget(r.out, 1, "ip"), "2001:db8::1", "IPv6 canonical");
	is_str(sget(r.out, 1, "report_date"), "2026-11-22T04:00:00Z", "date-time in UTC");
	ok(json_object_get(json_array_get(r.out, 1), "domain") == NULL &&
	    json_object_get(json_array_get(r.out, 1), "port") == NULL,
	    "empty fields omitted");
	is_int(json_object_size(json_array_get(r.out, 1)), 3, "only non-empty keys");
	is_str(sget(r.out, 2, "domain"), "xn--bcher-kva.example", "IDN to punycode");
	is_str(sget(r.out, 3, "url"), "https://[2001:db8::1]:8443/p?q=1#f",
	    "scheme lowercased, IPv6 host bracketed, odd port kept");
	is_str(sget(r.out, 4, "url"), "http://x.example/a%20b/%C3%A9",
	    "space and non-ASCII in path percent-encoded");
	done(&r);

	run(&r, "url,domain\nhttp://a.example/,\n", "T-1");
	ok(r.rc == 0, "threat_id column may be missing with a default");
	is_str(sget(r.out, 0, "threat_id"), "T-1", "default threat ID used");
	done(&r);
	run(&r, "threat_id,url\n,http://a.example/\nT-2,http://b.example/\n", "T-1");
	ok(r.rc == 0, "empty threat_id takes the default");
	is_str(sget(r.out, 0, "threat_id"), "T-1", "default for the empty cell");
	is_str(sget(r.out, 1, "threat_id"), "T-2", "own threat_id kept");
	done(&r);
}

static void
test_header(void)
{
	fails("", "@:1: no header row (the file is empty)\n", "empty file");
	fails("\n\r\n  \n", "@:1: no header row (the file is empty)\n", "blank lines only");
	fails("\xEF\xBB\xBF", "@:1: no header row (the file is empty)\n", "BOM only");
	fails("threat_id,url,colour\nA,http://a/,red\n",
	    "@:1: header: unknown column \"colour\"\n", "unknown column");
	fails("threat_id,URL\nA,http://a/\n",
	    "@:1: header: unknown column \"URL\"\n"
	    "@:1: header: needs at least one of the columns ip, domain, url\n",
	    "column names are case-sensitive");
	fails("threat_id,url,url\nA,http://a/,http://b/\n",
	    "@:1: header: duplicate column \"url\"\n", "duplicate column");
	fails("url\nhttp://a/\n",
	    "@:1: header: missing column \"threat_id\" (or give a default threat ID)\n",
	    "missing threat_id column");
	fails("threat_id,summary\nA,x\n",
	    "@:1: header: needs at least one of the columns ip, domain, url\n",
	    "no destination column");
	fails("\n\nthreat_id,ip,x\n", "@:3: header: unknown column \"x\"\n",
	    "header after blank lines has its own line number");
}

static void
test_rows(void)
{
	const char *h = "threat_id,ip,domain,url,port,report_date,malware_sha256,summary,user_agent\n";
	char data[4096];

#define ROW(line, want, name)                                                           \
	do {                                                                            \
		snprintf(data, sizeof(data), "%s%s\n", h, line);                        \
		fails(data, want, name);                                               \
	} while (0)

	ROW("A,300.1.2.3,,,,,,,", "@:2: ip: bad IPv4 address \"300.1.2.3\"\n", "bad IPv4");
	ROW("A,1.2.3,,,,,,,", "@:2: ip: bad IPv4 address \"1.2.3\"\n", "short IPv4");
	ROW("A,01.2.3.4,,,,,,,", "@:2: ip: bad IPv4 address \"01.2.3.4\"\n", "leading zero");
	ROW("A,2001:db8::g,,,,,,,", "@:2: ip: bad IPv6 address \"2001:db8::g\"\n", "bad IPv6");
	ROW("A,1.2.3.4,,,0,,,,", "@:2: port: bad port \"0\" (1..65535)\n", "port 0");
	ROW("A,1.2.3.4,,,65536,,,,", "@:2: port: bad port \"65536\" (1..65535)\n", "port 65536");
	ROW("A,1.2.3.4,,,8o,,,,", "@:2: port: bad port \"8o\" (1..65535)\n", "port not a number");
	ROW("A,,,ftp://a.example/,,,,,",
	    "@:2: url: bad URL \"ftp://a.example/\": scheme \"ftp\" not allowed (use http https)\n",
	    "ftp URL");
	ROW("A,,,a.example/gate.php,,,,,",
	    "@:2: url: bad URL \"a.example/gate.php\": not a URL (expected http https)\n",
	    "URL without scheme");
	ROW("A,,,http://a_b-.example/,,,,,",
	    "@:2: url: bad URL \"http://a_b-.example/\": label starts or ends with '-' in host "
	    "name in URL\n",
	    "bad URL host");
	ROW("A,,,http://300.1.1.1/,,,,,",
	    "@:2: url: bad URL \"http://300.1.1.1/\": bad IPv4 address in URL\n", "bad URL IPv4");
	ROW("A,,,http://a.example:8080/,9090,,,,",
	    "@:2: port: 9090 does not match the port of the URL \"http://a.example:8080/\"\n",
	    "port conflicts with URL");
	ROW("A,,a..example,,,,,,",
	    "@:2: domain: bad domain \"a..example\": empty label in host name\n", "empty label");
	ROW("A,,a b.example,,,,,,",
	    "@:2: domain: bad domain \"a b.example\": bad character in host name\n",
	    "space in domain");
	ROW("A,,1.2.3.4,,,,,,",
	    "@:2: domain: bad domain \"1.2.3.4\": numeric top-level label (an IP address is not "
	    "a host name)\n",
	    "IP in domain column");
	ROW("A,,a.example,,,2026-13-01,,,",
	    "@:2: report_date: bad date \"2026-13-01\" (RFC 3339 date or date-time)\n",
	    "bad date");
	ROW("A,,a.example,,,yesterday,,,",
	    "@:2: report_date: bad date \"yesterday\" (RFC 3339 date or date-time)\n",
	    "date in words");
	ROW("A,,a.example,,,,abc,,",
	    "@:2: malware_sha256: not a SHA-256 (64 hex digits) \"abc\"\n", "short sha256");
	ROW("A,,a.example,,,,"
	    "zbcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789,,",
	    "@:2: malware_sha256: not a SHA-256 (64 hex digits) "
	    "\"zbcdef0123456789abcdef0123456789abcdef0123456789abcdef012345...\"\n",
	    "non-hex sha256, long value cut in the message");
	ROW("A,,,,80,,,hello,",
	    "@:2: ip/domain/url: no destination (one of ip, domain, url is required)\n",
	    "no destination");
	ROW("A,,a.example,,,,,,\"bad\rua\"",
	    "@:2: user_agent: control character in \"bad\\x0dua\"\n", "CR in user agent");
	ROW("A,,a.example,,,,,\"x\x01y\",",
	    "@:2: summary: control character in \"x\\x01y\"\n", "control character in summary");
	ROW("A,,a.example,,,,,\xff\xfe,", "@:2: summary: not valid UTF-8\n", "bad UTF-8");
	ROW("A,,a.example,,", "@:2: 5 fields, but the header has 9\n", "too few fields");
	ROW("A,,a.example,,,,,,,,", "@:2: 11 fields, but the header has 9\n", "too many fields");
	{
		char many[512];
		int k, o = snprintf(many, sizeof(many), "A,,a.example,,,,,,");

		for (k = 0; k < 70; k++)
			o += snprintf(many + o, sizeof(many) - (size_t)o, ",");
		ROW(many, "@:2: 79 fields, but the header has 9\n", "far too many fields");
	}
	ROW("A,,a.example,,,,,\"x\"y,",
	    "@:2: CSV syntax: text after a closing quote\n", "text after closing quote");
	ROW("A,,a.example,,,,,x\"y,",
	    "@:2: CSV syntax: quote inside an unquoted field\n", "stray quote");
	ROW("A,,a.example,,,,,\"open,\nB,,b.example,,,,,,",
	    "@:2: CSV syntax: quoted field not closed before the end of the file\n",
	    "unterminated quote");
	ROW("A,1.2.3.4,bad..d,,99999,,,,",
	    "@:2: port: bad port \"99999\" (1..65535)\n"
	    "@:2: domain: bad domain \"bad..d\": empty label in host name\n",
	    "several problems on one line, each reported");
#undef ROW
}

static void
test_format(void)
{
	struct result r;
	static char big[1100 * 1024];
	size_t n;

	run(&r, "threat_id,url\r\nA,http://a.example/\r\n\r\nB,\"http://b.example/\"\r\n", NULL);
	ok(r.rc == 0 && json_array_size(r.out) == 2, "CRLF file");
	is_str(sget(r.out, 1, "url"), "http://b.example/", "CRLF: no CR left in values");
	done(&r);

	run(&r, "\xEF\xBB\xBFthreat_id,url\nA,http://a.example/\n", NULL);
	ok(r.rc == 0 && json_array_size(r.out) == 1, "UTF-8 BOM skipped");
	done(&r);

	run(&r, "threat_id,url\nA,http://a.example/", NULL);
	ok(r.rc == 0 && json_array_size(r.out) == 1, "no newline at the end");
	done(&r);

	run(&r,
	    "threat_id,url,summary\n"
	    "A,http://a.example/,\"first line\nsecond line\r\nthird\"\n"
	    "A,http://300.0.0.1/,x\n",
	    NULL);
	ok(r.rc == -1, "embedded newline: the bad row after it is found");
	has_str(errs_of(&r), ":5: url: bad URL \"http://300.0.0.1/\"",
	    "line number counts the newlines inside quotes");
	done(&r);
	run(&r, "threat_id,url,summary\nA,http://a.example/,\"one\ntwo\"\n", NULL);
	is_str(sget(r.out, 0, "summary"), "one two", "newline in summary folded to a space");
	done(&r);

	run(&r, "threat_id , url\n A , http://a.example/ \n", NULL);
	ok(r.rc == 0 && json_array_size(r.out) == 1, "blanks around fields trimmed");
	is_str(sget(r.out, 0, "threat_id"), "A", "trimmed value");
	done(&r);

	/* a 1 MB line */
	n = (size_t)snprintf(big, sizeof(big), "threat_id,url,summary\nA,http://a.example/,\"");
	memset(big + n, 'x', 1024 * 1024);
	n += 1024 * 1024;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\"\nB,http://b.example/,short\n");
	write_csv(big, n);
	util_buf_init(&r.errs, 0);
	r.out = NULL;
	r.rc = conf_targets_read(csv_path, NULL, &r.out, &r.errs, NULL, NULL, NULL);
	ok(r.rc == 0 && json_array_size(r.out) == 2, "a 1 MB line is read");
	is_int(strlen(sget(r.out, 0, "summary") ? sget(r.out, 0, "summary") : ""), 1024 * 1024,
	    "1 MB value intact");
	done(&r);

	util_buf_init(&r.errs, 0);
	r.out = NULL;
	r.rc = conf_targets_read("/nonexistent/t.csv", NULL, &r.out, &r.errs, &r.nerrors, NULL,
	    NULL);
	ok(r.rc == -1 && r.out == NULL, "missing file refused");
	is_str(errs_of(&r), "/nonexistent/t.csv: cannot read: No such file or directory\n",
	    "missing file message");
	is_int(r.nerrors, 1, "one error");
	done(&r);
}

static void
test_every_line(void)
{
	struct result r;
	struct util_buf b;
	char want[PATH_MAX * 4];
	size_t i;

	run(&r,
	    "threat_id,ip,port\n"
	    "A,1.2.3.4,80\n"
	    "A,1.2.3.256,80\n"
	    "A,1.2.3.5,81\n"
	    "A,1.2.3.6,0\n"
	    "\n"
	    "A,,\n"
	    "A,1.2.3.7,80\n",
	    NULL);
	ok(r.rc == -1 && r.out == NULL, "bad lines reject the whole file");
	is_int(r.nerrors, 3, "three problems counted");
	snprintf(want, sizeof(want),
	    "%s:3: ip: bad IPv4 address \"1.2.3.256\"\n"
	    "%s:5: port: bad port \"0\" (1..65535)\n"
	    "%s:7: ip/domain/url: no destination (one of ip, domain, url is required)\n",
	    csv_path, csv_path, csv_path);
	is_str(errs_of(&r), want, "every bad line reported with its line number");
	done(&r);

	/* more errors than the cap: the cap is said, the count is complete */
	util_buf_init(&b, 0);
	util_buf_printf(&b, "threat_id,ip\n");
	for (i = 0; i < 1500; i++)
		util_buf_printf(&b, "A,999.0.0.%zu\n", i);
	write_csv(b.data, b.len);
	util_buf_fini(&b);
	util_buf_init(&r.errs, 0);
	r.out = NULL;
	r.rc = conf_targets_read(csv_path, NULL, &r.out, &r.errs, &r.nerrors, NULL, NULL);
	ok(r.rc == -1, "1500 bad lines rejected");
	is_int(r.nerrors, 1500, "all 1500 counted");
	{
		size_t lines = 0;
		const char *p;

		for (p = errs_of(&r); *p; p++)
			lines += *p == '\n';
		is_int(lines, 1001, "1000 messages and one saying more were left out");
	}
	snprintf(want, sizeof(want), "%s: 500 more errors not shown\n", csv_path);
	ok(r.errs.len >= strlen(want) &&
	    strcmp(r.errs.data + r.errs.len - strlen(want), want) == 0, "cap message at the end");
	has_str(errs_of(&r), ":1001: ip: bad IPv4 address \"999.0.0.999\"\n", "last shown line");
	done(&r);
}

static void
test_duplicates(void)
{
	struct result r;

	run(&r,
	    "threat_id,ip,domain,url,port\n"
	    "A,,,http://X.example/gate,\n"
	    "A,,,http://x.example:80/gate,\n"
	    "B,,,http://x.example/gate,\n"
	    "A,,x.example,,\n"
	    "A,,X.EXAMPLE.,,\n"
	    "A,,x.example,,8080\n"
	    "A,192.0.2.1,,,\n"
	    "A,192.0.2.1,,,\n"
	    "A,2001:db8::1,,,443\n"
	    "A,2001:DB8:0::1,,,443\n",
	    NULL);
	ok(r.rc == 0, "file with duplicates read");
	is_int(json_array_size(r.out), 6, "duplicates collapsed (same threat ID and destination)");
	is_str(sget(r.out, 1, "threat_id"), "B", "same URL under another threat ID kept");
	is_int(json_integer_value(json_object_get(json_array_get(r.out, 3), "port")), 8080,
	    "same domain on another port kept");
	done(&r);
}

static void
test_check_and_key(void)
{
	char err[256], key[64];
	json_t *t;

	t = json_pack("{s:s, s:s, s:s}", "threat_id", "A", "domain", "Example.COM", "port",
	    "8443");
	ok(conf_target_check(t, err, sizeof(err)) == 0, "JSON target checked");
	is_str(json_string_value(json_object_get(t, "domain")), "example.com", "domain normalised");
	ok(json_is_integer(json_object_get(t, "port")), "string port became an integer");
	ok(rec_target_key(t, key, sizeof(key)) == 0, "key");
	is_str(key, "example.com:8443", "domain:port key");
	ok(rec_target_key(t, key, 5) == -1 && key[0] == '\0', "key: short buffer refused");
	json_decref(t);

	t = json_pack("{s:s, s:s, s:i}", "threat_id", "A", "ip", "2001:db8::1", "port", 53);
	ok(conf_target_check(t, err, sizeof(err)) == 0, "integer port accepted");
	rec_target_key(t, key, sizeof(key));
	is_str(key, "[2001:db8::1]:53", "IPv6 key bracketed with a port");
	json_decref(t);

	t = json_pack("{s:s, s:s, s:s, s:s}", "threat_id", "A", "ip", "192.0.2.1", "domain",
	    "a.example", "url", "http://a.example/x");
	conf_target_check(t, err, sizeof(err));
	rec_target_key(t, key, sizeof(key));
	is_str(key, "http://a.example/x", "URL wins the key");
	json_decref(t);

	t = json_pack("{s:s, s:s}", "threat_id", "A", "ip", "192.0.2.1");
	conf_target_check(t, err, sizeof(err));
	rec_target_key(t, key, sizeof(key));
	is_str(key, "192.0.2.1", "plain IP key");
	json_decref(t);

	t = json_pack("{s:s}", "threat_id", "A");
	ok(rec_target_key(t, key, sizeof(key)) == -1, "no destination, no key");
	json_decref(t);

	t = json_pack("{s:s, s:s}", "ip", "192.0.2.1", "threat_id", "  ");
	ok(conf_target_check(t, err, sizeof(err)) == -1, "blank threat_id refused");
	is_str(err, "threat_id: missing (and no default threat ID given)", "threat_id message");
	json_decref(t);

	t = json_pack("{s:s, s:s, s:s}", "threat_id", "A", "ip", "192.0.2.1", "colour", "red");
	ok(conf_target_check(t, err, sizeof(err)) == -1, "unknown key refused");
	is_str(err, "colour: unknown key", "unknown key message");
	json_decref(t);

	t = json_pack("{s:s, s:i}", "threat_id", "A", "ip", 7);
	ok(conf_target_check(t, err, sizeof(err)) == -1, "non-string refused");
	is_str(err, "ip: not a string", "non-string message");
	json_decref(t);

	t = json_pack("{s:s, s:s}", "threat_id", "A", "ip", "300.1.2.3");
	ok(conf_target_check(t, err, sizeof(err)) == -1, "bad ip refused");
	is_str(err, "ip: bad IPv4 address \"300.1.2.3\"", "check message has no file or line");
	json_decref(t);

	t = json_pack("{s:s, s:s, s:s}", "threat_id", "A", "ip", "192.0.2.1", "port", "");
	ok(conf_target_check(t, err, sizeof(err)) == 0 && json_object_get(t, "port") == NULL,
	    "empty value removed");
	json_decref(t);

	t = json_pack("[]");
	ok(conf_target_check(t, err, sizeof(err)) == -1, "non-object refused");
	json_decref(t);
}

struct prog {
	unsigned calls;
	uint64_t last_done, last_total;
	int backwards;
};

static void
on_progress(uint64_t d, uint64_t total, void *arg)
{
	struct prog *p = arg;

	if (d < p->last_done)
		p->backwards = 1;
	p->calls++;
	p->last_done = d;
	p->last_total = total;
}

static double
secs(void)
{
	return (double)util_mono_us() / 1e6;
}

static void
test_big(void)
{
	struct util_buf b;
	struct result r;
	struct prog p;
	double t0, el;
	size_t i;

	util_buf_init(&b, 0);
	util_buf_printf(&b, "threat_id,ip,domain,url,port,report_date,summary\n");
	for (i = 0; i < 100000; i++) {
		switch (i % 3) {
		case 0:
			util_buf_printf(&b, "T%zu,,,http://h%zu.example/gate.php?id=%zu,,"
					    "2026-11-%02zu,\"row %zu, quoted\"\n",
			    i % 7, i, i, i % 28 + 1, i);
			break;
		case 1:
			util_buf_printf(&b, "T%zu,,d%zu.example,,8080,,\n", i % 7, i);
			break;
		default:
			util_buf_printf(&b, "T%zu,10.%zu.%zu.%zu,,,,,\n", i % 7, (i >> 16) & 255,
			    (i >> 8) & 255, i & 255);
			break;
		}
	}
	write_csv(b.data, b.len);
	memset(&p, 0, sizeof(p));
	util_buf_init(&r.errs, 0);
	r.out = NULL;
	t0 = secs();
	r.rc = conf_targets_read(csv_path, NULL, &r.out, &r.errs, &r.nerrors, on_progress, &p);
	el = secs() - t0;
	ok(r.rc == 0, "100,000 rows read");
	is_int(json_array_size(r.out), 100000, "100,000 targets");
	/* How fast is for a benchmark to say, not a test: on a loaded machine any bound here
	 * fails for no fault of the code. */
	tap_diag("100,000 rows in %.3f s", el);
	ok(p.calls >= 1 && p.last_done == b.len && p.last_total == b.len,
	    "progress ends at the file size");
	ok(p.calls <= (unsigned)(el * 10) + 2, "progress at most ~10 times a second (%u calls)",
	    p.calls);
	ok(!p.backwards, "progress never goes backwards");
	util_buf_fini(&b);
	done(&r);
}

/* jansson's allocations fail at the Nth call: every failure point must give -1, *out
 * untouched and no leak (ASan checks), or, when tolerated, the right result. */
static unsigned long alloc_calls, alloc_fail_at;
static int alloc_failed;

static void *
failing_malloc(size_t n)
{
	if (alloc_fail_at != 0 && ++alloc_calls == alloc_fail_at) {
		alloc_failed = 1;
		return NULL;
	}
	return malloc(n);
}

static void
test_alloc_failures(void)
{
	const char *data = "threat_id,ip,domain,url,port,summary\n"
			   "A,192.0.2.1,,,80,x\n"
			   "A,,b\xc3\xbc" "cher.example,,,\"two\nlines\"\n"
			   "A,,,http://a.example/ p,,\n"
			   "A,192.0.2.1,,,80,dup\n";
	unsigned long n;
	int bad = 0, completed = 0;
	json_t *sentinel = json_null();

	write_csv(data, strlen(data));
	json_set_alloc_funcs(failing_malloc, free);
	for (n = 1; n < 5000 && !completed; n++) {
		struct util_buf errs;
		json_t *out = sentinel;
		int rc;

		alloc_calls = 0;
		alloc_fail_at = n;
		alloc_failed = 0;
		util_buf_init(&errs, 0);
		rc = conf_targets_read(csv_path, NULL, &out, &errs, NULL, NULL, NULL);
		if (!alloc_failed) {
			completed = 1;
			if (rc != 0 || json_array_size(out) != 3)
				bad++;
		} else if (rc == 0 ? json_array_size(out) != 3 : out != sentinel) {
			bad++;
		}
		if (rc == 0)
			json_decref(out);
		util_buf_fini(&errs);
	}
	alloc_fail_at = 0;
	json_set_alloc_funcs(malloc, free);
	ok(completed, "allocation failures tried at every point (%lu)", n - 1);
	is_int(bad, 0, "every allocation failure handled");
}

int
main(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_targets.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 99;
	}
	snprintf(csv_path, sizeof(csv_path), "%s/targets.csv", tmpdir);
	test_basic();
	test_header();
	test_rows();
	test_format();
	test_every_line();
	test_duplicates();
	test_check_and_key();
	test_big();
	test_alloc_failures();
	unlink(csv_path);
	rmdir(tmpdir);
	return tap_done();
}
