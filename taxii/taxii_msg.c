/*
 * TAXII 1.1 / 1.0 XML messages: the hardened parser (DOM, then a walk that copies what the
 * model needs into one arena owned by the message) and the builders (text written straight
 * into a capped buffer, so output size is bounded by the caller's cap).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "taxii/taxii.h"
#include "util/util.h"

/* ---------------------------------------------------------------------------------------
 * Errors
 */

const char *
taxii_strerror(int code)
{
	switch (code) {
	case TAXII_OK: return "success";
	case TAXII_ENOMEM: return "out of memory";
	case TAXII_EXML: return "not well-formed XML";
	case TAXII_EHOSTILE: return "refused XML construct";
	case TAXII_ETOOBIG: return "too large";
	case TAXII_EMSG: return "not a valid TAXII message";
	case TAXII_EUNSUPPORTED: return "unsupported TAXII message";
	case TAXII_EVERSION: return "wrong TAXII version";
	case TAXII_EINVAL: return "invalid argument";
	case TAXII_ENET: return "network error";
	case TAXII_ESTATUS: return "peer answered with a status message";
	default: return "unknown error";
	}
}

__attribute__((format(printf, 4, 5))) static int
set_err(struct taxii_err *err, int code, int line, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* ---------------------------------------------------------------------------------------
 * Names
 */

struct type_name {
	enum taxii_msg_type type;
	const char *v11, *v10;
};

static const struct type_name type_names[] = {
	{ TAXII_MSG_STATUS, "Status_Message", "Status_Message" },
	{ TAXII_MSG_DISCOVERY_REQ, "Discovery_Request", "Discovery_Request" },
	{ TAXII_MSG_DISCOVERY_RESP, "Discovery_Response", "Discovery_Response" },
	{ TAXII_MSG_COLLECTION_INFO_REQ, "Collection_Information_Request",
	    "Feed_Information_Request" },
	{ TAXII_MSG_COLLECTION_INFO_RESP, "Collection_Information_Response",
	    "Feed_Information_Response" },
	{ TAXII_MSG_SUBSCRIPTION_REQ, "Subscription_Management_Request",
	    "Subscription_Management_Request" },
	{ TAXII_MSG_SUBSCRIPTION_RESP, "Subscription_Management_Response",
	    "Subscription_Management_Response" },
	{ TAXII_MSG_POLL_REQ, "Poll_Request", "Poll_Request" },
	{ TAXII_MSG_POLL_RESP, "Poll_Response", "Poll_Response" },
	{ TAXII_MSG_POLL_FULFILLMENT, "Poll_Fulfillment", NULL },
	{ TAXII_MSG_INBOX, "Inbox_Message", "Inbox_Message" },
};

const char *
taxii_msg_type_name(enum taxii_msg_type type, enum taxii_version ver)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return ver == TAXII_V10 ? type_names[i].v10 : type_names[i].v11;
	return NULL;
}

static const char *const status_names[] = {
	[TAXII_ST_CUSTOM] = NULL,
	[TAXII_ST_ASYNCHRONOUS_POLL_ERROR] = "ASYNCHRONOUS_POLL_ERROR",
	[TAXII_ST_BAD_MESSAGE] = "BAD_MESSAGE",
	[TAXII_ST_DENIED] = "DENIED",
	[TAXII_ST_DESTINATION_COLLECTION_ERROR] = "DESTINATION_COLLECTION_ERROR",
	[TAXII_ST_FAILURE] = "FAILURE",
	[TAXII_ST_INVALID_RESPONSE_PART] = "INVALID_RESPONSE_PART",
	[TAXII_ST_NETWORK_ERROR] = "NETWORK_ERROR",
	[TAXII_ST_NOT_FOUND] = "NOT_FOUND",
	[TAXII_ST_PENDING] = "PENDING",
	[TAXII_ST_POLLING_UNSUPPORTED] = "POLLING_UNSUPPORTED",
	[TAXII_ST_RETRY] = "RETRY",
	[TAXII_ST_SUCCESS] = "SUCCESS",
	[TAXII_ST_UNAUTHORIZED] = "UNAUTHORIZED",
	[TAXII_ST_UNSUPPORTED_MESSAGE] = "UNSUPPORTED_MESSAGE",
	[TAXII_ST_UNSUPPORTED_CONTENT] = "UNSUPPORTED_CONTENT",
	[TAXII_ST_UNSUPPORTED_PROTOCOL] = "UNSUPPORTED_PROTOCOL",
	[TAXII_ST_UNSUPPORTED_QUERY] = "UNSUPPORTED_QUERY",
};
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *
taxii_status_name(enum taxii_status st)
{
	if ((size_t)st >= N_STATUS)
		return NULL;
	return status_names[st];
}

int
taxii_status_in_version(enum taxii_status st, enum taxii_version ver)
{
	if ((size_t)st >= N_STATUS || st == TAXII_ST_CUSTOM)
		return 0;
	if (ver != TAXII_V10)
		return 1;
	switch (st) {
	case TAXII_ST_BAD_MESSAGE: case TAXII_ST_DENIED: case TAXII_ST_FAILURE:
	case TAXII_ST_NOT_FOUND: case TAXII_ST_POLLING_UNSUPPORTED: case TAXII_ST_RETRY:
	case TAXII_ST_SUCCESS: case TAXII_ST_UNAUTHORIZED: case TAXII_ST_UNSUPPORTED_MESSAGE:
	case TAXII_ST_UNSUPPORTED_CONTENT: case TAXII_ST_UNSUPPORTED_PROTOCOL:
		return 1;
	default:
		return 0;
	}
}

static enum taxii_status
status_from_name(const char *s)
{
	for (size_t i = 1; i < N_STATUS; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum taxii_status)i;
	return TAXII_ST_CUSTOM;
}

static const char *
service_name(enum taxii_service_type t, enum taxii_version ver)
{
	switch (t) {
	case TAXII_SVC_DISCOVERY: return "DISCOVERY";
	case TAXII_SVC_COLLECTION_MANAGEMENT:
		return ver == TAXII_V10 ? "FEED_MANAGEMENT" : "COLLECTION_MANAGEMENT";
	case TAXII_SVC_INBOX: return "INBOX";
	case TAXII_SVC_POLL: return "POLL";
	}
	return NULL;
}

static const char *const action_names[] = {
	[TAXII_SUB_SUBSCRIBE] = "SUBSCRIBE", [TAXII_SUB_UNSUBSCRIBE] = "UNSUBSCRIBE",
	[TAXII_SUB_PAUSE] = "PAUSE", [TAXII_SUB_RESUME] = "RESUME", [TAXII_SUB_STATUS] = "STATUS",
};

static const char *const substatus_names[] = {
	[TAXII_SUBST_ACTIVE] = "ACTIVE", [TAXII_SUBST_PAUSED] = "PAUSED",
	[TAXII_SUBST_UNSUBSCRIBED] = "UNSUBSCRIBED",
};

/* ---------------------------------------------------------------------------------------
 * HTTP binding
 */

const char *
taxii_http_content_type(enum taxii_version ver)
{
	return ver == TAXII_V10 ? TAXII_MSG_BINDING_10 : TAXII_MSG_BINDING_11;
}

const char *
taxii_http_services(enum taxii_version ver)
{
	return ver == TAXII_V10 ? TAXII_SERVICES_10 : TAXII_SERVICES_11;
}

const char *
taxii_http_protocol(int https)
{
	return https ? TAXII_PROTOCOL_HTTPS : TAXII_PROTOCOL_HTTP;
}

/* Whether the comma-separated header value `h` lists `want` (surrounding blanks ignored). */
static int
hdr_lists(const char *h, const char *want)
{
	size_t wl = strlen(want);

	while (h != NULL && *h != '\0') {
		const char *end;
		size_t n;

		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		end = strchr(h, ',');
		n = end ? (size_t)(end - h) : strlen(h);
		while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == wl && strncmp(h, want, n) == 0)
			return 1;
		h = end;
	}
	return 0;
}

enum taxii_version
taxii_http_version(const char *x_content_type, const char *x_services)
{
	if (x_content_type != NULL) {
		if (hdr_lists(x_content_type, TAXII_MSG_BINDING_11))
			return TAXII_V11;
		if (hdr_lists(x_content_type, TAXII_MSG_BINDING_10))
			return TAXII_V10;
		return TAXII_VANY;
	}
	if (x_services != NULL) {
		if (hdr_lists(x_services, TAXII_SERVICES_11))
			return TAXII_V11;
		if (hdr_lists(x_services, TAXII_SERVICES_10))
			return TAXII_V10;
	}
	return TAXII_VANY;
}

enum taxii_version
taxii_http_accept(const char *x_accept, enum taxii_version req)
{
	if (x_accept == NULL)
		return req;
	if (req != TAXII_VANY && hdr_lists(x_accept, taxii_http_content_type(req)))
		return req;
	if (hdr_lists(x_accept, TAXII_MSG_BINDING_11))
		return TAXII_V11;
	if (hdr_lists(x_accept, TAXII_MSG_BINDING_10))
		return TAXII_V10;
	return req;
}

/* ---------------------------------------------------------------------------------------
 * Arena: every string and array of a parsed message, freed at once.
 */

struct chunk {
	struct chunk *next;
	size_t used, size;
	void *ext; /* content adopted from libxml2 (xmlFree'd), or NULL */
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct chunk *head;
};

