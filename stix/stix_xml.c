/*
 * The hardened parser, schema validation and the helpers both directions share.
 */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/globals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "stix/stix.h"
#include "stix/stix_int.h"

void
stix_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
stix_strerror(int code)
{
	switch (code) {
	case STIX_OK:
		return "success";
	case STIX_ERR_NOMEM:
		return "out of memory";
	case STIX_ERR_INPUT:
		return "malformed record or target";
	case STIX_ERR_PARSE:
		return "XML not well-formed";
	case STIX_ERR_HOSTILE:
		return "XML refused (DOCTYPE, size or depth limit)";
	case STIX_ERR_FORMAT:
		return "not the STIX content expected";
	case STIX_ERR_SCHEMA:
		return "schema validation failed";
	case STIX_ERR_TOOBIG:
		return "output too large";
	default:
		return "unknown stix error";
	}
}

/* Per-parse state reached through ctxt->_private from the SAX hooks. */
struct parse_guard {
	unsigned depth;
	unsigned max_depth;
	int doctype;
	int too_deep;
};

/*
 * A DOCTYPE is where entity declarations (XXE, billion laughs) live; stopping as soon as
 * it starts means none of its content is ever parsed.
 */
static void
guard_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	xmlParserCtxt *c = ctx;
	struct parse_guard *g = c->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	g->doctype = 1;
	xmlStopParser(c);
}

static void
guard_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
	xmlParserCtxt *c = ctx;
	struct parse_guard *g = c->_private;

	if (++g->depth > g->max_depth) {
		g->too_deep = 1;
		xmlStopParser(c);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
	    nb_attributes, nb_defaulted, attributes);
}

static void
guard_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxt *c = ctx;
	struct parse_guard *g = c->_private;

	if (g->depth > 0)
		g->depth--;
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* libxml2 keeps the last error in the context; this only keeps it from being printed. */
static void
quiet_error(void *data, xmlError *e)
{
	(void)data;
	(void)e;
}

/*
 * Errors raised outside a parser context (out of memory, I/O) go to libxml2's per-thread
 * handler, which prints by default; a library must not, so it is swapped for the call.
 */
struct quiet {
	xmlStructuredErrorFunc func;
	void *ctx;
};

static void
quiet_begin(struct quiet *q)
{
	q->func = xmlStructuredError;
	q->ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(NULL, quiet_error);
}

static void
quiet_end(const struct quiet *q)
{
	xmlSetStructuredErrorFunc(q->ctx, q->func);
}

xmlDoc *
stix_xml_parse(const char *xml, size_t len, size_t max_bytes, unsigned max_depth, int *rc,
    char *err, size_t errlen)
{
	struct parse_guard g = { 0, max_depth, 0, 0 };
	xmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;
	const xmlError *e;
	struct quiet q;

	quiet_begin(&q);
	*rc = STIX_ERR_HOSTILE;
	if (xml == NULL || len == 0) {
		*rc = STIX_ERR_PARSE;
		stix_seterr(err, errlen, "XML: empty document");
		goto out;
	}
	if (len > max_bytes || len > INT_MAX) {
		stix_seterr(err, errlen, "XML: document of %zu bytes exceeds the %zu-byte cap",
		    len, max_bytes);
		goto out;
	}
	ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
	if (ctxt == NULL) {
		*rc = STIX_ERR_NOMEM;
		stix_seterr(err, errlen, "XML: cannot create parser");
		goto out;
	}
	/* Never XML_PARSE_NOENT / DTDLOAD / DTDATTR / HUGE: no entity expansion, no DTD. */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	ctxt->_private = &g;
	ctxt->sax->internalSubset = guard_internal_subset;
	ctxt->sax->externalSubset = guard_internal_subset;
	ctxt->sax->startElementNs = guard_start;
	ctxt->sax->endElementNs = guard_end;
	ctxt->sax->serror = quiet_error;
	xmlParseDocument(ctxt);
	if (g.doctype) {
		stix_seterr(err, errlen, "XML: DOCTYPE refused (no DTDs or entities accepted)");
		goto out;
	}
	if (g.too_deep) {
		stix_seterr(err, errlen, "XML: element nesting deeper than %u", max_depth);
		goto out;
	}
	if (!ctxt->wellFormed || ctxt->myDoc == NULL) {
		e = xmlCtxtGetLastError(ctxt);
		*rc = STIX_ERR_PARSE;
		if (e != NULL && e->message != NULL)
			stix_seterr(err, errlen, "XML: line %d: %.*s", e->line,
			    (int)strcspn(e->message, "\n"), e->message);
		else
			stix_seterr(err, errlen, "XML: not well-formed");
		goto out;
	}
	if (ctxt->myDoc->intSubset != NULL || ctxt->myDoc->extSubset != NULL) {
		stix_seterr(err, errlen, "XML: DOCTYPE refused (no DTDs or entities accepted)");
		goto out;
	}
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	*rc = STIX_OK;
out:
	if (ctxt != NULL) {
		if (ctxt->myDoc != NULL)
			xmlFreeDoc(ctxt->myDoc);
		ctxt->myDoc = NULL;
		xmlFreeParserCtxt(ctxt);
	}
	quiet_end(&q);
	return doc;
}

