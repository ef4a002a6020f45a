/*
 * Writing c2watch records and targets as STIX 1.2 packages. The XML is produced as text
 * (the layout is fixed and small), with every value escaped and characters XML 1.0 cannot
 * carry replaced in the structured objects; the exact values travel in the JSON.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stix/stix.h"
#include "stix/stix_int.h"

/* A writer with a sticky status, so the layout code reads top to bottom. */
struct xw {
	struct util_buf *out;
	int rc;
};

static void
put_n(struct xw *w, const char *s, size_t n)
{
	int r;

	if (w->rc != 0)
		return;
	r = util_buf_add(w->out, s, n);
	if (r == -2)
		w->rc = STIX_ERR_TOOBIG;
	else if (r != 0)
		w->rc = STIX_ERR_NOMEM;
}

static void
put(struct xw *w, const char *s)
{
	put_n(w, s, strlen(s));
}

/* Appends s escaped for element text or (attr) a double-quoted attribute value. */
static void
put_esc(struct xw *w, const char *s, int attr)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;

	for (; *p != '\0'; p++) {
		const char *rep = NULL;

		/* Most bytes need nothing: skip them with one test each. */
		while (*p >= 0x20 && *p != '&' && *p != '<' && *p != '>' && *p != 0xef &&
		    (*p != '"' || !attr))
			p++;
		if (*p == '\0')
			break;
		if (*p == '&')
			rep = "&amp;";
		else if (*p == '<')
			rep = "&lt;";
		else if (*p == '>')
			rep = "&gt;";
		else if (*p == '"' && attr)
			rep = "&quot;";
		else if (*p == '\r')
			rep = "&#13;";
		else if (*p == '\n' && attr)
			rep = "&#10;";
		else if (*p == '\t' && attr)
			rep = "&#9;";
		else if (*p < 0x20 && *p != '\n' && *p != '\t')
			rep = "\xef\xbf\xbd";
		else if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
			/* U+FFFE / U+FFFF are not XML characters either. */
			put_n(w, (const char *)run, (size_t)(p - run));
			put(w, "\xef\xbf\xbd");
			p += 2;
			run = p + 1;
			continue;
		}
		if (rep != NULL) {
			put_n(w, (const char *)run, (size_t)(p - run));
			put(w, rep);
			run = p + 1;
		}
	}
	put_n(w, (const char *)run, (size_t)(p - run));
}