#define CHUNK_SIZE 8192

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c = a->head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (c == NULL || c->ext != NULL || c->size - c->used < n) {
		size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;

		/* libxml2's allocator for everything a parse makes, so one hook
		 * (xmlMemSetup) can fail any allocation of a parse in tests. */
		c = xmlMalloc(sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		memset(c, 0, sizeof(*c) + size);
		c->size = size;
		if (n > CHUNK_SIZE / 4 && a->head != NULL) {
			/* A big one goes behind the head so the head keeps filling. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = c->data + c->used;
	c->used += n;
	return p;
}

/* Takes ownership of an xmlMalloc'd pointer. Returns 0, or -1 (then it is freed). */
static int
arena_adopt(struct arena *a, void *ext)
{
	struct chunk *c = xmlMalloc(sizeof(*c));

	if (c == NULL) {
		xmlFree(ext);
		return -1;
	}
	memset(c, 0, sizeof(*c));
	c->ext = ext;
	if (a->head != NULL) {
		c->next = a->head->next;
		a->head->next = c;
	} else {
		a->head = c;
	}
	return 0;
}

static void
arena_free(struct arena *a)
{
	struct chunk *c = a->head;

	while (c != NULL) {
		struct chunk *next = c->next;

		if (c->ext != NULL)
			xmlFree(c->ext);
		xmlFree(c);
		c = next;
	}
	a->head = NULL;
}

struct msg_box {
	struct taxii_msg m; /* first: taxii_msg_free casts back */
	struct arena a;
	xmlDocPtr doc; /* kept with TAXII_PARSE_NODES: the blocks point into it */
};

void
taxii_msg_free(struct taxii_msg *m)
{
	struct msg_box *box;

	if (m == NULL)
		return;
	box = m->priv_;
	if (box == NULL)
		return;
	arena_free(&box->a);
	xmlFreeDoc(box->doc);
	xmlFree(box);
}

/* ---------------------------------------------------------------------------------------
 * Parser
 */

/*
 * Parse state the SAX hooks reach through ctxt->_private: whether the input was refused,
 * and where each element child of a Content element lies in the input, so that content is
 * copied from the input (with the namespace declarations it needs added) rather than
 * serialized again from the tree, which cost more than parsing it.
 */
struct span {
	size_t start, end; /* [start, end) in the input; end 0 until the element closes */
	int skipped;       /* its descendants were not put in the tree: the copy is all */
	int uses_11, uses_10; /* an element or attribute below it is in a TAXII namespace */
};

struct pstate {
	int hostile;
	int too_deep;
	int no_spans; /* the input was converted from another encoding, or memory ran out */
	struct span *spans;
	size_t n, cap;
	/* Inside a content element being copied: how deep (1: the element itself), its span
	 * and its depth in the document. */
	int skip;
	size_t skip_span;
	int skip_base;
};

struct pctx {
	struct arena *a;
	struct taxii_err *err;
	const char *ns;
	enum taxii_version ver;
	xmlDocPtr doc;
	int keep_nodes;
	const struct pstate *ps; /* where content elements lie in the input */
	const char *in;
};

static int
line_of(const xmlNode *n)
{
	return n ? (int)xmlGetLineNo(n) : 0;
}

#define PERR(p, node, code, ...) set_err((p)->err, (code), line_of(node), __VA_ARGS__)

static int
is_el(const struct pctx *p, const xmlNode *n, const char *name)
{
	/* xmlStrEqual: libxml2 may leave NULL names behind after an allocation failure. */
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    xmlStrEqual(n->ns->href, (const xmlChar *)p->ns) &&
	    (name == NULL || xmlStrEqual(n->name, (const xmlChar *)name));
}

static xmlNode *
kid(const struct pctx *p, const xmlNode *parent, const char *name)
{
	for (xmlNode *c = parent->children; c != NULL; c = c->next)
		if (is_el(p, c, name))
			return c;
	return NULL;
}

static size_t
count_kids(const struct pctx *p, const xmlNode *parent, const char *name)
{
	size_t n = 0;

	for (xmlNode *c = parent->children; c != NULL; c = c->next)
		if (is_el(p, c, name))
			n++;
	return n;
}

static void *
p_alloc(struct pctx *p, const xmlNode *at, size_t n)
{
	void *r = arena_alloc(p->a, n);

	if (r == NULL)
		PERR(p, at, TAXII_ENOMEM, "out of memory");
	return r;
}

static const char *
p_strdup(struct pctx *p, const xmlNode *at, const char *s, size_t n)
{
	char *r = p_alloc(p, at, n + 1);

	if (r == NULL)
		return NULL;
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/* Copies an xmlChar* into the arena (blanks trimmed when `trim`) and frees it. */
static int
p_take(struct pctx *p, const xmlNode *at, xmlChar *x, int trim, const char **out)
{
	const char *s = (const char *)x;
	size_t n;

	if (x == NULL)
		return PERR(p, at, TAXII_ENOMEM, "out of memory");
	n = strlen(s);
	if (trim) {
		while (n > 0 && isspace((unsigned char)*s))
			s++, n--;
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			n--;
	}
	*out = p_strdup(p, at, s, n);
	xmlFree(x);
	return *out ? 0 : TAXII_ENOMEM;
}

/* An unqualified attribute. *out stays NULL when absent (an error when `required`). */
static int
get_attr(struct pctx *p, const xmlNode *n, const char *name, int required, const char **out)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return PERR(p, n, TAXII_EMSG, "%s: missing attribute %s", n->name, name);
		return 0;
	}
	return p_take(p, n, v, 1, out);
}

static int
get_text(struct pctx *p, const xmlNode *n, const char **out)
{
	return p_take(p, n, xmlNodeGetContent(n), 1, out);
}

/* Text of the first child element `name`; *out NULL when absent. */
static int
get_kid_text(struct pctx *p, const xmlNode *parent, const char *name, int required,
    const char **out)
{
	xmlNode *k = kid(p, parent, name);

	*out = NULL;
	if (k == NULL) {
		if (required)
			return PERR(p, parent, TAXII_EMSG, "%s: missing element %s", parent->name,
			    name);
		return 0;
	}
	return get_text(p, k, out);
}

static int
parse_bool(struct pctx *p, const xmlNode *n, const char *name, int dflt, int *out)
{
	const char *v;
	int rc = get_attr(p, n, name, 0, &v);

	if (rc)
		return rc;
	if (v == NULL)
		*out = dflt;
	else if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return PERR(p, n, TAXII_EMSG, "%s: bad boolean %s=\"%s\"", n->name, name, v);
	return 0;
}

static int
parse_u64(struct pctx *p, const xmlNode *n, const char *what, const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '+')
		s++;
	if (*s == '\0')
		return PERR(p, n, TAXII_EMSG, "%s: empty %s", n->name, what);
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return PERR(p, n, TAXII_EMSG, "%s: bad %s", n->name, what);
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * xs:dateTime lets the zone out, and some servers do ("2015-05-01T12:00:00.123"): such a
 * label is read as UTC, the only reading that keeps a peer's labels in order.
 */
static int
zoneless_utc(const char *t, int64_t *us)
{
	char z[64];
	size_t n = strlen(t);

	/* A date and a time, nothing after the seconds' digits but a fraction. */
	if (n < 19 || n + 2 > sizeof(z) || t[n - 1] < '0' || t[n - 1] > '9' ||
	    strchr(t + 10, '+') != NULL || strchr(t + 10, '-') != NULL)
		return 0;
	memcpy(z, t, n);
	z[n] = 'Z';
	z[n + 1] = '\0';
	return util_time_parse(z, us) == 0;
}

static int
get_time(struct pctx *p, const xmlNode *parent, const char *name, int *has, int64_t *us)
{
	const char *t;
	int rc = get_kid_text(p, parent, name, 0, &t);

	*has = 0;
	if (rc || t == NULL)
		return rc;
	if (util_time_parse(t, us) != 0 && !zoneless_utc(t, us))
		return PERR(p, kid(p, parent, name), TAXII_EMSG, "%s: bad timestamp \"%s\"", name,
		    t);
	*has = 1;
	return 0;
}

/* Every `name` child as a string list: its attribute `attr`, or its text when attr NULL. */
static int
get_strs(struct pctx *p, const xmlNode *parent, const char *name, const char *attr,
    struct taxii_strs *out)
{
	size_t n = count_kids(p, parent, name), i = 0;
	const char **v;
	int rc;

	out->v = NULL;
	out->n = 0;
	if (n == 0)
		return 0;
	v = p_alloc(p, parent, n * sizeof(*v));
	if (v == NULL)
		return TAXII_ENOMEM;
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (!is_el(p, c, name))
			continue;
		rc = attr ? get_attr(p, c, attr, 1, &v[i]) : get_text(p, c, &v[i]);
		if (rc)
			return rc;
		i++;
	}
	out->v = v;
	out->n = n;
	return 0;
}

/* Content_Binding list: 1.1 binding_id attributes, 1.0 element text. */
static int
get_bindings(struct pctx *p, const xmlNode *parent, struct taxii_strs *out)
{
	return get_strs(p, parent, "Content_Binding", p->ver == TAXII_V11 ? "binding_id" : NULL,
	    out);
}

static int
get_contact(struct pctx *p, const xmlNode *n, struct taxii_contact *c)
{
	int rc;

	if ((rc = get_kid_text(p, n, "Protocol_Binding", 1, &c->protocol)) ||
	    (rc = get_kid_text(p, n, "Address", 1, &c->address)) ||
	    (rc = get_strs(p, n, "Message_Binding", NULL, &c->message_bindings)))
		return rc;
	if (c->message_bindings.n == 0)
		return PERR(p, n, TAXII_EMSG, "%s: missing Message_Binding", n->name);
	return 0;
}

static int
get_contacts(struct pctx *p, const xmlNode *parent, const char *name,
    const struct taxii_contact **out, size_t *nout)
{
	size_t n = count_kids(p, parent, name), i = 0;
	struct taxii_contact *v;
	int rc;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((v = p_alloc(p, parent, n * sizeof(*v))) == NULL)
		return TAXII_ENOMEM;
	for (xmlNode *c = parent->children; c != NULL; c = c->next)
		if (is_el(p, c, name) && (rc = get_contact(p, c, &v[i++])) != 0)
			return rc;
	*out = v;
	*nout = n;
	return 0;
}

/* Whether an element or attribute in the subtree of n is in namespace `href`. */
static int
subtree_uses(const xmlNode *n, const xmlChar *href)
{
	if (n->ns != NULL && xmlStrEqual(n->ns->href, href))
		return 1;
	for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
		if (a->ns != NULL && xmlStrEqual(a->ns->href, href))
			return 1;
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && subtree_uses(c, href))
			return 1;
	return 0;
}

/* Appends ` xmlns[:prefix]="href"` (href escaped for an attribute). 0 or -1. */
static int
add_ns_decl(xmlBufferPtr buf, const xmlNs *ns)
{
	const char *h = (const char *)ns->href, *run = h;
	int rc;

	if (h == NULL)
		return -1; /* xmlNewNs ran out of memory copying it */
	rc = xmlBufferCCat(buf, " xmlns");
	if (rc == 0 && ns->prefix != NULL) {
		rc = xmlBufferCCat(buf, ":");
		if (rc == 0)
			rc = xmlBufferCCat(buf, (const char *)ns->prefix);
	}
	if (rc == 0)
		rc = xmlBufferCCat(buf, "=\"");
	for (; rc == 0 && *h; h++) {
		const char *rep = *h == '&' ? "&amp;" : *h == '<' ? "&lt;" : *h == '"' ? "&quot;" :
		    NULL;

		if (rep == NULL)
			continue;
		rc = xmlBufferAdd(buf, (const xmlChar *)run, (int)(h - run));
		if (rc == 0)
			rc = xmlBufferCCat(buf, rep);
		run = h + 1;
	}
	if (rc == 0)
		rc = xmlBufferAdd(buf, (const xmlChar *)run, (int)(h - run));
	if (rc == 0)
		rc = xmlBufferCCat(buf, "\"");
	return rc == 0 ? 0 : -1;
}