int
stix_make_id(const char *kind, const char *seed, char out[STIX_ID_MAX])
{
	unsigned char md[UTIL_SHA256_LEN];
	char small[512], *buf = small, hex[33];
	size_t kl = strlen(kind), sl = strlen(seed), n = kl + 1 + sl;
	int rc = -1;

	/* Ids are made a dozen times per package: no allocation in the common case. */
	if (n > sizeof(small) && (buf = malloc(n)) == NULL)
		return -1;
	memcpy(buf, kind, kl);
	buf[kl] = '\n';
	memcpy(buf + kl + 1, seed, sl);
	if (util_sha256(buf, n, md) != 0)
		goto out;
	/* RFC 4122 name-based layout: version 5, variant 10. */
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	util_hex(md, 16, hex);
	/* "c2watch:<kind>-8-4-4-4-12", put together by hand: a dozen per package. */
	{
		static const unsigned char groups[] = { 8, 4, 4, 4, 12 };
		size_t o = 8, h = 0, k = kl > 20 ? 20 : kl;

		memcpy(out, "c2watch:", 8);
		memcpy(out + o, kind, k);
		o += k;
		for (size_t g = 0; g < sizeof(groups); g++) {
			out[o++] = '-';
			memcpy(out + o, hex + h, groups[g]);
			o += groups[g];
			h += groups[g];
		}
		out[o] = '\0';
	}
	rc = 0;
out:
	if (buf != small)
		free(buf);
	return rc;
}

int
stix_is(const xmlNode *n, const char *ns, const char *local)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *)n->ns->href, ns) == 0 &&
	    strcmp((const char *)n->name, local) == 0;
}

xmlNode *
stix_child(const xmlNode *n, const char *ns, const char *local)
{
	xmlNode *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (stix_is(c, ns, local))
			return c;
	return NULL;
}

const char *
stix_qname(xmlNode *n, const char *value, const xmlChar **ns)
{
	const char *colon;
	char prefix[128];
	xmlNs *x;
	size_t plen;

	*ns = NULL;
	if (value == NULL)
		return NULL;
	colon = strchr(value, ':');
	if (colon == NULL) {
		x = xmlSearchNs(n->doc, n, NULL);
		*ns = x != NULL ? x->href : NULL;
		return value;
	}
	plen = (size_t)(colon - value);
	if (plen == 0 || plen >= sizeof(prefix))
		return colon + 1;
	memcpy(prefix, value, plen);
	prefix[plen] = '\0';
	x = xmlSearchNs(n->doc, n, (const xmlChar *)prefix);
	*ns = x != NULL ? x->href : NULL;
	return colon + 1;
}

char *
stix_text(const xmlNode *n)
{
	if (n == NULL)
		return NULL;
	return (char *)xmlNodeGetContent(n);
}

/*
 * Dumps j as compact JSON with sorted keys (same record, same bytes). U+FFFE/U+FFFF cannot
 * appear raw in XML, so a dump containing them is redone with \u escapes throughout.
 */
