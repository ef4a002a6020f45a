/* Tests for observer/obs_robots: RFC 9309 parsing and matching, and the fetch policy. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observer/obs_robots.h"
#include "tests/tap.h"
#include "util/util.h"

/* Parses `txt` for `ua` and answers one lookup; -1 when parsing fails. */
static int
check(const char *txt, const char *ua, const char *path)
{
	struct obs_robots *r = NULL;
	char err[128];
	int a;

	if (obs_robots_parse(txt, strlen(txt), ua, &r, err, sizeof(err)) < 0)
		return -1;
	a = obs_robots_allowed(r, path);
	obs_robots_free(r);
	return a;
}

static void
test_basics(void)
{
	is_int(check("", "bot", "/"), 1, "empty file allows everything");
	is_int(check("User-agent: *\nDisallow: /\n", "bot", "/x"), 0, "disallow all");
	is_int(check("User-agent: *\nDisallow: /\n", "bot", ""), 0,
	    "empty path is / and is disallowed");
	is_int(check("User-agent: *\nDisallow: /\n", "bot", "/robots.txt"), 1,
	    "/robots.txt is always allowed");
	is_int(check("User-agent: *\nDisallow: /\n", "bot", "/robots.txt?x=1"), 1,
	    "/robots.txt with a query is always allowed");
	is_int(check("User-agent: *\nDisallow: /\n", "bot", "/robots.txt.bak"), 0,
	    "/robots.txt.bak is not /robots.txt");
	is_int(check("User-agent: *\nDisallow:\n", "bot", "/x"), 1,
	    "empty Disallow matches nothing");
	is_int(check("User-agent: *\nAllow:\nDisallow: /a\n", "bot", "/a"), 0,
	    "empty Allow does not undo a Disallow");
	is_int(check("Disallow: /\nUser-agent: *\nDisallow: /x\n", "bot", "/y"), 1,
	    "rules before any user-agent line are ignored");
	is_int(check("USER-AGENT: *\nDISALLOW: /X\n", "bot", "/X"), 0,
	    "keys are case-insensitive");
	is_int(check("User-agent: *\nDisallow: /X\n", "bot", "/x"), 1,
	    "paths are case-sensitive");
	is_int(check("  User-agent :  *  \n\tDisallow\t:\t/x\t\n", "bot", "/x"), 0,
	    "blanks around keys and values");
	is_int(check("User-agent: *\nDisallow /x\nDisallow: /y\n", "bot", "/x"), 0,
	    "a blank instead of the colon separates key and value");
	is_int(check("User-agent: *\nDisallow /x\nDisallow: /y\n", "bot", "/y"), 0,
	    "the line after one without a colon still counts");
	is_int(check("User-agent: *\nDisallow /x now\n", "bot", "/x"), 1,
	    "a line of three words without a colon is ignored");
	is_int(check("User-agent: *\nDisallow\n", "bot", "/"), 1,
	    "a lone word without a colon is ignored");
	is_int(check("User-agent: *\nDisallow: /x # not /y\n", "bot", "/x"), 0,
	    "end-of-line comment stripped");
	is_int(check("User-agent: *\nDisallow: /x$ # not /y\n", "bot", "/x"), 0,
	    "blanks before a comment are not part of the pattern");
	is_int(check("# User-agent: *\n# Disallow: /\n", "bot", "/"), 1,
	    "comment lines are ignored");
	is_int(check("User-agent: *\n#Disallow: /\nDisallow: /a\n", "bot", "/a"), 0,
	    "a comment line does not end a group");
	is_int(check("User-agent: *\nDisallow: private\n", "bot", "/private"), 0,
	    "pattern without a leading slash is rooted");
	is_int(check("User-agent: *\nCrawl-delay: 10\nDisallow: /a\n", "bot", "/a"), 0,
	    "unknown keys do not end a group");
	{
		static const char nul[] = "User-agent: *\nDisallow: /a\0/b\nDisallow: /c\n";
		struct obs_robots *r = NULL;

		ok(obs_robots_parse(nul, sizeof(nul) - 1, "bot", &r, NULL, 0) == 0,
		    "a body holding a NUL parses");
		is_int(obs_robots_allowed(r, "/a"), 1, "a NUL inside a value is an octet");
		is_int(obs_robots_allowed(r, "/c"), 0, "lines after a NUL still count");
		obs_robots_free(r);
	}
}

