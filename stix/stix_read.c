/*
 * Reading STIX 1.x: c2watch's own observation and target packages back to JSON, and other
 * producers' indicators and observables into targets. Matching is by namespace URI and
 * local name (producers use all sorts of prefixes); xsi:type and id/idref QNames are
 * resolved against the namespaces in scope.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "stix/stix.h"
#include "stix/stix_int.h"
#include "util/util_xml.h"

/* How much a target's threat ID can be trusted, to keep the best of duplicates. */
enum strength {
	STRENGTH_PACKAGE = 1,   /* a bare observable: package-level threat ID */
	STRENGTH_INDICATOR = 2, /* from an indicator and its campaign */
	STRENGTH_C2WATCH = 3,   /* a c2watch target, read back whole */
};

struct rd {
	struct stix_result *res;
	const char *default_tid;
	json_t *campaigns;    /* "{ns}local" campaign id -> name */
	json_t *ind_campaign; /* "{ns}local" indicator id -> campaign name (pre-1.2 style) */
	json_t *seen;         /* dedupe key -> [index, strength] */
	json_t *obs_ind;      /* "{ns}local" observable id -> index in inds */
	xmlNode **inds;       /* indicators that refer to an observable by idref */
	size_t ninds;
	size_t nnotes;
	int rc;
	char *err;
	size_t errlen;
};

void
stix_result_init(struct stix_result *res)
{
	memset(res, 0, sizeof(*res));
	res->kind = STIX_KIND_NONE;
	res->max_bytes = STIX_MAX_BYTES;
	res->max_depth = STIX_MAX_DEPTH;
	res->max_targets = STIX_MAX_TARGETS;
}

void
stix_result_fini(struct stix_result *res)
{
	if (res == NULL)
		return;
	json_decref(res->records);
	json_decref(res->targets);
	json_decref(res->notes);
	res->records = res->targets = res->notes = NULL;
}

static void
fail(struct rd *rd, int rc, const char *msg)
{
	if (rd->rc != 0)
		return;
	rd->rc = rc;
	util_seterr(rd->err, rd->errlen, "%s", msg);
}

__attribute__((format(printf, 2, 3))) static void
note(struct rd *rd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (rd->nnotes > STIX_MAX_NOTES)
		return;
	if (rd->nnotes++ == STIX_MAX_NOTES) {
		snprintf(buf, sizeof(buf), "further notes omitted");
	} else {
		va_start(ap, fmt);
		util_vseterr(buf, sizeof(buf), fmt, ap);
		va_end(ap);
	}
	if (json_array_append_new(rd->res->notes, json_string(buf)) != 0)
		fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
}

static const char *
attr(const xmlNode *n, const char *name)
{
	xmlAttr *a;

	for (a = n->properties; a != NULL; a = a->next)
		if (a->ns == NULL && strcmp((const char *)a->name, name) == 0 &&
		    a->children != NULL && a->children->type == XML_TEXT_NODE)
			return (const char *)a->children->content;
	return NULL;
}

static const char *
xsi_type(const xmlNode *n)
{
	xmlAttr *a;

	for (a = n->properties; a != NULL; a = a->next)
		if (a->ns != NULL && strcmp((const char *)a->ns->href, STIX_NS_XSI) == 0 &&
		    strcmp((const char *)a->name, "type") == 0 && a->children != NULL &&
		    a->children->type == XML_TEXT_NODE)
			return (const char *)a->children->content;
	return NULL;
}

/* "{ns}local" of a QName attribute value, the key ids are matched by; "" when absent. */
static void
qkey(xmlNode *n, const char *value, char *out, size_t outlen)
{
	const xmlChar *ns;
	const char *local;

	out[0] = '\0';
	if (value == NULL)
		return;
	local = stix_qname(n, value, &ns);
	snprintf(out, outlen, "{%s}%s", ns ? (const char *)ns : "", local);
}

/* 1 when n is an element with this local name, whatever its namespace (used where STIX and
 * CybOX reuse one name across several namespaces and versions). */
static int
local_is(const xmlNode *n, const char *local)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, local) == 0;
}