/* Whether every real in j prints with 15 significant digits and reads back the same. */
static int
reals_fit_15(const json_t *j, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	if (depth > 64)
		return 0;
	if (json_is_real(j)) {
		char buf[40];

		snprintf(buf, sizeof(buf), "%.15g", json_real_value(j));
		return strtod(buf, NULL) == json_real_value(j);
	}
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (!reals_fit_15(v, depth + 1))
				return 0;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (!reals_fit_15(v, depth + 1))
				return 0;
	}
	return 1;
}

/*
 * The canonical dump, written directly: jansson's own sorted dump goes through a callback
 * per token and sorts every object's keys by copying them, which made it the largest cost
 * of writing and of checking a package. The output is byte for byte what
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(prec)) writes; anything
 * this writer does not handle exactly like jansson (U+FFFE/U+FFFF, very deep values, keys
 * with a NUL) makes it give up, and jansson does the dump.
 */
static void
jd_grow(struct stix_jdump *d, size_t n)
{
	size_t cap = d->cap ? d->cap : 1024;
	char *np;

	while (cap - d->len < n + 1) {
		if (cap > SIZE_MAX / 2) {
			d->give_up = 1;
			return;
		}
		cap *= 2;
	}
	if ((np = realloc(d->p, cap)) == NULL) {
		d->give_up = 1;
		return;
	}
	d->p = np;
	d->cap = cap;
}

void
stix_jd_put(struct stix_jdump *d, const char *s, size_t n)
{
	if (d->cap - d->len < n + 1) {
		jd_grow(d, n);
		if (d->give_up)
			return;
	}
	memcpy(d->p + d->len, s, n);
	d->len += n;
}

void
stix_jd_string(struct stix_jdump *d, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i;

	stix_jd_put(d, "\"", 1);
	for (i = 0; i < n; i++) {
		char esc[8];
		size_t el = 2;

		if (u[i] >= 0x20 && u[i] != '"' && u[i] != '\\') {
			/* Not XML characters: jansson must write the whole dump in \u form. */
			if (u[i] == 0xef && i + 2 < n && u[i + 1] == 0xbf &&
			    (u[i + 2] == 0xbe || u[i + 2] == 0xbf))
				d->give_up = 1;
			continue;
		}
		stix_jd_put(d, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (u[i]) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 15];
			el = 6;
		}
		stix_jd_put(d, esc, el);
	}
	stix_jd_put(d, s + run, n - run);
	stix_jd_put(d, "\"", 1);
}

/* A real as jansson writes it: %.*g, ".0" when it would read back as an integer, and
 * the exponent without '+' or leading zeros. */
void
stix_jd_real(struct stix_jdump *d, double v)
{
	char buf[64], *e, *start, *end;
	int n = snprintf(buf, sizeof(buf), "%.*g", d->prec ? d->prec : 17, v);

	if (n < 0 || (size_t)n + 3 >= sizeof(buf) || strchr(buf, ',') != NULL) {
		d->give_up = 1; /* a locale with a decimal comma: leave it to jansson */
		return;
	}
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		memcpy(buf + n, ".0", 3);
		n += 2;
	}
	if ((e = strchr(buf, 'e')) != NULL) {
		start = e + 1;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)n - (size_t)(end - buf) + 1);
			n -= (int)(end - start);
		}
	}
	stix_jd_put(d, buf, (size_t)n);
}

struct jkey {
	const char *k;
	const json_t *v;
};

static int
jkey_cmp(const void *a, const void *b)
{
	return strcmp(((const struct jkey *)a)->k, ((const struct jkey *)b)->k);
}

