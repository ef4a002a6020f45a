/*
 * record: the id (a fixed vector), the target key, the one check and each reason it
 * refuses a record for, and the JSON form: the canonical dump is jansson's sorted dump,
 * the flat reader reads what jansson reads, and the canonical scan takes exactly that form.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "record/record.h"
#include "store/store.h"
#include "tests/records.h"
#include "tests/tap.h"
#include "util/util.h"

/* The store refuses what the check refuses, and keys what it keys. */
_Static_assert(REC_THREAT_ID_MAX == STORE_THREAT_ID_MAX, "one threat ID limit");
_Static_assert(REC_ID_LEN == STORE_ID_LEN, "one id length");


static void
test_id(void)
{
	unsigned char id[REC_ID_LEN];
	char hex[REC_ID_HEX + 1];
	int64_t us;

	util_time_parse("2026-11-22T04:00:00Z", &us);
	ok(rec_id("node-a", "http://t0.example/", us, id) == 0, "id computed");
	util_hex(id, sizeof(id), hex);
	/* sha256("node-a\0http://t0.example/\02026-11-22T04:00:00.000000Z\0") */
	is_str(hex, "aadc6dd9deadc26d615fad91bfa9baf57ec40243903e3bd2d0c42264e150ce20",
	    "id: SHA-256 of node, key and the microsecond time, each NUL-terminated");
	ok(rec_id_hex("node-a", "http://t0.example/", us, hex) == 0 &&
		strcmp(hex, "aadc6dd9deadc26d615fad91bfa9baf57ec40243903e3bd2d0c42264e150ce20") == 0,
	    "id_hex: the same id as text");
	rec_id_hex("node-a", "http://t0.example/", us + 1, hex);
	ok(strcmp(hex, "aadc6dd9deadc26d615fad91bfa9baf57ec40243903e3bd2d0c42264e150ce20") != 0,
	    "a microsecond later is another record");
	ok(rec_id_hex("node-a", "http://t0.example/", INT64_MAX, hex) == -1 && hex[0] == '\0',
	    "a time past year 9999 has no id");
	is_str(rec_field_name(REC_F_INPUT), "target.input", "field names");
	is_str(rec_field_name(REC_F_OBSERVED_AT), "observed_at", "field names: observed_at");
}

static void
test_target_key(void)
{
	char key[64];
	struct util_buf b;
	json_t *t;

	t = json_pack("{s:s, s:s, s:i}", "threat_id", "A", "domain", "example.com", "port", 8443);
	ok(rec_target_key(t, key, sizeof(key)) == 0, "key");
	is_str(key, "example.com:8443", "domain:port key");
	ok(rec_target_key(t, key, 5) == -1 && key[0] == '\0', "key: short buffer refused");
	util_buf_init(&b, 0);
	util_buf_add(&b, "A\n", 2);
	ok(rec_target_key_append(t, &b) == 0 && strcmp(b.data, "A\nexample.com:8443") == 0,
	    "key appended to what a buffer holds");
	util_buf_fini(&b);
	json_decref(t);

	t = json_pack("{s:s, s:s, s:i}", "threat_id", "A", "ip", "2001:db8::1", "port", 53);
	rec_target_key(t, key, sizeof(key));
	is_str(key, "[2001:db8::1]:53", "IPv6 key bracketed with a port");
	json_decref(t);

	t = json_pack("{s:s, s:s, s:s, s:s}", "threat_id", "A", "ip", "192.0.2.1", "domain",
	    "a.example", "url", "http://a.example/x");
	rec_target_key(t, key, sizeof(key));
	is_str(key, "http://a.example/x", "URL wins the key");
	json_decref(t);

	t = json_pack("{s:s, s:s, s:s}", "threat_id", "A", "ip", "192.0.2.1", "domain",
	    "a.example");
	rec_target_key(t, key, sizeof(key));
	is_str(key, "a.example", "domain before IP");
	json_decref(t);

	t = json_pack("{s:s, s:s, s:s}", "threat_id", "A", "ip", "192.0.2.1", "port", "80");
	rec_target_key(t, key, sizeof(key));
	is_str(key, "192.0.2.1", "plain IP key (a port that is not an integer is no port)");
	json_decref(t);

	t = json_pack("{s:s}", "threat_id", "A");
	ok(rec_target_key(t, key, sizeof(key)) == -1 && key[0] == '\0', "no destination, no key");
	json_decref(t);
}