/* Trimmed text of the first child element named local (any namespace), or NULL. */
static char *
child_text_any(const xmlNode *n, const char *local)
{
	xmlNode *c;
	char *s, *b, *e;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (local_is(c, local))
			break;
	if (c == NULL)
		return NULL;
	s = stix_text(c);
	if (s == NULL)
		return NULL;
	for (b = s; isspace((unsigned char)*b); b++)
		;
	e = b + strlen(b);
	while (e > b && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (*b == '\0') {
		xmlFree(s);
		return NULL;
	}
	memmove(s, b, strlen(b) + 1);
	return s;
}

static xmlNode *
child_any(const xmlNode *n, const char *local)
{
	xmlNode *c;

	for (c = n ? n->children : NULL; c != NULL; c = c->next)
		if (local_is(c, local))
			return c;
	return NULL;
}

/* A campaign's name: its Title, else its first Names/Name. Caller xmlFree()s. */
static char *
campaign_name(const xmlNode *c)
{
	char *s = child_text_any(c, "Title");

	if (s == NULL)
		s = child_text_any(child_any(c, "Names"), "Name");
	return s;
}

static void
map_set(struct rd *rd, json_t *map, const char *key, const char *val)
{
	if (key[0] == '\0' || json_object_get(map, key) != NULL)
		return;
	if (json_object_set_new(map, key, json_string(val)) != 0)
		fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
}

/* The nearest enclosing Indicator of n, or NULL. */
static xmlNode *
enclosing_indicator(xmlNode *n)
{
	for (n = n->parent; n != NULL && n->type == XML_ELEMENT_NODE; n = n->parent)
		if (local_is(n, "Indicator"))
			return n;
	return NULL;
}

/* Remembers that indicator `ind` points at observable `idref`, for its threat ID. */
static void
note_observable_ref(struct rd *rd, xmlNode *ref, xmlNode *ind)
{
	char key[512];
	xmlNode **grown;

	qkey(ref, attr(ref, "idref"), key, sizeof(key));
	if (json_object_get(rd->obs_ind, key) != NULL)
		return;
	grown = realloc(rd->inds, (rd->ninds + 1) * sizeof(*grown));
	if (grown == NULL) {
		fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
		return;
	}
	rd->inds = grown;
	rd->inds[rd->ninds] = ind;
	if (json_object_set_new(rd->obs_ind, key, json_integer((json_int_t)rd->ninds)) != 0) {
		fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
		return;
	}
	rd->ninds++;
}

/*
 * First pass: campaign names by id, the indicators campaigns name (old style), and the
 * observables indicators refer to by idref.
 */
static void
collect_refs(struct rd *rd, xmlNode *n)
{
	char key[512], ikey[512];
	xmlNode *c, *ri, *ind;
	char *name;

	for (c = n->children; c != NULL && rd->rc == 0; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (local_is(c, "Observable") && attr(c, "idref") != NULL &&
		    (ind = enclosing_indicator(c)) != NULL)
			note_observable_ref(rd, c, ind);
		if (local_is(c, "Campaign") && c->ns != NULL &&
		    strcmp((const char *)c->ns->href, STIX_NS_STIX) == 0 && attr(c, "id")) {
			name = campaign_name(c);
			if (name != NULL) {
				qkey(c, attr(c, "id"), key, sizeof(key));
				map_set(rd, rd->campaigns, key, name);
				ri = child_any(c, "Related_Indicators");
				for (ri = ri ? ri->children : NULL; ri != NULL; ri = ri->next) {
					ind = child_any(ri, "Indicator");
					if (ind == NULL || attr(ind, "idref") == NULL)
						continue;
					qkey(ind, attr(ind, "idref"), ikey, sizeof(ikey));
					map_set(rd, rd->ind_campaign, ikey, name);
				}
				xmlFree(name);
			}
		}
		collect_refs(rd, c);
	}
}

/* The threat ID for a value found under package `pkg` and indicator `ind` (may be NULL). */
static char *
threat_id(struct rd *rd, xmlNode *pkg, xmlNode *ind)
{
	char key[512];
	xmlNode *rc, *c;
	const json_t *v;
	char *s = NULL;

	if (ind != NULL) {
		rc = child_any(ind, "Related_Campaigns");
		for (c = rc ? rc->children : NULL; c != NULL && s == NULL; c = c->next) {
			xmlNode *ref = child_any(c, "Campaign");

			if (ref == NULL)
				continue;
			if (attr(ref, "idref") != NULL) {
				qkey(ref, attr(ref, "idref"), key, sizeof(key));
				v = json_object_get(rd->campaigns, key);
				if (json_is_string(v))
					return strdup(json_string_value(v));
			}
			s = campaign_name(ref);
		}
		if (s == NULL && attr(ind, "id") != NULL) {
			qkey(ind, attr(ind, "id"), key, sizeof(key));
			v = json_object_get(rd->ind_campaign, key);
			if (json_is_string(v))
				return strdup(json_string_value(v));
		}
		if (s == NULL)
			s = child_text_any(ind, "Title");
	}
	if (s == NULL && pkg != NULL)
		s = child_text_any(child_any(pkg, "STIX_Header"), "Title");
	if (s != NULL) {
		char *d = strdup(s);

		xmlFree(s);
		return d;
	}
	if (rd->default_tid != NULL && rd->default_tid[0] != '\0')
		return strdup(rd->default_tid);
	if (ind != NULL && attr(ind, "id") != NULL)
		return strdup(attr(ind, "id"));
	if (pkg != NULL && attr(pkg, "id") != NULL)
		return strdup(attr(pkg, "id"));
	return strdup("unknown");
}

/* Adds (or, when a stronger source names it again, replaces) one target. */
static void
add_target(struct rd *rd, const char *kind, const char *value, json_t *target, int strength)
{
	struct util_buf key;
	json_t *prev;
	size_t idx;

	util_buf_init(&key, 0);
	if (target == NULL || util_buf_printf(&key, "%s\x1f%s", kind, value) != 0) {
		fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
		goto out;
	}
	prev = json_object_get(rd->seen, key.data);
	if (prev != NULL) {
		if (json_integer_value(json_array_get(prev, 1)) < strength) {
			idx = (size_t)json_integer_value(json_array_get(prev, 0));
			if (json_array_set(rd->res->targets, idx, target) != 0 ||
			    json_object_set_new(rd->seen, key.data,
				json_pack("[I,i]", (json_int_t)idx, strength)) != 0)
				fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
		}
		goto out;
	}
	if (json_array_size(rd->res->targets) >= rd->res->max_targets) {
		char msg[128];

		snprintf(msg, sizeof(msg), "stix: more than %zu targets in one document",
		    rd->res->max_targets);
		fail(rd, STIX_ERR_HOSTILE, msg);
		goto out;
	}
	idx = json_array_size(rd->res->targets);
	if (json_array_append(rd->res->targets, target) != 0 ||
	    json_object_set_new(rd->seen, key.data,
		json_pack("[I,i]", (json_int_t)idx, strength)) != 0)
		fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
out:
	json_decref(target);
	util_buf_fini(&key);
}

static int
ok_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static int
ok_token(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]) || (unsigned char)s[i] < 0x20)
			return 0;
	return 1;
}

