/*
 * stix: records and targets written as STIX 1.2 validate and read back identically;
 * third-party STIX 1.1.1 / 1.2 documents give the expected targets; hostile XML is refused.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "stix/stix.h"
#include "tests/records.h"
#include "tests/tap.h"
#include "util/util.h"

static struct stix_schema *schema;  /* NULL: SHARED_DIR absent, validation not checked */
static char samples_dir[4096];

static int has_target(const struct stix_result *res, const char *kind, const char *value,
    const char *tid);

static int
load(const char *path, struct util_buf *b)
{
	util_buf_init(b, 64u * 1024 * 1024);
	return util_read_file(path, b);
}

/* Validates when the schema is at hand; otherwise says so and passes nothing. */
static void
check_valid(const struct util_buf *xml, const char *what)
{
	char err[512] = "";
	int rc;

	if (schema == NULL) {
		tap_skip("schema validity", "no schemas (SHARED_DIR absent): %s not checked", what);
		return;
	}
	rc = stix_schema_validate(schema, xml->data, xml->len, err, sizeof(err));
	is_int(rc, 0, "%s validates against STIX 1.2", what);
	if (rc != 0)
		tap_diag("%s", err);
}

static void
test_records(void)
{
	struct util_buf a, b;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		const char *name = record_cases[i];
		json_t *rec = load_record(name), *back = NULL;
		int rc;

		util_buf_init(&a, 0);
		util_buf_init(&b, 0);
		ok(rec != NULL, "%s: fixture loads", name);
		if (rec == NULL)
			continue;
		rc = stix_observation_write(rec, &a, err, sizeof(err));
		is_int(rc, 0, "%s: written", name);
		if (rc != 0)
			tap_diag("%s", err);
		check_valid(&a, name);
		rc = stix_observation_read(a.data, a.len, &back, err, sizeof(err));
		is_int(rc, 0, "%s: read back", name);
		if (rc != 0)
			tap_diag("%s", err);
		ok(back != NULL && json_equal(rec, back), "%s: identical record", name);
		if (back != NULL && !json_equal(rec, back)) {
			char *s = json_dumps(back, JSON_SORT_KEYS);

			tap_diag("got %s", s);
			free(s);
		}
		{
			struct stix_result res;

			stix_result_init(&res);
			is_int(stix_read(a.data, a.len, NULL, &res, err, sizeof(err)), 0,
			    "%s: generic reader accepts it", name);
			ok(res.kind == STIX_KIND_OBSERVATIONS &&
				json_array_size(res.records) == 1 &&
				json_equal(json_array_get(res.records, 0), rec) &&
				json_array_size(res.targets) == 0,
			    "%s: classified as one observation, not as targets", name);
			stix_result_fini(&res);
		}
		stix_observation_write(rec, &b, err, sizeof(err));
		ok(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
		    "%s: same record, same bytes", name);
		has_str(a.data, "x-ict-isac.jp", "%s: carries the ISAC block", name);
		has_str(a.data, "<campaign:Title>", "%s: threat ID as a campaign", name);
		json_decref(back);
		json_decref(rec);
		util_buf_fini(&a);
		util_buf_fini(&b);
	}
}

/* The structured objects and the ISAC block carry what receivers look for. */
static void
test_record_content(void)
{
	json_t *rec = load_record("full"), *nul = load_record("probes-null");
	json_t *v6 = load_record("ipv6-unicode"), *sp = load_record("xml-special");
	json_t *ip = load_record("bare-ip");
	struct util_buf a;
	char err[512];

	util_buf_init(&a, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	has_str(a.data, "type=\"URL\">\n            <URIObj:Value condition=\"Equals\">"
			"http://x.example:8080/gate.php</URIObj:Value>", "URL as URIObj");
	has_str(a.data, "<DomainNameObj:Value condition=\"Equals\">x.example<",
	    "domain as DomainNameObj");
	has_str(a.data, "category=\"ipv4-addr\">\n            <AddressObj:Address_Value "
			"condition=\"Equals\">203.0.113.5<", "IPv4 as AddressObj");
	has_str(a.data, "<PortObj:Port_Value condition=\"Equals\">8080<", "port as PortObj");
	has_str(a.data, "\"ping-ext\":{\"loss\":\"25%\"}", "ISAC loss as a percentage");
	has_str(a.data, "\"http-response-ext\":{\"reason_phrase\":\"OK\",\"status_code\":200}",
	    "ISAC HTTP status");
	has_str(a.data, "\"dst_port\":8080", "ISAC port");
	has_str(a.data, "<cybox:Title>A</cybox:Title>", "threat ID as observable title");
	util_buf_reset(&a);
	stix_observation_write(nul, &a, err, sizeof(err));
	has_str(a.data, "\"status_code\":0", "no response: ISAC status_code 0");
	has_str(a.data, "\"ping-ext\":null", "no ping: ISAC ping-ext null, not made up");
	ok(strstr(a.data, "URIObj:URIObjectType") == NULL, "bare domain input: no URIObj");
	util_buf_reset(&a);
	stix_observation_write(v6, &a, err, sizeof(err));
	has_str(a.data, "category=\"ipv6-addr\">\n            <AddressObj:Address_Value "
			"condition=\"Equals\">2001:db8::6<", "IPv6 as AddressObj ipv6-addr");
	util_buf_reset(&a);
	stix_observation_write(ip, &a, err, sizeof(err));
	has_str(a.data, "category=\"ipv4-addr\">\n            <AddressObj:Address_Value "
			"condition=\"Equals\">10.1.2.3<", "an address input is an AddressObj");
	util_buf_reset(&a);
	stix_observation_write(sp, &a, err, sizeof(err));
	ok(strstr(a.data, "<script>") == NULL && strstr(a.data, "<Server>") == NULL,
	    "markup in values is escaped");
	ok(strstr(a.data, "\xef\xbf\xbf") == NULL, "U+FFFF never written raw");
	util_buf_fini(&a);
	json_decref(rec);
	json_decref(nul);
	json_decref(v6);
	json_decref(sp);
	json_decref(ip);
}

static void
test_write_errors(void)
{
	json_t *rec = load_record("full"), *bad;
	struct util_buf a;
	char err[512] = "";

	util_buf_init(&a, 0);
	bad = json_deep_copy(rec);
	json_object_del(bad, "id");
	is_int(stix_observation_write(bad, &a, err, sizeof(err)), STIX_ERR_INPUT,
	    "record without id refused");
	has_str(err, "\"id\"", "error names the field");
	json_decref(bad);
	bad = json_deep_copy(rec);
	json_object_set_new(bad, "observed_at", json_string("yesterday"));
	is_int(stix_observation_write(bad, &a, err, sizeof(err)), STIX_ERR_INPUT,
	    "record with a bad time refused");
	json_decref(bad);
	is_int(stix_observation_write(json_object_get(rec, "target"), &a, err, sizeof(err)),
	    STIX_ERR_INPUT, "a target is not a record");
	util_buf_fini(&a);
	util_buf_init(&a, 512);
	is_int(stix_observation_write(rec, &a, err, sizeof(err)), STIX_ERR_TOOBIG,
	    "output cap respected");
	ok(a.len <= 512, "buffer stays within its cap");
	util_buf_fini(&a);
	json_decref(rec);
}

static void
test_observation_read_refuses(void)
{
	json_t *rec = load_record("full"), *tgt, *back = NULL;
	struct util_buf a;
	char err[512] = "", *p;

	util_buf_init(&a, 0);
	tgt = json_pack("{s:s, s:s}", "threat_id", "A", "ip", "203.0.113.5");
	stix_target_write(tgt, &a, err, sizeof(err));
	is_int(stix_observation_read(a.data, a.len, &back, err, sizeof(err)), STIX_ERR_FORMAT,
	    "a target package is not an observation");
	ok(back == NULL, "nothing returned on error");
	util_buf_reset(&a);
	stix_observation_write(rec, &a, err, sizeof(err));
	/* Change the embedded record id: the package id no longer matches it. */
	p = strstr(a.data, "\"id\":\"3f1c");
	ok(p != NULL, "record id found in the Description");
	if (p != NULL)
		p[7] = '0';
	is_int(stix_observation_read(a.data, a.len, &back, err, sizeof(err)), STIX_ERR_FORMAT,
	    "edited record refused");
	has_str(err, "does not match", "error says the ids disagree");
	util_buf_reset(&a);
	stix_observation_write(rec, &a, err, sizeof(err));
	p = replace_all(a.data, "\"input\":", "\"inp\":");
	is_int(stix_observation_read(p, strlen(p), &back, err, sizeof(err)), STIX_ERR_FORMAT,
	    "embedded record without target.input refused");
	has_str(err, "target.input", "error names the missing field");
	free(p);

	/* A peer's "c2watch" target with a column c2watch does not have: read generically. */
	util_buf_reset(&a);
	json_object_set_new(tgt, "port", json_integer(8443));
	stix_target_write(tgt, &a, err, sizeof(err));
	p = replace_all(a.data, "{\"ip\"", "{\"evil\":\"x\",\"ip\"");
	{
		struct stix_result res;

		stix_result_init(&res);
		is_int(stix_read(p, strlen(p), NULL, &res, err, sizeof(err)), 0,
		    "target with an unknown column still read");
		ok(json_array_size(res.targets) == 1 &&
			json_object_get(json_array_get(res.targets, 0), "evil") == NULL &&
			has_target(&res, "ip", "203.0.113.5", "A"),
		    "from its structured objects, without the unknown column");
		stix_result_fini(&res);
	}
	free(p);
	json_decref(back);
	json_decref(tgt);
	json_decref(rec);
	util_buf_fini(&a);
}

static const char *const target_cases[] = {
	"{\"threat_id\":\"A\",\"url\":\"http://x.example:8080/gate.php\",\"domain\":\"x.example\","
	"\"ip\":\"203.0.113.5\",\"port\":8080,\"report_date\":\"2026-11-01\","
	"\"malware_sha256\":\"9b2c4e6a8d0f1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d\","
	"\"file_type\":\"PE32\",\"summary\":\"RAT <gate> & \\\"panel\\\"\",\"user_agent\":\"Mo/5\"}",
	"{\"threat_id\":\"T-2\",\"domain\":\"c2.example.net\"}",
	"{\"threat_id\":\"脅威\",\"ip\":\"2001:db8::1\",\"summary\":\"IPv6 のみ\"}",
	"{\"threat_id\":\"T-4\",\"ip\":\"198.51.100.7\",\"port\":443}",
};

static void
test_targets(void)
{
	struct stix_result res;
	struct util_buf a;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(target_cases) / sizeof(target_cases[0]); i++) {
		json_t *t = json_loads(target_cases[i], 0, NULL);
		int rc;

		util_buf_init(&a, 0);
		rc = stix_target_write(t, &a, err, sizeof(err));
		is_int(rc, 0, "target %zu written", i);
		if (rc != 0)
			tap_diag("%s", err);
		check_valid(&a, "target package");
		stix_result_init(&res);
		rc = stix_read(a.data, a.len, NULL, &res, err, sizeof(err));
		is_int(rc, 0, "target %zu read", i);
		is_int(res.kind, STIX_KIND_TARGETS, "target %zu: kind targets", i);
		is_int(json_array_size(res.targets), 1, "target %zu: exactly one", i);
		ok(json_equal(json_array_get(res.targets, 0), t), "target %zu: identical", i);
		has_str(a.data, "<indicator:Title>", "target %zu: threat ID as indicator title", i);
		stix_result_fini(&res);
		util_buf_fini(&a);
		json_decref(t);
	}
	{
		json_t *t = json_pack("{s:s, s:s, s:s}", "threat_id", "A", "ip", "1.2.3.4", "x",
		    "y");

		util_buf_init(&a, 0);
		is_int(stix_target_write(t, &a, err, sizeof(err)), STIX_ERR_INPUT,
		    "target with an unknown column refused");
		has_str(err, "\"x\"", "error names the column");
		json_decref(t);
		t = json_pack("{s:s, s:s}", "threat_id", "A", "summary", "no destination");
		is_int(stix_target_write(t, &a, err, sizeof(err)), STIX_ERR_INPUT,
		    "target without ip/domain/url refused");
		json_decref(t);
		t = json_pack("{s:s, s:s, s:i}", "threat_id", "A", "ip", "1.2.3.4", "port", 0);
		is_int(stix_target_write(t, &a, err, sizeof(err)), STIX_ERR_INPUT,
		    "port 0 refused");
		json_decref(t);
		util_buf_fini(&a);
	}
}