/* A record that passes the check: its id made from its fields. */
static json_t *
good_record(void)
{
	char hex[REC_ID_HEX + 1];
	int64_t us;

	util_time_parse("2026-11-22T04:00:00Z", &us);
	rec_id_hex("cert-a-tokyo-1", "http://x.example:8080/gate.php", us, hex);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:n}", "id", hex, "threat_id", "A",
	    "node", "cert-a-tokyo-1", "observed_at", "2026-11-22T04:00:00Z", "target", "input",
	    "http://x.example:8080/gate.php", "error");
}

/* rec_check_text on the canonical text of rec: -9 when it is not canonical. */
static int
check_as_text(const json_t *rec, char *why, size_t whylen)
{
	char *text = rec_json_dump(rec);
	struct rec_text rt;
	size_t isac;
	int rc = -9;

	if (text != NULL && rec_canon(text, strlen(text), &rt, &isac) == 0)
		rc = rec_check_text(&rt, NULL, why, whylen);
	free(text);
	return rc;
}

static void
test_check(void)
{
	static const struct {
		const char *what, *field;
		json_t *(*value)(void);
		const char *want;
		int as_text; /* the text form can carry the same fault */
	} cases[] = {
		{ "id missing", "id", NULL, "id: not 64 hex digits", 0 },
		{ "threat_id missing", "threat_id", NULL,
		    "record b31c7405902e521d: threat_id missing or too long", 0 },
		{ "node missing", "node", NULL,
		    "record b31c7405902e521d: node or target.input missing", 0 },
		{ "observed_at missing", "observed_at", NULL,
		    "record b31c7405902e521d: observed_at is not an RFC 3339 time", 0 },
	};
	char why[256], longid[REC_THREAT_ID_MAX + 2];
	struct rec_keys k;
	json_t *r;

	r = good_record();
	ok(rec_check(r, &k, why, sizeof(why)) == 0, "a record with its own id is accepted");
	is_str(json_string_value(json_object_get(r, "id")),
	    "b31c7405902e521dbdfd7fa27526d077e4189850a076f05eb468e06c7acae585",
	    "the fixture's id is the known one");
	ok(k.threat_len == 1 && strcmp(k.threat_id, "A") == 0 &&
		strcmp(k.target_key, "http://x.example:8080/gate.php") == 0 &&
		k.key_len == strlen(k.target_key),
	    "keys: threat ID and target key");
	ok(k.observed_us == INT64_C(1795320000) * 1000000 && k.id[0] == 0xb3 && k.id[31] == 0x85,
	    "keys: time and binary id");
	is_int(check_as_text(r, why, sizeof(why)), 0, "the same record as text is accepted");
	json_decref(r);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = good_record();
		json_object_del(r, cases[i].field);
		why[0] = '\0';
		is_int(rec_check(r, NULL, why, sizeof(why)), -1, "refused: %s", cases[i].what);
		is_str(why, cases[i].want, "why: %s", cases[i].what);
		json_decref(r);
	}

#define REFUSE(mutate, want, what, text_too)                                                \
	do {                                                                                \
		r = good_record();                                                          \
		mutate;                                                                     \
		why[0] = '\0';                                                              \
		is_int(rec_check(r, NULL, why, sizeof(why)), -1, "refused: %s", what);       \
		is_str(why, want, "why: %s", what);                                         \
		if (text_too) {                                                             \
			why[0] = '\0';                                                      \
			is_int(check_as_text(r, why, sizeof(why)), -1, "text refused: %s", what); \
			is_str(why, want, "text why: %s", what);                            \
		}                                                                           \
		json_decref(r);                                                             \
	} while (0)

	REFUSE(json_object_set_new(r, "id", json_string("abc")), "id: not 64 hex digits",
	    "a short id", 1);
	REFUSE(json_object_set_new(r, "id", json_string("zz1c7405902e521dbdfd7fa27526d077e4189850"
					      "a076f05eb468e06c7acae585")),
	    "id: not 64 hex digits", "an id that is not hex", 1);
	REFUSE(json_object_set_new(r, "id", json_integer(7)), "id: not 64 hex digits",
	    "an id that is not a string", 0);
	REFUSE(json_object_set_new(r, "threat_id", json_string("")),
	    "record b31c7405902e521d: threat_id missing or too long", "an empty threat_id", 0);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	REFUSE(json_object_set_new(r, "threat_id", json_string(longid)),
	    "record b31c7405902e521d: threat_id missing or too long",
	    "a threat_id one byte over the limit", 1);
	REFUSE(json_object_set_new(r, "node", json_string("")),
	    "record b31c7405902e521d: node or target.input missing", "an empty node", 0);
	REFUSE(json_object_del(json_object_get(r, "target"), "input"),
	    "record b31c7405902e521d: node or target.input missing", "target.input missing", 0);
	REFUSE(json_object_set_new(r, "target", json_string("x")),
	    "record b31c7405902e521d: node or target.input missing", "target not an object", 0);
	REFUSE(json_object_set_new(r, "observed_at", json_string("yesterday")),
	    "record b31c7405902e521d: observed_at is not an RFC 3339 time", "a bad time", 1);
	REFUSE(json_object_set_new(r, "observed_at", json_string("2026-11-22T04:00:00.000001Z")),
	    "record b31c7405902e521d: id is not SHA-256 of its node, target input and time",
	    "another time", 1);
	REFUSE(json_object_set_new(r, "node", json_string("cert-b")),
	    "record b31c7405902e521d: id is not SHA-256 of its node, target input and time",
	    "another node", 1);
	REFUSE(json_object_set_new(json_object_get(r, "target"), "input", json_string("x.example")),
	    "record b31c7405902e521d: id is not SHA-256 of its node, target input and time",
	    "another target", 1);