/* One literal value of kind "ip", "domain" or "url". */
static void
take_value(struct rd *rd, const char *kind, char *v, long line, xmlNode *pkg, xmlNode *ind)
{
	char *b = v, *e, *tid;
	json_t *t;

	while (isspace((unsigned char)*b))
		b++;
	e = b + strlen(b);
	while (e > b && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (*b == '\0')
		return;
	if (strcmp(kind, "ip") == 0 && strchr(b, '/') != NULL) {
		note(rd, "line %ld: skipped IP range %.100s (only single addresses are observed)",
		    line, b);
		return;
	}
	if (strcmp(kind, "ip") == 0 ? !ok_ip(b) :
	    strcmp(kind, "url") == 0 ? !ok_token(b, 8192) || strstr(b, "://") == NULL :
				       !ok_token(b, 253)) {
		note(rd, "line %ld: skipped %s value \"%.100s\": not a valid %s", line, kind, b,
		    kind);
		return;
	}
	tid = threat_id(rd, pkg, ind);
	if (tid == NULL) {
		fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
		return;
	}
	t = json_pack("{s:s, s:s}", "threat_id", tid, kind, b);
	free(tid);
	add_target(rd, kind, b, t, ind != NULL ? STRENGTH_INDICATOR : STRENGTH_PACKAGE);
}

/*
 * First `d` (length dl) in [p, end), or NULL. Not strstr: that looks at the whole rest of
 * the text on every call, which makes splitting a long watchlist quadratic.
 */
static char *
find(char *p, char *end, const char *d, size_t dl)
{
	while ((size_t)(end - p) >= dl) {
		char *c = memchr(p, d[0], (size_t)(end - p) - dl + 1);

		if (c == NULL)
			return NULL;
		if (memcmp(c, d, dl) == 0)
			return c;
		p = c + 1;
	}
	return NULL;
}

/* A Value element: a literal, or a watchlist split on its delimiter; patterns skipped. */
static void
take_element(struct rd *rd, const char *kind, xmlNode *val, xmlNode *pkg, xmlNode *ind)
{
	const char *cond = attr(val, "condition");
	const char *delim = attr(val, "delimiter");
	long line = xmlGetLineNo(val);
	char *text, *p, *q, *end;
	size_t dl;

	text = stix_text(val);
	if (text == NULL)
		return;
	if (cond != NULL && strcmp(cond, "Equals") != 0) {
		if (strcmp(kind, "ip") == 0 && strstr(cond, "Between") != NULL)
			note(rd, "line %ld: skipped IP range %.100s", line, text);
		else
			note(rd, "line %ld: skipped %s pattern (condition %.40s) \"%.100s\": not a "
				 "literal destination", line, kind, cond, text);
		goto out;
	}
	if (delim == NULL || *delim == '\0')
		delim = "##comma##";
	dl = strlen(delim);
	end = text + strlen(text);
	for (p = text; rd->rc == 0; p = q + dl) {
		q = find(p, end, delim, dl);
		if (q != NULL)
			*q = '\0';
		take_value(rd, kind, p, line, pkg, ind);
		if (q == NULL)
			break;
	}
out:
	xmlFree(text);
}

/* A CybOX object's Properties: the address, domain, hostname and URI kinds matter. */
static void
take_properties(struct rd *rd, xmlNode *n, const char *type_ns, const char *type,
    xmlNode *pkg, xmlNode *ind)
{
	const char *cat = attr(n, "category");
	const char *utype = attr(n, "type");
	xmlNode *v;

	if (strcmp(type_ns, STIX_NS_ADDRESS) == 0 && strcmp(type, "AddressObjectType") == 0) {
		v = stix_child(n, STIX_NS_ADDRESS, "Address_Value");
		if (v == NULL)
			return;
		if (cat == NULL || strcmp(cat, "ipv4-addr") == 0 || strcmp(cat, "ipv6-addr") == 0)
			take_element(rd, "ip", v, pkg, ind);
		else if (strstr(cat, "net") != NULL || strcmp(cat, "cidr") == 0)
			note(rd, "line %ld: skipped IP range (address category %.40s)",
			    xmlGetLineNo(v), cat);
		else
			note(rd, "line %ld: skipped address of category %.40s: not a network "
				 "destination", xmlGetLineNo(v), cat);
	} else if (strcmp(type_ns, STIX_NS_DOMAIN) == 0 &&
	    strcmp(type, "DomainNameObjectType") == 0) {
		v = stix_child(n, STIX_NS_DOMAIN, "Value");
		if (v != NULL)
			take_element(rd, "domain", v, pkg, ind);
	} else if (strcmp(type_ns, STIX_NS_HOSTNAME) == 0 &&
	    strcmp(type, "HostnameObjectType") == 0) {
		v = stix_child(n, STIX_NS_HOSTNAME, "Hostname_Value");
		if (v != NULL)
			take_element(rd, "domain", v, pkg, ind);
	} else if (strcmp(type_ns, STIX_NS_URI) == 0 && strcmp(type, "URIObjectType") == 0) {
		v = stix_child(n, STIX_NS_URI, "Value");
		if (v == NULL)
			return;
		if (utype == NULL || strcmp(utype, "URL") == 0)
			take_element(rd, "url", v, pkg, ind);
		else if (strcmp(utype, "Domain Name") == 0)
			take_element(rd, "domain", v, pkg, ind);
		else
			note(rd, "line %ld: skipped URI of type %.40s", xmlGetLineNo(v), utype);
	}
}

static int
id_in_c2watch(xmlNode *n, const char **local)
{
	const xmlChar *ns;

	*local = stix_qname(n, attr(n, "id"), &ns);
	return *local != NULL && ns != NULL && strcmp((const char *)ns, STIX_NS_C2WATCH) == 0;
}

static int
is_c2watch_package(xmlNode *pkg, const char *title)
{
	const char *local;
	char *t;
	int yes;

	if (!id_in_c2watch(pkg, &local))
		return 0;
	t = child_text_any(child_any(pkg, "STIX_Header"), "Title");
	yes = t != NULL && strcmp(t, title) == 0;
	xmlFree(t);
	return yes;
}

/* Reads the record out of a c2watch observation package, checking it matches its ids. */
static int
observation_of(xmlNode *pkg, json_t **out, char *err, size_t errlen)
{
	char want[STIX_ID_MAX];
	const char *local, *rid;
	xmlNode *obs, *o, *d;
	char msg[256];
	json_t *rec = NULL;
	char *text = NULL;
	int rc = STIX_ERR_FORMAT;

	*out = NULL;
	obs = stix_child(pkg, STIX_NS_STIX, "Observables");
	o = stix_child(obs, STIX_NS_CYBOX, "Observable");
	d = stix_child(o, STIX_NS_CYBOX, "Description");
	text = stix_text(d);
	if (text == NULL) {
		util_seterr(err, errlen, "c2watch observation: no cybox:Description record");
		goto out;
	}
	rec = rec_json_parse(text);
	if (!json_is_object(rec)) {
		util_seterr(err, errlen, "c2watch observation: record JSON %s",
		    rec ? "is not an object" : "does not parse");
		goto out;
	}
	json_object_del(rec, "x-ict-isac.jp");
	if (stix_check_record(rec, msg, sizeof(msg)) != 0) {
		util_seterr(err, errlen, "c2watch observation: %s", msg);
		goto out;
	}
	rid = json_string_value(json_object_get(rec, "id"));
	/* The package id is derived from the record id: a mismatch means an edited package. */
	(void)id_in_c2watch(pkg, &local);
	if (stix_make_id("Package", rid, want) != 0) {
		rc = STIX_ERR_NOMEM;
		util_seterr(err, errlen, "c2watch observation: hashing failed");
		goto out;
	}
	if (local == NULL || strcmp(local, strchr(want, ':') + 1) != 0) {
		util_seterr(err, errlen, "c2watch observation: package id does not match record %s",
		    rid);
		goto out;
	}
	*out = rec;
	rec = NULL;
	rc = STIX_OK;
out:
	json_decref(rec);
	xmlFree(text);
	return rc;
}

/* A c2watch target indicator: its Description holds the target JSON. */
static json_t *
c2watch_target_of(xmlNode *ind)
{
	const char *local;
	json_t *t = NULL;
	char *text;

	if (!id_in_c2watch(ind, &local))
		return NULL;
	text = child_text_any(ind, "Description");
	if (text == NULL)
		return NULL;
	t = rec_json_parse(text);
	xmlFree(text);
	/* Only the targets CSV columns, well typed: anything else is read generically. */
	if (t != NULL && stix_check_target(t, NULL, 0) == 0)
		return t;
	json_decref(t);
	return NULL;
}

static void walk(struct rd *rd, xmlNode *n, xmlNode *pkg, xmlNode *ind);

static void
take_package(struct rd *rd, xmlNode *p)
{
	char key[STIX_ID_MAX + 8];
	json_t *rec = NULL;
	char err[256];
	const char *rid;

	if (!is_c2watch_package(p, STIX_TITLE_OBSERVATION)) {
		walk(rd, p, p, NULL);
		return;
	}
	if (observation_of(p, &rec, err, sizeof(err)) != 0) {
		note(rd, "skipped c2watch observation: %s", err);
		return;
	}
	rid = json_string_value(json_object_get(rec, "id"));
	snprintf(key, sizeof(key), "rec\x1f%.64s", rid);
	if (json_object_get(rd->seen, key) == NULL) {
		if (json_array_append(rd->res->records, rec) != 0 ||
		    json_object_set_new(rd->seen, key, json_true()) != 0)
			fail(rd, STIX_ERR_NOMEM, "stix: out of memory");
	}
	json_decref(rec);
}

static void
walk(struct rd *rd, xmlNode *n, xmlNode *pkg, xmlNode *ind)
{
	const xmlChar *tns;
	const char *tl;
	xmlNode *c;
	json_t *t;

	for (c = n->children; c != NULL && rd->rc == 0; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns != NULL && strcmp((const char *)c->ns->href, STIX_NS_STIX) == 0 &&
		    (local_is(c, "Package") || local_is(c, "STIX_Package"))) {
			take_package(rd, c);
			continue;
		}
		if (local_is(c, "Course_Of_Action") || local_is(c, "Suggested_COAs") ||
		    local_is(c, "Potential_COAs") || local_is(c, "Test_Mechanisms")) {
			/* Block actions and detection rules, not destinations to observe. */
			if (local_is(c, "Course_Of_Action") && child_any(c, "Parameter_Observables"))
				note(rd, "line %ld: skipped Course_Of_Action parameter observables",
				    xmlGetLineNo(c));
			continue;
		}
		if (local_is(c, "Indicator") && attr(c, "idref") == NULL) {
			t = c2watch_target_of(c);
			if (t != NULL) {
				const char *k = json_is_string(json_object_get(t, "url")) ? "url" :
				    json_is_string(json_object_get(t, "domain")) ? "domain" : "ip";

				add_target(rd, k, json_string_value(json_object_get(t, k)), t,
				    STRENGTH_C2WATCH);
				continue;
			}
			walk(rd, c, pkg, c);
			continue;
		}
		if (ind == NULL && local_is(c, "Observable") && attr(c, "id") != NULL) {
			char key[512];
			const json_t *i;

			qkey(c, attr(c, "id"), key, sizeof(key));
			i = json_object_get(rd->obs_ind, key);
			if (i != NULL) {
				/* Defined apart, but an indicator's: its threat ID applies. */
				walk(rd, c, pkg, rd->inds[json_integer_value(i)]);
				continue;
			}
		}
		if (xsi_type(c) != NULL) {
			tl = stix_qname(c, xsi_type(c), &tns);
			if (tns != NULL && tl != NULL)
				take_properties(rd, c, (const char *)tns, tl, pkg, ind);
		}
		walk(rd, c, pkg, ind);
	}
}