static void
test_agents(void)
{
	const char *t = "User-agent: *\nDisallow: /\n\nUser-agent: Mozilla\nDisallow: /m\n";

	is_int(check(t, "Mozilla/5.0 (compatible)", "/x"), 1,
	    "product token from the User-Agent selects its group");
	is_int(check(t, "Mozilla/5.0 (compatible)", "/m"), 0, "and its rules apply");
	is_int(check(t, "mozilla", "/x"), 1, "product token match is case-insensitive");
	is_int(check(t, "MozillaFirefox/1", "/x"), 0, "a longer token is another agent");
	is_int(check(t, "Mozill", "/x"), 0, "a shorter token is another agent");
	is_int(check(t, NULL, "/x"), 0, "NULL User-Agent gets the * group");
	is_int(check(t, "(compatible)", "/x"), 0, "a User-Agent without a token gets *");
	is_int(check("User-agent: Mozilla/5.0\nDisallow: /v\n", "Mozilla", "/v"), 0,
	    "version in the user-agent line is ignored");
	is_int(check("User-agent: *\nDisallow: /s\n\nUser-agent: foo\nAllow: /\n", "foo",
	    "/s"), 1, "a specific group replaces *, it does not add to it");
	is_int(check("User-agent: a\nUser-agent: b\nDisallow: /x\n", "b", "/x"), 0,
	    "several user-agent lines make one group");
	is_int(check("User-agent: a\nDisallow: /x\nUser-agent: b\nDisallow: /y\n", "a", "/y"),
	    1, "a user-agent line after rules starts a new group");
	is_int(check("User-agent: a\nUser-agent: *\nDisallow: /x\n", "zzz", "/x"), 0,
	    "a group naming both an agent and * serves as the * group");
	is_int(check("User-agent: a\nDisallow: /x\n", "zzz", "/x"), 1,
	    "no matching group and no * group: allowed");
	is_int(check("User-agent: *x\nDisallow: /x\n", "zzz", "/x"), 1,
	    "\"*x\" is not the * group");
}

static void
test_matching(void)
{
	is_int(check("User-agent: *\nDisallow: /fish\n", "b", "/fish.html"), 0,
	    "pattern is a prefix match");
	is_int(check("User-agent: *\nDisallow: /fish\n", "b", "/Fish"), 1,
	    "prefix match is case-sensitive");
	is_int(check("User-agent: *\nDisallow: /fish$\n", "b", "/fish"), 0, "$ matches end");
	is_int(check("User-agent: *\nDisallow: /fish$\n", "b", "/fish/"), 1,
	    "$ rejects a longer path");
	is_int(check("User-agent: *\nDisallow: /*.php$\n", "b", "/a/b/gate.php"), 0,
	    "* then $");
	is_int(check("User-agent: *\nDisallow: /*.php$\n", "b", "/a.php?x"), 1,
	    "* then $ against a query");
	is_int(check("User-agent: *\nDisallow: /*.php\n", "b", "/a.php?x"), 0,
	    "* without $ is a prefix match");
	is_int(check("User-agent: *\nDisallow: /a*b*c\n", "b", "/a-xb-yc-z"), 0,
	    "several wildcards");
	is_int(check("User-agent: *\nDisallow: /a*b*c$\n", "b", "/abcbc"), 0,
	    "wildcards backtrack");
	is_int(check("User-agent: *\nDisallow: /a*b*c$\n", "b", "/abcbd"), 1,
	    "wildcards fail when no split fits");
	is_int(check("User-agent: *\nDisallow: *\n", "b", "/x"), 0, "lone * matches all");
	is_int(check("User-agent: *\nDisallow: /a$b\n", "b", "/a$b"), 0,
	    "$ inside a pattern is literal");
	is_int(check("User-agent: *\nDisallow: /\nAllow: /$\n", "b", "/"), 1,
	    "Allow /$ opens only the root");
	is_int(check("User-agent: *\nDisallow: /\nAllow: /$\n", "b", "/x"), 0,
	    "and nothing below it");
	is_int(check("User-agent: *\nDisallow: /page\nAllow: /page\n", "b", "/page"), 1,
	    "tie: Allow wins");
	is_int(check("User-agent: *\nAllow: /page\nDisallow: /page\n", "b", "/page"), 1,
	    "tie: Allow wins in either order");
	is_int(check("User-agent: *\nAllow: /p\nDisallow: /page\n", "b", "/page"), 0,
	    "longest match wins over order");
	is_int(check("User-agent: *\nDisallow: /p\nAllow: /page\n", "b", "/page"), 1,
	    "longest Allow wins");
	is_int(check("User-agent: *\nAllow: /folder/\nDisallow: /folder/*.html\n", "b",
	    "/folder/page.html"), 0, "longer wildcard pattern wins");
	is_int(check("User-agent: *\nDisallow: /*?\n", "b", "/search?q=1"), 0,
	    "? is literal");
	is_int(check("User-agent: *\nDisallow: /*?\n", "b", "/search"), 1,
	    "? is literal (no query)");
}