#undef REFUSE

	/* The limit itself is accepted (the store takes it); the id does not cover it. */
	r = good_record();
	longid[REC_THREAT_ID_MAX] = '\0';
	json_object_set_new(r, "threat_id", json_string(longid));
	ok(rec_check(r, NULL, why, sizeof(why)) == 0 && check_as_text(r, why, sizeof(why)) == 0,
	    "a threat_id of exactly %d bytes is accepted", REC_THREAT_ID_MAX);
	/* Upper-case hex is the same id. */
	json_object_set_new(r, "id",
	    json_string("B31C7405902E521DBDFD7FA27526D077E4189850A076F05EB468E06C7ACAE585"));
	ok(rec_check(r, NULL, why, sizeof(why)) == 0, "an id in upper-case hex is accepted");
	json_decref(r);
}

/* jansson's own sorted dump, as the canonical dump must equal it for records whose reals
 * all take 15 digits or fewer (every fixture's). */
static char *
jansson_dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(15));

	if (s != NULL && (strstr(s, "\xef\xbf\xbe") != NULL || strstr(s, "\xef\xbf\xbf") != NULL)) {
		free(s);
		s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII |
		    JSON_REAL_PRECISION(15));
	}
	return s;
}

/* The dump, the flat reader and the canonical scan agree on every fixture record. */
/* rec_check_fields, on a record and as its text: each field's accepted and refused
 * forms, with the message every path gives. */