/* stix_read over an already parsed root element (the document's or a subtree's). */
static int
read_root(xmlNode *root, const char *default_threat_id, struct stix_result *res, char *err,
    size_t errlen)
{
	struct rd rd;
	const char *ver;
	int rc;

	memset(&rd, 0, sizeof(rd));
	rd.res = res;
	rd.default_tid = default_threat_id;
	rd.err = err;
	rd.errlen = errlen;
	if (res->records == NULL)
		res->records = json_array();
	if (res->targets == NULL)
		res->targets = json_array();
	if (res->notes == NULL)
		res->notes = json_array();
	rd.campaigns = json_object();
	rd.ind_campaign = json_object();
	rd.seen = json_object();
	rd.obs_ind = json_object();
	if (!res->records || !res->targets || !res->notes || !rd.campaigns ||
	    !rd.ind_campaign || !rd.seen || !rd.obs_ind) {
		rc = STIX_ERR_NOMEM;
		util_seterr(err, errlen, "stix: out of memory");
		goto out;
	}
	rc = STIX_ERR_FORMAT;
	if (stix_is(root, STIX_NS_STIX, "STIX_Package")) {
		ver = attr(root, "version");
		snprintf(res->version, sizeof(res->version), "%s", ver ? ver : "");
		if (ver == NULL)
			note(&rd, "package has no version attribute; read as STIX 1.x");
		else if (strcmp(ver, "1.0") != 0 && strcmp(ver, "1.0.1") != 0 &&
		    strcmp(ver, "1.1") != 0 && strcmp(ver, "1.1.1") != 0 &&
		    strcmp(ver, "1.2") != 0)
			note(&rd, "unknown STIX version \"%.20s\"; read as STIX 1.x", ver);
	} else if (stix_is(root, STIX_NS_CYBOX, "Observables")) {
		res->version[0] = '\0';
	} else {
		util_seterr(err, errlen, "not STIX 1.x: root element {%.100s}%.100s",
		    root && root->ns ? (const char *)root->ns->href : "",
		    root ? (const char *)root->name : "(none)");
		goto out;
	}
	/* A c2watch observation package is read from its record alone: no references to
	 * resolve, which spares walking the whole tree once more per package. */
	if (!stix_is(root, STIX_NS_STIX, "STIX_Package") ||
	    !is_c2watch_package(root, STIX_TITLE_OBSERVATION))
		collect_refs(&rd, root);
	if (rd.rc == 0) {
		if (stix_is(root, STIX_NS_STIX, "STIX_Package"))
			take_package(&rd, root);
		else
			walk(&rd, root, NULL, NULL);
	}
	rc = rd.rc;
	if (rc != 0)
		goto out;
	if (json_array_size(res->records) > 0)
		res->kind = STIX_KIND_OBSERVATIONS;
	else if (json_array_size(res->targets) > 0)
		res->kind = STIX_KIND_TARGETS;
	else {
		res->kind = STIX_KIND_NONE;
		note(&rd, "no network indicator: no URL, domain or IP address to observe");
		rc = rd.rc;
	}
out:
	json_decref(rd.campaigns);
	json_decref(rd.ind_campaign);
	json_decref(rd.seen);
	json_decref(rd.obs_ind);
	free(rd.inds);
	return rc;
}