static void
test_encoding(void)
{
	is_int(check("User-agent: *\nDisallow: /foo/bar?baz=quz\n", "b", "/foo/bar?baz=quz"),
	    0, "RFC 2.2.2: query kept");
	is_int(check("User-agent: *\nDisallow: /foo/bar/\xE3\x83\x84\n", "b",
	    "/foo/bar/%E3%83%84"), 0, "RFC 2.2.2: UTF-8 in pattern matches its encoding");
	is_int(check("User-agent: *\nDisallow: /foo/bar/%E3%83%84\n", "b",
	    "/foo/bar/\xE3\x83\x84"), 0, "RFC 2.2.2: encoded pattern matches raw UTF-8");
	is_int(check("User-agent: *\nDisallow: /foo/bar/%e3%83%84\n", "b",
	    "/foo/bar/%E3%83%84"), 0, "hex digit case does not matter");
	is_int(check("User-agent: *\nDisallow: /foo/bar/%62%61%7A\n", "b", "/foo/bar/baz"),
	    0, "RFC 2.2.2: encoded unreserved octets are decoded");
	is_int(check("User-agent: *\nDisallow: /foo/bar/baz\n", "b", "/foo/bar/%62%61%7a"),
	    0, "encoded unreserved octets in the path are decoded");
	is_int(check("User-agent: *\nDisallow: /~joe\n", "b", "/%7Ejoe/x"), 0,
	    "%%7E is ~");
	is_int(check("User-agent: *\nDisallow: /a%2Fb\n", "b", "/a/b"), 1,
	    "%%2F is not /");
	is_int(check("User-agent: *\nDisallow: /a%2fb\n", "b", "/a%2Fb"), 0,
	    "%%2f and %%2F are the same");
	is_int(check("User-agent: *\nDisallow: /100%\n", "b", "/100%"), 0,
	    "a stray %% is kept as is");
}

static void
test_files(void)
{
	const char *dir = getenv("TESTS_SRCDIR");
	char path[4096];
	struct util_buf cases, body;
	char *line, *save = NULL;
	int n = 0;

	if (dir == NULL) {
		ok(0, "TESTS_SRCDIR is set (fixture cases)");
		return;
	}
	util_buf_init(&cases, 1 << 20);
	util_buf_init(&body, OBS_ROBOTS_MAX_BYTES);
	snprintf(path, sizeof(path), "%s/data/robots/cases.tsv", dir);
	if (!ok(util_read_file(path, &cases) == 0, "read data/robots/cases.tsv"))
		goto out;
	for (line = strtok_r(cases.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4], *s2 = NULL, *tok;
		struct obs_robots *r = NULL;
		char err[128];
		int k = 0;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		for (tok = strtok_r(line, "\t", &s2); tok != NULL && k < 4;
		     tok = strtok_r(NULL, "\t", &s2))
			f[k++] = tok;
		if (k != 4) {
			ok(0, "case line has four fields");
			continue;
		}
		snprintf(path, sizeof(path), "%s/data/robots/%s", dir, f[0]);
		util_buf_reset(&body);
		if (util_read_file(path, &body) != 0) {
			ok(0, "read %s", f[0]);
			continue;
		}
		if (obs_robots_parse(body.data, body.len, f[1], &r, err, sizeof(err)) != 0) {
			ok(0, "parse %s: %s", f[0], err);
			continue;
		}
		is_int(obs_robots_allowed(r, f[2]), strcmp(f[3], "allow") == 0,
		    "%s as \"%s\": %s is %s", f[0], f[1], f[2], f[3]);
		obs_robots_free(r);
		n++;
	}
	ok(n >= 30, "ran the fixture cases (%d)", n);
out:
	util_buf_fini(&cases);
	util_buf_fini(&body);
}