const char stix_package_open[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<stix:STIX_Package xmlns:stix=\"" STIX_NS_STIX "\"\n"
    "    xmlns:stixCommon=\"" STIX_NS_COMMON "\"\n"
    "    xmlns:stixVocabs=\"http://stix.mitre.org/default_vocabularies-1\"\n"
    "    xmlns:indicator=\"" STIX_NS_INDICATOR "\"\n"
    "    xmlns:campaign=\"" STIX_NS_CAMPAIGN "\"\n"
    "    xmlns:cybox=\"" STIX_NS_CYBOX "\"\n"
    "    xmlns:URIObj=\"" STIX_NS_URI "\"\n"
    "    xmlns:DomainNameObj=\"" STIX_NS_DOMAIN "\"\n"
    "    xmlns:AddressObj=\"" STIX_NS_ADDRESS "\"\n"
    "    xmlns:PortObj=\"" STIX_NS_PORT "\"\n"
    "    xmlns:xsi=\"" STIX_NS_XSI "\"\n"
    "    xmlns:c2watch=\"" STIX_NS_C2WATCH "\"\n";

/* An array of addresses, from jansson or from the flat reader; either may be NULL. */
struct addrs {
	const json_t *j;
	const struct rec_jl *jl;
	const struct rec_jl_node *n;
};

/* The destination parts a package describes as structured CybOX objects. */
struct parts {
	const char *url;
	const char *domain;
	struct addrs ipv4; /* arrays of strings (other items are skipped) */
	struct addrs ipv6;
	const char *ip; /* a single address of either family (targets) */
	json_int_t port;
};

static size_t
addrs_size(const struct addrs *a)
{
	if (a->j != NULL)
		return json_is_array(a->j) ? json_array_size(a->j) : 0;
	return a->n != NULL && a->n->type == REC_JL_ARR ? a->n->count : 0;
}

/* The i-th item when it is a string, else NULL. */
static const char *
addrs_str(const struct addrs *a, size_t i, uint32_t *cursor)
{
	if (a->j != NULL) {
		const json_t *v = json_array_get(a->j, i);

		return json_is_string(v) ? json_string_value(v) : NULL;
	}
	/* Walked in order: the cursor is the i-th child. */
	*cursor = i == 0 ? a->n->first : a->jl->v[*cursor].next;
	return rec_jl_str(a->jl, &a->jl->v[*cursor]);
}

static void
put_id(struct xw *w, const char *attr, const char *kind, const char *seed)
{
	char id[STIX_ID_MAX];

	if (w->rc != 0)
		return;
	if (stix_make_id(kind, seed, id) != 0) {
		w->rc = STIX_ERR_NOMEM;
		return;
	}
	put(w, " ");
	put(w, attr);
	put(w, "=\"");
	put(w, id);
	put(w, "\"");
}

/* One cybox:Observable holding one object; `what` tells the ids apart. */
static void
put_object(struct xw *w, const char *seed, const char *what, const char *props_attrs,
    const char *elem, const char *value)
{
	char small[256], *sd = small;
	size_t sl = strlen(seed), wl = strlen(what);

	/* A dozen of these per package: no allocation unless the seed is long. */
	if (sl + wl + 2 > sizeof(small) && (sd = malloc(sl + wl + 2)) == NULL) {
		w->rc = w->rc ? w->rc : STIX_ERR_NOMEM;
		return;
	}
	memcpy(sd, seed, sl);
	sd[sl] = '/';
	memcpy(sd + sl + 1, what, wl + 1);
	put(w, "      <cybox:Observable");
	put_id(w, "id", "Observable", sd);
	put(w, ">\n        <cybox:Object");
	put_id(w, "id", "Object", sd);
	put(w, ">\n          <cybox:Properties ");
	put(w, props_attrs);
	put(w, ">\n            <");
	put(w, elem);
	put(w, " condition=\"Equals\">");
	put_esc(w, value, 0);
	put(w, "</");
	put(w, elem);
	put(w, ">\n          </cybox:Properties>\n        </cybox:Object>\n      </cybox:Observable>\n");
	if (sd != small)
		free(sd);
}

static void
put_addr_list(struct xw *w, const char *seed, const struct addrs *arr, const char *cat)
{
	const char *props = strcmp(cat, "ipv6-addr") == 0 ?
	    "xsi:type=\"AddressObj:AddressObjectType\" category=\"ipv6-addr\"" :
	    "xsi:type=\"AddressObj:AddressObjectType\" category=\"ipv4-addr\"";
	char what[64];
	size_t i, n = addrs_size(arr);
	uint32_t cur = 0;

	for (i = 0; i < n; i++) {
		const char *v = addrs_str(arr, i, &cur);

		if (v == NULL)
			continue;
		snprintf(what, sizeof(what), "%s/%zu", cat, i);
		put_object(w, seed, what, props, "AddressObj:Address_Value", v);
	}
}

static size_t
parts_count(const struct parts *p)
{
	size_t n = 0;

	n += p->url != NULL;
	n += p->domain != NULL;
	n += p->ip != NULL;
	n += p->port > 0;
	n += addrs_size(&p->ipv4);
	n += addrs_size(&p->ipv6);
	return n;
}

/* The composition (AND: all of these describe the one destination) of the parts. */
static void
put_parts(struct xw *w, const char *seed, const struct parts *p)
{
	char port[32];

	if (parts_count(p) == 0)
		return;
	put(w, "    <cybox:Observable_Composition operator=\"AND\">\n");
	if (p->url != NULL)
		put_object(w, seed, "url", "xsi:type=\"URIObj:URIObjectType\" type=\"URL\"",
		    "URIObj:Value", p->url);
	if (p->domain != NULL)
		put_object(w, seed, "domain",
		    "xsi:type=\"DomainNameObj:DomainNameObjectType\" type=\"FQDN\"",
		    "DomainNameObj:Value", p->domain);
	if (p->ip != NULL) {
		unsigned char a[16];
		int v6 = inet_pton(AF_INET6, p->ip, a) == 1;

		put_object(w, seed, "ip",
		    v6 ? "xsi:type=\"AddressObj:AddressObjectType\" category=\"ipv6-addr\"" :
			 "xsi:type=\"AddressObj:AddressObjectType\" category=\"ipv4-addr\"",
		    "AddressObj:Address_Value", p->ip);
	}
	put_addr_list(w, seed, &p->ipv4, "ipv4-addr");
	put_addr_list(w, seed, &p->ipv6, "ipv6-addr");
	if (p->port > 0) {
		snprintf(port, sizeof(port), "%lld", (long long)p->port);
		put_object(w, seed, "port", "xsi:type=\"PortObj:PortObjectType\"",
		    "PortObj:Port_Value", port);
	}
	put(w, "    </cybox:Observable_Composition>\n");
}

static void
put_campaign(struct xw *w, const char *threat_id)
{
	put(w, "  <stix:Campaigns>\n    <stix:Campaign xsi:type=\"campaign:CampaignType\"");
	put_id(w, "id", "Campaign", threat_id);
	put(w, ">\n      <campaign:Title>");
	put_esc(w, threat_id, 0);
	put(w, "</campaign:Title>\n      <campaign:Names>\n        <campaign:Name>");
	put_esc(w, threat_id, 0);
	put(w, "</campaign:Name>\n      </campaign:Names>\n    </stix:Campaign>\n"
	       "  </stix:Campaigns>\n");
}

static const char *
str_field(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	return s != NULL && *s != '\0' ? s : NULL;
}

/* Formats a loss percentage the way the ISAC block wants it ("25%", "12.5%"). */
static json_t *
loss_text(const json_t *ping)
{
	const json_t *v = json_object_get(ping, "loss_pct");
	char buf[48];

	if (!json_is_number(v))
		return json_null();
	snprintf(buf, sizeof(buf), "%g%%", json_number_value(v));
	return json_string(buf);
}

/* The "x-ict-isac.jp" block, built from the record (fields it lacks become null). */
static json_t *
isac_block(const json_t *rec)
{
	const json_t *t = json_object_get(rec, "target");
	const json_t *ping = json_object_get(rec, "ping");
	const json_t *http = json_object_get(rec, "http");
	json_t *mon, *blk, *ipv4, *resp, *st, *reason;

	ipv4 = json_is_array(json_object_get(t, "ipv4")) ?
	    json_deep_copy(json_object_get(t, "ipv4")) : json_array();
	st = json_is_integer(json_object_get(http, "status")) ?
	    json_integer(json_integer_value(json_object_get(http, "status"))) : json_integer(0);
	reason = json_is_string(json_object_get(http, "reason")) ?
	    json_string(json_string_value(json_object_get(http, "reason"))) : json_string("");
	resp = json_pack("{s:o, s:o}", "status_code", st, "reason_phrase", reason);
	mon = json_pack("{s:O, s:O, s:O, s:o, s:O, s:O, s:o, s:o}",
	    "observe-time", json_object_get(rec, "observed_at"),
	    "input", json_object_get(t, "input"),
	    "domain-name", json_object_get(t, "domain") ? json_object_get(t, "domain") : json_null(),
	    "ipv4-addr", ipv4,
	    "dst_port", json_object_get(t, "port") ? json_object_get(t, "port") : json_null(),
	    "User-Agent", json_object_get(t, "user_agent") ?
		json_object_get(t, "user_agent") : json_null(),
	    "ping-ext", json_is_object(ping) ? json_pack("{s:o}", "loss", loss_text(ping)) :
		json_null(),
	    "http-response-ext", resp);
	blk = json_pack("{s:O, s:o}", "id", json_object_get(rec, "id"), "monitoring", mon);
	return blk;
}

static int
is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static int
in_list(const struct addrs *arr, const char *s)
{
	size_t i, n = addrs_size(arr);
	uint32_t cur = 0;

	for (i = 0; i < n; i++) {
		const char *v = addrs_str(arr, i, &cur);

		if (v != NULL && strcmp(v, s) == 0)
			return 1;
	}
	return 0;
}

/*
 * The record's canonical dump with the ISAC block added, without copying the record: when
 * every key of the record sorts before "x-ict-isac.jp", the block's member goes last, so
 * the two dumps are joined. Returns malloc'd text, or NULL (then the caller copies).
 */
static char *
spliced_json(const json_t *rec)
{
	static const char member[] = ",\"x-ict-isac.jp\":";
	const char *k;
	json_t *v, *isac = NULL;
	char *a = NULL, *b = NULL, *out = NULL;
	size_t alen, blen, ml = sizeof(member) - 1;

	json_object_foreach((json_t *)rec, k, v)
		if (strcmp(k, "x-ict-isac.jp") >= 0)
			return NULL;
	if ((isac = isac_block(rec)) == NULL ||
	    (a = rec_json_dump_fast(rec, 0, &alen)) == NULL || alen < 3 ||
	    (b = rec_json_dump_fast(isac, 0, &blen)) == NULL ||
	    (out = malloc(alen - 1 + ml + blen + 2)) == NULL)
		goto out;
	memcpy(out, a, alen - 1);
	memcpy(out + alen - 1, member, ml);
	memcpy(out + alen - 1 + ml, b, blen);
	memcpy(out + alen - 1 + ml + blen, "}", 2);
out:
	free(a);
	free(b);
	json_decref(isac);
	return out;
}

int
stix_check_record(const json_t *rec, char *err, size_t errlen)
{
	static const char *const strs[] = { "id", "threat_id", "observed_at" };
	const json_t *t;
	int64_t us;
	size_t i;

	if (!json_is_object(rec)) {
		util_seterr(err, errlen, "record: not a JSON object");
		return STIX_ERR_INPUT;
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (str_field(rec, strs[i]) == NULL) {
			util_seterr(err, errlen, "record: \"%s\" missing or not a string", strs[i]);
			return STIX_ERR_INPUT;
		}
	if (util_time_parse(str_field(rec, "observed_at"), &us) != 0) {
		util_seterr(err, errlen, "record %s: bad observed_at \"%s\"",
		    str_field(rec, "id"), str_field(rec, "observed_at"));
		return STIX_ERR_INPUT;
	}
	t = json_object_get(rec, "target");
	if (!json_is_object(t) || str_field(t, "input") == NULL) {
		util_seterr(err, errlen, "record %s: target.input missing", str_field(rec, "id"));
		return STIX_ERR_INPUT;
	}
	if (json_object_get(rec, "x-ict-isac.jp") != NULL) {
		util_seterr(err, errlen, "record %s: has a reserved \"x-ict-isac.jp\" key",
		    str_field(rec, "id"));
		return STIX_ERR_INPUT;
	}
	return 0;
}

static int emit_observation(struct util_buf *out, const char *rid, const char *tid,
    const char *stamp, const char *js, const struct parts *pp, char *err, size_t errlen);

int
stix_observation_write(const json_t *record, struct util_buf *out, char *err, size_t errlen)
{
	json_t *copy = NULL;
	char *js = NULL;
	const json_t *t;
	struct parts p;
	const char *rid, *input, *tid;
	char stamp[UTIL_TIME_MAX];
	int64_t us;
	int rc;

	rc = stix_check_record(record, err, errlen);
	if (rc != 0)
		goto out;
	rid = str_field(record, "id");
	tid = str_field(record, "threat_id");
	t = json_object_get(record, "target");
	input = str_field(t, "input");
	memset(&p, 0, sizeof(p));
	p.url = strstr(input, "://") != NULL ? input : NULL;
	p.domain = str_field(t, "domain");
	p.ipv4.j = json_object_get(t, "ipv4");
	p.ipv6.j = json_object_get(t, "ipv6");
	p.port = json_is_integer(json_object_get(t, "port")) ?
	    json_integer_value(json_object_get(t, "port")) : 0;
	/* An address typed in as the input is a destination even when no list names it. */
	if (is_ip(input) && !in_list(&p.ipv4, input) && !in_list(&p.ipv6, input))
		p.ip = input;

	/* Parsed and reformatted: the JSON keeps the text, xs:dateTime wants the strict form. */
	if (util_time_parse(str_field(record, "observed_at"), &us) != 0 ||
	    util_time_format(us, us % 1000000 != 0, stamp) != 0) {
		rc = STIX_ERR_INPUT;
		util_seterr(err, errlen, "record %s: observed_at out of range", rid);
		goto out;
	}
	js = spliced_json(record);
	if (js == NULL && (copy = json_deep_copy(record)) != NULL &&
	    json_object_set_new(copy, "x-ict-isac.jp", isac_block(record)) == 0)
		js = rec_json_dump(copy);
	if (js == NULL) {
		rc = STIX_ERR_NOMEM;
		util_seterr(err, errlen, "record %s: out of memory", rid);
		goto out;
	}

	rc = emit_observation(out, rid, tid, stamp, js, &p, err, errlen);
out:
	free(js);
	json_decref(copy);
	return rc;
}

/* The XML of an observation package, from what both writers gather. */
static int
emit_observation(struct util_buf *out, const char *rid, const char *tid, const char *stamp,
    const char *js, const struct parts *pp, char *err, size_t errlen)
{
	struct xw w = { out, 0 };
	int rc;

	put(&w, stix_package_open);
	put_id(&w, "   id", "Package", rid);
	put(&w, " version=\"1.2\" timestamp=\"");
	put(&w, stamp);
	put(&w, "\">\n  <stix:STIX_Header>\n    <stix:Title>" STIX_TITLE_OBSERVATION "</stix:Title>\n"
		"    <stix:Package_Intent xsi:type=\"stixVocabs:PackageIntentVocab-1.0\">"
		"Observations</stix:Package_Intent>\n  </stix:STIX_Header>\n"
		"  <stix:Observables cybox_major_version=\"2\" cybox_minor_version=\"1\""
		" cybox_update_version=\"0\">\n  <cybox:Observable");
	put_id(&w, "id", "Observable", rid);
	put(&w, ">\n    <cybox:Title>");
	put_esc(&w, tid, 0);
	put(&w, "</cybox:Title>\n    <cybox:Description>");
	put_esc(&w, js, 0);
	put(&w, "</cybox:Description>\n");
	put_parts(&w, rid, pp);
	put(&w, "  </cybox:Observable>\n  </stix:Observables>\n");
	put_campaign(&w, tid);
	put(&w, "</stix:STIX_Package>\n");
	rc = w.rc;
	if (rc != 0)
		util_seterr(err, errlen, "record %s: %s", rid, stix_strerror(rc));
	return rc;
}

int
stix_check_target(const json_t *t, char *err, size_t errlen)
{
	static const char *const cols[] = { "threat_id", "ip", "domain", "url", "port",
		"report_date", "malware_sha256", "file_type", "summary", "user_agent" };
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(t)) {
		util_seterr(err, errlen, "target: not a JSON object");
		return STIX_ERR_INPUT;
	}
	json_object_foreach((json_t *)t, key, v) {
		for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
			if (strcmp(key, cols[i]) == 0)
				break;
		if (i == sizeof(cols) / sizeof(cols[0])) {
			util_seterr(err, errlen, "target: unknown field \"%s\"", key);
			return STIX_ERR_INPUT;
		}
		if (strcmp(key, "port") == 0 ?
			!(json_is_integer(v) && json_integer_value(v) > 0 &&
			    json_integer_value(v) <= 65535) :
			!json_is_string(v)) {
			util_seterr(err, errlen, "target: bad value for \"%s\"", key);
			return STIX_ERR_INPUT;
		}
	}
	if (str_field(t, "threat_id") == NULL) {
		util_seterr(err, errlen, "target: threat_id missing");
		return STIX_ERR_INPUT;
	}
	if (str_field(t, "ip") == NULL && str_field(t, "domain") == NULL &&
	    str_field(t, "url") == NULL) {
		util_seterr(err, errlen, "target: none of ip, domain, url");
		return STIX_ERR_INPUT;
	}
	return 0;
}

int
stix_target_write(const json_t *target, struct util_buf *out, char *err, size_t errlen)
{
	struct xw w = { out, 0 };
	char *js = NULL;
	struct parts p;
	const char *tid, *type;
	int rc;

	rc = stix_check_target(target, err, errlen);
	if (rc != 0)
		goto out;
	js = rec_json_dump(target);
	if (js == NULL) {
		rc = STIX_ERR_NOMEM;
		util_seterr(err, errlen, "target: out of memory");
		goto out;
	}
	tid = str_field(target, "threat_id");
	memset(&p, 0, sizeof(p));
	p.url = str_field(target, "url");
	p.domain = str_field(target, "domain");
	p.ip = str_field(target, "ip");
	p.port = json_is_integer(json_object_get(target, "port")) ?
	    json_integer_value(json_object_get(target, "port")) : 0;
	type = p.url ? "URL Watchlist" : p.domain ? "Domain Watchlist" : "IP Watchlist";

	put(&w, stix_package_open);
	/* The canonical JSON is the target's identity: same target, same ids. */
	put_id(&w, "   id", "Package", js);
	put(&w, " version=\"1.2\">\n  <stix:STIX_Header>\n"
		"    <stix:Title>" STIX_TITLE_TARGET "</stix:Title>\n"
		"    <stix:Package_Intent xsi:type=\"stixVocabs:PackageIntentVocab-1.0\">"
		"Indicators - Watchlist</stix:Package_Intent>\n  </stix:STIX_Header>\n"
		"  <stix:Indicators>\n  <stix:Indicator xsi:type=\"indicator:IndicatorType\"");
	put_id(&w, "id", "Indicator", js);
	put(&w, ">\n    <indicator:Title>");
	put_esc(&w, tid, 0);
	put(&w, "</indicator:Title>\n"
		"    <indicator:Type xsi:type=\"stixVocabs:IndicatorTypeVocab-1.1\">");
	put(&w, type);
	put(&w, "</indicator:Type>\n    <indicator:Description>");
	put_esc(&w, js, 0);
	put(&w, "</indicator:Description>\n    <indicator:Observable");
	put_id(&w, "id", "Observable", js);
	put(&w, ">\n");
	put_parts(&w, js, &p);
	put(&w, "    </indicator:Observable>\n    <indicator:Related_Campaigns>\n"
		"      <indicator:Related_Campaign>\n        <stixCommon:Campaign");
	put_id(&w, "idref", "Campaign", tid);
	put(&w, "/>\n      </indicator:Related_Campaign>\n    </indicator:Related_Campaigns>\n"
		"  </stix:Indicator>\n  </stix:Indicators>\n");
	put_campaign(&w, tid);
	put(&w, "</stix:STIX_Package>\n");
	rc = w.rc;
	if (rc != 0)
		util_seterr(err, errlen, "target: %s", stix_strerror(rc));
out:
	free(js);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * The same package from the record's JSON text, read with the flat reader.
 */

/* A string member, not empty (as str_field), or NULL. */
static const char *
jl_field(const struct rec_jl *jl, const struct rec_jl_node *o, const char *key)
{
	const char *v = rec_jl_str(jl, rec_jl_get(jl, o, key));

	return v != NULL && *v != '\0' ? v : NULL;
}

/* A member's canonical dump, or `dflt` when the member is absent. */
static void
jl_member(struct rec_jdump *d, const struct rec_jl *jl, const struct rec_jl_node *o,
    const char *key, const char *dflt)
{
	const struct rec_jl_node *v = rec_jl_get(jl, o, key);

	if (v != NULL)
		rec_jl_dump(jl, v, d);
	else
		rec_jd_put(d, dflt, strlen(dflt));
}

/*
 * The Description JSON: the record's canonical dump with the ISAC block as its last
 * member, byte for byte what isac_block and rec_json_dump make of the same record.
 * Returns malloc'd text, or NULL when the jansson path must do it.
 */
static char *
jl_description(const struct rec_jl *jl)
{
	const struct rec_jl_node *rec = &jl->v[0], *t = rec_jl_get(jl, rec, "target");
	const struct rec_jl_node *ping = rec_jl_get(jl, rec, "ping");
	const struct rec_jl_node *http = rec_jl_get(jl, rec, "http"), *v;
	struct rec_jdump d = { NULL, 0, 0, 0, 0 };

	for (uint32_t k = rec->first; k != REC_JL_NONE; k = jl->v[k].next)
		if (strcmp(jl->s + jl->v[k].key, "x-ict-isac.jp") >= 0)
			return NULL;
	rec_jl_dump(jl, rec, &d);
	if (d.give_up || d.len < 3)
		goto fail;
	d.len--; /* the record's closing brace: the block goes before it */
	rec_jd_put(&d, ",\"x-ict-isac.jp\":{\"id\":", 23);
	jl_member(&d, jl, rec, "id", "null");
	rec_jd_put(&d, ",\"monitoring\":{\"User-Agent\":", 28);
	jl_member(&d, jl, t, "user_agent", "null");
	rec_jd_put(&d, ",\"domain-name\":", 15);
	jl_member(&d, jl, t, "domain", "null");
	rec_jd_put(&d, ",\"dst_port\":", 12);
	jl_member(&d, jl, t, "port", "null");
	rec_jd_put(&d, ",\"http-response-ext\":{\"reason_phrase\":", 38);
	v = rec_jl_get(jl, http, "reason");
	if (v != NULL && v->type == REC_JL_STR)
		rec_jl_dump(jl, v, &d);
	else
		rec_jd_put(&d, "\"\"", 2);
	rec_jd_put(&d, ",\"status_code\":", 15);
	v = rec_jl_get(jl, http, "status");
	if (v != NULL && v->type == REC_JL_INT)
		rec_jl_dump(jl, v, &d);
	else
		rec_jd_put(&d, "0", 1);
	rec_jd_put(&d, "},\"input\":", 10);
	jl_member(&d, jl, t, "input", "null");
	rec_jd_put(&d, ",\"ipv4-addr\":", 13);
	v = rec_jl_get(jl, t, "ipv4");
	if (v != NULL && v->type == REC_JL_ARR)
		rec_jl_dump(jl, v, &d);
	else
		rec_jd_put(&d, "[]", 2);
	rec_jd_put(&d, ",\"observe-time\":", 16);
	jl_member(&d, jl, rec, "observed_at", "null");
	rec_jd_put(&d, ",\"ping-ext\":", 12);
	if (ping != NULL && ping->type == REC_JL_OBJ) {
		/* loss_text: "%g%%" of a number, else null. */
		v = rec_jl_get(jl, ping, "loss_pct");
		rec_jd_put(&d, "{\"loss\":", 8);
		if (v != NULL && (v->type == REC_JL_INT || v->type == REC_JL_REAL)) {
			char buf[48];

			snprintf(buf, sizeof(buf), "%g%%",
			    v->type == REC_JL_INT ? (double)v->i : v->d);
			rec_jd_string(&d, buf, strlen(buf));
		} else {
			rec_jd_put(&d, "null", 4);
		}
		rec_jd_put(&d, "}", 1);
	} else {
		rec_jd_put(&d, "null", 4);
	}
	rec_jd_put(&d, "}}}", 3);
	if (d.give_up)
		goto fail;
	d.p[d.len] = '\0';
	return d.p;
fail:
	free(d.p);
	return NULL;
}

/* The package from the flat reader; 1 when something is left to the jansson path. */
static int
write_jl(const struct rec_jl *jl, struct util_buf *out, char *err, size_t errlen)
{
	const struct rec_jl_node *rec = &jl->v[0], *t = rec_jl_get(jl, rec, "target"), *port;
	const char *rid = jl_field(jl, rec, "id"), *tid = jl_field(jl, rec, "threat_id");
	const char *at = jl_field(jl, rec, "observed_at"), *input = jl_field(jl, t, "input");
	char stamp[UTIL_TIME_MAX], *js;
	struct parts p;
	int64_t us;
	int rc;

	/* What stix_check_record refuses, the jansson path refuses with its message. */
	if (rid == NULL || tid == NULL || at == NULL || t == NULL || t->type != REC_JL_OBJ ||
	    input == NULL || rec_jl_get(jl, rec, "x-ict-isac.jp") != NULL ||
	    util_time_parse(at, &us) != 0 || util_time_format(us, us % 1000000 != 0, stamp) != 0)
		return 1;
	memset(&p, 0, sizeof(p));
	p.url = strstr(input, "://") != NULL ? input : NULL;
	p.domain = jl_field(jl, t, "domain");
	p.ipv4.jl = p.ipv6.jl = jl;
	p.ipv4.n = rec_jl_get(jl, t, "ipv4");
	p.ipv6.n = rec_jl_get(jl, t, "ipv6");
	port = rec_jl_get(jl, t, "port");
	p.port = port != NULL && port->type == REC_JL_INT ? port->i : 0;
	if (is_ip(input) && !in_list(&p.ipv4, input) && !in_list(&p.ipv6, input))
		p.ip = input;
	if ((js = jl_description(jl)) == NULL)
		return 1;
	rc = emit_observation(out, rid, tid, stamp, js, &p, err, errlen);
	free(js);
	return rc;
}

int
stix_observation_write_text(const char *json, size_t len, struct util_buf *out, char *err,
    size_t errlen)
{
	struct rec_jl jl;
	json_t *rec;
	int rc;

	memset(&jl, 0, sizeof(jl));
	rc = rec_jl_parse(&jl, json, len) == 0 ? write_jl(&jl, out, err, errlen) : 1;
	rec_jl_fini(&jl);
	if (rc != 1)
		return rc;
	rec = json_loadb(json, len, 0, NULL);
	if (rec == NULL) {
		util_seterr(err, errlen, "record: not JSON");
		return STIX_ERR_INPUT;
	}
	rc = stix_observation_write(rec, out, err, errlen);
	json_decref(rec);
	return rc;
}