int
stix_read(const char *xml, size_t len, const char *default_threat_id, struct stix_result *res,
    char *err, size_t errlen)
{
	xmlDoc *doc;
	int rc;

	doc = stix_xml_parse(xml, len, res->max_bytes, res->max_depth, &rc, err, errlen);
	if (doc == NULL)
		return rc;
	rc = read_root(xmlDocGetRootElement(doc), default_threat_id, res, err, errlen);
	xmlFreeDoc(doc);
	return rc;
}

int
stix_read_node(const void *node, const char *default_threat_id, struct stix_result *res,
    char *err, size_t errlen)
{
	xmlNode *root = (xmlNode *)node;
	int d;

	if (root == NULL || root->type != XML_ELEMENT_NODE) {
		util_seterr(err, errlen, "stix: not an element");
		return STIX_ERR_FORMAT;
	}
	/* The caller's parser had its own limits: hold the subtree to this module's too. */
	d = util_xml_tree_check(root, 1, res->max_depth);
	if (d == -1) {
		util_seterr(err, errlen, "XML: entity reference or DTD node refused");
		return STIX_ERR_HOSTILE;
	}
	if (d != 0) {
		util_seterr(err, errlen, "XML: element nesting deeper than %u", res->max_depth);
		return STIX_ERR_HOSTILE;
	}
	return read_root(root, default_threat_id, res, err, errlen);
}

