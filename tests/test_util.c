/* util: RFC 3339 times both ways, hex, SHA-256, the capped buffer. */
#include "config.h"

#include <stdint.h>

#include "tests/tap.h"
#include "util/util.h"
#include "util/util_xml.h"

static void
test_time(void)
{
	char buf[UTIL_TIME_MAX];
	int64_t us = 0;

	ok(util_time_parse("2026-11-22T04:00:00Z", &us) == 0, "parse Z");
	is_int(us, INT64_C(1795320000) * 1000000, "2026-11-22T04:00:00Z in microseconds");
	util_time_format(us, 0, buf);
	is_str(buf, "2026-11-22T04:00:00Z", "format without fraction");
	util_time_format(us + 42, 1, buf);
	is_str(buf, "2026-11-22T04:00:00.000042Z", "format with six-digit fraction");

	int64_t a, b;
	ok(util_time_parse("2026-11-22T13:00:00+09:00", &a) == 0 && a == us, "offset +09:00");
	ok(util_time_parse("2026-11-22t04:00:00.5z", &b) == 0 && b == us + 500000,
	    "lowercase t/z and half a second");
	ok(util_time_parse("2026-11-22", &a) == 0 && a == us - INT64_C(4) * 3600 * 1000000,
	    "bare date is midnight UTC");
	ok(util_time_parse("1969-12-31T23:59:59Z", &a) == 0 && a == -1000000, "before epoch");
	util_time_format(-1, 1, buf);
	is_str(buf, "1969-12-31T23:59:59.999999Z", "negative microseconds format");
	ok(util_time_parse("2024-02-29T00:00:00Z", &a) == 0, "leap day");

	static const char *bad[] = {"", "2026", "2026-13-01", "2025-02-29", "2026-11-22T25:00:00Z",
	    "2026-11-22T04:00:00", "2026-11-22T04:00:00Zjunk", "2026-11-22T04:00Z",
	    "2026-11-22T04:00:00.Z", "2026-11-22T04:00:00.1234567890Z", "2026-11-22T04:00:00+0900",
	    "x026-11-22"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(util_time_parse(bad[i], &a) == -1, "refuses \"%s\"", bad[i]);
}

static void
test_hash(void)
{
	unsigned char d[UTIL_SHA256_LEN], back[UTIL_SHA256_LEN];
	char hex[2 * UTIL_SHA256_LEN + 1];

	ok(util_sha256("abc", 3, d) == 0, "sha256 runs");
	util_hex(d, sizeof(d), hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256(\"abc\") is the FIPS 180-2 vector");
	ok(util_unhex(hex, back, sizeof(back)) == 0 && memcmp(back, d, sizeof(d)) == 0,
	    "unhex inverts hex");
	ok(util_unhex("zz", back, 1) == -1, "unhex refuses non-hex");
	ok(util_unhex("abcd", back, 1) == -1, "unhex refuses extra digits");
	/* Every byte value but NUL (which ends the string: the short case below) as the high
	 * and as the low digit, against the digits' definition. */
	int wrong = 0;
	for (int c = 1; c < 256; c++) {
		int want = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		char hs[3] = {(char)c, '7', '\0'}, ls[3] = {'7', (char)c, '\0'};
		unsigned char b1 = 0, b2 = 0;
		int r1 = util_unhex(hs, &b1, 1), r2 = util_unhex(ls, &b2, 1);

		if (want < 0)
			wrong += r1 != -1 || r2 != -1;
		else
			wrong += r1 != 0 || r2 != 0 || b1 != (want << 4 | 7) || b2 != (0x70 | want);
	}
	is_int(wrong, 0, "unhex: each of the 255 non-NUL bytes as either digit");
	ok(util_unhex("a", back, 1) == -1, "unhex refuses a string one digit short");
}

static void
test_buf(void)
{
	struct util_buf b;

	util_buf_init(&b, 8);
	ok(util_buf_add(&b, "12345678", 8) == 0, "fills to the cap");
	ok(util_buf_add(&b, "9", 1) == -2, "one byte past the cap is refused");
	is_int(b.len, 8, "refused add leaves the length");
	is_str(b.data, "12345678", "and the content");
	util_buf_reset(&b);
	ok(util_buf_printf(&b, "%d-%s", 7, "x") == 0 && strcmp(b.data, "7-x") == 0, "printf");
	{
		char *at = util_buf_extend(&b, 4);

		ok(at == b.data + 3 && b.len == 7 && b.data[7] == '\0',
		    "extend: room after the content, counted and terminated");
		memcpy(at, "abcd", 4);
		is_str(b.data, "7-xabcd", "extend: the caller's bytes follow the old ones");
		ok(util_buf_extend(&b, 2) == NULL && b.len == 7,
		    "extend past the cap: NULL, the buffer unchanged");
	}
	util_buf_fini(&b);

	util_buf_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		util_buf_printf(&b, "%04d", i);
	is_int(b.len, 4000, "grows past its first allocation");
	util_buf_fini(&b);

	/* A line longer than the stack buffer takes the second formatting. */
	char long_s[2000];
	memset(long_s, 'q', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = '\0';
	util_buf_init(&b, 0);
	ok(util_buf_printf(&b, "<%s|%d>", long_s, 42) == 0 && b.len == 2004 &&
	    b.data[0] == '<' && b.data[1999] == 'q' && strcmp(b.data + 2000, "|42>") == 0,
	    "a 2,004-byte line is appended whole");
	util_buf_fini(&b);
	util_buf_init(&b, 100);
	ok(util_buf_printf(&b, "%s", long_s) == -2 && b.len == 0,
	    "and one over the cap is refused, the buffer unchanged");
	util_buf_fini(&b);
}

/* A guarded parse of text; the guard says what it met. NULL when it did not parse. */
static xmlDoc *
guarded(const char *xml, unsigned max_depth, struct util_xml_guard *g)
{
	xmlParserCtxt *ctxt = xmlNewParserCtxt();
	xmlDoc *doc;

	memset(g, 0, sizeof(*g));
	g->max_depth = max_depth;
	if (ctxt == NULL)
		return NULL;
	util_xml_guard_init(ctxt, g);
	doc = xmlCtxtReadMemory(ctxt, xml, (int)strlen(xml), NULL, NULL, UTIL_XML_OPTIONS);
	if (doc != NULL && !ctxt->wellFormed) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

static void
test_seterr(void)
{
	char e[64], small[12];

	util_seterr(e, sizeof(e), "%s %d", "bad", 7);
	is_str(e, "bad 7", "seterr formats");
	util_seterr(NULL, 10, "ignored");
	util_seterr(e, 0, "ignored");
	is_str(e, "bad 7", "seterr: no buffer is a no-op");
	util_seterr_at(e, sizeof(e), "t.csv", 12, "port", "not %s", "a number");
	is_str(e, "t.csv:12: port: not a number", "seterr_at: FILE:LINE: field: what");
	util_seterr_at(e, sizeof(e), "t.csv", 0, NULL, "unreadable");
	is_str(e, "t.csv: unreadable", "seterr_at: no line, no field");
	util_seterr_at(e, sizeof(e), NULL, 3, "threat_id", "missing");
	is_str(e, "threat_id: missing", "seterr_at: no file");
	util_seterr_at(small, sizeof(small), "a-long-file-name", 5, "f", "x");
	is_str(small, "a-long-file", "seterr_at: cut to the buffer, NUL-terminated");
}

static void
test_xml(void)
{
	struct util_xml_guard g;
	struct util_xml_quiet q;
	xmlDoc *doc;

	util_xml_quiet_begin(&q);
	doc = guarded("<a><b><c/></b></a>", 3, &g);
	ok(doc != NULL && !g.hostile && !g.too_deep, "xml: three levels under a cap of three");
	ok(doc != NULL && util_xml_tree_check(xmlDocGetRootElement(doc), 1, 3) == 0,
	    "xml: the tree checks");
	ok(doc != NULL && util_xml_tree_check(xmlDocGetRootElement(doc), 1, 2) == -2,
	    "xml: the same tree is too deep for a cap of two");
	xmlFreeDoc(doc);
	doc = guarded("<a><b><c/></b></a>", 2, &g);
	ok(g.too_deep && !g.hostile, "xml: nesting past the cap stops the parse");
	xmlFreeDoc(doc);
	doc = guarded("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", 10, &g);
	ok(g.hostile, "xml: a DOCTYPE stops the parse");
	xmlFreeDoc(doc);
	doc = guarded("<a>&x;</a>", 10, &g);
	ok(doc == NULL, "xml: an undeclared entity is not well-formed");
	xmlFreeDoc(doc);
	util_xml_quiet_end(&q);
}

static void
test_jscan(void)
{
	static const struct {
		const char *text;
		int valid;
	} cases[] = {
		{"{}", 1}, {"[]", 1}, {" {\"a\": [1, -2.5e3, true, false, null, \"x\"]} ", 1},
		{"{\"k\":\"\\u00e9\\n\\\"\"}", 1}, {"\"caf\xc3\xa9\"", 1},
		{"{", 0}, {"{\"a\":}", 0}, {"{\"a\" 1}", 0}, {"[1,]", 0}, {"{\"a\":1,}", 0},
		{"01", 0}, {"1.", 0}, {"-", 0}, {"1e", 0}, {"tru", 0}, {"{} {}", 0},
		{"\"a\nb\"", 0}, {"\"\\x\"", 0}, {"\"\\u12g4\"", 0}, {"\"\xc3\"", 0},
		{"\"\xc0\xaf\"", 0}, {"\"\xed\xa0\x80\"", 0}, {"\"\\u0000\"", 0},
		{"12345678901234567890", 0}, {"{\"a\":1}x", 0},
	};
	const char *obj = "{\"a\":{\"b\":[1,{\"c\":2}]},\"s\":\"t\\\"u\",\"n\":-42,\"z\":null,"
	    "\"p\":\"plain\"}", *end = obj + strlen(obj), *v, *ve, *str;
	long long n = 0;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(util_jscan_valid(cases[i].text, strlen(cases[i].text)), cases[i].valid,
		    "jscan_valid case %zu", i);
	ok(util_jscan_get(obj, end, "n", &v, &ve) == 1 && util_jscan_int(v, ve, &n) == 1 &&
	    n == -42, "an integer found after a nested member");
	ok(util_jscan_get(obj, end, "p", &v, &ve) == 1 && util_jscan_str(v, ve, &str, &len) == 1 &&
	    len == 5 && memcmp(str, "plain", 5) == 0, "a plain string, in place");
	ok(util_jscan_get(obj, end, "s", &v, &ve) == 1 && util_jscan_str(v, ve, &str, &len) == -1,
	    "a string with escapes is left to a full parser");
	ok(util_jscan_get(obj, end, "z", &v, &ve) == 1 && util_jscan_str(v, ve, &str, &len) == 0,
	    "null");
	is_int(util_jscan_get(obj, end, "c", &v, &ve), 0, "only the object's own members");
	{
		static const char arr[] = "[1]";

		is_int(util_jscan_get(arr, arr + 3, "a", &v, &ve), -1, "not an object");
	}
	ok(util_jscan_get(obj, end, "a", &v, &ve) == 1 && ve - v == 17, "an object value's extent");
	{
		static const char *const keys[4] = {"p", "n", "c", "a"};
		static const char dup[] = "{\"k\":1,\"k\":2}", esc[] = "{\"k\\u0041\":1}",
				  cut[] = "{\"k\":\"abc";
		static const char *const one[1] = {"k"};
		const char *vs[4], *ves[4];

		ok(util_jscan_getv(obj, end, keys, 4, vs, ves) == 3 && vs[0] != NULL &&
			ves[0] - vs[0] == 7 && memcmp(vs[1], "-42", 3) == 0 && vs[2] == NULL &&
			ves[3] - vs[3] == 17,
		    "getv: three keys of four found in one walk, the nested one not");
		ok(util_jscan_getv(dup, dup + strlen(dup), one, 1, vs, ves) == 1 && *vs[0] == '1',
		    "getv: the first of repeated keys, as jscan_get");
		is_int(util_jscan_getv(esc, esc + strlen(esc), one, 1, vs, ves), -1,
		    "getv: a key with escapes is left to a full parser");
		is_int(util_jscan_getv(cut, cut + strlen(cut), one, 1, vs, ves), -1,
		    "getv: a string cut off by the end");
		is_int(util_jscan_get(cut, cut + strlen(cut), "k", &v, &ve), -1,
		    "get: a string cut off by the end");
	}
}

int
main(void)
{
	test_time();
	test_hash();
	test_buf();
	test_seterr();
	test_xml();
	test_jscan();
	return tap_done();
}