/* The span noted for a content element, or NULL. */
static const struct span *
span_of(const struct pctx *p, const xmlNode *c)
{
	uintptr_t i = (uintptr_t)c->_private;

	return p->ps != NULL && i > 0 && i <= p->ps->n ? &p->ps->spans[i - 1] : NULL;
}

/* Whether the part of c's subtree that was not built uses the namespace `ns`. */
static int
span_uses(const struct pctx *p, const xmlNode *c, const char *ns)
{
	const struct span *sp = span_of(p, c);

	return sp != NULL && (strcmp(ns, TAXII_NS_11) == 0 ? sp->uses_11 : sp->uses_10);
}

static int
span_skipped(const struct pctx *p, const xmlNode *c)
{
	const struct span *sp = span_of(p, c);

	return sp != NULL && sp->skipped;
}

/*
 * Where a content element lies in the input, when that is known and checks out: the
 * start is moved back to its '<' and the name there must be the element's.
 */
static const struct span *
slice_of(const struct pctx *p, xmlNode *c)
{
	uintptr_t i = (uintptr_t)c->_private;
	struct span *sp;
	const char *name = (const char *)c->name;
	size_t nl = strlen(name), pl;

	if (p->ps == NULL || i == 0 || i > p->ps->n)
		return NULL;
	sp = &p->ps->spans[i - 1];
	if (sp->end == 0)
		return NULL;
	if (p->in[sp->start] != '<') {
		/* Back over the start tag, which holds no '<' (its namespace declarations can
		 * make it long). */
		const char *lt = memrchr(p->in, '<', sp->start);

		sp->start = lt != NULL ? (size_t)(lt - p->in) : 0;
	}
	if (p->in[sp->start] != '<' || sp->end <= sp->start || p->in[sp->end - 1] != '>')
		return NULL;
	pl = c->ns != NULL && c->ns->prefix != NULL ? strlen((const char *)c->ns->prefix) : 0;
	if (pl > 0 && (strncmp(p->in + sp->start + 1, (const char *)c->ns->prefix, pl) != 0 ||
			  p->in[sp->start + 1 + pl] != ':'))
		return NULL;
	if (strncmp(p->in + sp->start + 1 + (pl ? pl + 1 : 0), name, nl) != 0 ||
	    strchr(" \t\r\n/>", p->in[sp->start + 1 + (pl ? pl + 1 : 0) + nl]) == NULL)
		return NULL;
	return sp;
}

/*
 * Serializes the element children of a Content element, each with every namespace in scope
 * declared on it (the QNames inside STIX attribute values need their prefixes too), then
 * drops them from the tree so the content is held once more at most while parsing.
 */
static int
get_content(struct pctx *p, xmlNode *content, struct taxii_content_block *b)
{
	xmlBufferPtr buf = NULL;
	xmlNode *c, *next;
	int has_el = 0, rc = 0;

	for (c = content->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			has_el = 1;
	if (has_el && p->keep_nodes) {
		/* The reader walks the parsed tree itself: no text round trip. */
		for (c = content->children; c->type != XML_ELEMENT_NODE; c = c->next)
			;
		b->node = c;
		b->is_xml = 1;
		return 0;
	}
	if (!has_el) {
		const char *t;

		if ((rc = p_take(p, content, xmlNodeGetContent(content), 0, &t)) != 0)
			return rc;
		b->content = t;
		b->content_len = strlen(t);
		b->is_xml = 0;
		return 0;
	}
	if ((buf = xmlBufferCreate()) == NULL)
		return PERR(p, content, TAXII_ENOMEM, "out of memory");
	for (c = content->children; c != NULL; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		/* What the ancestors declare: c's own declarations are in its tag already. */
		xmlNsPtr *scope = xmlGetNsList(p->doc, content);
		const struct span *sp = slice_of(p, c);
		size_t added = 0;

		for (size_t i = 0; scope != NULL && scope[i] != NULL; i++) {
			const xmlChar *pfx = scope[i]->prefix;
			const xmlNs *own;

			if (pfx != NULL && xmlStrEqual(pfx, (const xmlChar *)"xml"))
				continue;
			for (own = c->nsDef; own != NULL; own = own->next)
				if (xmlStrEqual(own->prefix, pfx))
					break;
			if (own != NULL)
				continue;
			/* The envelope's own namespace only where the content really uses it. */
			if (xmlStrEqual(scope[i]->href, (const xmlChar *)p->ns) &&
			    !subtree_uses(c, scope[i]->href) && !span_uses(p, c, p->ns))
				continue;
			/* xmlNewNs refuses a prefix the element already declares. */
			if (xmlNewNs(c, scope[i]->href, pfx) != NULL)
				added++;
		}
		xmlFree(scope);
		if (sp == NULL && span_skipped(p, c)) {
			/* Its subtree was never built: the copy is the only way to it. */
			rc = PERR(p, c, TAXII_EMSG, "content could not be located in the input");
			goto out;
		}
		if (sp != NULL) {
			/* The input's own bytes, the declarations just added put in its start
			 * tag (they come last in nsDef). */
			const char *el = p->in + sp->start;
			size_t nl = strcspn(el, " \t\r\n/>");
			size_t own = 0;
			xmlNs *ns;

			for (ns = c->nsDef; ns != NULL; ns = ns->next)
				own++;
			own -= added;
			ns = c->nsDef;
			for (size_t i = 0; i < own; i++)
				ns = ns->next;
			rc = xmlBufferAdd(buf, (const xmlChar *)el, (int)nl);
			for (; ns != NULL && rc == 0; ns = ns->next)
				rc = add_ns_decl(buf, ns);
			if (rc == 0)
				rc = xmlBufferAdd(buf, (const xmlChar *)el + nl,
				    (int)(sp->end - sp->start - nl));
			if (rc != 0) {
				rc = PERR(p, c, TAXII_ENOMEM, "cannot copy content");
				goto out;
			}
		} else if (xmlNodeDump(buf, p->doc, c, 0, 0) < 0) {
			rc = PERR(p, c, TAXII_ENOMEM, "cannot serialize content");
			goto out;
		}
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	b->content_len = (size_t)xmlBufferLength(buf);
	b->content = (const char *)xmlBufferDetach(buf);
	b->is_xml = 1;
	if (b->content == NULL || arena_adopt(p->a, (void *)b->content) != 0) {
		b->content = NULL;
		rc = PERR(p, content, TAXII_ENOMEM, "out of memory");
	}
out:
	xmlBufferFree(buf);
	return rc;
}

static int
get_blocks(struct pctx *p, const xmlNode *parent, struct taxii_msg *m)
{
	size_t n = count_kids(p, parent, "Content_Block"), i = 0;
	struct taxii_content_block *v;
	int rc;

	if (n == 0)
		return 0;
	if ((v = p_alloc(p, parent, n * sizeof(*v))) == NULL)
		return TAXII_ENOMEM;
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		struct taxii_content_block *b;
		xmlNode *bind, *content;

		if (!is_el(p, c, "Content_Block"))
			continue;
		b = &v[i++];
		if ((bind = kid(p, c, "Content_Binding")) == NULL)
			return PERR(p, c, TAXII_EMSG, "Content_Block: missing Content_Binding");
		if (p->ver == TAXII_V11) {
			xmlNode *sub = kid(p, bind, "Subtype");

			if ((rc = get_attr(p, bind, "binding_id", 1, &b->binding)) ||
			    (sub && (rc = get_attr(p, sub, "subtype_id", 1, &b->subtype))))
				return rc;
		} else if ((rc = get_text(p, bind, &b->binding)) != 0) {
			return rc;
		}
		if ((content = kid(p, c, "Content")) == NULL)
			return PERR(p, c, TAXII_EMSG, "Content_Block: missing Content");
		if ((rc = get_content(p, content, b)) ||
		    (rc = get_time(p, c, "Timestamp_Label", &b->has_timestamp, &b->timestamp_us)) ||
		    (rc = get_kid_text(p, c, "Message", 0, &b->message)))
			return rc;
	}
	m->blocks = v;
	m->n_blocks = n;
	return 0;
}

static int
parse_status(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	xmlNode *sd;
	int rc;

	if ((rc = get_attr(p, root, "status_type", 1, &m->status_type)) != 0)
		return rc;
	m->status = status_from_name(m->status_type);
	if ((rc = get_kid_text(p, root, "Message", 0, &m->message)) != 0)
		return rc;
	if ((sd = kid(p, root, "Status_Detail")) == NULL)
		return 0;
	if (p->ver == TAXII_V10) {
		struct taxii_detail *d = p_alloc(p, sd, sizeof(*d));

		if (d == NULL || (rc = get_text(p, sd, &d->value)) != 0)
			return d ? rc : TAXII_ENOMEM;
		m->details = d;
		m->n_details = 1;
		return 0;
	}
	size_t n = count_kids(p, sd, "Detail"), i = 0;
	struct taxii_detail *d;

	if (n == 0)
		return PERR(p, sd, TAXII_EMSG, "Status_Detail: no Detail");
	if ((d = p_alloc(p, sd, n * sizeof(*d))) == NULL)
		return TAXII_ENOMEM;
	for (xmlNode *c = sd->children; c != NULL; c = c->next) {
		if (!is_el(p, c, "Detail"))
			continue;
		if ((rc = get_attr(p, c, "name", 1, &d[i].name)) ||
		    (rc = get_text(p, c, &d[i].value)))
			return rc;
		i++;
	}
	m->details = d;
	m->n_details = n;
	return 0;
}

static int
parse_discovery_resp(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	size_t n = count_kids(p, root, "Service_Instance"), i = 0;
	struct taxii_service *v;
	int rc;

	if (n == 0)
		return 0;
	if ((v = p_alloc(p, root, n * sizeof(*v))) == NULL)
		return TAXII_ENOMEM;
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		struct taxii_service *s;
		const char *t, *sv;

		if (!is_el(p, c, "Service_Instance"))
			continue;
		s = &v[i++];
		if ((rc = get_attr(p, c, "service_type", 1, &t)) ||
		    (rc = get_attr(p, c, "service_version", 1, &sv)) ||
		    (rc = parse_bool(p, c, "available", -1, &s->available)) ||
		    (rc = get_contact(p, c, &s->contact)) ||
		    (rc = get_bindings(p, c, &s->content_bindings)) ||
		    (rc = get_kid_text(p, c, "Message", 0, &s->message)))
			return rc;
		s->type = 0;
		for (int st = TAXII_SVC_DISCOVERY; st <= TAXII_SVC_POLL; st++)
			if (strcmp(t, service_name((enum taxii_service_type)st, p->ver)) == 0)
				s->type = (enum taxii_service_type)st;
		if (s->type == 0)
			return PERR(p, c, TAXII_EMSG, "Service_Instance: bad service_type \"%s\"", t);
		s->version = strcmp(sv, TAXII_SERVICES_10) == 0 ? TAXII_V10 :
		    strcmp(sv, TAXII_SERVICES_11) == 0 ? TAXII_V11 : TAXII_VANY;
	}
	m->services = v;
	m->n_services = n;
	return 0;
}