int
stix_observation_read(const char *xml, size_t len, json_t **record, char *err, size_t errlen)
{
	xmlDoc *doc = NULL;
	xmlNode *root;
	int rc;

	*record = NULL;
	doc = stix_xml_parse(xml, len, STIX_MAX_BYTES, STIX_MAX_DEPTH, &rc, err, errlen);
	if (doc == NULL)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!stix_is(root, STIX_NS_STIX, "STIX_Package") ||
	    !is_c2watch_package(root, STIX_TITLE_OBSERVATION)) {
		rc = STIX_ERR_FORMAT;
		util_seterr(err, errlen, "not a c2watch observation package");
		goto out;
	}
	rc = observation_of(root, record, err, errlen);
out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	return rc;
}

/*
 * The checks both fast paths make on a Description's text (what stix_check_record and
 * observation_of check): canonical record JSON, a 64-digit id, a valid observed_at, and a
 * package id (`local`, without its prefix) derived from that id. The text is out's bytes
 * from `base` on; it is cut to the record without its ISAC block. Returns 1; 0 when the
 * text is not such a record (out is then cut back to `base`); or STIX_ERR_NOMEM.
 */
static int
record_in_place(struct util_buf *out, size_t base, const char *local, size_t local_len,
    struct rec_text *rt)
{
	const char *text = out->data != NULL ? out->data + base : "";
	size_t len = out->len - base, isac_at;
	char want[STIX_ID_MAX], idz[REC_ID_HEX + 1], at[64];
	const char *wl;
	int64_t us;
	int rc = 0;