static void
jd_value(struct stix_jdump *d, const json_t *j, int depth)
{
	char num[32];
	size_t i, n;
	int len;

	if (d->give_up)
		return;
	if (depth > 64) {
		d->give_up = 1;
		return;
	}
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		struct jkey small[32], *keys = small;
		const char *k;
		json_t *v;

		n = json_object_size(j);
		if (n > sizeof(small) / sizeof(small[0]) &&
		    (keys = malloc(n * sizeof(*keys))) == NULL) {
			d->give_up = 1;
			return;
		}
		i = 0;
		json_object_foreach((json_t *)j, k, v) {
			if (i < n) {
				keys[i].k = k;
				keys[i].v = v;
			}
			i++;
		}
		if (i != n) {
			d->give_up = 1;
		} else {
			/* Insertion sort: a record's objects are small. */
			for (size_t a = 1; a < n && n <= 32; a++)
				for (size_t b = a; b > 0 && strcmp(keys[b - 1].k, keys[b].k) > 0; b--) {
					struct jkey t = keys[b];

					keys[b] = keys[b - 1];
					keys[b - 1] = t;
				}
			if (n > 32)
				qsort(keys, n, sizeof(*keys), jkey_cmp);
			stix_jd_put(d, "{", 1);
			for (i = 0; i < n && !d->give_up; i++) {
				if (i > 0)
					stix_jd_put(d, ",", 1);
				stix_jd_string(d, keys[i].k, strlen(keys[i].k));
				stix_jd_put(d, ":", 1);
				jd_value(d, keys[i].v, depth + 1);
			}
			stix_jd_put(d, "}", 1);
		}
		if (keys != small)
			free(keys);
		return;
	}
	case JSON_ARRAY:
		stix_jd_put(d, "[", 1);
		n = json_array_size(j);
		for (i = 0; i < n && !d->give_up; i++) {
			if (i > 0)
				stix_jd_put(d, ",", 1);
			jd_value(d, json_array_get(j, i), depth + 1);
		}
		stix_jd_put(d, "]", 1);
		return;
	case JSON_STRING:
		stix_jd_string(d, json_string_value(j), json_string_length(j));
		return;
	case JSON_INTEGER:
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		stix_jd_put(d, num, (size_t)len);
		return;
	case JSON_REAL:
		stix_jd_real(d, json_real_value(j));
		return;
	case JSON_TRUE:
		stix_jd_put(d, "true", 4);
		return;
	case JSON_FALSE:
		stix_jd_put(d, "false", 5);
		return;
	case JSON_NULL:
		stix_jd_put(d, "null", 4);
		return;
	}
	d->give_up = 1;
}

int
stix_json_prec(const json_t *j)
{
	/* 15 digits print 12.3 as 12.3; the rare double that needs 17 gets them. */
	return reals_fit_15(j, 0) ? 15 : 0;
}

char *
stix_dump_json_fast(const json_t *j, int prec, size_t *len)
{
	struct stix_jdump d = { NULL, 0, 0, prec, 0 };

	/* jansson dumps only containers without JSON_ENCODE_ANY: so does this one. */
	if (!json_is_object(j) && !json_is_array(j))
		return NULL;
	jd_value(&d, j, 0);
	if (d.give_up) {
		free(d.p);
		return NULL;
	}
	d.p[d.len] = '\0';
	if (len != NULL)
		*len = d.len;
	return d.p;
}

char *
stix_dump_json(const json_t *j)
{
	int prec = stix_json_prec(j);
	size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(prec);
	char *s = stix_dump_json_fast(j, prec, NULL);

	if (s != NULL)
		return s;
	s = json_dumps(j, flags);
	if (s != NULL && (strstr(s, "\xef\xbf\xbe") != NULL || strstr(s, "\xef\xbf\xbf") != NULL)) {
		free(s);
		s = json_dumps(j, flags | JSON_ENSURE_ASCII);
	}
	return s;
}

json_t *
stix_json_parse(const char *text)
{
	json_t *j, *again = NULL;
	char *canon;

	j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL)
		return NULL;
	/*
	 * jansson's lexer drops a character when its buffer cannot grow and carries on, so
	 * a parse under memory pressure can succeed with a different value. What c2watch
	 * wrote is the canonical dump: when it does not come out again, a second parse must
	 * agree with the first.
	 */
	canon = stix_dump_json(j);
	if (canon != NULL && strcmp(canon, text) == 0)
		goto out;
	again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (again == NULL || !json_equal(again, j)) {
		json_decref(j);
		j = NULL;
	}
out:
	free(canon);
	json_decref(again);
	return j;
}