static void
test_check_fields(void)
{
	static const struct {
		const char *what, *patch; /* patch: JSON members merged into good_record() */
		const char *want;         /* NULL: accepted */
	} cases[] = {
		{ "vantage a string", "{\"vantage\": \"tokyo\"}", NULL },
		{ "vantage null", "{\"vantage\": null}", NULL },
		{ "vantage a number", "{\"vantage\": 1}", "vantage: not a string" },
		{ "vantage with an escape", "{\"vantage\": \"to\\\"kyo\"}", NULL },
		{ "http null", "{\"http\": null}", NULL },
		{ "http an array", "{\"http\": [200]}", "http: not an object or null" },
		{ "http.status 200", "{\"http\": {\"status\": 200}}", NULL },
		{ "http.status 0", "{\"http\": {\"status\": 0}}", NULL },
		{ "http.status 999", "{\"http\": {\"status\": 999}}", NULL },
		{ "http.status null", "{\"http\": {\"status\": null}}", NULL },
		{ "http.status a string", "{\"http\": {\"status\": \"200\"}}",
		    "http.status: not an integer from 0 to 999" },
		{ "http.status 1000", "{\"http\": {\"status\": 1000}}",
		    "http.status: not an integer from 0 to 999" },
		{ "http.status negative", "{\"http\": {\"status\": -1}}",
		    "http.status: not an integer from 0 to 999" },
		{ "http.status a real", "{\"http\": {\"status\": 200.5}}",
		    "http.status: not an integer from 0 to 999" },
		{ "http.sha256 64 hex digits",
		    "{\"http\": {\"sha256\": "
		    "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}}",
		    NULL },
		{ "http.sha256 null", "{\"http\": {\"sha256\": null}}", NULL },
		{ "http.sha256 short", "{\"http\": {\"sha256\": \"ab\"}}",
		    "http.sha256: not 64 hex digits" },
		{ "http.sha256 not hex",
		    "{\"http\": {\"sha256\": "
		    "\"zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}}",
		    "http.sha256: not 64 hex digits" },
		{ "http.sha256 a number", "{\"http\": {\"sha256\": 12}}",
		    "http.sha256: not 64 hex digits" },
		{ "ping null", "{\"ping\": null}", NULL },
		{ "ping integers", "{\"ping\": {\"sent\": 4, \"received\": 3}}", NULL },
		{ "ping without counts", "{\"ping\": {\"ttl\": 52}}", NULL },
		{ "ping a string", "{\"ping\": \"4/3\"}", "ping: sent and received must be integers" },
		{ "ping.sent a string", "{\"ping\": {\"sent\": \"4\", \"received\": 3}}",
		    "ping: sent and received must be integers" },
		{ "ping.received a real", "{\"ping\": {\"sent\": 4, \"received\": 3.5}}",
		    "ping: sent and received must be integers" },
		{ "ping.sent null", "{\"ping\": {\"sent\": null}}",
		    "ping: sent and received must be integers" },
	};
	char why[256], twhy[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = good_record(), *patch = json_loads(cases[i].patch, 0, NULL);
		char *text;
		int rc, trc;

		json_object_update(r, patch);
		text = json_dumps(r, JSON_COMPACT);
		why[0] = twhy[0] = '\0';
		rc = rec_check_fields(r, why, sizeof(why));
		trc = rec_check_fields_text(text, strlen(text), twhy, sizeof(twhy));
		if (cases[i].want == NULL) {
			ok(rc == 0, "fields accepted: %s (%s)", cases[i].what, why);
			ok(trc == 0, "fields accepted as text: %s (%s)", cases[i].what, twhy);
		} else {
			ok(rc == -1 && strcmp(why, cases[i].want) == 0, "fields refused: %s (%s)",
			    cases[i].what, why);
			ok(trc == -1 && strcmp(twhy, cases[i].want) == 0,
			    "fields refused as text: %s (%s)", cases[i].what, twhy);
		}
		free(text);
		json_decref(patch);
		json_decref(r);
	}
	{
		json_t *num = json_integer(1);

		ok(rec_check_fields(num, why, sizeof(why)) == -1 &&
			strcmp(why, "record: not a JSON object") == 0,
		    "fields: a number is not a record (%s)", why);
		json_decref(num);
	}
	ok(rec_check_fields_text("{\"ping\": {\"sent\": 99999999999999999999999}}", 42, why,
	       sizeof(why)) == -1 && strncmp(why, "record: not JSON", 16) == 0,
	    "fields: text jansson refuses is refused (%s)", why);
}

static void
test_json_form(void)
{
	for (size_t i = 0; i < RECORD_CASES; i++) {
		const char *name = record_cases[i];
		json_t *rec = load_record(name), *back;
		char *got = rec ? rec_json_dump(rec) : NULL, *want = rec ? jansson_dump(rec) : NULL;
		struct rec_jl jl;
		struct rec_jdump d;
		struct rec_text rt;
		size_t isac;

		ok(got != NULL && want != NULL && strcmp(got, want) == 0,
		    "%s: the canonical dump is jansson's sorted dump", name);
		back = got ? rec_json_parse(got) : NULL;
		ok(back != NULL && json_equal(back, rec), "%s: read back equal", name);
		memset(&jl, 0, sizeof(jl));
		memset(&d, 0, sizeof(d));
		if (got != NULL && rec_jl_parse(&jl, got, strlen(got)) == 0) {
			d.ascii = strcmp(name, "xml-special") == 0;
			rec_jl_dump(&jl, &jl.v[0], &d);
			if (0)
				;
			else
				ok(!d.give_up && d.len == strlen(got) && memcmp(d.p, got, d.len) == 0,
				    "%s: the flat reader dumps the same bytes", name);
		} else {
			ok(0, "%s: the flat reader reads it", name);
		}
		free(d.p);
		rec_jl_fini(&jl);
		if (strcmp(name, "xml-special") == 0)
			is_int(got ? rec_canon(got, strlen(got), &rt, &isac) : 0, -1,
			    "%s: an escaped dump is not taken as canonical", name);
		else
			ok(got != NULL && rec_canon(got, strlen(got), &rt, &isac) == 0 && isac == 0 &&
				rt.json == got && rt.len == strlen(got) &&
				rt.flen[REC_F_ID] == strlen(json_string_value(json_object_get(rec, "id"))),
			    "%s: its canonical dump is recognized, fields located", name);
		json_decref(back);
		json_decref(rec);
		free(got);
		free(want);
	}
}