	/* Only a package's Description: the record and its ISAC block, the block last. */
	if (rec_canon(text, len, rt, &isac_at) != 0 || isac_at == 0 ||
	    rt->flen[REC_F_ID] != REC_ID_HEX || rt->flen[REC_F_OBSERVED_AT] >= sizeof(at))
		goto out;
	memcpy(idz, rt->f[REC_F_ID], REC_ID_HEX);
	idz[REC_ID_HEX] = '\0';
	memcpy(at, rt->f[REC_F_OBSERVED_AT], rt->flen[REC_F_OBSERVED_AT]);
	at[rt->flen[REC_F_OBSERVED_AT]] = '\0';
	if (util_time_parse(at, &us) != 0)
		goto out;
	if (stix_make_id("Package", idz, want) != 0) {
		rc = STIX_ERR_NOMEM;
		goto out;
	}
	wl = strchr(want, ':') + 1;
	if (local_len != strlen(wl) || memcmp(local, wl, local_len) != 0)
		goto out;
	/* The ISAC block's member is the last: the record ends where it began. */
	out->data[base + isac_at] = '}';
	out->len = base + isac_at + 1;
	out->data[out->len] = '\0';
	rt->len = isac_at + 1;
	return 1;
out:
	memset(rt, 0, sizeof(*rt));
	out->len = base;
	if (out->data != NULL)
		out->data[base] = '\0';
	return rc;
}

int
stix_observation_text(const void *node, struct util_buf *out, struct rec_text *rt)
{
	xmlNode *pkg = (xmlNode *)node, *d;
	const char *local;
	size_t base = out->len;
	char *text;
	int rc = 0, r;

	if (pkg == NULL || pkg->type != XML_ELEMENT_NODE ||
	    !stix_is(pkg, STIX_NS_STIX, "STIX_Package") ||
	    !is_c2watch_package(pkg, STIX_TITLE_OBSERVATION))
		return 0;
	d = stix_child(stix_child(stix_child(pkg, STIX_NS_STIX, "Observables"), STIX_NS_CYBOX,
			   "Observable"), STIX_NS_CYBOX, "Description");
	if ((text = stix_text(d)) == NULL)
		return 0;
	if (id_in_c2watch(pkg, &local) && local != NULL) {
		r = util_buf_add(out, text, strlen(text));
		if (r == 0)
			rc = record_in_place(out, base, local, strlen(local), rt);
		else
			rc = r == -2 ? STIX_ERR_TOOBIG : STIX_ERR_NOMEM;
	}
	xmlFree(text);
	return rc;
}