/* Several observation packages nested in one, and the same one twice: set union. */
static void
test_nested_observations(void)
{
	struct util_buf outer, one;
	struct stix_result res;
	char err[512];
	size_t i;

	util_buf_init(&outer, 0);
	util_buf_printf(&outer, "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" "
				"id=\"x:p\" version=\"1.2\"><stix:Related_Packages>");
	for (i = 0; i < 3; i++) {
		json_t *rec = load_record(record_cases[i == 2 ? 0 : i]);
		char *body;

		util_buf_init(&one, 0);
		stix_observation_write(rec, &one, err, sizeof(err));
		body = strstr(one.data, "?>");
		util_buf_printf(&outer, "<stix:Related_Package>%s</stix:Related_Package>",
		    body ? body + 2 : one.data);
		util_buf_fini(&one);
		json_decref(rec);
	}
	util_buf_printf(&outer, "</stix:Related_Packages></stix:STIX_Package>");
	stix_result_init(&res);
	is_int(stix_read(outer.data, outer.len, NULL, &res, err, sizeof(err)), 0,
	    "nested observation packages read");
	is_int(res.kind, STIX_KIND_OBSERVATIONS, "kind observations");
	is_int(json_array_size(res.records), 2, "three packages, two distinct records");
	stix_result_fini(&res);
	util_buf_fini(&outer);
}

/* 1 when res holds a target {kind: value} (with threat ID tid unless NULL). */
static int
has_target(const struct stix_result *res, const char *kind, const char *value,
    const char *tid)
{
	size_t i;
	json_t *t;

	json_array_foreach(res->targets, i, t) {
		const char *v = json_string_value(json_object_get(t, kind));
		const char *th = json_string_value(json_object_get(t, "threat_id"));

		if (v != NULL && strcmp(v, value) == 0 &&
		    (tid == NULL || (th != NULL && strcmp(th, tid) == 0)))
			return 1;
	}
	return 0;
}

static int
read_sample(const char *name, const char *def, struct stix_result *res)
{
	char path[8192], err[512] = "";
	struct util_buf b;
	int rc;

	stix_result_init(res);
	snprintf(path, sizeof(path), "%s/%s", samples_dir, name);
	if (load(path, &b) != 0) {
		tap_diag("cannot read %s", path);
		util_buf_fini(&b);
		return -100;
	}
	rc = stix_read(b.data, b.len, def, res, err, sizeof(err));
	if (rc != 0)
		tap_diag("%s: %s", name, err);
	util_buf_fini(&b);
	return rc;
}

static int
has_note(const struct stix_result *res, const char *needle)
{
	size_t i;
	json_t *n;

	json_array_foreach(res->notes, i, n)
		if (strstr(json_string_value(n), needle) != NULL)
			return 1;
	return 0;
}

/* Replaces every `from` in s with `to` (returns a new string the caller frees). */
/* Namespaces decide, not prefixes: other prefixes read the same, a known prefix bound to
 * another namespace does not. */