static int
parse_collection_resp(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	const char *el = p->ver == TAXII_V10 ? "Feed" : "Collection";
	size_t n = count_kids(p, root, el), i = 0;
	struct taxii_collection *v;
	int rc;

	if (n == 0)
		return 0;
	if ((v = p_alloc(p, root, n * sizeof(*v))) == NULL)
		return TAXII_ENOMEM;
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		struct taxii_collection *col;
		const char *t = NULL, *vol = NULL;

		if (!is_el(p, c, el))
			continue;
		col = &v[i++];
		if ((rc = get_attr(p, c, p->ver == TAXII_V10 ? "feed_name" : "collection_name", 1,
			 &col->name)) ||
		    (rc = parse_bool(p, c, "available", -1, &col->available)) ||
		    (rc = get_kid_text(p, c, "Description", 1, &col->description)) ||
		    (rc = get_bindings(p, c, &col->content_bindings)) ||
		    (rc = get_contacts(p, c, "Polling_Service", &col->polling, &col->n_polling)) ||
		    (rc = get_contacts(p, c, "Subscription_Service", &col->subscription,
			 &col->n_subscription)))
			return rc;
		if (p->ver == TAXII_V10)
			continue;
		if ((rc = get_attr(p, c, "collection_type", 0, &t)) ||
		    (rc = get_kid_text(p, c, "Collection_Volume", 0, &vol)) ||
		    (rc = get_contacts(p, c, "Receiving_Inbox_Service", &col->inbox,
			 &col->n_inbox)))
			return rc;
		if (t == NULL || strcmp(t, "DATA_FEED") == 0)
			col->type = TAXII_COLL_DATA_FEED;
		else if (strcmp(t, "DATA_SET") == 0)
			col->type = TAXII_COLL_DATA_SET;
		else
			return PERR(p, c, TAXII_EMSG, "Collection: bad collection_type \"%s\"", t);
		if (vol != NULL) {
			if ((rc = parse_u64(p, c, "Collection_Volume", vol, &col->volume)) != 0)
				return rc;
			col->has_volume = 1;
		}
	}
	m->collections = v;
	m->n_collections = n;
	return 0;
}

static int
parse_response_type(struct pctx *p, const xmlNode *params, enum taxii_response_type *out)
{
	const char *rt;
	int rc = get_kid_text(p, params, "Response_Type", 0, &rt);

	if (rc)
		return rc;
	if (rt == NULL || strcmp(rt, "FULL") == 0)
		*out = TAXII_RESP_FULL;
	else if (strcmp(rt, "COUNT_ONLY") == 0)
		*out = TAXII_RESP_COUNT_ONLY;
	else
		return PERR(p, params, TAXII_EMSG, "bad Response_Type \"%s\"", rt);
	return 0;
}

static int
parse_poll_req(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	xmlNode *pp;
	int rc;

	if ((rc = get_time(p, root, "Exclusive_Begin_Timestamp", &m->has_begin, &m->begin_us)) ||
	    (rc = get_time(p, root, "Inclusive_End_Timestamp", &m->has_end, &m->end_us)))
		return rc;
	if (p->ver == TAXII_V10) {
		if ((rc = get_attr(p, root, "feed_name", 1, &m->collection)) ||
		    (rc = get_attr(p, root, "subscription_id", 0, &m->subscription_id)))
			return rc;
		return get_bindings(p, root, &m->content_bindings);
	}
	if ((rc = get_attr(p, root, "collection_name", 1, &m->collection)) ||
	    (rc = get_kid_text(p, root, "Subscription_ID", 0, &m->subscription_id)))
		return rc;
	if ((pp = kid(p, root, "Poll_Parameters")) == NULL) {
		if (m->subscription_id == NULL)
			return PERR(p, root, TAXII_EMSG,
			    "Poll_Request: neither Subscription_ID nor Poll_Parameters");
		return 0;
	}
	m->has_poll_params = 1;
	if ((rc = parse_bool(p, pp, "allow_asynch", 0, &m->allow_asynch)) ||
	    (rc = parse_response_type(p, pp, &m->response_type)))
		return rc;
	return get_bindings(p, pp, &m->content_bindings);
}

static int
parse_record_count(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	xmlNode *rcn = kid(p, root, "Record_Count");
	const char *t;
	int rc;

	if (rcn == NULL)
		return 0;
	if ((rc = get_text(p, rcn, &t)) ||
	    (rc = parse_u64(p, rcn, "Record_Count", t, &m->record_count)) ||
	    (rc = parse_bool(p, rcn, "partial_count", 0, &m->partial_count)))
		return rc;
	m->has_record_count = 1;
	return 0;
}

static int
parse_part_number(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	const char *pn;
	int rc = get_attr(p, root, "result_part_number", 0, &pn);

	if (rc || pn == NULL)
		return rc;
	if ((rc = parse_u64(p, root, "result_part_number", pn, &m->result_part)) != 0)
		return rc;
	if (m->result_part == 0)
		return PERR(p, root, TAXII_EMSG, "%s: result_part_number must be positive",
		    root->name);
	return 0;
}

static int
parse_poll_resp(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	int rc;

	if (p->ver == TAXII_V10) {
		if ((rc = get_attr(p, root, "feed_name", 1, &m->collection)) ||
		    (rc = get_attr(p, root, "subscription_id", 0, &m->subscription_id)) ||
		    (rc = get_kid_text(p, root, "Message", 0, &m->message)) ||
		    (rc = get_time(p, root, "Inclusive_Begin_Timestamp", &m->has_begin,
			 &m->begin_us)) ||
		    (rc = get_time(p, root, "Inclusive_End_Timestamp", &m->has_end, &m->end_us)))
			return rc;
		return get_blocks(p, root, m);
	}
	if ((rc = get_attr(p, root, "collection_name", 1, &m->collection)) ||
	    (rc = parse_bool(p, root, "more", 0, &m->more)) ||
	    (rc = get_attr(p, root, "result_id", 0, &m->result_id)) ||
	    (rc = parse_part_number(p, root, m)) ||
	    (rc = get_kid_text(p, root, "Subscription_ID", 0, &m->subscription_id)) ||
	    (rc = get_time(p, root, "Exclusive_Begin_Timestamp", &m->has_begin, &m->begin_us)) ||
	    (rc = get_time(p, root, "Inclusive_End_Timestamp", &m->has_end, &m->end_us)) ||
	    (rc = parse_record_count(p, root, m)) ||
	    (rc = get_kid_text(p, root, "Message", 0, &m->message)))
		return rc;
	return get_blocks(p, root, m);
}

static int
parse_fulfillment(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	int rc;

	if ((rc = get_attr(p, root, "collection_name", 1, &m->collection)) ||
	    (rc = get_attr(p, root, "result_id", 1, &m->result_id)))
		return rc;
	return parse_part_number(p, root, m);
}

static int
parse_inbox(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	xmlNode *ss;
	int rc;

	if (p->ver == TAXII_V11 &&
	    ((rc = get_attr(p, root, "result_id", 0, &m->result_id)) ||
		(rc = get_kid_text(p, root, "Destination_Collection_Name", 0, &m->collection)) ||
		(rc = parse_record_count(p, root, m))))
		return rc;
	if ((rc = get_kid_text(p, root, "Message", 0, &m->message)) != 0)
		return rc;
	if (p->ver == TAXII_V11 && (ss = kid(p, root, "Source_Subscription")) != NULL &&
	    ((rc = get_attr(p, ss, "collection_name", 1, &m->source_collection)) ||
		(rc = get_kid_text(p, ss, "Subscription_ID", 1, &m->subscription_id)) ||
		(rc = get_time(p, ss, "Exclusive_Begin_Timestamp", &m->has_begin,
		    &m->begin_us)) ||
		(rc = get_time(p, ss, "Inclusive_End_Timestamp", &m->has_end, &m->end_us))))
		return rc;
	return get_blocks(p, root, m);
}

static int
parse_sub_params(struct pctx *p, const xmlNode *sp, enum taxii_response_type *rt,
    struct taxii_strs *bindings)
{
	int rc = parse_response_type(p, sp, rt);

	return rc ? rc : get_bindings(p, sp, bindings);
}

/* Push_Parameters: a contact with exactly one Message_Binding. *out NULL when absent. */
static int
get_push(struct pctx *p, const xmlNode *parent, const struct taxii_contact **out)
{
	xmlNode *n = kid(p, parent, "Push_Parameters");
	struct taxii_contact *c;
	int rc;

	*out = NULL;
	if (n == NULL)
		return 0;
	if ((c = p_alloc(p, n, sizeof(*c))) == NULL)
		return TAXII_ENOMEM;
	memset(c, 0, sizeof(*c));
	if ((rc = get_contact(p, n, c)) != 0)
		return rc;
	if (c->message_bindings.n != 1)
		return PERR(p, n, TAXII_EMSG, "Push_Parameters: more than one Message_Binding");
	*out = c;
	return 0;
}