/* Skips `lit` at *p (within end); 0 when the bytes there are something else. */
static int
lit(const char **p, const char *end, const char *s, size_t n)
{
	if ((size_t)(end - *p) < n || memcmp(*p, s, n) != 0)
		return 0;
	*p += n;
	return 1;
}

#define LIT(p, end, s) lit(p, end, s, sizeof(s) - 1)

/* Up to the next `stop` byte (not included); 0 when there is none before end. */
static int
upto(const char **p, const char *end, char stop, const char **at, size_t *n)
{
	const char *q = memchr(*p, stop, (size_t)(end - *p));

	if (q == NULL)
		return 0;
	*at = *p;
	*n = (size_t)(q - *p);
	*p = q;
	return 1;
}

/*
 * Element text up to its end tag `close`, with the predefined entities decoded, appended
 * to dst. Returns 1 past the end tag; 0 for anything else there (a character reference, a
 * carriage return a parser would have normalized, CDATA, a comment, a child, or more text
 * than dst may hold); -1 when memory ran out.
 */
static int
text_until(const char **p, const char *end, const char *close, size_t close_len,
    struct util_buf *dst)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };
	static const char chars[] = "&<>\"'";
	const char *q = *p, *lt = memchr(q, '<', (size_t)(end - q));
	int r;

	/* Runs between entities are copied whole; `lt`, the text's end, is found once. */
	if (lt == NULL)
		return 0;
	for (;;) {
		const char *amp = memchr(q, '&', (size_t)(lt - q)), *stop = amp ? amp : lt;
		size_t k;

		if (memchr(q, '\r', (size_t)(stop - q)) != NULL)
			return 0;
		if ((r = util_buf_add(dst, q, (size_t)(stop - q))) != 0)
			return r == -2 ? 0 : -1;
		q = stop;
		if (amp == NULL)
			break;
		for (k = 0; k < 5; k++)
			if (lit(&q, lt, ents[k], strlen(ents[k])))
				break;
		if (k == 5)
			return 0;
		if ((r = util_buf_add(dst, &chars[k], 1)) != 0)
			return r == -2 ? 0 : -1;
	}
	if ((size_t)(end - lt) < close_len || memcmp(lt, close, close_len) != 0)
		return 0;
	*p = lt + close_len;
	return 1;
}

int
stix_observation_text_xml(const char *xml, size_t len, struct util_buf *out,
    struct rec_text *rt)
{
	static const char close[] = "</cybox:Description>";
	const char *p = xml, *end = xml + len, *local, *skip;
	const char *open = strchr(stix_package_open, '\n') + 1;
	size_t local_len, n, base = out->len;
	int r;

	/* The XML declaration c2watch writes, when the text still has it. */
	(void)lit(&p, end, stix_package_open, (size_t)(open - stix_package_open));
	/* The root's start tag as c2watch writes it fixes every prefix used below, and the
	 * layout up to the record is fixed too: matching it byte for byte finds the same
	 * Description stix_observation_text would. */
	if (!lit(&p, end, open, strlen(open)) || !LIT(&p, end, "    id=\"c2watch:") ||
	    !upto(&p, end, '"', &local, &local_len) ||
	    !LIT(&p, end, "\" version=\"1.2\" timestamp=\"") || !upto(&p, end, '"', &skip, &n) ||
	    !LIT(&p, end, "\">\n  <stix:STIX_Header>\n    <stix:Title>" STIX_TITLE_OBSERVATION
		"</stix:Title>\n    <stix:Package_Intent"
		" xsi:type=\"stixVocabs:PackageIntentVocab-1.0\">Observations</stix:Package_Intent>"
		"\n  </stix:STIX_Header>\n"
		"  <stix:Observables cybox_major_version=\"2\" cybox_minor_version=\"1\""
		" cybox_update_version=\"0\">\n  <cybox:Observable id=\"") ||
	    !upto(&p, end, '"', &skip, &n) || !LIT(&p, end, "\">\n    <cybox:Title>") ||
	    !upto(&p, end, '<', &skip, &n) ||
	    !LIT(&p, end, "</cybox:Title>\n    <cybox:Description>"))
		return 0;
	/* Decoded straight into out, checked there, and cut to the record. */
	r = text_until(&p, end, close, sizeof(close) - 1, out);
	if (r > 0)
		return record_in_place(out, base, local, local_len, rt);
	out->len = base;
	if (out->data != NULL)
		out->data[base] = '\0';
	return r < 0 ? STIX_ERR_NOMEM : 0;
}