static void
test_namespaces(void)
{
	static const char doc[] =
	    "<STIX_Package xmlns=\"http://stix.mitre.org/stix-1\""
	    " xmlns:i=\"http://stix.mitre.org/Indicator-2\" xmlns:o=\"http://cybox.mitre.org/cybox-2\""
	    " xmlns:a=\"http://cybox.mitre.org/objects#AddressObject-2\""
	    " xmlns:h=\"http://cybox.mitre.org/objects#HostnameObject-1\""
	    " xmlns:x=\"http://www.w3.org/2001/XMLSchema-instance\""
	    " xmlns:AddressObj=\"urn:not-cybox\" version=\"1.2\">"
	    "<Indicators><Indicator x:type=\"i:IndicatorType\" id=\"q:1\"><i:Title>Prefixes</i:Title>"
	    "<i:Observable><o:Observable_Composition operator=\"OR\">"
	    "<o:Observable><o:Object><o:Properties x:type=\"a:AddressObjectType\" category=\"ipv4-addr\">"
	    "<a:Address_Value> 192.0.2.1 </a:Address_Value></o:Properties></o:Object></o:Observable>"
	    "<o:Observable><o:Object><o:Properties x:type=\"a:AddressObjectType\" category=\"cidr\">"
	    "<a:Address_Value>192.0.2.0/24</a:Address_Value></o:Properties></o:Object></o:Observable>"
	    "<o:Observable><o:Object><o:Properties x:type=\"a:AddressObjectType\" category=\"ipv4-addr\">"
	    "<a:Address_Value condition=\"InclusiveBetween\">192.0.2.1##comma##192.0.2.9"
	    "</a:Address_Value></o:Properties></o:Object></o:Observable>"
	    "<o:Observable><o:Object><o:Properties x:type=\"a:AddressObjectType\">"
	    "<a:Address_Value>198.51.100.0/24</a:Address_Value></o:Properties></o:Object></o:Observable>"
	    "<o:Observable><o:Object><o:Properties x:type=\"h:HostnameObjectType\">"
	    "<h:Hostname_Value>c2.example.org</h:Hostname_Value></o:Properties></o:Object></o:Observable>"
	    "<o:Observable><o:Object><o:Properties x:type=\"AddressObj:AddressObjectType\">"
	    "<AddressObj:Address_Value>203.0.113.66</AddressObj:Address_Value></o:Properties>"
	    "</o:Object></o:Observable>"
	    "<o:Observable><o:Object><o:Properties x:type=\"a:AddressObjectType\">"
	    "<a:Address_Value>300.1.2.3</a:Address_Value></o:Properties></o:Object></o:Observable>"
	    "</o:Observable_Composition></i:Observable></Indicator></Indicators></STIX_Package>";
	static const char byref[] =
	    "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\""
	    " xmlns:indicator=\"http://stix.mitre.org/Indicator-2\""
	    " xmlns:cybox=\"http://cybox.mitre.org/cybox-2\""
	    " xmlns:A=\"http://cybox.mitre.org/objects#AddressObject-2\""
	    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:x=\"urn:x\""
	    " xmlns:y=\"urn:x\" version=\"1.2\">"
	    "<stix:STIX_Header><stix:Title>Top title</stix:Title></stix:STIX_Header>"
	    "<stix:Observables cybox_major_version=\"2\" cybox_minor_version=\"1\">"
	    "<cybox:Observable id=\"x:o1\"><cybox:Object><cybox:Properties"
	    " xsi:type=\"A:AddressObjectType\"><A:Address_Value>192.0.2.77</A:Address_Value>"
	    "</cybox:Properties></cybox:Object></cybox:Observable>"
	    "<cybox:Observable id=\"x:o2\"><cybox:Object><cybox:Properties"
	    " xsi:type=\"A:AddressObjectType\"><A:Address_Value>192.0.2.78</A:Address_Value>"
	    "</cybox:Properties></cybox:Object></cybox:Observable></stix:Observables>"
	    "<stix:Indicators><stix:Indicator id=\"x:i1\" xsi:type=\"indicator:IndicatorType\">"
	    "<indicator:Title>By ref</indicator:Title>"
	    "<indicator:Observable idref=\"y:o1\"/></stix:Indicator></stix:Indicators>"
	    "</stix:STIX_Package>";
	json_t *rec = load_record("full"), *back = NULL;
	struct stix_result res;
	struct util_buf a;
	char err[512] = "", *s1, *s2, *s3;

	stix_result_init(&res);
	is_int(stix_read(doc, strlen(doc), NULL, &res, err, sizeof(err)), 0,
	    "default namespace and odd prefixes read");
	is_int(json_array_size(res.targets), 2, "two literal destinations");
	ok(has_target(&res, "ip", "192.0.2.1", "Prefixes"), "address under prefix a:, trimmed");
	ok(has_target(&res, "domain", "c2.example.org", "Prefixes"), "HostnameObj as a domain");
	ok(!has_target(&res, "ip", "203.0.113.66", NULL),
	    "AddressObj prefix bound to another namespace is not an address");
	ok(has_note(&res, "category cidr"), "CIDR category skipped with a note");
	ok(has_note(&res, "IP range 192.0.2.1"), "InclusiveBetween skipped as a range");
	ok(has_note(&res, "IP range 198.51.100.0/24"), "slash notation skipped as a range");
	ok(has_note(&res, "300.1.2.3"), "invalid address skipped with a note");
	stix_result_fini(&res);

	stix_result_init(&res);
	is_int(stix_read(byref, strlen(byref), "DEF", &res, err, sizeof(err)), 0,
	    "observable referenced by idref read");
	ok(json_array_size(res.targets) == 2 && has_target(&res, "ip", "192.0.2.77", "By ref") &&
		has_target(&res, "ip", "192.0.2.78", "Top title"),
	    "an indicator's idref'd observable takes the indicator's threat ID, others the "
	    "package's");
	stix_result_fini(&res);

	stix_result_init(&res);
	s1 = replace_all(doc, "http://stix.mitre.org/stix-1", "urn:not-stix");
	is_int(stix_read(s1, strlen(s1), NULL, &res, err, sizeof(err)), STIX_ERR_FORMAT,
	    "STIX_Package in another namespace refused");
	free(s1);
	stix_result_fini(&res);

	util_buf_init(&a, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	s1 = replace_all(a.data, "stix:", "s:");
	s2 = replace_all(s1, "c2watch:", "cw:");
	s3 = replace_all(s2, "cybox:", "cyb:");
	free(s1);
	free(s2);
	s1 = replace_all(s3, "xmlns:stix=", "xmlns:s=");
	s2 = replace_all(s1, "xmlns:c2watch=", "xmlns:cw=");
	free(s3);
	s3 = replace_all(s2, "xmlns:cybox=", "xmlns:cyb=");
	ok(strstr(s3, "stix:") == NULL && strstr(s3, "c2watch:") == NULL, "prefixes renamed");
	is_int(stix_observation_read(s3, strlen(s3), &back, err, sizeof(err)), 0,
	    "own package with other prefixes read");
	ok(back != NULL && json_equal(back, rec), "and still identical");
	free(s1);
	free(s2);
	free(s3);
	json_decref(back);
	json_decref(rec);
	util_buf_fini(&a);
}

/* Watchlists: custom delimiters, a long list read in one go, the target cap. */
static void
test_watchlists(void)
{
	static const char head[] =
	    "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\""
	    " xmlns:indicator=\"http://stix.mitre.org/Indicator-2\""
	    " xmlns:cybox=\"http://cybox.mitre.org/cybox-2\""
	    " xmlns:D=\"http://cybox.mitre.org/objects#DomainNameObject-1\""
	    " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"1.2\">"
	    "<stix:Indicators><stix:Indicator xsi:type=\"indicator:IndicatorType\" id=\"x:w\">"
	    "<indicator:Title>WL</indicator:Title><indicator:Observable><cybox:Object>"
	    "<cybox:Properties xsi:type=\"D:DomainNameObjectType\">";
	static const char tail[] = "</D:Value></cybox:Properties></cybox:Object>"
				   "</indicator:Observable></stix:Indicator></stix:Indicators>"
				   "</stix:STIX_Package>";
	struct stix_result res;
	struct util_buf doc;
	char err[512];
	int i;

	util_buf_init(&doc, 0);
	util_buf_printf(&doc, "%s<D:Value condition=\"Equals\" apply_condition=\"ANY\""
			      " delimiter=\"|\">a.example| b.example |a.example||c.example%s",
	    head, tail);
	stix_result_init(&res);
	is_int(stix_read(doc.data, doc.len, NULL, &res, err, sizeof(err)), 0,
	    "watchlist with its own delimiter");
	ok(json_array_size(res.targets) == 3 && has_target(&res, "domain", "b.example", "WL") &&
		has_target(&res, "domain", "c.example", "WL"),
	    "split on \"|\", trimmed, empty items and repeats dropped");
	stix_result_fini(&res);

	util_buf_reset(&doc);
	util_buf_printf(&doc, "%s<D:Value condition=\"Equals\" apply_condition=\"ANY\">", head);
	for (i = 0; i < 20000; i++)
		util_buf_printf(&doc, "%sh%d.example", i ? "##comma##" : "", i);
	util_buf_printf(&doc, "%s", tail);
	stix_result_init(&res);
	is_int(stix_read(doc.data, doc.len, NULL, &res, err, sizeof(err)), 0,
	    "20000-entry watchlist read");
	is_int(json_array_size(res.targets), 20000, "every entry a target");
	ok(has_target(&res, "domain", "h19999.example", "WL"), "the last one too");
	stix_result_fini(&res);

	stix_result_init(&res);
	res.max_targets = 100;
	is_int(stix_read(doc.data, doc.len, NULL, &res, err, sizeof(err)), STIX_ERR_HOSTILE,
	    "target cap enforced");
	has_str(err, "more than 100 targets", "cap error says so");
	stix_result_fini(&res);

	stix_result_init(&res);
	res.max_depth = 5;
	is_int(stix_read(doc.data, doc.len, NULL, &res, err, sizeof(err)), STIX_ERR_HOSTILE,
	    "depth limit is the caller's to lower");
	stix_result_fini(&res);
	util_buf_fini(&doc);
}

static void
test_samples(void)
{
	struct stix_result res;
	struct dirent *de;
	DIR *d;
	int n = 0, bad = 0;

	if (samples_dir[0] == '\0') {
		tap_skip("third-party samples", "SHARED_DIR unset or absent");
		return;
	}
	d = opendir(samples_dir);
	ok(d != NULL, "samples directory opens");
	while (d != NULL && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
			continue;
		n++;
		if (read_sample(de->d_name, NULL, &res) != 0) {
			bad++;
			tap_diag("%s failed", de->d_name);
		}
		stix_result_fini(&res);
	}
	if (d != NULL)
		closedir(d);
	ok(n >= 20 && bad == 0, "all %d samples read without error", n);

	is_int(read_sample("idiom-c2-ip-indicator.xml", NULL, &res), 0, "c2 ip indicator");
	is_int(json_array_size(res.targets), 1, "c2 ip indicator: one target");
	ok(has_target(&res, "ip", "10.0.0.0", NULL), "c2 ip indicator: 10.0.0.0");
	stix_result_fini(&res);

	is_int(read_sample("ip-watchlist-1.2.xml", "WL", &res), 0, "ip watchlist");
	is_int(json_array_size(res.targets), 3, "watchlist: three addresses");
	ok(has_target(&res, "ip", "10.0.0.0", "WL") && has_target(&res, "ip", "10.0.0.1", "WL") &&
		has_target(&res, "ip", "10.0.0.2", "WL"),
	    "watchlist split on ##comma##, untitled: the default threat ID");
	stix_result_fini(&res);

	is_int(read_sample("idiom-malicious-url.xml", NULL, &res), 0, "malicious url");
	ok(has_target(&res, "url", "http://x4z9arb.cn/4712", NULL), "malicious url: the URL");
	is_int(json_array_size(res.targets), 1, "malicious url: one target");
	stix_result_fini(&res);

	is_int(read_sample("misp-attributes-collection-stix11.xml", NULL, &res), 0, "misp 1.1.1");
	ok(has_target(&res, "domain", "circl.lu", NULL) &&
		has_target(&res, "ip", "149.13.33.14", NULL), "misp 1.1.1: domain and IP");
	stix_result_fini(&res);

	is_int(read_sample("misp-event2-stix11.xml", NULL, &res), 0, "misp nested packages");
	ok(has_target(&res, "domain", "circl.lu", NULL) &&
		has_target(&res, "ip", "149.13.33.14", NULL), "misp nested: domain and IP");
	stix_result_fini(&res);

	is_int(read_sample("misp-events-collection-stix12.xml", NULL, &res), 0, "misp 1.2");
	ok(json_array_size(res.targets) > 0, "misp 1.2 collection: targets found");
	stix_result_fini(&res);

	is_int(read_sample("idiom-indicators-to-campaigns-new.xml", NULL, &res), 0,
	    "campaign (1.2 style)");
	ok(json_array_size(res.targets) > 0 &&
		has_target(&res, "ip", json_string_value(json_object_get(
		    json_array_get(res.targets, 0), "ip")), "Operation Omega"),
	    "1.2 Related_Campaigns: threat ID is the campaign");
	stix_result_fini(&res);

	is_int(read_sample("idiom-indicators-to-campaigns-old.xml", NULL, &res), 0,
	    "campaign (old style)");
	ok(json_array_size(res.targets) > 0 &&
		has_target(&res, "ip", json_string_value(json_object_get(
		    json_array_get(res.targets, 0), "ip")), "Operation Omega"),
	    "Campaign Related_Indicators: threat ID is the campaign");
	stix_result_fini(&res);

	is_int(read_sample("idiom-c2-ip-list.xml", NULL, &res), 0, "c2 ip list");
	ok(json_array_size(res.targets) == 3 && has_target(&res, "ip", "198.51.100.2", NULL) &&
		has_target(&res, "ip", "198.51.100.17", NULL) &&
		has_target(&res, "ip", "203.0.113.19", NULL), "c2 ip list: bare observables");
	stix_result_fini(&res);

	is_int(read_sample("idiom-sample-combined.xml", NULL, &res), 0, "sample combined");
	is_int(json_array_size(res.targets), 3, "repeated IPs deduplicated");
	stix_result_fini(&res);

	is_int(read_sample("validator-schema-invalid.xml", NULL, &res), 0,
	    "schema-invalid sample still read");
	ok(has_target(&res, "domain", "malicious1.example.com", NULL) &&
		has_target(&res, "domain", "malicious3.example.com", NULL),
	    "schema-invalid sample: its domain watchlist");
	stix_result_fini(&res);

	is_int(read_sample("analyst-exercise-output.xml", NULL, &res), 0, "analyst exercise");
	ok(has_target(&res, "domain", "yahoomail.com.co", NULL) &&
		has_target(&res, "ip", "81.17.28.227", NULL), "analyst exercise: domain and IP");
	ok(has_note(&res, "e-mail"), "e-mail address skipped with a note");
	stix_result_fini(&res);

	is_int(read_sample("opentaxii-stuxnet-1.1.1.xml", NULL, &res), 0, "stuxnet");
	is_int(json_array_size(res.targets), 0, "stuxnet: no destinations");
	is_int(res.kind, STIX_KIND_NONE, "stuxnet: kind none");
	ok(has_note(&res, "no network indicator"), "stuxnet: says so");
	stix_result_fini(&res);

	is_int(read_sample("idiom-block-network-traffic.xml", NULL, &res), 0, "block traffic");
	is_int(json_array_size(res.targets), 0, "course of action parameters are not targets");
	ok(has_note(&res, "Course_Of_Action"), "course of action skip noted");
	stix_result_fini(&res);

	is_int(read_sample("validator-cybox-observables-valid.xml", NULL, &res), 0,
	    "bare cybox:Observables root");
	is_int(json_array_size(res.targets), 0, "StartsWith pattern is not a destination");
	ok(has_note(&res, "pattern"), "pattern skip noted");
	stix_result_fini(&res);

	is_int(read_sample("ramrod-invalid-version.xml", NULL, &res), 0, "unknown version read");
	ok(has_note(&res, "27.4"), "unknown version noted");
	stix_result_fini(&res);
}

/* Deterministic byte flips, truncations and splices of every sample: no crash, no leak,
 * and a consistent answer (an error with a message, or a classified result). */
static void
test_mutations(void)
{
	static const char junk[] = "<>&;\"'/=:#!?[]\x00\xff\xc3";
	unsigned long long seed = 0x9e3779b97f4a7c15ull;
	struct stix_result res;
	struct dirent *de;
	int runs = 0, bad = 0;
	DIR *d;

	if (samples_dir[0] == '\0') {
		tap_skip("mutation test", "SHARED_DIR unset or absent");
		return;
	}
	d = opendir(samples_dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		char path[8192], err[512];
		struct util_buf b;
		size_t l = strlen(de->d_name);
		int k;

		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", samples_dir, de->d_name);
		if (load(path, &b) != 0 || b.len == 0) {
			util_buf_fini(&b);
			continue;
		}
		for (k = 0; k < 40; k++) {
			char *m = malloc(b.len);
			size_t len = b.len, j, n;
			int rc;

			memcpy(m, b.data, b.len);
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			n = 1 + (size_t)(seed >> 60);
			for (j = 0; j < n; j++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				m[(seed >> 33) % len] = junk[(seed >> 20) % (sizeof(junk) - 1)];
			}
			if (k % 4 == 0)
				len = 1 + (size_t)((seed >> 40) % len);
			err[0] = '\0';
			stix_result_init(&res);
			rc = stix_read(m, len, NULL, &res, err, sizeof(err));
			if (rc != 0 ? err[0] == '\0' :
			    (res.kind == STIX_KIND_NONE) != (json_array_size(res.targets) == 0 &&
				json_array_size(res.records) == 0))
				bad++;
			stix_result_fini(&res);
			free(m);
			runs++;
		}
		util_buf_fini(&b);
	}
	if (d != NULL)
		closedir(d);
	ok(runs > 0 && bad == 0, "%d mutated samples: each an error with a message or a result",
	    runs);
}

static void
test_validate(void)
{
	char path[8192], err[512] = "";
	struct util_buf b;
	const char *sd = getenv("SHARED_DIR");

	ok(stix_schema_new("/nonexistent/validate-stix-1.2.xsd", err, sizeof(err)) == NULL,
	    "missing schema file: no handle");
	has_str(err, "validate-stix-1.2.xsd", "missing schema: error names the file");
	stix_schema_free(NULL);
	if (schema == NULL) {
		tap_skip("stix_validate", "no schemas (SHARED_DIR absent)");
		return;
	}
	snprintf(path, sizeof(path), "%s/schemas/stix/samples/stix-1.2-url-indicator.xml", sd);
	ok(load(path, &b) == 0, "schema sample loads");
	is_int(stix_schema_validate(schema, b.data, b.len, err, sizeof(err)), 0,
	    "official-layout sample validates");
	util_buf_fini(&b);
	snprintf(path, sizeof(path), "%s/validator-schema-invalid.xml", samples_dir);
	ok(load(path, &b) == 0, "invalid sample loads");
	is_int(stix_schema_validate(schema, b.data, b.len, err, sizeof(err)), STIX_ERR_SCHEMA,
	    "schema-invalid sample fails validation");
	has_str(err, "line", "validation error names the line");
	util_buf_fini(&b);
	snprintf(path, sizeof(path), "%s/schemas/stix", sd);
	is_int(stix_validate("<a/>", 4, path, err, sizeof(err)), STIX_ERR_SCHEMA,
	    "one-shot stix_validate refuses a non-STIX document");
}

/* Every file in data/stix/hostile is refused by every reader before any expansion. */
static void
test_hostile_fixtures(void)
{
	static const char xinclude[] =
	    "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\""
	    " xmlns:xi=\"http://www.w3.org/2001/XInclude\" version=\"1.2\"><stix:STIX_Header>"
	    "<stix:Title><xi:include href=\"file:///etc/passwd\" parse=\"text\"/></stix:Title>"
	    "</stix:STIX_Header></stix:STIX_Package>";
	char dir[4096], path[8192], err[512];
	struct stix_result res;
	struct dirent *de;
	json_t *rec = NULL;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/data/stix/hostile", getenv("TESTS_SRCDIR"));
	d = opendir(dir);
	ok(d != NULL, "hostile fixtures present");
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct util_buf b;
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (load(path, &b) != 0) {
			util_buf_fini(&b);
			continue;
		}
		n++;
		stix_result_init(&res);
		err[0] = '\0';
		is_int(stix_read(b.data, b.len, NULL, &res, err, sizeof(err)), STIX_ERR_HOSTILE,
		    "%s: refused by stix_read", de->d_name);
		has_str(err, "DOCTYPE", "%s: error says DOCTYPE", de->d_name);
		ok(json_array_size(res.targets) == 0 && json_array_size(res.records) == 0,
		    "%s: nothing read", de->d_name);
		stix_result_fini(&res);
		is_int(stix_observation_read(b.data, b.len, &rec, err, sizeof(err)),
		    STIX_ERR_HOSTILE, "%s: refused by stix_observation_read", de->d_name);
		if (schema != NULL)
			is_int(stix_schema_validate(schema, b.data, b.len, err, sizeof(err)),
			    STIX_ERR_HOSTILE, "%s: refused by the validator", de->d_name);
		util_buf_fini(&b);
	}
	if (d != NULL)
		closedir(d);
	ok(n >= 5, "%d hostile fixtures tried", n);

	stix_result_init(&res);
	is_int(stix_read(xinclude, strlen(xinclude), NULL, &res, err, sizeof(err)), 0,
	    "XInclude is an ordinary element");
	ok(res.kind == STIX_KIND_NONE, "XInclude: nothing fetched, nothing found");
	stix_result_fini(&res);
}

