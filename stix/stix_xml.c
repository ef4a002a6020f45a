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
#include "util/util_xml.h"

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

xmlDoc *
stix_xml_parse(const char *xml, size_t len, size_t max_bytes, unsigned max_depth, int *rc,
    char *err, size_t errlen)
{
	struct util_xml_guard g;
	xmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;
	const xmlError *e;
	struct util_xml_quiet q;

	memset(&g, 0, sizeof(g));
	g.max_depth = max_depth;
	util_xml_quiet_begin(&q);
	*rc = STIX_ERR_HOSTILE;
	if (xml == NULL || len == 0) {
		*rc = STIX_ERR_PARSE;
		util_seterr(err, errlen, "XML: empty document");
		goto out;
	}
	if (len > max_bytes || len > INT_MAX) {
		util_seterr(err, errlen, "XML: document of %zu bytes exceeds the %zu-byte cap",
		    len, max_bytes);
		goto out;
	}
	ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
	if (ctxt == NULL) {
		*rc = STIX_ERR_NOMEM;
		util_seterr(err, errlen, "XML: cannot create parser");
		goto out;
	}
	xmlCtxtUseOptions(ctxt, UTIL_XML_OPTIONS);
	util_xml_guard_init(ctxt, &g);
	xmlParseDocument(ctxt);
	if (g.hostile) {
		util_seterr(err, errlen, "XML: DOCTYPE refused (no DTDs or entities accepted)");
		goto out;
	}
	if (g.too_deep) {
		util_seterr(err, errlen, "XML: element nesting deeper than %u", max_depth);
		goto out;
	}
	if (!ctxt->wellFormed || ctxt->myDoc == NULL) {
		e = xmlCtxtGetLastError(ctxt);
		*rc = STIX_ERR_PARSE;
		if (e != NULL && e->message != NULL)
			util_seterr(err, errlen, "XML: line %d: %.*s", e->line,
			    (int)strcspn(e->message, "\n"), e->message);
		else
			util_seterr(err, errlen, "XML: not well-formed");
		goto out;
	}
	if (ctxt->myDoc->intSubset != NULL || ctxt->myDoc->extSubset != NULL) {
		util_seterr(err, errlen, "XML: DOCTYPE refused (no DTDs or entities accepted)");
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
	util_xml_quiet_end(&q);
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
		util_seterr(s->err, s->errlen, "schema: %s line %d: %.*s",
		    e->file ? e->file : "document", e->line,
		    e->message ? (int)strcspn(e->message, "\n") : 0, e->message ? e->message : "");
	else
		util_seterr(s->err, s->errlen, "schema: %.*s",
		    e->message ? (int)strcspn(e->message, "\n") : 0, e->message ? e->message : "");
}

struct stix_schema *
stix_schema_new(const char *path, char *err, size_t errlen)
{
	struct schema_errs se = { err, errlen, 0 };
	xmlSchemaParserCtxt *pctxt = NULL;
	struct stix_schema *s = NULL;
	xmlSchema *schema = NULL;
	struct util_xml_quiet q;

	util_xml_quiet_begin(&q);
	pctxt = xmlSchemaNewParserCtxt(path);
	if (pctxt == NULL) {
		util_seterr(err, errlen, "schema %s: cannot create parser", path);
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pctxt, schema_error, &se);
	schema = xmlSchemaParse(pctxt);
	if (schema == NULL) {
		if (!se.seen)
			util_seterr(err, errlen, "schema %s: cannot load", path);
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		util_seterr(err, errlen, "schema: out of memory");
		goto out;
	}
	s->schema = schema;
	schema = NULL;
out:
	if (schema != NULL)
		xmlSchemaFree(schema);
	if (pctxt != NULL)
		xmlSchemaFreeParserCtxt(pctxt);
	util_xml_quiet_end(&q);
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
	struct util_xml_quiet q;
	int rc, r;

	util_xml_quiet_begin(&q);
	doc = stix_xml_parse(xml, len, STIX_MAX_BYTES, STIX_MAX_DEPTH, &rc, err, errlen);
	if (doc == NULL)
		goto out;
	rc = STIX_ERR_NOMEM;
	v = xmlSchemaNewValidCtxt(schema->schema);
	if (v == NULL) {
		util_seterr(err, errlen, "schema: cannot create validation context");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(v, schema_error, &se);
	r = xmlSchemaValidateDoc(v, doc);
	if (r != 0) {
		rc = STIX_ERR_SCHEMA;
		if (!se.seen)
			util_seterr(err, errlen, "schema: validation failed (%d)", r);
		goto out;
	}
	rc = STIX_OK;
out:
	if (v != NULL)
		xmlSchemaFreeValidCtxt(v);
	if (doc != NULL)
		xmlFreeDoc(doc);
	util_xml_quiet_end(&q);
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
		util_seterr(err, errlen, "schema: out of memory");
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