static void
test_limits(void)
{
	struct util_buf b;
	struct obs_robots *r = NULL;
	char err[128];
	size_t i;

	/* Rules past the cap are dropped, not an error. */
	util_buf_init(&b, 0);
	util_buf_add(&b, "User-agent: *\n", 14);
	for (i = 0; i < OBS_ROBOTS_MAX_RULES + 5; i++)
		util_buf_printf(&b, "Disallow: /r%zu$\n", i);
	ok(obs_robots_parse(b.data, b.len, "bot", &r, err, sizeof(err)) == 0,
	    "parse a file with too many rules");
	is_int(obs_robots_rule_count(r), OBS_ROBOTS_MAX_RULES, "rules capped");
	is_int(obs_robots_dropped_rules(r), 5, "dropped rules counted");
	is_int(obs_robots_allowed(r, "/r0"), 0, "first rule kept");
	is_int(obs_robots_allowed(r, "/r10004"), 1, "rule past the cap dropped");
	obs_robots_free(r);
	r = NULL;

	/* Only the first 500 KiB count; the line cut there is dropped. */
	util_buf_reset(&b);
	util_buf_add(&b, "User-agent: *\nDisallow: /early\n", 31);
	while (b.len < OBS_ROBOTS_MAX_BYTES - 20)
		util_buf_add(&b, "# padding padding padding padding padding\n", 42);
	while (b.len < OBS_ROBOTS_MAX_BYTES - 6)
		util_buf_add(&b, "#", 1);
	util_buf_add(&b, "\nDisallow: /cut-in-two\nDisallow: /late\n", 39);
	ok(obs_robots_parse(b.data, b.len, "bot", &r, err, sizeof(err)) == 0,
	    "parse an oversized file");
	is_int(obs_robots_allowed(r, "/early"), 0, "rule in the first 500 KiB kept");
	is_int(obs_robots_allowed(r, "/late"), 1, "rule after 500 KiB ignored");
	is_int(obs_robots_allowed(r, "/cut"), 1, "rule cut at 500 KiB dropped, not shortened");
	obs_robots_free(r);
	r = NULL;

	/* Pathological wildcards must stay fast (the matcher backtracks only once). */
	util_buf_reset(&b);
	util_buf_add(&b, "User-agent: *\nDisallow: /", 25);
	for (i = 0; i < 200; i++)
		util_buf_add(&b, "*a", 2);
	util_buf_add(&b, "b$\n", 3);
	ok(obs_robots_parse(b.data, b.len, "bot", &r, err, sizeof(err)) == 0,
	    "parse a wildcard-heavy rule");
	util_buf_reset(&b);
	util_buf_add(&b, "/", 1);
	for (i = 0; i < 5000; i++)
		util_buf_add(&b, "a", 1);
	is_int(obs_robots_allowed(r, b.data), 1, "wildcard-heavy rule does not match");
	obs_robots_free(r);
	util_buf_fini(&b);

	ok(obs_robots_parse(NULL, 5, "bot", &r, err, sizeof(err)) == -1,
	    "NULL body with a length is refused");
	has_str(err, "obs_robots_parse", "error names the function");
	ok(obs_robots_parse(NULL, 0, "bot", &r, err, sizeof(err)) == 0 &&
	    obs_robots_allowed(r, "/x") == 1, "NULL empty body allows all");
	obs_robots_free(r);
	obs_robots_free(NULL); /* a no-op: a crash here fails the test */
}