static void
test_hostile(void)
{
	static const char xxe[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
	    "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" version=\"1.2\">"
	    "<stix:STIX_Header><stix:Title>&x;</stix:Title></stix:STIX_Header>"
	    "</stix:STIX_Package>";
	static const char laughs[] =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
	    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
	    "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
	    "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
	    "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
	    "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
	    "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
	    "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>\n"
	    "<lolz>&lol9;</lolz>";
	struct stix_result res;
	struct util_buf deep;
	json_t *rec = NULL;
	char err[512] = "";
	int i;

	stix_result_init(&res);
	is_int(stix_read(xxe, strlen(xxe), NULL, &res, err, sizeof(err)), STIX_ERR_HOSTILE,
	    "XXE refused");
	has_str(err, "DOCTYPE", "XXE: error says DOCTYPE");
	ok(json_array_size(res.targets) == 0, "XXE: nothing read");
	is_int(stix_read(laughs, strlen(laughs), NULL, &res, err, sizeof(err)),
	    STIX_ERR_HOSTILE, "billion laughs refused");
	has_str(err, "DOCTYPE", "billion laughs: error says DOCTYPE");
	is_int(stix_observation_read(xxe, strlen(xxe), &rec, err, sizeof(err)),
	    STIX_ERR_HOSTILE, "observation reader refuses XXE too");
	if (schema != NULL)
		is_int(stix_schema_validate(schema, laughs, strlen(laughs), err, sizeof(err)),
		    STIX_ERR_HOSTILE, "validator refuses billion laughs");

	util_buf_init(&deep, 0);
	util_buf_printf(&deep, "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\">");
	for (i = 0; i < 1000; i++)
		util_buf_printf(&deep, "<a>");
	for (i = 0; i < 1000; i++)
		util_buf_printf(&deep, "</a>");
	util_buf_printf(&deep, "</stix:STIX_Package>");
	is_int(stix_read(deep.data, deep.len, NULL, &res, err, sizeof(err)), STIX_ERR_HOSTILE,
	    "1000 levels of nesting refused");
	has_str(err, "deeper", "depth error says so");
	util_buf_fini(&deep);

	res.max_bytes = 64;
	is_int(stix_read(xxe, strlen(xxe), NULL, &res, err, sizeof(err)), STIX_ERR_HOSTILE,
	    "size cap enforced");
	has_str(err, "cap", "size error says so");
	res.max_bytes = STIX_MAX_BYTES;

	is_int(stix_read("garbage \x01\x02", 10, NULL, &res, err, sizeof(err)), STIX_ERR_PARSE,
	    "garbage refused");
	has_str(err, "XML", "garbage: XML error");
	is_int(stix_read("<html><body>hi</body></html>", 28, NULL, &res, err, sizeof(err)),
	    STIX_ERR_FORMAT, "non-STIX XML refused");
	has_str(err, "not STIX", "non-STIX: error says so");
	is_int(stix_read("<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\"><x>",
		   63, NULL, &res, err, sizeof(err)), STIX_ERR_PARSE, "truncated XML refused");
	is_int(stix_read("", 0, NULL, &res, err, sizeof(err)), STIX_ERR_PARSE,
	    "empty input refused");
	stix_result_fini(&res);
}

/* Allocation failure injection: the Nth allocation through jansson fails. */
static long chaos_count, chaos_fail_at;
static json_t *chaos_targets; /* what the sample gives with no failure */

static int
chaos_fails(void)
{
	return chaos_fail_at > 0 && ++chaos_count == chaos_fail_at;
}

static void *
chaos_malloc(size_t n)
{
	return chaos_fails() ? NULL : malloc(n);
}


/* One pass over write, read back and third-party read; 1 when every call succeeded. */
static int
chaos_pass(const json_t *rec, const struct util_buf *sample)
{
	struct stix_result res;
	struct util_buf a;
	json_t *back = NULL;
	char err[256];
	int all = 1;

	util_buf_init(&a, 0);
	if (stix_observation_write(rec, &a, err, sizeof(err)) != 0)
		all = 0;
	else if (stix_observation_read(a.data, a.len, &back, err, sizeof(err)) != 0)
		all = 0;
	else if (!json_equal(back, rec))
		all = -1; /* a silent corruption, never acceptable */
	json_decref(back);
	util_buf_fini(&a);
	stix_result_init(&res);
	if (sample != NULL && all == 1) {
		if (stix_read(sample->data, sample->len, NULL, &res, err, sizeof(err)) != 0)
			all = 0;
		else if (chaos_targets == NULL)
			chaos_targets = json_deep_copy(res.targets);
		else if (!json_equal(chaos_targets, res.targets))
			all = -1;
	}
	stix_result_fini(&res);
	return all;
}

static void
test_alloc_failures(void)
{
	json_t *rec = load_record("xml-special");
	struct util_buf sample;
	char path[8192];
	int have = 0, corrupt = 0, r = 0;
	long n;

	if (samples_dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/misp-event2-stix11.xml", samples_dir);
		have = load(path, &sample) == 0;
	}
	ok(chaos_pass(rec, have ? &sample : NULL) == 1, "warm-up pass succeeds");
	for (n = 1; n < 100000; n++) {
		chaos_count = 0;
		chaos_fail_at = n;
		r = chaos_pass(rec, have ? &sample : NULL);
		chaos_fail_at = 0;
		if (r < 0) {
			corrupt++;
			tap_diag("allocation %ld failing gave a wrong result", n);
		}
		if (chaos_count < n)
			break; /* no allocation left to fail: every point was covered */
	}
	ok(r == 1 && corrupt == 0, "%ld allocation failures each failed cleanly", n - 1);
	if (have)
		util_buf_fini(&sample);
	json_decref(chaos_targets);
	json_decref(rec);
}

/* First element named `local` in document order under n, or NULL. */
static xmlNode *
find_el(xmlNode *n, const char *local)
{
	for (; n != NULL; n = n->next) {
		xmlNode *f;

		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0)
			return n;
		if ((f = find_el(n->children, local)) != NULL)
			return f;
	}
	return NULL;
}