static int
parse_sub_req(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	const char *a;
	xmlNode *sp;
	int rc;

	if (p->ver == TAXII_V10) {
		/* 1.0 (Manage Feed Subscription): attributes, no Subscription_Parameters, and
		 * the content bindings inside Push_Parameters. */
		if ((rc = get_attr(p, root, "action", 1, &a)) ||
		    (rc = get_attr(p, root, "feed_name", 1, &m->collection)) ||
		    (rc = get_attr(p, root, "subscription_id", 0, &m->subscription_id)))
			return rc;
		for (int i = TAXII_SUB_SUBSCRIBE; i <= TAXII_SUB_STATUS; i++)
			if (strcmp(a, action_names[i]) == 0)
				m->action = (enum taxii_sub_action)i;
		if (m->action == 0 || m->action == TAXII_SUB_PAUSE || m->action == TAXII_SUB_RESUME)
			return PERR(p, root, TAXII_EMSG, "bad TAXII 1.0 action \"%s\"", a);
		if ((rc = get_push(p, root, &m->push)) != 0)
			return rc;
		sp = kid(p, root, "Push_Parameters");
		return sp ? get_strs(p, sp, "Content_Binding", NULL, &m->content_bindings) : 0;
	}
	if ((rc = get_attr(p, root, "action", 1, &a)) ||
	    (rc = get_attr(p, root, "collection_name", 1, &m->collection)) ||
	    (rc = get_kid_text(p, root, "Subscription_ID", 0, &m->subscription_id)))
		return rc;
	for (int i = TAXII_SUB_SUBSCRIBE; i <= TAXII_SUB_STATUS; i++)
		if (strcmp(a, action_names[i]) == 0)
			m->action = (enum taxii_sub_action)i;
	if (m->action == 0)
		return PERR(p, root, TAXII_EMSG, "bad action \"%s\"", a);
	if ((sp = kid(p, root, "Subscription_Parameters")) != NULL) {
		m->has_poll_params = 1;
		if ((rc = parse_sub_params(p, sp, &m->response_type, &m->content_bindings)) != 0)
			return rc;
	}
	return get_push(p, root, &m->push);
}

static int
parse_sub_resp(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	size_t n = count_kids(p, root, "Subscription"), i = 0;
	struct taxii_subscription *v;
	int rc;

	if ((rc = get_attr(p, root, p->ver == TAXII_V10 ? "feed_name" : "collection_name", 1,
		 &m->collection)) ||
	    (rc = get_kid_text(p, root, "Message", 0, &m->message)))
		return rc;
	if (n == 0)
		return 0;
	if ((v = p_alloc(p, root, n * sizeof(*v))) == NULL)
		return TAXII_ENOMEM;
	for (xmlNode *c = root->children; c != NULL; c = c->next) {
		struct taxii_subscription *s;
		const char *st;
		xmlNode *sp;

		if (!is_el(p, c, "Subscription"))
			continue;
		s = &v[i++];
		if (p->ver == TAXII_V10) {
			/* 1.0: an id attribute, no status, bindings inside Push_Parameters. */
			if ((rc = get_attr(p, c, "subscription_id", 1, &s->id)) ||
			    (rc = get_push(p, c, &s->push)) ||
			    (rc = get_contacts(p, c, "Poll_Instance", &s->poll_instances,
				&s->n_poll_instances)))
				return rc;
			if ((sp = kid(p, c, "Push_Parameters")) != NULL &&
			    (rc = get_strs(p, sp, "Content_Binding", NULL, &s->content_bindings)))
				return rc;
			continue;
		}
		if ((rc = get_attr(p, c, "status", 0, &st)) ||
		    (rc = get_kid_text(p, c, "Subscription_ID", 1, &s->id)))
			return rc;
		if (st == NULL || strcmp(st, "ACTIVE") == 0)
			s->status = TAXII_SUBST_ACTIVE;
		else if (strcmp(st, "PAUSED") == 0)
			s->status = TAXII_SUBST_PAUSED;
		else if (strcmp(st, "UNSUBSCRIBED") == 0)
			s->status = TAXII_SUBST_UNSUBSCRIBED;
		else
			return PERR(p, c, TAXII_EMSG, "Subscription: bad status \"%s\"", st);
		if ((sp = kid(p, c, "Subscription_Parameters")) != NULL) {
			s->has_params = 1;
			if ((rc = parse_sub_params(p, sp, &s->response_type,
				 &s->content_bindings)) != 0)
				return rc;
		}
		if ((rc = get_push(p, c, &s->push)) != 0 ||
		    (rc = get_contacts(p, c, "Poll_Instance", &s->poll_instances,
			 &s->n_poll_instances)) != 0)
			return rc;
	}
	m->subscriptions = v;
	m->n_subscriptions = n;
	return 0;
}

static int
is_response(enum taxii_msg_type t)
{
	return t == TAXII_MSG_STATUS || t == TAXII_MSG_DISCOVERY_RESP ||
	    t == TAXII_MSG_COLLECTION_INFO_RESP || t == TAXII_MSG_SUBSCRIPTION_RESP ||
	    t == TAXII_MSG_POLL_RESP;
}

static int
digits_only(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int
parse_root(struct pctx *p, xmlNode *root, struct taxii_msg *m)
{
	int rc;

	m->type = TAXII_MSG_NONE;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		const char *name = p->ver == TAXII_V10 ? type_names[i].v10 : type_names[i].v11;

		if (name != NULL && xmlStrEqual(root->name, (const xmlChar *)name))
			m->type = type_names[i].type;
	}
	if (m->type == TAXII_MSG_NONE)
		return PERR(p, root, TAXII_EUNSUPPORTED, "unsupported TAXII %s message %s",
		    p->ver == TAXII_V10 ? "1.0" : "1.1", root->name);
	if ((rc = get_attr(p, root, "message_id", 1, &m->message_id)) != 0)
		return rc;
	if (is_response(m->type) &&
	    (rc = get_attr(p, root, "in_response_to", 1, &m->in_response_to)) != 0)
		return rc;
	if (p->ver == TAXII_V10 && !digits_only(m->message_id))
		return PERR(p, root, TAXII_EMSG, "%s: message_id must be digits in TAXII 1.0",
		    root->name);
	switch (m->type) {
	case TAXII_MSG_STATUS: return parse_status(p, root, m);
	case TAXII_MSG_DISCOVERY_RESP: return parse_discovery_resp(p, root, m);
	case TAXII_MSG_COLLECTION_INFO_RESP: return parse_collection_resp(p, root, m);
	case TAXII_MSG_SUBSCRIPTION_REQ: return parse_sub_req(p, root, m);
	case TAXII_MSG_SUBSCRIPTION_RESP: return parse_sub_resp(p, root, m);
	case TAXII_MSG_POLL_REQ: return parse_poll_req(p, root, m);
	case TAXII_MSG_POLL_RESP: return parse_poll_resp(p, root, m);
	case TAXII_MSG_POLL_FULFILLMENT: return parse_fulfillment(p, root, m);
	case TAXII_MSG_INBOX: return parse_inbox(p, root, m);
	default: return 0;
	}
}

/* Marks the parse hostile and stops it: a DOCTYPE is where every entity attack starts. */
static void
refuse_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;

	ps->hostile = 1;
	xmlStopParser(ctxt);
}

static void
refuse_entity(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
    const xmlChar *system_id, xmlChar *content)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;

	ps->hostile = 1;
	xmlStopParser(ctxt);
}

static int
is_content_el(const xmlNode *n)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *)n->name, "Content") == 0 &&
	    (strcmp((const char *)n->ns->href, TAXII_NS_11) == 0 ||
		strcmp((const char *)n->ns->href, TAXII_NS_10) == 0);
}

/* The tree is built as usual; a child of a Content element also gets its start noted
 * (its index + 1 in node->_private, which libxml2 leaves to applications). */
static void
span_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;
	xmlNode *n;
	long at;

	if (ps->skip > 0) {
		/* Below a copied content element: checked, not built. */
		struct span *sp = &ps->spans[ps->skip_span];

		ps->skip++;
		if (ps->skip_base + ps->skip - 1 > TAXII_MSG_MAX_DEPTH) {
			ps->too_deep = 1;
			xmlStopParser(ctxt);
			return;
		}
		for (int k = -1; k < nb_attributes; k++) {
			const xmlChar *u = k < 0 ? uri : attributes[k * 5 + 2];

			if (u != NULL && strcmp((const char *)u, TAXII_NS_11) == 0)
				sp->uses_11 = 1;
			if (u != NULL && strcmp((const char *)u, TAXII_NS_10) == 0)
				sp->uses_10 = 1;
		}
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
	    nb_attributes, nb_defaulted, attributes);
	n = ctxt->node;
	if (ps->no_spans || n == NULL || !is_content_el(n->parent))
		return;
	/* Offsets into the input mean nothing once it was converted to UTF-8. */
	if (ctxt->input == NULL || ctxt->input->buf == NULL || ctxt->input->buf->encoder != NULL ||
	    (at = xmlByteConsumed(ctxt)) < 0) {
		ps->no_spans = 1;
		return;
	}
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 64;
		struct span *v = realloc(ps->spans, cap * sizeof(*v));

		if (v == NULL) {
			ps->no_spans = 1;
			return;
		}
		ps->spans = v;
		ps->cap = cap;
	}
	/* The hook runs with the tag read up to its '>' or "/>": the tag starts at the last
	 * '<' before, as none can appear inside a tag. The caller checks it. */
	memset(&ps->spans[ps->n], 0, sizeof(ps->spans[ps->n]));
	ps->spans[ps->n].start = (size_t)at;
	ps->spans[ps->n].skipped = 1;
	n->_private = (void *)(uintptr_t)(++ps->n);
	/* Its text is copied from the input, so its subtree need not be built at all. */
	ps->skip = 1;
	ps->skip_span = ps->n - 1;
	ps->skip_base = 0;
	for (xmlNode *a = n; a != NULL && a->type == XML_ELEMENT_NODE; a = a->parent)
		ps->skip_base++;
}

static void
span_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;
	xmlNode *n = ctxt->node;
	uintptr_t i = n != NULL ? (uintptr_t)n->_private : 0;
	long at;

	if (ps->skip > 1) {
		ps->skip--;
		return;
	}
	ps->skip = 0;

	if (i > 0 && i <= ps->n && !ps->no_spans) {
		if ((at = xmlByteConsumed(ctxt)) < 0)
			ps->no_spans = 1;
		else
			ps->spans[i - 1].end = (size_t)at;
	}
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* Text, comments and the like below a copied content element are not built either. */
static void
skip_chars(void *ctx, const xmlChar *ch, int len)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;

	if (ps->skip == 0)
		xmlSAX2Characters(ctx, ch, len);
}

static void
skip_cdata(void *ctx, const xmlChar *value, int len)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;

	if (ps->skip == 0)
		xmlSAX2CDataBlock(ctx, value, len);
}