/* The canonical scan takes the canonical form only and declines any other form. */
static void
test_canon(void)
{
	static const char *const more[][3] = {
		{ "\"node\":\"cert-a-tokyo-1\"", "\"node\":\"\"", "an empty node" },
		{ "\"threat_id\":\"A\"", "\"threat_id\":\"\\nA\"", "an escape in an indexed field" },
		{ "\"vantage\":\"tokyo\"}", "\"vantage\":\"tokyo\",\"x-ict-isac.jp\":[]}",
		    "an ISAC member that is not an object" },
		{ "{\"error\":", "{\"x-ict-isac.jp\":{},\"error\":", "an ISAC member first" },
	};
	json_t *rec = load_record("full");
	char *text = rec ? rec_json_dump(rec) : NULL, *m;
	struct rec_text rt;
	size_t isac;

	if (text == NULL) {
		ok(0, "canon: fixture dumped");
		json_decref(rec);
		return;
	}
	ok(rec_canon(text, strlen(text), &rt, &isac) == 0 && isac == 0, "canon: taken");
	ok(rt.flen[REC_F_THREAT] == 1 && rt.f[REC_F_THREAT][0] == 'A' &&
		rt.flen[REC_F_NODE] == strlen("cert-a-tokyo-1") &&
		memcmp(rt.f[REC_F_NODE], "cert-a-tokyo-1", rt.flen[REC_F_NODE]) == 0 &&
		rt.flen[REC_F_OBSERVED_AT] == 20 &&
		memcmp(rt.f[REC_F_INPUT], "http://x.example:8080/gate.php", rt.flen[REC_F_INPUT]) == 0,
	    "canon: threat_id, node, observed_at, target.input located");
	for (size_t i = 0; i < RECORD_MUTATIONS + sizeof(more) / sizeof(more[0]); i++) {
		const char *const *c = i < RECORD_MUTATIONS ? record_mutations[i] :
		    more[i - RECORD_MUTATIONS];

		m = replace_all(text, c[0], c[1]);
		if (m == NULL || strcmp(m, text) == 0) {
			ok(0, "canon: mutation %s applies", c[2]);
			free(m);
			continue;
		}
		is_int(rec_canon(m, strlen(m), &rt, &isac), -1, "canon: declined: %s", c[2]);
		free(m);
	}
	/* With the ISAC block last, as a package embeds it: taken, the block located. */
	m = replace_all(text, "\"vantage\":\"tokyo\"}",
	    "\"vantage\":\"tokyo\",\"x-ict-isac.jp\":{\"id\":1}}");
	ok(strcmp(m, text) != 0 && rec_canon(m, strlen(m), &rt, &isac) == 0 &&
		isac == strlen(text) - 1 && m[isac] == ',',
	    "canon: an ISAC block last is located");
	free(m);
	m = replace_all(text, "\"vantage\":\"tokyo\"}",
	    "\"vantage\":\"tokyo\",\"x-ict-isac.jp\":{},\"zz\":1}");
	is_int(rec_canon(m, strlen(m), &rt, &isac), -1, "canon: declined: a key after the ISAC block");
	free(m);
	{
		size_t bad = 0;

		/* Copies of exactly `cut` bytes, so the sanitizers see any read past the end. */
		for (size_t cut = 0; cut < strlen(text); cut++) {
			char *part = malloc(cut ? cut : 1);

			if (part == NULL)
				break;
			memcpy(part, text, cut);
			if (rec_canon(part, cut, &rt, &isac) == 0)
				bad++;
			free(part);
		}
		is_int(bad, 0, "canon: every truncation is declined");
	}
	free(text);
	json_decref(rec);
}

static void
test_reals(void)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 25.0, "25.0" }, { 12.3, "12.3" }, { -0.0, "-0.0" }, { 0.723, "0.723" },
		{ 1e-7, "1e-7" }, { 2.5e20, "2.5e20" }, { 1e300, "1e300" },
		{ 0.30000000000000004, "0.30000000000000004" }, { 1e15, "1e15" },
		{ 0.0001, "0.0001" }, { 5e-324, "4.94065645841247e-324" },
		/* 16 digits name it: 17 would write 0.10000000000000001 for 0.1's neighbour. */
		{ 0.1 + 0.7, "0.7999999999999999" }, { 1.0 / 3.0, "0.3333333333333333" },
		{ 123456789012345680.0, "1.2345678901234568e17" },
	};
	char buf[REC_REAL_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = rec_real_format(cases[i].v, buf);

		ok(n == (int)strlen(cases[i].want) && strcmp(buf, cases[i].want) == 0,
		    "real %s in its shortest round-trip form", cases[i].want);
		if (n < 0 || strcmp(buf, cases[i].want) != 0)
			tap_diag("got %s", n < 0 ? "-1" : buf);
		ok(n > 0 && strtod(buf, NULL) == cases[i].v, "%s reads back the same", buf);
	}
	{
		json_t *j = json_pack("{s:f,s:f}", "x", 0.30000000000000004, "y", 0.723);
		char *s = rec_json_dump(j);

		is_str(s, "{\"x\":0.30000000000000004,\"y\":0.723}",
		    "each real takes its own digits: 17 for one, 3 for the other");
		free(s);
		json_decref(j);
	}
	{
		json_t *j = rec_json_parse("{\"a\":1,\"a\":2}");

		ok(j == NULL, "parse: duplicate keys refused");
		json_decref(j);
	}
}