static int
reals_fit(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_real(j)) {
		char buf[40];

		snprintf(buf, sizeof(buf), "%.15g", json_real_value(j));
		return strtod(buf, NULL) == json_real_value(j);
	}
	json_object_foreach((json_t *)j, k, v)
		if (!reals_fit(v))
			return 0;
	json_array_foreach(j, i, v)
		if (!reals_fit(v))
			return 0;
	return 1;
}

/*
 * The embedded JSON is byte for byte jansson's compact sorted dump of itself (what c2watch
 * has always embedded, so peers of any version read it as canonical), whichever of the
 * writer's paths produced it.
 */
static void
test_canonical_description(void)
{
	char err[512];

	for (size_t i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		const char *name = record_cases[i];
		json_t *rec = load_record(name), *j = NULL;
		struct util_buf a;
		xmlDoc *doc = NULL;
		xmlNode *d;
		char *text = NULL, *want = NULL;

		util_buf_init(&a, 0);
		if (rec == NULL || stix_observation_write(rec, &a, err, sizeof(err)) != 0) {
			ok(0, "%s: written for the canonical check", name);
			goto next;
		}
		doc = xmlReadMemory(a.data, (int)a.len, NULL, NULL, XML_PARSE_NONET);
		d = doc ? find_el(xmlDocGetRootElement(doc), "Description") : NULL;
		text = d ? (char *)xmlNodeGetContent(d) : NULL;
		j = text ? json_loads(text, 0, NULL) : NULL;
		if (j != NULL)
			want = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
			    JSON_REAL_PRECISION(reals_fit(j) ? 15 : 17) |
			    (strstr(text, "\\uFFFF") || strstr(text, "\\uFFFE") ? JSON_ENSURE_ASCII : 0));
		ok(want != NULL && strcmp(want, text) == 0, "%s: Description is the canonical dump",
		    name);
		if (want != NULL && strcmp(want, text) != 0)
			tap_diag("got  %s\nwant %s", text, want);
		has_str(text, "\"x-ict-isac.jp\":{", "%s: ISAC block in the Description", name);
	next:
		free(want);
		xmlFree(text);
		json_decref(j);
		xmlFreeDoc(doc);
		json_decref(rec);
		util_buf_fini(&a);
	}
}