static void
skip_comment(void *ctx, const xmlChar *value)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;

	if (ps->skip == 0)
		xmlSAX2Comment(ctx, value);
}

static void
skip_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;

	if (ps->skip == 0)
		xmlSAX2ProcessingInstruction(ctx, target, data);
}

/* An entity reference only exists with a DTD: refused wherever it is. */
static void
refuse_reference(void *ctx, const xmlChar *name)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = ctxt->_private;

	if (ps->skip == 0) {
		xmlSAX2Reference(ctx, name);
		return;
	}
	ps->hostile = 1;
	xmlStopParser(ctxt);
}

/* Nothing below the depth cap, and no node kind that only a DTD could have made. */
static int
tree_ok(const xmlNode *n, int depth)
{
	for (; n != NULL; n = n->next) {
		if (n->type == XML_ENTITY_REF_NODE || n->type == XML_ENTITY_NODE ||
		    n->type == XML_DTD_NODE)
			return 0;
		if (n->type == XML_ELEMENT_NODE) {
			if (depth > TAXII_MSG_MAX_DEPTH)
				return 0;
			if (!tree_ok(n->children, depth + 1))
				return 0;
		}
	}
	return 1;
}

/* libxml2 keeps the last error in the context; this only keeps it from being printed. */
static void
quiet_error(void *data, xmlError *e)
{
	(void)data;
	(void)e;
}

int
taxii_msg_parse(const char *xml, size_t len, enum taxii_version ver,
    struct taxii_msg **out, struct taxii_err *err)
{
	return taxii_msg_parse_opts(xml, len, ver, 0, out, err);
}