struct stix_schema {
	xmlSchema *schema;
};

/* Keeps the first error (validation or schema parse) as "line N: message". */
struct schema_errs {
	char *err;
	size_t errlen;
	int seen;
};

static void
schema_error(void *data, xmlError *e)
{
	struct schema_errs *s = data;

	if (s->seen || e == NULL || e->level < XML_ERR_ERROR)
		return;
	s->seen = 1;
	if (e->line > 0)
		stix_seterr(s->err, s->errlen, "schema: %s line %d: %.*s",
		    e->file ? e->file : "document", e->line,
		    e->message ? (int)strcspn(e->message, "\n") : 0, e->message ? e->message : "");
	else
		stix_seterr(s->err, s->errlen, "schema: %.*s",
		    e->message ? (int)strcspn(e->message, "\n") : 0, e->message ? e->message : "");
}

struct stix_schema *
stix_schema_new(const char *path, char *err, size_t errlen)
{
	struct schema_errs se = { err, errlen, 0 };
	xmlSchemaParserCtxt *pctxt = NULL;
	struct stix_schema *s = NULL;
	xmlSchema *schema = NULL;
	struct quiet q;

	quiet_begin(&q);
	pctxt = xmlSchemaNewParserCtxt(path);
	if (pctxt == NULL) {
		stix_seterr(err, errlen, "schema %s: cannot create parser", path);
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pctxt, schema_error, &se);
	schema = xmlSchemaParse(pctxt);
	if (schema == NULL) {
		if (!se.seen)
			stix_seterr(err, errlen, "schema %s: cannot load", path);
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		stix_seterr(err, errlen, "schema: out of memory");
		goto out;
	}
	s->schema = schema;
	schema = NULL;
out:
	if (schema != NULL)
		xmlSchemaFree(schema);
	if (pctxt != NULL)
		xmlSchemaFreeParserCtxt(pctxt);
	quiet_end(&q);
	return s;
}

void
stix_schema_free(struct stix_schema *schema)
{
	if (schema == NULL)
		return;
	xmlSchemaFree(schema->schema);
	free(schema);
}

int
stix_schema_validate(struct stix_schema *schema, const char *xml, size_t len, char *err,
    size_t errlen)
{
	struct schema_errs se = { err, errlen, 0 };
	xmlSchemaValidCtxt *v = NULL;
	xmlDoc *doc = NULL;
	struct quiet q;
	int rc, r;

	quiet_begin(&q);
	doc = stix_xml_parse(xml, len, STIX_MAX_BYTES, STIX_MAX_DEPTH, &rc, err, errlen);
	if (doc == NULL)
		goto out;
	rc = STIX_ERR_NOMEM;
	v = xmlSchemaNewValidCtxt(schema->schema);
	if (v == NULL) {
		stix_seterr(err, errlen, "schema: cannot create validation context");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(v, schema_error, &se);
	r = xmlSchemaValidateDoc(v, doc);
	if (r != 0) {
		rc = STIX_ERR_SCHEMA;
		if (!se.seen)
			stix_seterr(err, errlen, "schema: validation failed (%d)", r);
		goto out;
	}
	rc = STIX_OK;
out:
	if (v != NULL)
		xmlSchemaFreeValidCtxt(v);
	if (doc != NULL)
		xmlFreeDoc(doc);
	quiet_end(&q);
	return rc;
}

int
stix_validate(const char *xml, size_t len, const char *schema_dir, char *err, size_t errlen)
{
	struct stix_schema *s = NULL;
	struct util_buf path;
	int rc = STIX_ERR_NOMEM;

	util_buf_init(&path, 0);
	if (util_buf_printf(&path, "%s/validate-stix-1.2.xsd", schema_dir) != 0) {
		stix_seterr(err, errlen, "schema: out of memory");
		goto out;
	}
	s = stix_schema_new(path.data, err, errlen);
	if (s == NULL) {
		rc = STIX_ERR_SCHEMA;
		goto out;
	}
	rc = stix_schema_validate(s, xml, len, err, errlen);
out:
	stix_schema_free(s);
	util_buf_fini(&path);
	return rc;
}