/* Writes `text` both ways; 1 when both writers succeed with the same bytes, or, when the
 * text is to be refused (`refused`), when both refuse it alike and write nothing. */
static int
same_both_ways(const char *text, const char *what, int refused)
{
	json_t *rec = json_loads(text, 0, NULL);
	struct util_buf a, b;
	char err[512] = "", err2[512] = "";
	int ra, rb, same;

	util_buf_init(&a, 0);
	util_buf_init(&b, 0);
	ra = rec ? stix_observation_write(rec, &a, err, sizeof(err)) : STIX_ERR_INPUT;
	rb = stix_observation_write_text(text, strlen(text), &b, err2, sizeof(err2));
	same = ra == rb && a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
	if (refused ? ra == STIX_OK || a.len != 0 || strcmp(err, err2) != 0 :
	    ra != STIX_OK || a.len == 0)
		same = 0;
	if (!same)
		tap_diag("%s: %d/%d %s / %s", what, ra, rb, err, err2);
	util_buf_fini(&a);
	util_buf_fini(&b);
	json_decref(rec);
	return same;
}

/* The text writer is the jansson writer, byte for byte, on every kind of record text. */
static void
test_write_text(void)
{
	static const char *const odd[][3] = {
		{ "escapes", "{\"id\":\"e1\",\"threat_id\":\"T\\u00e9\\n\\\"x\\\"\",\"node\":\"n\","
		  "\"observed_at\":\"2026-11-22T04:00:00.25+09:00\",\"target\":{\"input\":"
		  "\"http://a.example/\\u0001?\\/\",\"domain\":\"a.example\"},\"error\":null}", "written" },
		{ "port as real, odd lists", "{\"id\":\"e2\",\"threat_id\":\"T\",\"observed_at\":"
		  "\"2026-11-22T04:00:00Z\",\"target\":{\"input\":\"203.0.113.7\",\"ipv4\":[1,\"203.0.113.8\","
		  "null],\"ipv6\":\"no\",\"port\":8080.0,\"user_agent\":{\"b\":1,\"a\":[true,false]}},"
		  "\"ping\":{\"loss_pct\":12},\"http\":[1]}", "written" },
		{ "reals", "{\"id\":\"e3\",\"threat_id\":\"T\",\"observed_at\":\"2026-11-22\",\"target\":"
		  "{\"input\":\"x.example\"},\"ping\":{\"loss_pct\":0.30000000000000004,\"rtt\":1e300,"
		  "\"z\":-0.0,\"w\":-12,\"v\":1E-7},\"http\":{\"status\":\"200\",\"reason\":7}}", "written" },
		{ "ping null, http missing", "{\"target\":{\"input\":\"x.example\",\"domain\":\"\"},"
		  "\"observed_at\":\"2026-11-22T04:00:00Z\",\"threat_id\":\"T\",\"id\":\"e4\",\"ping\":null,"
		  "\"zeta\":1}", "written" },
		{ "a key after the ISAC block's", "{\"id\":\"e5\",\"threat_id\":\"T\",\"observed_at\":"
		  "\"2026-11-22T04:00:00Z\",\"target\":{\"input\":\"x.example\"},\"zz\":1}", "written" },
		{ "duplicate key", "{\"id\":\"e6\",\"threat_id\":\"T\",\"threat_id\":\"U\",\"observed_at\":"
		  "\"2026-11-22T04:00:00Z\",\"target\":{\"input\":\"x.example\"}}", "written" },
		{ "U+FFFF", "{\"id\":\"e7\",\"threat_id\":\"T\\uffff\",\"observed_at\":"
		  "\"2026-11-22T04:00:00Z\",\"target\":{\"input\":\"x.example\"}}", "written" },
		{ "surrogate pair", "{\"id\":\"e8\",\"threat_id\":\"T\\ud83d\\ude00\",\"observed_at\":"
		  "\"2026-11-22T04:00:00Z\",\"target\":{\"input\":\"x.example\"}}", "written" },
		{ "missing threat", "{\"id\":\"e9\",\"observed_at\":\"2026-11-22T04:00:00Z\",\"target\":"
		  "{\"input\":\"x.example\"}}", "refused" },
		{ "bad time", "{\"id\":\"e10\",\"threat_id\":\"T\",\"observed_at\":\"yesterday\","
		  "\"target\":{\"input\":\"x.example\"}}", "refused" },
		{ "reserved key", "{\"id\":\"e11\",\"threat_id\":\"T\",\"observed_at\":"
		  "\"2026-11-22T04:00:00Z\",\"target\":{\"input\":\"x.example\"},\"x-ict-isac.jp\":{}}", "refused" },
		{ "integers at the edges", "{\"id\":\"e13\",\"threat_id\":\"T\",\"observed_at\":"
		  "\"2026-11-22T04:00:00Z\",\"target\":{\"input\":\"x.example\",\"port\":0},"
		  "\"http\":{\"status\":-1,\"size\":9223372036854775807,"
		  "\"elapsed_ms\":-9223372036854775808},\"ping\":{\"sent\":-0,\"ttl\":10}}", "written" },
		{ "raw UTF-8, whitespace", " { \"id\" : \"e12\" , \"threat_id\":\"\xe6\x97\xa5\xe6\x9c\xac\","
		  "\n\"observed_at\":\"2026-11-22T04:00:00Z\",\t\"target\":{\"input\":\"x.example\"} } ", "written" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		char path[4096];
		struct util_buf f;
		json_t *rec;
		char *compact;

		snprintf(path, sizeof(path), "%s/data/stix/records/%s.json",
		    getenv("TESTS_SRCDIR"), record_cases[i]);
		if (load(path, &f) != 0) {
			ok(0, "%s: fixture readable", record_cases[i]);
			continue;
		}
		ok(same_both_ways(f.data, record_cases[i], 0), "write_text: %s as a file",
		    record_cases[i]);
		rec = json_loads(f.data, 0, NULL);
		compact = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
		ok(compact && same_both_ways(compact, record_cases[i], 0),
		    "write_text: %s as stored (compact, 17-digit reals)", record_cases[i]);
		free(compact);
		json_decref(rec);
		util_buf_fini(&f);
	}
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		ok(same_both_ways(odd[i][1], odd[i][0], strcmp(odd[i][2], "refused") == 0),
		    "write_text: %s, %s both ways", odd[i][0], odd[i][2]);
	{
		struct util_buf o;

		util_buf_init(&o, 0);
		is_int(stix_observation_write_text("{\"id\":", 6, &o, err, sizeof(err)),
		    STIX_ERR_INPUT, "write_text: text that is not JSON");
		util_buf_fini(&o);
	}
}

/* stix_observation_text on the root of a parsed package; -9 when it does not parse. */
static int
obs_text(const char *xml, struct util_buf *out, struct rec_text *rt)
{
	xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
	int rc;

	if (doc == NULL)
		return -9;
	rc = stix_observation_text(xmlDocGetRootElement(doc), out, rt);
	xmlFreeDoc(doc);
	return rc;
}

/* stix_observation_text_xml and stix_observation_text on the same package: 1 and the
 * same bytes from both, or 0 from both. */
static void
same_as_node(const char *xml, int want, const char *what)
{
	struct util_buf a, b;
	struct rec_text ra, rb;
	int x, n;

	util_buf_init(&a, 0);
	util_buf_init(&b, 0);
	util_buf_add(&a, "junk", 4); /* offsets must be relative to what was there */
	x = stix_observation_text_xml(xml, strlen(xml), &a, &ra);
	n = obs_text(xml, &b, &rb);
	is_int(x, want, "text_xml: %s", what);
	if (x == 1 && n == 1) {
		ok(ra.len == rb.len && memcmp(ra.json, rb.json, ra.len) == 0,
		    "text_xml: %s: the record stix_observation_text gives", what);
		ok(ra.flen[REC_F_INPUT] == rb.flen[REC_F_INPUT] &&
			memcmp(ra.f[REC_F_INPUT], rb.f[REC_F_INPUT],
			    ra.flen[REC_F_INPUT]) == 0 &&
			ra.f[REC_F_ID] - ra.json == rb.f[REC_F_ID] - rb.json,
		    "text_xml: %s: fields located alike", what);
	}
	util_buf_fini(&a);
	util_buf_fini(&b);
}

/*
 * The text form of the fast path (for content a parser copied rather than built): the
 * canonical layout only, entities decoded, anything else declined, never read past len.
 */
static void
test_observation_text_xml(void)
{
	json_t *rec = load_record("full");
	struct util_buf a, out;
	struct rec_text rt;
	char err[512], *m, *body;
	size_t cut;
	int bad = 0;

	util_buf_init(&a, 0);
	util_buf_init(&out, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	same_as_node(a.data, 1, "with its XML declaration");
	body = strstr(a.data, "?>\n");
	same_as_node(body + 3, 1, "without it (as TAXII content)");
	m = replace_all(a.data, "\"sent\":4", "\"sent\":-4");
	same_as_node(m, 1, "a negative integer");
	free(m);
	m = replace_all(a.data, "\"sent\":4", "\"sent\":0");
	same_as_node(m, 1, "a zero");
	free(m);

	/* Each prefix of the package stops short of the record's end tag: declined, and
	 * (under the sanitizers) nothing past the given length is read. */
	for (cut = 0; cut < a.len; cut++) {
		char *part = malloc(cut ? cut : 1);

		if (part == NULL)
			break;
		memcpy(part, a.data, cut);
		util_buf_reset(&out);
		if (stix_observation_text_xml(part, cut, &out, &rt) != 0 &&
		    cut < (size_t)(strstr(a.data, "</cybox:Description>") - a.data) + 20)
			bad++;
		free(part);
	}
	is_int(bad, 0, "text_xml: every truncation before the record's end tag is declined");

	{
		static const char *const cases[][3] = {
			{ "<cybox:Description>{", "<cybox:Description><![CDATA[{", "CDATA" },
			{ "<cybox:Description>{", "<cybox:Description><!-- c -->{", "a comment" },
			{ "\"threat_id\":\"", "\"threat_id\":\"&#65;", "a character reference" },
			{ "\"threat_id\":\"", "\"threat_id\":\"&nbsp;", "an unknown entity" },
			{ "<cybox:Description>{", "<cybox:Description>\r{", "a carriage return" },
			{ "xmlns:cybox=", "xmlns:cybox2=\"urn:x\" xmlns:cybox=",
			    "another namespace" },
			{ "xmlns:stix=\"http://stix.mitre.org/stix-1\"",
			    "xmlns:stix=\"urn:not-stix\"", "its prefix bound elsewhere" },
			{ "c2watch observation", "c2watch target", "another title" },
			{ "</cybox:Title>",
			    "</cybox:Title><cybox:Description>{}</cybox:Description>",
			    "an empty record first" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			m = replace_all(a.data, cases[i][0], cases[i][1]);
			if (m == NULL || strcmp(m, a.data) == 0) {
				ok(0, "text_xml: mutation %s applies", cases[i][2]);
				free(m);
				continue;
			}
			util_buf_reset(&out);
			is_int(stix_observation_text_xml(m, strlen(m), &out, &rt), 0,
			    "text_xml: declined: %s", cases[i][2]);
			free(m);
		}
	}
	util_buf_fini(&a);
	json_decref(rec);

	/* Markup characters in the record travel as entities, decoded on the way in. */
	rec = load_record("full");
	json_object_set_new(rec, "threat_id", json_string("T&<1>'"));
	json_object_set_new(json_object_get(rec, "target"), "input",
	    json_string("http://x.example/a?b=1&c=<2>&d=3"));
	util_buf_init(&a, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	ok(strstr(a.data, "&amp;") != NULL && strstr(a.data, "&lt;") != NULL,
	    "text_xml: the package holds entities");
	same_as_node(a.data, 1, "entities in the record");
	util_buf_fini(&a);
	json_decref(rec);

	rec = load_record("ipv6-unicode");
	util_buf_init(&a, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	same_as_node(a.data, 1, "UTF-8 in the record");
	util_buf_fini(&a);
	util_buf_fini(&out);
	json_decref(rec);
}

/*
 * The text fast path takes exactly c2watch's canonical packages and gives the record
 * stix_read gives; any other form of the same record is left to stix_read.
 */
static void
test_observation_text(void)
{
	json_t *rec = load_record("full"), *back = NULL;
	struct util_buf a, out;
	struct rec_text rt;
	char err[512], *m;
	int rc;

	util_buf_init(&a, 0);
	util_buf_init(&out, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	rc = obs_text(a.data, &out, &rt);
	is_int(rc, 1, "text: a c2watch package is taken");
	if (rc == 1) {
		char *want = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));

		back = json_loadb(rt.json, rt.len, JSON_REJECT_DUPLICATES, NULL);
		ok(back != NULL && json_equal(back, rec), "text: the record, without the ISAC block");
		ok(rt.len == strlen(want) && memcmp(rt.json, want, rt.len) == 0,
		    "text: in canonical form");
		ok(rt.flen[REC_F_ID] == 64 &&
		    memcmp(rt.f[REC_F_ID],
			json_string_value(json_object_get(rec, "id")), 64) == 0,
		    "text: id located");
		ok(rt.flen[REC_F_INPUT] ==
			strlen(json_string_value(json_object_get(json_object_get(rec, "target"),
			    "input"))) &&
		    memcmp(rt.f[REC_F_INPUT], "http", 4) == 0,
		    "text: target.input located");
		ok(rt.flen[REC_F_THREAT] > 0 && rt.flen[REC_F_NODE] > 0 &&
			rt.flen[REC_F_OBSERVED_AT] > 0,
		    "text: threat_id, node, observed_at located");
		free(want);
	}
	json_decref(back);

	/* Same record, other forms: each declined, so the full reader decides. */
	{
		static const char *const pkg[3] = { "c2watch:Package-", "c2watch:Package-0",
			"a package id that does not match" };

		for (size_t i = 0; i <= RECORD_MUTATIONS; i++) {
			const char *const *c = i < RECORD_MUTATIONS ? record_mutations[i] : pkg;

			m = replace_all(a.data, c[0], c[1]);
			util_buf_reset(&out);
			if (m == NULL || strcmp(m, a.data) == 0) {
				ok(0, "text: mutation %s applies", c[2]);
				free(m);
				continue;
			}
			is_int(obs_text(m, &out, &rt), 0, "text: declined: %s", c[2]);
			is_int(stix_observation_text_xml(m, strlen(m), &out, &rt), 0,
			    "text_xml: declined: %s", c[2]);
			free(m);
		}
	}
	util_buf_fini(&a);
	util_buf_fini(&out);
	json_decref(rec);

	/* Reals as jansson writes them (15 significant digits, which these values need no
	 * more than) are taken, whether the quick form check or the full one decides; the
	 * record comes back equal. */
	{
		static const double reals[] = { 0.0, -0.0, 25.0, 12.3, 0.5, 0.0001, 0.00011,
			0.00001, 99.99, -7.25, 3.14159, 100.0, 123456789012345.0,
			12345678901234.5, 0.123456789012345, 1e15, 1e-7, 2.5e20 };

		for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
			json_t *r = load_record("full"), *got = NULL;

			json_object_set_new(json_object_get(r, "ping"), "loss_pct",
			    json_real(reals[i]));
			util_buf_init(&a, 0);
			util_buf_init(&out, 0);
			stix_observation_write(r, &a, err, sizeof(err));
			rc = obs_text(a.data, &out, &rt);
			if (rc == 1)
				got = json_loadb(rt.json, rt.len, 0, NULL);
			ok(rc == 1 && got != NULL && json_equal(got, r),
			    "text: loss_pct %.17g taken and read back", reals[i]);
			json_decref(got);
			json_decref(r);
			util_buf_fini(&a);
			util_buf_fini(&out);
		}
	}

	/* A record carrying U+FFFF is embedded \u-escaped: left to the full reader. */
	rec = load_record("xml-special");
	util_buf_init(&a, 0);
	util_buf_init(&out, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	is_int(obs_text(a.data, &out, &rt), 0, "text: a \\u-escaped dump is declined");
	is_int(stix_observation_text_xml(a.data, a.len, &out, &rt), 0,
	    "text_xml: a \\u-escaped dump is declined");
	util_buf_fini(&a);
	util_buf_fini(&out);
	json_decref(rec);
	test_observation_text_xml();
}

/* stix_read_node: a package some other parser holds, its prefixes declared above it. */
static void
test_read_node(void)
{
	json_t *rec = load_record("full");
	struct util_buf a, env, deep;
	struct stix_result res;
	char err[512], *body, *moved;
	xmlDoc *doc = NULL;
	xmlNode *pkg;

	util_buf_init(&a, 0);
	util_buf_init(&env, 0);
	util_buf_init(&deep, 0);
	stix_observation_write(rec, &a, err, sizeof(err));
	body = strstr(a.data, "?>");
	moved = replace_all(body ? body + 2 : a.data, "xmlns:stix=\"http://stix.mitre.org/stix-1\"",
	    "");
	util_buf_printf(&env, "<t:Envelope xmlns:t=\"urn:example:envelope\" "
			      "xmlns:stix=\"http://stix.mitre.org/stix-1\"><t:Content>%s</t:Content>"
			      "</t:Envelope>", moved);
	free(moved);
	doc = xmlReadMemory(env.data, (int)env.len, NULL, NULL, XML_PARSE_NONET);
	pkg = doc ? find_el(xmlDocGetRootElement(doc), "STIX_Package") : NULL;
	ok(pkg != NULL && pkg->nsDef != NULL, "read_node: envelope parses");
	stix_result_init(&res);
	is_int(stix_read_node(pkg, NULL, &res, err, sizeof(err)), 0,
	    "read_node: the package is read from the tree");
	ok(res.kind == STIX_KIND_OBSERVATIONS && json_array_size(res.records) == 1 &&
	    json_equal(json_array_get(res.records, 0), rec),
	    "read_node: the identical record, its stix prefix declared on an ancestor");
	stix_result_fini(&res);
	stix_result_init(&res);
	is_int(stix_read_node(xmlDocGetRootElement(doc), NULL, &res, err, sizeof(err)),
	    STIX_ERR_FORMAT, "read_node: an element that is not STIX is refused");
	stix_result_fini(&res);
	stix_result_init(&res);
	is_int(stix_read_node(NULL, NULL, &res, err, sizeof(err)), STIX_ERR_FORMAT,
	    "read_node: NULL is refused");
	stix_result_fini(&res);
	xmlFreeDoc(doc);

	/* The depth limit holds for a tree parsed elsewhere with laxer limits. */
	util_buf_printf(&deep, "<cybox:Observables xmlns:cybox=\"http://cybox.mitre.org/cybox-2\">");
	for (int i = 0; i < 150; i++)
		util_buf_printf(&deep, "<cybox:Observable>");
	for (int i = 0; i < 150; i++)
		util_buf_printf(&deep, "</cybox:Observable>");
	util_buf_printf(&deep, "</cybox:Observables>");
	doc = xmlReadMemory(deep.data, (int)deep.len, NULL, NULL, XML_PARSE_NONET);
	stix_result_init(&res);
	is_int(stix_read_node(doc ? xmlDocGetRootElement(doc) : NULL, NULL, &res, err,
		   sizeof(err)), STIX_ERR_HOSTILE, "read_node: nesting deeper than max_depth refused");
	stix_result_fini(&res);
	stix_result_init(&res);
	res.max_depth = 200;
	is_int(stix_read_node(doc ? xmlDocGetRootElement(doc) : NULL, NULL, &res, err,
		   sizeof(err)), 0, "read_node: and read under a higher limit");
	stix_result_fini(&res);
	xmlFreeDoc(doc);
	util_buf_fini(&a);
	util_buf_fini(&env);
	util_buf_fini(&deep);
	json_decref(rec);
}

/* A signed record travels through a package unchanged: the writer (from the record and
 * from its stored text), the text fast path and the readers give back the same bytes,
 * whose signature still verifies; the package still validates. */
static void
test_signed(void)
{
	char err[512];
	struct rec_key *k = rec_key_new(err, sizeof(err));

	ok(k != NULL, "signed: a key");
	for (size_t i = 0; k != NULL && i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		const char *name = record_cases[i];
		json_t *rec = load_record(name), *back = NULL;
		struct util_buf a, b, out;
		struct rec_text rt;
		char *text = NULL, what[128];

		util_buf_init(&a, 0);
		util_buf_init(&b, 0);
		util_buf_init(&out, 0);
		if (rec == NULL || rec_sign(rec, k, err, sizeof(err)) != 0 ||
		    (text = rec_json_dump(rec)) == NULL) {
			ok(0, "signed %s: signed", name);
			goto next;
		}
		ok(stix_observation_write(rec, &a, err, sizeof(err)) == 0, "signed %s: written",
		    name);
		snprintf(what, sizeof(what), "signed %s", name);
		check_valid(&a, what);
		ok(stix_observation_write_text(text, strlen(text), &b, err, sizeof(err)) == 0 &&
		    a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
		    "signed %s: the same package from its stored text", name);
		ok(stix_observation_read(a.data, a.len, &back, err, sizeof(err)) == 0 &&
		    json_equal(back, rec) && rec_sig_verify(back, err, sizeof(err)) == 0,
		    "signed %s: read back equal, and it verifies", name);
		if (strcmp(name, "xml-special") == 0) {
			/* \u-escaped throughout: not the fast path's plain form. */
			is_int(stix_observation_text_xml(a.data, a.len, &out, &rt), 0,
			    "signed %s: left to the reader", name);
		} else {
			ok(stix_observation_text_xml(a.data, a.len, &out, &rt) == 1 &&
			    rt.len == strlen(text) && memcmp(rt.json, text, rt.len) == 0,
			    "signed %s: the fast path gives the stored bytes, sig and key kept",
			    name);
		}
	next:
		free(text);
		json_decref(back);
		json_decref(rec);
		util_buf_fini(&a);
		util_buf_fini(&b);
		util_buf_fini(&out);
	}
	rec_key_free(k);
}

int
main(void)
{
	const char *sd = getenv("SHARED_DIR");
	char path[4096], err[512] = "";
	struct util_buf probe;

	if (getenv("TESTS_SRCDIR") == NULL)
		tap_skip_all("TESTS_SRCDIR not set");
	/*
	 * Only jansson's allocations are failed on purpose: libxml2 2.9 itself leaks on some
	 * of its own out-of-memory paths, which would drown what this test is about.
	 */
	json_set_alloc_funcs(chaos_malloc, free);
	if (sd != NULL && *sd != '\0') {
		snprintf(path, sizeof(path), "%s/schemas/stix/validate-stix-1.2.xsd", sd);
		util_buf_init(&probe, 0);
		if (util_read_file(path, &probe) == 0) {
			schema = stix_schema_new(path, err, sizeof(err));
			ok(schema != NULL, "STIX 1.2 schema set loads");
			if (schema == NULL)
				tap_diag("%s", err);
		}
		util_buf_fini(&probe);
		snprintf(samples_dir, sizeof(samples_dir), "%s/testdata/stix", sd);
		{
			DIR *d = opendir(samples_dir);

			if (d == NULL)
				samples_dir[0] = '\0';
			else
				closedir(d);
		}
	}
	if (schema == NULL)
		tap_skip("schema validity", "SHARED_DIR unset or without schemas");

	test_records();
	test_signed();
	test_canonical_description();
	test_read_node();
	test_observation_text();
	test_write_text();
	test_record_content();
	test_write_errors();
	test_observation_read_refuses();
	test_targets();
	test_nested_observations();
	test_samples();
	test_namespaces();
	test_watchlists();
	test_mutations();
	test_validate();
	test_hostile();
	test_hostile_fixtures();
	test_alloc_failures();
	stix_schema_free(schema);
	return tap_done();
}