/* RFC 8785's own vectors: Appendix B's numbers (IEEE 754 bits, the expected text) and
 * the sample of section 3.2.2 with the sorting sample of 3.2.3. */
static void
test_jcs(void)
{
	static const struct {
		uint64_t bits;
		const char *want; /* NULL: refused */
	} nums[] = {
		{ 0x0000000000000000ULL, "0" }, { 0x8000000000000000ULL, "0" },
		{ 0x0000000000000001ULL, "5e-324" }, { 0x8000000000000001ULL, "-5e-324" },
		{ 0x7fefffffffffffffULL, "1.7976931348623157e+308" },
		{ 0xffefffffffffffffULL, "-1.7976931348623157e+308" },
		{ 0x4340000000000000ULL, "9007199254740992" },
		{ 0xc340000000000000ULL, "-9007199254740992" },
		{ 0x4430000000000000ULL, "295147905179352830000" },
		{ 0x7fffffffffffffffULL, NULL }, { 0x7ff0000000000000ULL, NULL },
		{ 0x44b52d02c7e14af5ULL, "9.999999999999997e+22" },
		{ 0x44b52d02c7e14af6ULL, "1e+23" },
		{ 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23" },
		{ 0x444b1ae4d6e2ef4eULL, "999999999999999700000" },
		{ 0x444b1ae4d6e2ef4fULL, "999999999999999900000" },
		{ 0x444b1ae4d6e2ef50ULL, "1e+21" },
		{ 0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7" },
		{ 0x3eb0c6f7a0b5ed8dULL, "0.000001" },
		{ 0x41b3de4355555553ULL, "333333333.3333332" },
		{ 0x41b3de4355555554ULL, "333333333.33333325" },
		{ 0x41b3de4355555555ULL, "333333333.3333333" },
		{ 0x41b3de4355555556ULL, "333333333.3333334" },
		{ 0x41b3de4355555557ULL, "333333333.33333343" },
		{ 0xbecbf647612f3696ULL, "-0.0000033333333333333333" },
		{ 0x43143ff3c1cb0959ULL, "1424953923781206.2" },
	};
	static const char sample[] =
	    "{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],"
	    " \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
	    " \"literals\": [null, true, false]}";
	static const char sample_want[] =
	    "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
	    "1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
	static const char sorting[] =
	    "{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\","
	    " \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\","
	    " \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\","
	    " \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}";
	static const char *const order[] = { "Carriage Return", "One", "Control",
		"Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face",
		"Hebrew Letter Dalet With Dagesh" };
	char buf[REC_JCS_NUM_MAX], why[256];
	struct util_buf b;
	json_t *j;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double v;
		int n;

		memcpy(&v, &nums[i].bits, sizeof(v));
		n = rec_jcs_number(v, buf);
		if (nums[i].want == NULL)
			is_int(n, -1, "JCS number %016llx refused",
			    (unsigned long long)nums[i].bits);
		else
			ok(n == (int)strlen(nums[i].want) && strcmp(buf, nums[i].want) == 0,
			    "JCS number %016llx is %s", (unsigned long long)nums[i].bits,
			    nums[i].want);
	}
	util_buf_init(&b, 0);
	j = json_loads(sample, 0, NULL);
	ok(j != NULL && rec_jcs(j, 0, &b, why, sizeof(why)) == 0 && b.data != NULL &&
	    strcmp(b.data, sample_want) == 0, "JCS: the sample of RFC 8785 3.2.2, byte for byte");
	if (b.data != NULL && strcmp(b.data, sample_want) != 0)
		tap_diag("got  %s\nwant %s", b.data, sample_want);
	json_decref(j);
	util_buf_reset(&b);
	j = json_loads(sorting, 0, NULL);
	ok(j != NULL && rec_jcs(j, 0, &b, why, sizeof(why)) == 0, "JCS: the sorting sample");
	{
		const char *p = b.data ? b.data : "";
		int in_order = 1;

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			const char *q = strstr(p, order[i]);

			if (q == NULL)
				in_order = 0;
			else
				p = q;
		}
		ok(in_order, "JCS: members in UTF-16 code unit order (3.2.3)");
		has_str(b.data ? b.data : "", "{\"\\r\":\"Carriage Return\",\"1\":\"One\",",
		    "JCS: a control character in a name escaped");
	}
	json_decref(j);
	util_buf_reset(&b);
	j = json_pack("{s:I}", "big", (json_int_t)9007199254740993LL);
	ok(rec_jcs(j, 0, &b, why, sizeof(why)) != 0 && strstr(why, "2^53") != NULL,
	    "JCS: an integer beyond 2^53 refused");
	json_decref(j);
	util_buf_reset(&b);
	j = json_pack("{s:s,s:s,s:{s:s,s:s}}", "sig", "x", "key", "y", "a", "sig", "1", "key",
	    "2");
	ok(rec_jcs(j, REC_JCS_UNSIGNED, &b, why, sizeof(why)) == 0 && b.data != NULL &&
	    strcmp(b.data, "{\"a\":{\"key\":\"2\",\"sig\":\"1\"}}") == 0,
	    "JCS unsigned form: the top-level sig and key left out, nested ones kept");
	json_decref(j);
	util_buf_fini(&b);
}