static void
test_fetch_policy(void)
{
	struct obs_robots *r = NULL;
	char err[128];
	static const char body[] = "User-agent: *\nDisallow: /x\n";

	is_int(obs_robots_status_policy(200), OBS_ROBOTS_RULES, "200 -> rules");
	is_int(obs_robots_status_policy(204), OBS_ROBOTS_RULES, "204 -> rules");
	is_int(obs_robots_status_policy(301), OBS_ROBOTS_ALLOW_ALL,
	    "redirect chain cut short -> allow all");
	is_int(obs_robots_status_policy(401), OBS_ROBOTS_ALLOW_ALL, "401 -> allow all");
	is_int(obs_robots_status_policy(404), OBS_ROBOTS_ALLOW_ALL, "404 -> allow all");
	is_int(obs_robots_status_policy(500), OBS_ROBOTS_DISALLOW_ALL, "500 -> disallow all");
	is_int(obs_robots_status_policy(503), OBS_ROBOTS_DISALLOW_ALL, "503 -> disallow all");
	is_int(obs_robots_status_policy(0), OBS_ROBOTS_DISALLOW_ALL,
	    "unreachable -> disallow all");
	is_int(obs_robots_status_policy(-1), OBS_ROBOTS_DISALLOW_ALL,
	    "negative -> disallow all");
	is_int(obs_robots_status_policy(102), OBS_ROBOTS_DISALLOW_ALL, "1xx -> disallow all");

	ok(obs_robots_from_fetch(200, body, strlen(body), "bot", &r, err, sizeof(err)) == 0,
	    "from_fetch 200");
	is_int(obs_robots_allowed(r, "/x"), 0, "200 body rules apply");
	is_int(obs_robots_allowed(r, "/y"), 1, "200 body: other paths allowed");
	obs_robots_free(r);
	ok(obs_robots_from_fetch(404, body, strlen(body), "bot", &r, err, sizeof(err)) == 0,
	    "from_fetch 404");
	is_int(obs_robots_policy(r), OBS_ROBOTS_ALLOW_ALL, "404 policy");
	is_int(obs_robots_allowed(r, "/x"), 1, "404 body ignored, allowed");
	obs_robots_free(r);
	ok(obs_robots_from_fetch(503, NULL, 0, "Mozilla/5.0", &r, err, sizeof(err)) == 0,
	    "from_fetch 503");
	is_int(obs_robots_allowed(r, "/"), 0, "503 disallows everything");
	is_int(obs_robots_allowed(r, "/robots.txt"), 1, "503 still allows /robots.txt");
	is_str(obs_robots_agent(r), "Mozilla", "product token kept");
	obs_robots_free(r);
}

static int alloc_calls, alloc_fail_at;

static void *
failing_malloc(size_t n)
{
	return ++alloc_calls == alloc_fail_at ? NULL : malloc(n);
}

static void *
failing_realloc(void *p, size_t n)
{
	return ++alloc_calls == alloc_fail_at ? NULL : realloc(p, n);
}

/* Every allocation failure ends in -1, *out NULL and a message; leaks show under ASan. */
static void
test_alloc_failures(void)
{
	struct util_buf b;
	struct obs_robots *r = NULL;
	char err[128], longpath[600];
	int n, failures = 0, bad = 0, rc = -1;
	size_t i;

	util_buf_init(&b, 0);
	util_buf_add(&b, "User-agent: *\nUser-agent: bot\n", 30);
	for (i = 0; i < 40; i++)
		util_buf_printf(&b, "Disallow: /p%zu\n", i);
	obs_robots_set_alloc(failing_malloc, failing_realloc);
	for (n = 1; n < 500 && rc != 0; n++) {
		alloc_calls = 0;
		alloc_fail_at = n;
		r = (struct obs_robots *)&b;
		err[0] = '\0';
		rc = obs_robots_parse(b.data, b.len, "bot", &r, err, sizeof(err));
		if (rc == 0)
			break;
		failures++;
		if (r != NULL || strstr(err, "out of memory") == NULL)
			bad++;
	}
	ok(failures >= 5, "allocation failures injected (%d)", failures);
	is_int(bad, 0, "each failure returns -1, NULL and \"out of memory\"");
	if (ok(rc == 0, "parse succeeds once allocations do")) {
		is_int(obs_robots_allowed(r, "/p39"), 0, "and the rules are all there");
		/* A path too long for the stack buffer needs memory to be compared. */
		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		alloc_calls = 0;
		alloc_fail_at = 1;
		is_int(obs_robots_allowed(r, longpath), 0, "no memory for a lookup: disallowed");
		alloc_fail_at = 0;
		is_int(obs_robots_allowed(r, longpath), 1, "with memory the same path is allowed");
		obs_robots_free(r);
	}
	alloc_calls = 0;
	alloc_fail_at = 1;
	ok(obs_robots_from_fetch(404, NULL, 0, "bot", &r, err, sizeof(err)) == -1 && r == NULL,
	    "from_fetch reports allocation failure");
	obs_robots_set_alloc(NULL, NULL);
	util_buf_fini(&b);
}

int
main(void)
{
	test_basics();
	test_agents();
	test_matching();
	test_encoding();
	test_files();
	test_limits();
	test_fetch_policy();
	test_alloc_failures();
	return tap_done();
}