int
taxii_msg_parse_opts(const char *xml, size_t len, enum taxii_version ver, unsigned flags,
    struct taxii_msg **out, struct taxii_err *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	struct msg_box *box = NULL;
	struct pstate ps = {0}; /* freed on every path out, even before the parse starts */
	struct pctx p;
	xmlNode *root;
	xmlStructuredErrorFunc saved_func;
	void *saved_ctx;
	int rc = 0;

	*out = NULL;
	if (err != NULL) {
		err->code = 0;
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (len > TAXII_MSG_MAX_BYTES)
		return set_err(err, TAXII_ETOOBIG, 0, "message of %zu bytes is over the %u cap",
		    len, TAXII_MSG_MAX_BYTES);
	if (len == 0)
		return set_err(err, TAXII_EXML, 0, "empty message");
	xmlInitParser();
	/* Errors outside the parser context (a bad encoding, the serializer's I/O) go to the
	 * thread's handler, which prints: a library must not, so it is swapped for the call. */
	saved_func = xmlStructuredError;
	saved_ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(NULL, quiet_error);
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		rc = set_err(err, TAXII_ENOMEM, 0, "out of memory");
		goto out;
	}
	ctxt->sax->internalSubset = refuse_subset;
	ctxt->sax->externalSubset = refuse_subset;
	ctxt->sax->entityDecl = refuse_entity;
	ctxt->sax->startElementNs = span_start;
	ctxt->sax->endElementNs = span_end;
	ctxt->sax->characters = skip_chars;
	ctxt->sax->ignorableWhitespace = skip_chars;
	ctxt->sax->cdataBlock = skip_cdata;
	ctxt->sax->comment = skip_comment;
	ctxt->sax->processingInstruction = skip_pi;
	ctxt->sax->reference = refuse_reference;
	/* A tree kept for its reader has no use for where its content lay. */
	memset(&ps, 0, sizeof(ps));
	ps.no_spans = (flags & TAXII_PARSE_NODES) != 0;
	ctxt->_private = &ps;
	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD, no HUGE: the defaults
	 * keep libxml2's own limits on. */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_COMPACT /* short text kept in its node: the tree is only read */);
	if (ps.hostile) {
		rc = set_err(err, TAXII_EHOSTILE, ctxt->input ? ctxt->input->line : 0,
		    "DOCTYPE and entity declarations are refused");
		goto out;
	}
	if (ps.too_deep) {
		rc = set_err(err, TAXII_EHOSTILE, ctxt->input ? ctxt->input->line : 0,
		    "DTD, entity or nesting deeper than %d refused", TAXII_MSG_MAX_DEPTH);
		goto out;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		if (e != NULL && e->code == XML_ERR_NO_MEMORY)
			rc = set_err(err, TAXII_ENOMEM, 0, "out of memory");
		else
			rc = set_err(err, TAXII_EXML, e ? e->line : 0, "line %d: %s",
			    e ? e->line : 0, e && e->message ? e->message : "parse error");
		if (err != NULL) {
			size_t n = strlen(err->msg);

			while (n > 0 && err->msg[n - 1] == '\n')
				err->msg[--n] = '\0';
		}
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL || !tree_ok(doc->children, 1)) {
		rc = set_err(err, TAXII_EHOSTILE, 0,
		    "DTD, entity or nesting deeper than %d refused", TAXII_MSG_MAX_DEPTH);
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || root->ns == NULL || root->ns->href == NULL || root->name == NULL) {
		rc = set_err(err, TAXII_EMSG, line_of(root), "root element is not in a TAXII namespace");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	if (strcmp((const char *)root->ns->href, TAXII_NS_11) == 0)
		p.ver = TAXII_V11;
	else if (strcmp((const char *)root->ns->href, TAXII_NS_10) == 0)
		p.ver = TAXII_V10;
	else {
		rc = set_err(err, TAXII_EMSG, line_of(root),
		    "root element %s is not in a TAXII namespace", root->name);
		goto out;
	}
	if (ver != TAXII_VANY && ver != p.ver) {
		rc = set_err(err, TAXII_EVERSION, line_of(root), "a TAXII %s message, %s expected",
		    p.ver == TAXII_V10 ? "1.0" : "1.1", ver == TAXII_V10 ? "1.0" : "1.1");
		goto out;
	}
	p.ns = p.ver == TAXII_V10 ? TAXII_NS_10 : TAXII_NS_11;
	p.err = err;
	p.doc = doc;
	p.keep_nodes = (flags & TAXII_PARSE_NODES) != 0;
	p.ps = &ps;
	p.in = xml;
	if ((box = xmlMalloc(sizeof(*box))) == NULL) {
		rc = set_err(err, TAXII_ENOMEM, 0, "out of memory");
		goto out;
	}
	memset(box, 0, sizeof(*box));
	box->m.priv_ = box;
	box->m.version = p.ver;
	p.a = &box->a;
	if ((rc = parse_root(&p, root, &box->m)) != 0)
		goto out;
	if (p.keep_nodes) {
		box->doc = doc;
		doc = NULL;
	}
	*out = &box->m;
	box = NULL;
out:
	if (box != NULL) {
		arena_free(&box->a);
		xmlFree(box);
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	xmlSetStructuredErrorFunc(saved_ctx, saved_func);
	free(ps.spans);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * Builders
 */

void
taxii_msg_id_new(char buf[TAXII_ID_MAX])
{
	static unsigned counter;
	unsigned c = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

	snprintf(buf, TAXII_ID_MAX, "%lld%04u", (long long)util_now_us(), c % 10000u);
}

/* A writer that remembers its first failure, so callers check once at the end. */
struct w {
	struct util_buf *b;
	struct taxii_err *err;
	const char *pfx;
	enum taxii_version ver;
	int rc;
};

static void
w_raw(struct w *w, const char *s, size_t n)
{
	int r;

	if (w->rc)
		return;
	if ((r = util_buf_add(w->b, s, n)) != 0)
		w->rc = set_err(w->err, r == -2 ? TAXII_ETOOBIG : TAXII_ENOMEM, 0,
		    r == -2 ? "output buffer cap reached" : "out of memory");
}

static void
w_str(struct w *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes left) encoding a character XML 1.0
 * allows (no surrogates, no U+FFFE/U+FFFF), or 0.
 */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

/*
 * XML-escapes text. Bytes XML 1.0 cannot carry (control characters, malformed UTF-8, as
 * from a URL or a peer's error text) become '?', so the output is always well-formed.
 */
static void
w_esc(struct w *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = 0, i = 0;

	while (i < n && !w->rc) {
		const char *rep = NULL;
		size_t len = 1;

		switch (u[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\t': case '\n': break;
		case '\r': rep = "&#13;"; break;
		default:
			if (u[i] < 0x20)
				rep = "?";
			else if (u[i] >= 0x80 && (len = utf8_char(u + i, n - i)) == 0) {
				rep = "?";
				len = 1;
			}
		}
		if (rep != NULL) {
			w_raw(w, s + start, i - start);
			w_str(w, rep);
			start = i + len;
		}
		i += len;
	}
	w_raw(w, s + start, n - start);
}

static void
w_invalid(struct w *w, const char *what)
{
	if (!w->rc)
		w->rc = set_err(w->err, TAXII_EINVAL, 0, "%s", what);
}

static void
w_open(struct w *w, const char *name)
{
	w_str(w, "<");
	w_str(w, w->pfx);
	w_str(w, ":");
	w_str(w, name);
}

static void
w_close(struct w *w, const char *name)
{
	w_str(w, "</");
	w_str(w, w->pfx);
	w_str(w, ":");
	w_str(w, name);
	w_str(w, ">");
}

static void
w_attr(struct w *w, const char *name, const char *value)
{
	if (value == NULL)
		return;
	w_str(w, " ");
	w_str(w, name);
	w_str(w, "=\"");
	w_esc(w, value, strlen(value));
	w_str(w, "\"");
}

static void
w_attr_u64(struct w *w, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	w_attr(w, name, num);
}

static void
w_text_el(struct w *w, const char *name, const char *text)
{
	if (text == NULL)
		return;
	w_open(w, name);
	w_str(w, ">");
	w_esc(w, text, strlen(text));
	w_close(w, name);
}

static void
w_time_el(struct w *w, const char *name, int has, int64_t us)
{
	char t[UTIL_TIME_MAX];

	if (!has)
		return;
	if (util_time_format(us, 1, t) != 0) {
		w_invalid(w, "timestamp out of range");
		return;
	}
	w_text_el(w, name, t);
}

static void
w_strs_el(struct w *w, const char *name, const struct taxii_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		w_text_el(w, name, s->v[i]);
}

/* Content_Binding list: 1.1 <Content_Binding binding_id=".."/>, 1.0 element text. */
static void
w_bindings(struct w *w, const struct taxii_strs *s)
{
	if (w->ver == TAXII_V10) {
		w_strs_el(w, "Content_Binding", s);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		w_open(w, "Content_Binding");
		w_attr(w, "binding_id", s->v[i]);
		w_str(w, "/>");
	}
}

static void
w_contact(struct w *w, const char *name, const struct taxii_contact *c)
{
	static const char *const def11[] = { TAXII_MSG_BINDING_11 };
	static const char *const def10[] = { TAXII_MSG_BINDING_10 };
	struct taxii_strs mb = c->message_bindings;

	if (c->protocol == NULL || c->address == NULL) {
		w_invalid(w, "service contact without protocol or address");
		return;
	}
	if (mb.n == 0) {
		mb.v = w->ver == TAXII_V10 ? def10 : def11;
		mb.n = 1;
	}
	if (name != NULL) {
		w_open(w, name);
		w_str(w, ">");
	}
	w_text_el(w, "Protocol_Binding", c->protocol);
	w_text_el(w, "Address", c->address);
	w_strs_el(w, "Message_Binding", &mb);
	if (name != NULL)
		w_close(w, name);
}

static void
w_bool_attr(struct w *w, const char *name, int v)
{
	if (v >= 0)
		w_attr(w, name, v ? "true" : "false");
}

static void
w_status_body(struct w *w, const struct taxii_msg *m)
{
	if (m->n_details > 0 && w->ver == TAXII_V10) {
		/* 1.0 has a single string: the details joined as NAME=value. */
		w_open(w, "Status_Detail");
		w_str(w, ">");
		for (size_t i = 0; i < m->n_details; i++) {
			const struct taxii_detail *d = &m->details[i];

			if (i > 0)
				w_str(w, "; ");
			if (d->name != NULL) {
				w_esc(w, d->name, strlen(d->name));
				w_str(w, "=");
			}
			if (d->value != NULL)
				w_esc(w, d->value, strlen(d->value));
		}
		w_close(w, "Status_Detail");
	} else if (m->n_details > 0) {
		w_open(w, "Status_Detail");
		w_str(w, ">");
		for (size_t i = 0; i < m->n_details; i++) {
			const struct taxii_detail *d = &m->details[i];

			if (d->name == NULL) {
				w_invalid(w, "Status_Detail without a name");
				return;
			}
			w_open(w, "Detail");
			w_attr(w, "name", d->name);
			w_str(w, ">");
			if (d->value != NULL)
				w_esc(w, d->value, strlen(d->value));
			w_close(w, "Detail");
		}
		w_close(w, "Status_Detail");
	}
	w_text_el(w, "Message", m->message);
}

static void
w_discovery_body(struct w *w, const struct taxii_msg *m)
{
	for (size_t i = 0; i < m->n_services; i++) {
		const struct taxii_service *s = &m->services[i];
		const char *t = service_name(s->type, w->ver);

		if (t == NULL) {
			w_invalid(w, "Service_Instance: bad service type");
			return;
		}
		w_open(w, "Service_Instance");
		w_attr(w, "service_type", t);
		w_attr(w, "service_version",
		    taxii_http_services(s->version == TAXII_VANY ? w->ver : s->version));
		w_bool_attr(w, "available", s->available);
		w_str(w, ">");
		w_contact(w, NULL, &s->contact);
		w_bindings(w, &s->content_bindings);
		w_text_el(w, "Message", s->message);
		w_close(w, "Service_Instance");
	}
}

static void
w_collections_body(struct w *w, const struct taxii_msg *m)
{
	const char *el = w->ver == TAXII_V10 ? "Feed" : "Collection";

	for (size_t i = 0; i < m->n_collections; i++) {
		const struct taxii_collection *c = &m->collections[i];

		if (c->name == NULL) {
			w_invalid(w, "collection without a name");
			return;
		}
		if (w->ver == TAXII_V10 && (c->content_bindings.n == 0 || c->n_polling == 0)) {
			w_invalid(w, "a TAXII 1.0 feed needs a content binding and a polling service");
			return;
		}
		w_open(w, el);
		w_attr(w, w->ver == TAXII_V10 ? "feed_name" : "collection_name", c->name);
		if (w->ver == TAXII_V11)
			w_attr(w, "collection_type",
			    c->type == TAXII_COLL_DATA_SET ? "DATA_SET" : "DATA_FEED");
		w_bool_attr(w, "available", c->available);
		w_str(w, ">");
		w_text_el(w, "Description", c->description ? c->description : "");
		if (w->ver == TAXII_V11 && c->has_volume) {
			char num[24];

			snprintf(num, sizeof(num), "%llu", (unsigned long long)c->volume);
			w_text_el(w, "Collection_Volume", num);
		}
		w_bindings(w, &c->content_bindings);
		for (size_t j = 0; j < c->n_polling; j++)
			w_contact(w, "Polling_Service", &c->polling[j]);
		for (size_t j = 0; j < c->n_subscription; j++)
			w_contact(w, "Subscription_Service", &c->subscription[j]);
		for (size_t j = 0; w->ver == TAXII_V11 && j < c->n_inbox; j++)
			w_contact(w, "Receiving_Inbox_Service", &c->inbox[j]);
		w_close(w, el);
	}
}

static void
w_response_type(struct w *w, enum taxii_response_type rt)
{
	w_text_el(w, "Response_Type", rt == TAXII_RESP_COUNT_ONLY ? "COUNT_ONLY" : "FULL");
}

static void
w_poll_req_body(struct w *w, const struct taxii_msg *m)
{
	w_time_el(w, "Exclusive_Begin_Timestamp", m->has_begin, m->begin_us);
	w_time_el(w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
	if (w->ver == TAXII_V10) {
		w_bindings(w, &m->content_bindings);
		return;
	}
	if (m->subscription_id != NULL && !m->has_poll_params) {
		w_text_el(w, "Subscription_ID", m->subscription_id);
		return;
	}
	w_open(w, "Poll_Parameters");
	w_attr(w, "allow_asynch", m->allow_asynch ? "true" : "false");
	w_str(w, ">");
	w_response_type(w, m->response_type);
	w_bindings(w, &m->content_bindings);
	w_close(w, "Poll_Parameters");
}

static void
w_record_count(struct w *w, const struct taxii_msg *m)
{
	char num[24];

	if (!m->has_record_count)
		return;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)m->record_count);
	w_open(w, "Record_Count");
	w_attr(w, "partial_count", m->partial_count ? "true" : "false");
	w_str(w, ">");
	w_str(w, num);
	w_close(w, "Record_Count");
}

static void
w_poll_resp_head(struct w *w, const struct taxii_msg *m)
{
	if (w->ver == TAXII_V10) {
		w_text_el(w, "Message", m->message);
		w_time_el(w, "Inclusive_Begin_Timestamp", m->has_begin, m->begin_us);
		if (!m->has_end)
			w_invalid(w, "a TAXII 1.0 Poll_Response needs Inclusive_End_Timestamp");
		w_time_el(w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
		return;
	}
	w_text_el(w, "Subscription_ID", m->subscription_id);
	w_time_el(w, "Exclusive_Begin_Timestamp", m->has_begin, m->begin_us);
	w_time_el(w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
	w_record_count(w, m);
	w_text_el(w, "Message", m->message);
}

static void
w_sub_params(struct w *w, enum taxii_response_type rt, const struct taxii_strs *bindings)
{
	w_open(w, "Subscription_Parameters");
	w_str(w, ">");
	w_response_type(w, rt);
	w_bindings(w, bindings);
	w_close(w, "Subscription_Parameters");
}

/* Push_Parameters takes exactly one Message_Binding: the first given, else the default.
 * In 1.0 it also lists the content bindings (`bindings`, may be NULL). */
static void
w_push(struct w *w, const struct taxii_contact *c, const struct taxii_strs *bindings)
{
	struct taxii_contact one;

	if (c == NULL)
		return;
	one = *c;
	if (one.message_bindings.n > 1)
		one.message_bindings.n = 1;
	if (w->ver == TAXII_V11 || bindings == NULL || bindings->n == 0) {
		w_contact(w, "Push_Parameters", &one);
		return;
	}
	w_open(w, "Push_Parameters");
	w_str(w, ">");
	w_contact(w, NULL, &one);
	w_bindings(w, bindings);
	w_close(w, "Push_Parameters");
}

static void
w_sub_resp_body(struct w *w, const struct taxii_msg *m)
{
	w_text_el(w, "Message", m->message);
	for (size_t i = 0; i < m->n_subscriptions; i++) {
		const struct taxii_subscription *s = &m->subscriptions[i];

		if (s->id == NULL || (size_t)s->status > TAXII_SUBST_UNSUBSCRIBED) {
			w_invalid(w, "Subscription without an id or with a bad status");
			return;
		}
		w_open(w, "Subscription");
		if (w->ver == TAXII_V10) {
			w_attr(w, "subscription_id", s->id);
			w_str(w, ">");
			w_push(w, s->push, &s->content_bindings);
			for (size_t j = 0; j < s->n_poll_instances; j++)
				w_contact(w, "Poll_Instance", &s->poll_instances[j]);
			w_close(w, "Subscription");
			continue;
		}
		w_attr(w, "status", substatus_names[s->status]);
		w_str(w, ">");
		w_text_el(w, "Subscription_ID", s->id);
		if (s->has_params)
			w_sub_params(w, s->response_type, &s->content_bindings);
		w_push(w, s->push, NULL);
		for (size_t j = 0; j < s->n_poll_instances; j++)
			w_contact(w, "Poll_Instance", &s->poll_instances[j]);
		w_close(w, "Subscription");
	}
}

static int
w_init(struct w *w, enum taxii_version ver, struct util_buf *out, struct taxii_err *err)
{
	memset(w, 0, sizeof(*w));
	w->b = out;
	w->err = err;
	w->ver = ver == TAXII_V10 ? TAXII_V10 : TAXII_V11;
	w->pfx = w->ver == TAXII_V10 ? "taxii" : "taxii_11";
	if (ver != TAXII_V10 && ver != TAXII_V11)
		return set_err(err, TAXII_EINVAL, 0, "message without a TAXII version");
	return 0;
}

int
taxii_msg_write_open(const struct taxii_msg *m, struct util_buf *out, struct taxii_err *err)
{
	const char *name = taxii_msg_type_name(m->type, m->version);
	struct w w;
	int rc;

	if ((rc = w_init(&w, m->version, out, err)) != 0)
		return rc;
	if (name == NULL)
		return set_err(err, TAXII_EINVAL, 0, "no such message type in this TAXII version");
	if (m->message_id == NULL || (w.ver == TAXII_V10 && !digits_only(m->message_id)))
		return set_err(err, TAXII_EINVAL, 0, "%s: missing or bad message_id", name);
	if (is_response(m->type) && (m->in_response_to == NULL ||
	    (w.ver == TAXII_V10 && !digits_only(m->in_response_to))))
		return set_err(err, TAXII_EINVAL, 0, "%s: missing or bad in_response_to", name);

	w_str(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	w_open(&w, name);
	w_str(&w, " xmlns:");
	w_str(&w, w.pfx);
	w_str(&w, "=\"");
	w_str(&w, w.ver == TAXII_V10 ? TAXII_NS_10 : TAXII_NS_11);
	w_str(&w, "\"");
	w_attr(&w, "message_id", m->message_id);
	w_attr(&w, "in_response_to", is_response(m->type) ? m->in_response_to : NULL);

	switch (m->type) {
	case TAXII_MSG_STATUS: {
		const char *st = m->status == TAXII_ST_CUSTOM ? m->status_type :
		    taxii_status_name(m->status);

		if (st == NULL || (m->status != TAXII_ST_CUSTOM &&
		    !taxii_status_in_version(m->status, w.ver)))
			return set_err(err, TAXII_EINVAL, 0,
			    "Status_Message: no such status type in this TAXII version");
		w_attr(&w, "status_type", st);
		w_str(&w, ">");
		w_status_body(&w, m);
		break;
	}
	case TAXII_MSG_DISCOVERY_REQ:
	case TAXII_MSG_COLLECTION_INFO_REQ:
		w_str(&w, ">");
		break;
	case TAXII_MSG_DISCOVERY_RESP:
		w_str(&w, ">");
		w_discovery_body(&w, m);
		break;
	case TAXII_MSG_COLLECTION_INFO_RESP:
		w_str(&w, ">");
		w_collections_body(&w, m);
		break;
	case TAXII_MSG_SUBSCRIPTION_REQ:
		if (m->collection == NULL || m->action < TAXII_SUB_SUBSCRIBE ||
		    m->action > TAXII_SUB_STATUS)
			return set_err(err, TAXII_EINVAL, 0, "%s: missing collection or action", name);
		w_attr(&w, "action", action_names[m->action]);
		if (w.ver == TAXII_V10) {
			if (m->action == TAXII_SUB_PAUSE || m->action == TAXII_SUB_RESUME)
				return set_err(err, TAXII_EINVAL, 0, "%s: no PAUSE or RESUME in 1.0",
				    name);
			w_attr(&w, "feed_name", m->collection);
			w_attr(&w, "subscription_id", m->subscription_id);
			w_str(&w, ">");
			w_push(&w, m->push, &m->content_bindings);
			break;
		}
		w_attr(&w, "collection_name", m->collection);
		w_str(&w, ">");
		w_text_el(&w, "Subscription_ID", m->subscription_id);
		if (m->has_poll_params)
			w_sub_params(&w, m->response_type, &m->content_bindings);
		w_push(&w, m->push, NULL);
		break;
	case TAXII_MSG_SUBSCRIPTION_RESP:
		if (m->collection == NULL)
			return set_err(err, TAXII_EINVAL, 0, "%s: missing collection", name);
		w_attr(&w, w.ver == TAXII_V10 ? "feed_name" : "collection_name", m->collection);
		w_str(&w, ">");
		w_sub_resp_body(&w, m);
		break;
	case TAXII_MSG_POLL_REQ:
		if (m->collection == NULL)
			return set_err(err, TAXII_EINVAL, 0, "%s: missing collection", name);
		w_attr(&w, w.ver == TAXII_V10 ? "feed_name" : "collection_name", m->collection);
		if (w.ver == TAXII_V10)
			w_attr(&w, "subscription_id", m->subscription_id);
		w_str(&w, ">");
		w_poll_req_body(&w, m);
		break;
	case TAXII_MSG_POLL_RESP:
		if (m->collection == NULL)
			return set_err(err, TAXII_EINVAL, 0, "%s: missing collection", name);
		w_attr(&w, w.ver == TAXII_V10 ? "feed_name" : "collection_name", m->collection);
		if (w.ver == TAXII_V10) {
			w_attr(&w, "subscription_id", m->subscription_id);
		} else {
			if (m->more)
				w_attr(&w, "more", "true");
			w_attr(&w, "result_id", m->result_id);
			if (m->result_part > 0)
				w_attr_u64(&w, "result_part_number", m->result_part);
		}
		w_str(&w, ">");
		w_poll_resp_head(&w, m);
		break;
	case TAXII_MSG_POLL_FULFILLMENT:
		if (m->collection == NULL || m->result_id == NULL)
			return set_err(err, TAXII_EINVAL, 0, "%s: missing collection or result_id",
			    name);
		w_attr(&w, "collection_name", m->collection);
		w_attr(&w, "result_id", m->result_id);
		if (m->result_part > 0)
			w_attr_u64(&w, "result_part_number", m->result_part);
		w_str(&w, ">");
		break;
	case TAXII_MSG_INBOX:
		if (w.ver == TAXII_V11)
			w_attr(&w, "result_id", m->result_id);
		w_str(&w, ">");
		if (w.ver == TAXII_V11) {
			w_text_el(&w, "Destination_Collection_Name", m->collection);
			w_text_el(&w, "Message", m->message);
			if (m->source_collection != NULL) {
				if (m->subscription_id == NULL)
					return set_err(err, TAXII_EINVAL, 0,
					    "%s: Source_Subscription without a Subscription_ID",
					    name);
				w_open(&w, "Source_Subscription");
				w_attr(&w, "collection_name", m->source_collection);
				w_str(&w, ">");
				w_text_el(&w, "Subscription_ID", m->subscription_id);
				w_time_el(&w, "Exclusive_Begin_Timestamp", m->has_begin, m->begin_us);
				w_time_el(&w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
				w_close(&w, "Source_Subscription");
			}
			w_record_count(&w, m);
		} else {
			w_text_el(&w, "Message", m->message);
		}
		break;
	default:
		return set_err(err, TAXII_EINVAL, 0, "bad message type");
	}
	return w.rc;
}

/* XML content is embedded in Content, where a document's own XML declaration (and a
 * byte order mark) may not stand: both are dropped. */
static void
skip_xml_decl(const char **p, size_t *n)
{
	const char *c = *p, *end = *p + *n;

	if (end - c >= 3 && (unsigned char)c[0] == 0xef && (unsigned char)c[1] == 0xbb &&
	    (unsigned char)c[2] == 0xbf)
		c += 3;
	while (c < end && (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n'))
		c++;
	if (end - c >= 5 && memcmp(c, "<?xml", 5) == 0 &&
	    (end - c == 5 || c[5] == ' ' || c[5] == '\t' || c[5] == '\r' || c[5] == '\n')) {
		const char *q = c + 5;

		while (q + 1 < end && !(q[0] == '?' && q[1] == '>'))
			q++;
		if (q + 1 < end) {
			*n -= (size_t)(q + 2 - *p);
			*p = q + 2;
		}
	}
}

int
taxii_block_write(enum taxii_version ver, const struct taxii_content_block *b,
    struct util_buf *out, struct taxii_err *err)
{
	struct w w;
	int rc;

	if ((rc = w_init(&w, ver, out, err)) != 0)
		return rc;
	if (b->binding == NULL)
		return set_err(err, TAXII_EINVAL, 0, "Content_Block without a binding");
	w_open(&w, "Content_Block");
	w_str(&w, ">");
	if (w.ver == TAXII_V11) {
		w_open(&w, "Content_Binding");
		w_attr(&w, "binding_id", b->binding);
		if (b->subtype != NULL) {
			w_str(&w, ">");
			w_open(&w, "Subtype");
			w_attr(&w, "subtype_id", b->subtype);
			w_str(&w, "/>");
			w_close(&w, "Content_Binding");
		} else {
			w_str(&w, "/>");
		}
	} else {
		w_text_el(&w, "Content_Binding", b->binding);
	}
	w_open(&w, "Content");
	w_str(&w, ">");
	if (b->content != NULL) {
		if (b->is_xml) {
			const char *c = b->content;
			size_t n = b->content_len;

			skip_xml_decl(&c, &n);
			w_raw(&w, c, n);
		} else
			w_esc(&w, b->content, b->content_len);
	}
	w_close(&w, "Content");
	w_time_el(&w, "Timestamp_Label", b->has_timestamp, b->timestamp_us);
	if (w.ver == TAXII_V11)
		w_text_el(&w, "Message", b->message);
	w_close(&w, "Content_Block");
	return w.rc;
}

int
taxii_msg_write_close(const struct taxii_msg *m, struct util_buf *out, struct taxii_err *err)
{
	const char *name = taxii_msg_type_name(m->type, m->version);
	struct w w;
	int rc;

	if ((rc = w_init(&w, m->version, out, err)) != 0)
		return rc;
	if (name == NULL)
		return set_err(err, TAXII_EINVAL, 0, "no such message type in this TAXII version");
	w_close(&w, name);
	w_str(&w, "\n");
	return w.rc;
}

int
taxii_msg_write(const struct taxii_msg *m, struct util_buf *out, struct taxii_err *err)
{
	int rc;

	if ((rc = taxii_msg_write_open(m, out, err)) != 0)
		return rc;
	if (m->type == TAXII_MSG_POLL_RESP || m->type == TAXII_MSG_INBOX)
		for (size_t i = 0; i < m->n_blocks; i++)
			if ((rc = taxii_block_write(m->version, &m->blocks[i], out, err)) != 0)
				return rc;
	return taxii_msg_write_close(m, out, err);
}

int
taxii_status_write(enum taxii_version ver, const char *in_response_to,
    enum taxii_status st, const struct taxii_detail *details, size_t n_details,
    const char *text, struct util_buf *out, struct taxii_err *err)
{
	char id[TAXII_ID_MAX];
	struct taxii_msg m;

	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = ver == TAXII_V10 ? TAXII_V10 : TAXII_V11;
	m.type = TAXII_MSG_STATUS;
	m.message_id = id;
	m.in_response_to = in_response_to;
	if (m.in_response_to == NULL || *m.in_response_to == '\0' ||
	    (m.version == TAXII_V10 && !digits_only(m.in_response_to)))
		m.in_response_to = "0";
	m.status = st;
	m.details = details;
	m.n_details = details ? n_details : 0;
	m.message = text;
	return taxii_msg_write(&m, out, err);
}