/* Sign, verify, tamper, wrong key, and what the trust set makes of each. */
static void
test_sign(void)
{
	char err[256], why[512];
	struct rec_key *k = rec_key_new(err, sizeof(err)), *k2 = rec_key_new(err, sizeof(err));
	struct rec_key *back = NULL;
	struct rec_trust *t = rec_trust_new();
	json_t *r = load_record("full"), *c;
	char *pem = NULL, *text;
	struct util_buf kf;
	struct rec_text rt;
	size_t isac;

	ok(k != NULL && k2 != NULL && t != NULL && r != NULL, "two keys made, a trust set");
	if (k == NULL || k2 == NULL || t == NULL || r == NULL)
		goto out;
	ok(strncmp(rec_key_public(k), "ed25519:", 8) == 0 && strlen(rec_key_public(k)) == 52 &&
	    rec_pub_valid(rec_key_public(k)), "public key as ed25519:BASE64 of 32 bytes");
	pem = rec_key_pem(k, NULL);
	back = pem ? rec_key_from_pem(pem, strlen(pem), err, sizeof(err)) : NULL;
	ok(pem != NULL && strstr(pem, "-----BEGIN PRIVATE KEY-----") != NULL && back != NULL &&
	    strcmp(rec_key_public(back), rec_key_public(k)) == 0,
	    "PEM written and read back: the same key");
	ok(rec_key_from_pem("junk", 4, err, sizeof(err)) == NULL && err[0] != '\0',
	    "junk is no key");
	json_object_del(r, "sig");
	json_object_del(r, "key");
	ok(rec_sig_verify(r, why, sizeof(why)) != 0 && strstr(why, "not signed") != NULL,
	    "an unsigned record does not verify");
	ok(rec_sign(r, k, why, sizeof(why)) == 0, "signed");
	ok(rec_sig_verify(r, why, sizeof(why)) == 0, "its signature verifies");
	is_str(json_string_value(json_object_get(r, "key")), rec_key_public(k),
	    "key: the signer's public key");
	/* Key order and the dump do not matter: the signature covers the JCS form. */
	text = rec_json_dump(r);
	c = text ? rec_json_parse(text) : NULL;
	ok(c != NULL && rec_sig_verify(c, why, sizeof(why)) == 0,
	    "it verifies after the canonical dump and a parse");
	ok(text != NULL && rec_canon(text, strlen(text), &rt, &isac) == 0,
	    "a signed record's dump is canonical");
	json_decref(c);
	free(text);

	c = json_deep_copy(r);
	json_object_set_new(json_object_get(c, "http"), "status", json_integer(404));
	ok(rec_sig_verify(c, why, sizeof(why)) != 0 && strstr(why, "does not verify") != NULL,
	    "a field changed: refused");
	json_decref(c);
	c = json_deep_copy(r);
	json_object_set_new(c, "extra", json_true());
	ok(rec_sig_verify(c, why, sizeof(why)) != 0, "a field added: refused");
	json_decref(c);
	c = json_deep_copy(r);
	json_object_set_new(c, "key", json_string(rec_key_public(k2)));
	ok(rec_sig_verify(c, why, sizeof(why)) != 0, "another key named: refused");
	json_decref(c);
	c = json_deep_copy(r);
	json_object_set_new(c, "sig", json_string("ed25519:AAAA"));
	ok(rec_sig_verify(c, why, sizeof(why)) != 0 && strstr(why, "sig:") != NULL,
	    "a short sig: refused, named");
	json_decref(c);

	/* The trust set. */
	util_buf_init(&kf, 0);
	util_buf_printf(&kf, "# members\n\ncert-a-tokyo-1 %s\r\n  other %s\n",
	    rec_key_public(k2), rec_key_public(k2));
	ok(rec_trust_parse(t, kf.data, kf.len, "keys", err, sizeof(err)) == 0,
	    "keys file read (comments, blank lines, CRLF)");
	ok(rec_trust_listed(t, "cert-a-tokyo-1", 14) && rec_trust_listed(t, "other", 5) &&
	    !rec_trust_listed(t, "cert-b", 6), "listed nodes");
	is_int(rec_trust_check(t, r, why, sizeof(why)), REC_TRUST_REFUSED,
	    "a listed node's record signed with a key not listed for it: refused");
	has_str(why, json_string_value(json_object_get(r, "id")), "why names the id");
	has_str(why, "node cert-a-tokyo-1", "and the node");
	ok(rec_trust_add(t, "cert-a-tokyo-1", rec_key_public(k), why, sizeof(why)) == 0,
	    "a second key for the node");
	is_int(rec_trust_check(t, r, why, sizeof(why)), REC_TRUST_VERIFIED,
	    "signed with one of its keys: verified");
	c = json_deep_copy(r);
	json_object_set_new(c, "vantage", json_string("osaka"));
	is_int(rec_trust_check(t, c, why, sizeof(why)), REC_TRUST_REFUSED, "altered: refused");
	json_decref(c);
	c = json_deep_copy(r);
	json_object_del(c, "sig");
	json_object_del(c, "key");
	is_int(rec_trust_check(t, c, why, sizeof(why)), REC_TRUST_REFUSED,
	    "unsigned, from a listed node: refused");
	json_object_set_new(c, "node", json_string("cert-b"));
	is_int(rec_trust_check(t, c, why, sizeof(why)), REC_TRUST_UNVERIFIED,
	    "a node not listed: taken unverified (unknown = accept)");
	rec_trust_set_unknown(t, 1);
	is_int(rec_trust_check(t, c, why, sizeof(why)), REC_TRUST_REFUSED,
	    "and refused with unknown = refuse");
	json_decref(c);
	text = rec_json_dump(r);
	if (text != NULL && rec_canon(text, strlen(text), &rt, &isac) == 0) {
		is_int(rec_trust_check_text(t, &rt, why, sizeof(why)), REC_TRUST_VERIFIED,
		    "text: verified alike");
		text[strstr(text, "\"vantage\":\"") - text + 11] = 'X';
		is_int(rec_trust_check_text(t, &rt, why, sizeof(why)), REC_TRUST_REFUSED,
		    "text: altered, refused");
	} else {
		ok(0, "text: canonical");
		ok(0, "text: canonical");
	}
	free(text);
	util_buf_reset(&kf);
	util_buf_printf(&kf, "ok %s\nbad ed25519:nope\n", rec_key_public(k));
	ok(rec_trust_parse(t, kf.data, kf.len, "keys", err, sizeof(err)) != 0 &&
	    strncmp(err, "keys:2: bad: ", 13) == 0, "a bad key: FILE:LINE: node: why");
	util_buf_reset(&kf);
	util_buf_printf(&kf, "\n\nonly-a-node\n");
	ok(rec_trust_parse(t, kf.data, kf.len, "keys", err, sizeof(err)) != 0 &&
	    strncmp(err, "keys:3: ", 8) == 0, "a line without a key: FILE:LINE");
	util_buf_reset(&kf);
	util_buf_printf(&kf, "a %s extra\n", rec_key_public(k));
	ok(rec_trust_parse(t, kf.data, kf.len, "keys", err, sizeof(err)) != 0,
	    "a line with more than two words refused");
	util_buf_fini(&kf);
out:
	if (pem != NULL)
		memset(pem, 0, strlen(pem));
	free(pem);
	rec_key_free(k);
	rec_key_free(k2);
	rec_key_free(back);
	rec_trust_free(t);
	json_decref(r);
}

int
main(void)
{
	test_id();
	test_target_key();
	test_check();
	test_check_fields();
	test_json_form();
	test_canon();
	test_reals();
	test_jcs();
	test_sign();
	return tap_done();
}
