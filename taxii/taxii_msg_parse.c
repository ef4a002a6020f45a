/*
 * TAXII 1.1 / 1.0 XML messages read: the hardened parser (DOM, then a walk that copies what
 * the model needs into one arena owned by the message).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "taxii/taxii.h"
#include "taxii/taxii_int.h"
#include "util/util_xml.h"
#include "util/util.h"

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
 * Parse state the SAX hooks reach through the guard (util_xml_guard_of): whether the input
 * was refused,
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
	int hostile;  /* an entity reference inside a copied content element */
	int no_spans; /* the input was converted from another encoding, or memory ran out */
	struct span *spans;
	size_t n, cap;
	/* Inside a content element being copied: how deep (1: the element itself) and its
	 * span (the guard holds the depth in the document to its cap). */
	int skip;
	size_t skip_span;
	struct taxii_push *tp; /* a message read as it arrives (taxii_push_*), or NULL */
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
	size_t in_base; /* the input offset of in[0]: what came before is gone */
};

static int
line_of(const xmlNode *n)
{
	return n ? (int)xmlGetLineNo(n) : 0;
}

#define PERR(p, node, code, ...) taxii_seterr((p)->err, (code), line_of(node), __VA_ARGS__)

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
	const char *name = (const char *)c->name, *in;
	size_t nl = strlen(name), pl;

	if (p->ps == NULL || i == 0 || i > p->ps->n)
		return NULL;
	sp = &p->ps->spans[i - 1];
	if (sp->end == 0)
		return NULL;
	if (sp->start < p->in_base || sp->end <= sp->start)
		return NULL;
	in = p->in;
	if (in[sp->start - p->in_base] != '<') {
		/* Back over the start tag, which holds no '<' (its namespace declarations can
		 * make it long). */
		const char *lt = memrchr(in, '<', sp->start - p->in_base);

		if (lt == NULL)
			return NULL;
		sp->start = p->in_base + (size_t)(lt - in);
	}
	in += sp->start - p->in_base;
	if (in[0] != '<' || in[sp->end - sp->start - 1] != '>')
		return NULL;
	pl = c->ns != NULL && c->ns->prefix != NULL ? strlen((const char *)c->ns->prefix) : 0;
	if (pl > 0 && (pl + 2 > sp->end - sp->start ||
			  strncmp(in + 1, (const char *)c->ns->prefix, pl) != 0 || in[1 + pl] != ':'))
		return NULL;
	if ((pl ? pl + 1 : 0) + nl + 2 > sp->end - sp->start ||
	    strncmp(in + 1 + (pl ? pl + 1 : 0), name, nl) != 0 ||
	    strchr(" \t\r\n/>", in[1 + (pl ? pl + 1 : 0) + nl]) == NULL)
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
			const char *el = p->in + (sp->start - p->in_base);
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

/* One Content_Block element c into *b (zeroed by the caller). */
static int
get_block(struct pctx *p, xmlNode *c, struct taxii_content_block *b)
{
	xmlNode *bind, *content;
	int rc;

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
	return 0;
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
	memset(v, 0, n * sizeof(*v));
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (!is_el(p, c, "Content_Block"))
			continue;
		if ((rc = get_block(p, c, &v[i++])) != 0)
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
	m->status = taxii_status_from_name(m->status_type);
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
			if (strcmp(t, taxii_service_name((enum taxii_service_type)st, p->ver)) == 0)
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

/* A Poll_Response but its blocks (what comes before them in the message). */
static int
poll_head(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
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
		return 0;
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
	return 0;
}

static int
parse_poll_resp(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	int rc = poll_head(p, root, m);

	return rc != 0 ? rc : get_blocks(p, root, m);
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
			if (strcmp(a, taxii_action_names[i]) == 0)
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
		if (strcmp(a, taxii_action_names[i]) == 0)
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

/* The root's type and the ids every message carries. */
static int
root_attrs(struct pctx *p, const xmlNode *root, struct taxii_msg *m)
{
	int rc;

	m->type = taxii_msg_type_of((const char *)root->name, p->ver);
	if (m->type == TAXII_MSG_NONE)
		return PERR(p, root, TAXII_EUNSUPPORTED, "unsupported TAXII %s message %s",
		    p->ver == TAXII_V10 ? "1.0" : "1.1", root->name);
	if ((rc = get_attr(p, root, "message_id", 1, &m->message_id)) != 0)
		return rc;
	if (taxii_is_response(m->type) &&
	    (rc = get_attr(p, root, "in_response_to", 1, &m->in_response_to)) != 0)
		return rc;
	if (p->ver == TAXII_V10 && !taxii_digits_only(m->message_id))
		return PERR(p, root, TAXII_EMSG, "%s: message_id must be digits in TAXII 1.0",
		    root->name);
	return 0;
}

static int
parse_root(struct pctx *p, xmlNode *root, struct taxii_msg *m)
{
	int rc;

	if ((rc = root_attrs(p, root, m)) != 0)
		return rc;
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

static int
is_content_el(const xmlNode *n)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *)n->name, "Content") == 0 &&
	    (strcmp((const char *)n->ns->href, TAXII_NS_11) == 0 ||
		strcmp((const char *)n->ns->href, TAXII_NS_10) == 0);
}

struct taxii_push;
static int push_decide(xmlParserCtxtPtr ctxt, struct taxii_push *tp, const xmlChar *localname,
    const xmlChar *uri);
static void push_started(xmlParserCtxtPtr ctxt, struct taxii_push *tp, xmlNode *n);
static void push_ended(xmlParserCtxtPtr ctxt, struct taxii_push *tp, xmlNode *n);

/* The tree is built as usual; a child of a Content element also gets its start noted
 * (its index + 1 in node->_private, which libxml2 leaves to applications). */
static void
span_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = util_xml_guard_of(ctx)->arg;
	xmlNode *n;
	long at;

	if (ps->skip > 0) {
		/* Below a copied content element: checked, not built. */
		struct span *sp = &ps->spans[ps->skip_span];

		ps->skip++;
		for (int k = -1; k < nb_attributes; k++) {
			const xmlChar *u = k < 0 ? uri : attributes[k * 5 + 2];

			if (u != NULL && strcmp((const char *)u, TAXII_NS_11) == 0)
				sp->uses_11 = 1;
			if (u != NULL && strcmp((const char *)u, TAXII_NS_10) == 0)
				sp->uses_10 = 1;
		}
		return;
	}
	if (ps->tp != NULL && push_decide(ctxt, ps->tp, localname, uri) != 0)
		return;
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces,
	    nb_attributes, nb_defaulted, attributes);
	n = ctxt->node;
	if (ps->tp != NULL && n != NULL)
		push_started(ctxt, ps->tp, n);
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
}

static void
span_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = util_xml_guard_of(ctx)->arg;
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
	if (ps->tp != NULL && n != NULL)
		push_ended(ctxt, ps->tp, n);
}

/* Text, comments and the like below a copied content element are not built either. */
static void
skip_chars(void *ctx, const xmlChar *ch, int len)
{
	struct pstate *ps = util_xml_guard_of(ctx)->arg;

	if (ps->skip == 0)
		xmlSAX2Characters(ctx, ch, len);
}

static void
skip_cdata(void *ctx, const xmlChar *value, int len)
{
	struct pstate *ps = util_xml_guard_of(ctx)->arg;

	if (ps->skip == 0)
		xmlSAX2CDataBlock(ctx, value, len);
}

static void
skip_comment(void *ctx, const xmlChar *value)
{
	struct pstate *ps = util_xml_guard_of(ctx)->arg;

	if (ps->skip == 0)
		xmlSAX2Comment(ctx, value);
}

static void
skip_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	struct pstate *ps = util_xml_guard_of(ctx)->arg;

	if (ps->skip == 0)
		xmlSAX2ProcessingInstruction(ctx, target, data);
}

/* An entity reference only exists with a DTD: refused wherever it is. */
static void
refuse_reference(void *ctx, const xmlChar *name)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct pstate *ps = util_xml_guard_of(ctx)->arg;

	if (ps->skip == 0) {
		xmlSAX2Reference(ctx, name);
		return;
	}
	ps->hostile = 1;
	xmlStopParser(ctxt);
}

/* The error of a parse libxml2 did not finish: out of memory, or where and why the text
 * is not well formed (libxml2's message without its newline). */
static int
xml_error(xmlParserCtxt *ctxt, struct taxii_err *err)
{
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	int rc;

	if (e != NULL && e->code == XML_ERR_NO_MEMORY)
		return taxii_seterr(err, TAXII_ENOMEM, 0, "out of memory");
	rc = taxii_seterr(err, TAXII_EXML, e ? e->line : 0, "line %d: %s", e ? e->line : 0,
	    e && e->message ? e->message : "parse error");
	if (err != NULL) {
		size_t n = strlen(err->msg);

		while (n > 0 && err->msg[n - 1] == '\n')
			err->msg[--n] = '\0';
	}
	return rc;
}

/* Nothing below the depth cap, and no node kind that only a DTD could have made. */
static int
tree_ok(const xmlDoc *doc)
{
	for (const xmlNode *n = doc->children; n != NULL; n = n->next)
		if (util_xml_tree_check(n, 1, TAXII_MSG_MAX_DEPTH) != 0)
			return 0;
	return 1;
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
	struct util_xml_guard g;
	struct util_xml_quiet q;
	struct pctx p;
	xmlNode *root;
	int rc = 0;

	*out = NULL;
	if (err != NULL) {
		err->code = 0;
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (len > TAXII_MSG_MAX_BYTES)
		return taxii_seterr(err, TAXII_ETOOBIG, 0, "message of %zu bytes is over the %u cap",
		    len, TAXII_MSG_MAX_BYTES);
	if (len == 0)
		return taxii_seterr(err, TAXII_EXML, 0, "empty message");
	xmlInitParser();
	/* A bad encoding or the serializer's I/O report outside the parser context. */
	util_xml_quiet_begin(&q);
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		rc = taxii_seterr(err, TAXII_ENOMEM, 0, "out of memory");
		goto out;
	}
	memset(&g, 0, sizeof(g));
	g.max_depth = TAXII_MSG_MAX_DEPTH;
	g.start = span_start;
	g.end = span_end;
	g.reference = refuse_reference;
	g.arg = &ps;
	util_xml_guard_init(ctxt, &g);
	ctxt->sax->characters = skip_chars;
	ctxt->sax->ignorableWhitespace = skip_chars;
	ctxt->sax->cdataBlock = skip_cdata;
	ctxt->sax->comment = skip_comment;
	ctxt->sax->processingInstruction = skip_pi;
	/* A tree kept for its reader has no use for where its content lay. */
	memset(&ps, 0, sizeof(ps));
	ps.no_spans = (flags & TAXII_PARSE_NODES) != 0;
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
	    UTIL_XML_OPTIONS | XML_PARSE_COMPACT /* short text kept in its node: only read */);
	if (g.hostile || ps.hostile) {
		rc = taxii_seterr(err, TAXII_EHOSTILE, ctxt->input ? ctxt->input->line : 0,
		    "DOCTYPE and entity declarations are refused");
		goto out;
	}
	if (g.too_deep) {
		rc = taxii_seterr(err, TAXII_EHOSTILE, ctxt->input ? ctxt->input->line : 0,
		    "DTD, entity or nesting deeper than %d refused", TAXII_MSG_MAX_DEPTH);
		goto out;
	}
	if (doc == NULL || !ctxt->wellFormed) {
		rc = xml_error(ctxt, err);
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL || !tree_ok(doc)) {
		rc = taxii_seterr(err, TAXII_EHOSTILE, 0,
		    "DTD, entity or nesting deeper than %d refused", TAXII_MSG_MAX_DEPTH);
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || root->ns == NULL || root->ns->href == NULL || root->name == NULL) {
		rc = taxii_seterr(err, TAXII_EMSG, line_of(root), "root element is not in a TAXII namespace");
		goto out;
	}
	memset(&p, 0, sizeof(p));
	if (strcmp((const char *)root->ns->href, TAXII_NS_11) == 0)
		p.ver = TAXII_V11;
	else if (strcmp((const char *)root->ns->href, TAXII_NS_10) == 0)
		p.ver = TAXII_V10;
	else {
		rc = taxii_seterr(err, TAXII_EMSG, line_of(root),
		    "root element %s is not in a TAXII namespace", root->name);
		goto out;
	}
	if (ver != TAXII_VANY && ver != p.ver) {
		rc = taxii_seterr(err, TAXII_EVERSION, line_of(root), "a TAXII %s message, %s expected",
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
		rc = taxii_seterr(err, TAXII_ENOMEM, 0, "out of memory");
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
	util_xml_quiet_end(&q);
	free(ps.spans);
	return rc;
}

/* ---------------------------------------------------------------------------------------
 * A Poll_Response read as its bytes arrive (taxii_int.h). The envelope is built as a tree
 * as above; each Content_Block is read, handed over and freed as soon as its end tag is
 * parsed, with the bytes of the input kept only from the block being read on. Any other
 * message is kept whole and parsed at the end by taxii_msg_parse_opts.
 */

enum push_mode { PUSH_UNDECIDED, PUSH_STREAM, PUSH_WHOLE };

struct taxii_push {
	xmlParserCtxtPtr ctxt;
	struct util_xml_guard g;
	struct pstate ps;
	struct pctx p;           /* for the blocks: strings in `blocks` */
	struct arena blocks;     /* one block's strings, freed once it was handed over */
	unsigned flags;
	enum taxii_version want;
	enum push_mode mode;
	taxii_block_cb cb;
	void *arg;
	taxii_push_root_cb on_root;
	void *root_arg;
	struct util_buf raw;     /* the input from raw_base on */
	size_t raw_base, keep_from, fed, max_bytes;
	int head_done;
	int rc;                  /* the first error met in a hook, in err */
	struct taxii_err err;
	struct taxii_push_stats st;
};

struct taxii_push *
taxii_push_new(unsigned flags, enum taxii_version want, size_t max_bytes, taxii_block_cb cb,
    void *arg, taxii_push_root_cb on_root, void *root_arg)
{
	struct taxii_push *tp = calloc(1, sizeof(*tp));

	if (tp == NULL)
		return NULL;
	tp->flags = flags;
	tp->want = want;
	tp->cb = cb;
	tp->arg = arg;
	tp->on_root = on_root;
	tp->root_arg = root_arg;
	tp->max_bytes = max_bytes && max_bytes < TAXII_MSG_MAX_BYTES ? max_bytes :
	    TAXII_MSG_MAX_BYTES;
	tp->mode = cb == NULL || (flags & TAXII_PARSE_NODES) ? PUSH_WHOLE : PUSH_UNDECIDED;
	util_buf_init(&tp->raw, 0);
	return tp;
}

void
taxii_push_whole(struct taxii_push *tp)
{
	if (tp->mode == PUSH_UNDECIDED && tp->ctxt == NULL)
		tp->mode = PUSH_WHOLE;
}

void
taxii_push_free(struct taxii_push *tp)
{
	if (tp == NULL)
		return;
	if (tp->ctxt != NULL) {
		xmlFreeDoc(tp->ctxt->myDoc);
		tp->ctxt->myDoc = NULL;
		xmlFreeParserCtxt(tp->ctxt);
	}
	arena_free(&tp->blocks);
	free(tp->ps.spans);
	util_buf_fini(&tp->raw);
	free(tp);
}

const struct taxii_push_stats *
taxii_push_stats(const struct taxii_push *tp)
{
	return &tp->st;
}

/* At the root: a Poll_Response of the version asked for is read as it comes, anything
 * else is kept whole (the parser stops, the bytes are kept). 1 when the root is not to
 * be built. */
static int
push_decide(xmlParserCtxtPtr ctxt, struct taxii_push *tp, const xmlChar *localname,
    const xmlChar *uri)
{
	enum taxii_version v;

	if (tp->mode != PUSH_UNDECIDED || util_xml_guard_of(ctxt)->depth != 1)
		return 0;
	v = uri != NULL && strcmp((const char *)uri, TAXII_NS_11) == 0 ? TAXII_V11 :
	    uri != NULL && strcmp((const char *)uri, TAXII_NS_10) == 0 ? TAXII_V10 : TAXII_VANY;
	if (v == TAXII_VANY || (tp->want != TAXII_VANY && v != tp->want) ||
	    taxii_msg_type_of((const char *)localname, v) != TAXII_MSG_POLL_RESP) {
		tp->mode = PUSH_WHOLE;
		xmlStopParser(ctxt);
		return 1;
	}
	tp->mode = PUSH_STREAM;
	tp->p.ver = v;
	tp->p.ns = v == TAXII_V10 ? TAXII_NS_10 : TAXII_NS_11;
	return 0;
}

static void
push_fail(xmlParserCtxtPtr ctxt, struct taxii_push *tp, int rc)
{
	if (tp->rc == 0)
		tp->rc = rc;
	xmlStopParser(ctxt);
}

/* An attribute's value with blanks trimmed, as get_attr reads it, into buf. */
static void
attr_into(const xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	const char *s = (const char *)v;
	size_t k;

	buf[0] = '\0';
	if (v == NULL)
		return;
	while (isspace((unsigned char)*s))
		s++;
	k = strlen(s);
	while (k > 0 && isspace((unsigned char)s[k - 1]))
		k--;
	if (k < len) {
		memcpy(buf, s, k);
		buf[k] = '\0';
	}
	xmlFree(v);
}

static void
push_started(xmlParserCtxtPtr ctxt, struct taxii_push *tp, xmlNode *n)
{
	long at;

	if (tp->mode != PUSH_STREAM || tp->rc != 0)
		return;
	if (n->parent == NULL || n->parent->type != XML_ELEMENT_NODE) {
		char more[8], rid[256], part[24], *end;
		unsigned long long k;

		/* The root: whether a part follows is known before any block is read. */
		attr_into(n, "more", more, sizeof(more));
		attr_into(n, "result_id", rid, sizeof(rid));
		attr_into(n, "result_part_number", part, sizeof(part));
		k = strtoull(part, &end, 10);
		if ((at = xmlByteConsumed(ctxt)) >= 0)
			tp->keep_from = (size_t)at;
		if (tp->on_root != NULL && tp->p.ver == TAXII_V11)
			tp->on_root(tp->root_arg,
			    strcmp(more, "true") == 0 || strcmp(more, "1") == 0, rid,
			    part[0] >= '0' && part[0] <= '9' && *end == '\0' ? (uint64_t)k : 0);
		return;
	}
	if (!tp->head_done && n->parent->parent != NULL &&
	    n->parent->parent->type != XML_ELEMENT_NODE && is_el(&tp->p, n, "Content_Block")) {
		struct taxii_msg head;
		int rc;

		/* Everything before the first block is checked before any block goes out. */
		tp->head_done = 1;
		memset(&head, 0, sizeof(head));
		rc = root_attrs(&tp->p, n->parent, &head);
		if (rc == 0)
			rc = poll_head(&tp->p, n->parent, &head);
		arena_free(&tp->blocks);
		if (rc != 0)
			push_fail(ctxt, tp, rc);
	}
}

static void
push_ended(xmlParserCtxtPtr ctxt, struct taxii_push *tp, xmlNode *n)
{
	struct taxii_content_block b;
	xmlNode *root = n->parent, *c, *next;
	long at;
	int rc;

	if (tp->mode != PUSH_STREAM || tp->rc != 0 || root == NULL ||
	    root->type != XML_ELEMENT_NODE || root->parent == NULL ||
	    root->parent->type == XML_ELEMENT_NODE || !is_el(&tp->p, n, "Content_Block"))
		return;
	memset(&b, 0, sizeof(b));
	tp->p.in = tp->raw.data;
	tp->p.in_base = tp->raw_base;
	rc = get_block(&tp->p, n, &b);
	if (rc == 0) {
		tp->st.blocks++;
		tp->st.has_last_label = b.has_timestamp;
		tp->st.last_label_us = b.timestamp_us;
		if (tp->cb(tp->arg, &b) != 0)
			rc = taxii_seterr(&tp->err, TAXII_EINVAL, 0,
			    "poll aborted by the caller at block %zu", tp->st.blocks);
	}
	arena_free(&tp->blocks);
	/* The block, and the blanks between blocks, are done with. */
	for (c = root->children; c != NULL; c = next) {
		next = c->next;
		if (c == n || c->type != XML_ELEMENT_NODE) {
			xmlUnlinkNode(c);
			xmlFreeNode(c);
		}
	}
	tp->ps.n = 0;
	if ((at = xmlByteConsumed(ctxt)) >= 0 && (size_t)at > tp->keep_from)
		tp->keep_from = (size_t)at;
	if (rc != 0)
		push_fail(ctxt, tp, rc);
}

static int
push_open(struct taxii_push *tp, struct taxii_err *err)
{
	tp->ctxt = xmlCreatePushParserCtxt(NULL, NULL, NULL, 0, NULL);
	if (tp->ctxt == NULL)
		return taxii_seterr(err, TAXII_ENOMEM, 0, "out of memory");
	xmlCtxtUseOptions(tp->ctxt, UTIL_XML_OPTIONS | XML_PARSE_COMPACT);
	memset(&tp->g, 0, sizeof(tp->g));
	tp->g.max_depth = TAXII_MSG_MAX_DEPTH;
	tp->g.start = span_start;
	tp->g.end = span_end;
	tp->g.reference = refuse_reference;
	tp->g.arg = &tp->ps;
	util_xml_guard_init(tp->ctxt, &tp->g);
	tp->ctxt->sax->characters = skip_chars;
	tp->ctxt->sax->ignorableWhitespace = skip_chars;
	tp->ctxt->sax->cdataBlock = skip_cdata;
	tp->ctxt->sax->comment = skip_comment;
	tp->ctxt->sax->processingInstruction = skip_pi;
	tp->ps.tp = tp;
	tp->p.a = &tp->blocks;
	tp->p.err = &tp->err;
	tp->p.ps = &tp->ps;
	return 0;
}

/* What a stream parse met so far, as taxii_msg_parse_opts reports it; 0 when nothing. */
static int
push_check(struct taxii_push *tp, struct taxii_err *err)
{
	xmlParserCtxtPtr ctxt = tp->ctxt;

	if (tp->rc != 0) {
		if (err != NULL)
			*err = tp->err;
		return tp->rc;
	}
	if (tp->mode == PUSH_WHOLE || ctxt == NULL)
		return 0;
	if (tp->g.hostile || tp->ps.hostile)
		return taxii_seterr(err, TAXII_EHOSTILE, ctxt->input ? ctxt->input->line : 0,
		    "DOCTYPE and entity declarations are refused");
	if (tp->g.too_deep)
		return taxii_seterr(err, TAXII_EHOSTILE, ctxt->input ? ctxt->input->line : 0,
		    "DTD, entity or nesting deeper than %d refused", TAXII_MSG_MAX_DEPTH);
	if (!ctxt->wellFormed)
		return xml_error(ctxt, err);
	return 0;
}

int
taxii_push_feed(struct taxii_push *tp, const char *data, size_t len, struct taxii_err *err)
{
	struct util_xml_quiet q;
	int rc;

	if ((rc = push_check(tp, err)) != 0)
		return rc;
	if (len > tp->max_bytes - tp->fed)
		tp->rc = taxii_seterr(&tp->err, TAXII_ETOOBIG, 0,
		    "message of over %zu bytes is over the cap", tp->max_bytes);
	else if (util_buf_add(&tp->raw, data, len) != 0)
		tp->rc = taxii_seterr(&tp->err, TAXII_ENOMEM, 0, "out of memory");
	if (tp->rc != 0)
		return push_check(tp, err);
	tp->fed += len;
	if (tp->mode == PUSH_WHOLE || len == 0)
		return 0;
	if (tp->ctxt == NULL && (rc = push_open(tp, err)) != 0)
		return rc;
	xmlInitParser();
	util_xml_quiet_begin(&q);
	/* Chunks of up to INT_MAX: curl hands over far less at a time. */
	while (len > 0 && tp->mode != PUSH_WHOLE && tp->rc == 0 && tp->ctxt->wellFormed &&
	    !tp->g.hostile && !tp->g.too_deep && !tp->ps.hostile) {
		int n = len > (size_t)INT_MAX ? INT_MAX : (int)len;

		xmlParseChunk(tp->ctxt, data, n, 0);
		data += n;
		len -= (size_t)n;
	}
	util_xml_quiet_end(&q);
	if ((rc = push_check(tp, err)) != 0)
		return rc;
	/* What lies before the block being read is needed no more: dropped now and then,
	 * so the bytes kept are about one block's. */
	if (tp->mode == PUSH_STREAM && tp->keep_from > tp->raw_base &&
	    tp->keep_from - tp->raw_base >= 65536 && tp->keep_from - tp->raw_base <= tp->raw.len) {
		size_t drop = tp->keep_from - tp->raw_base;

		memmove(tp->raw.data, tp->raw.data + drop, tp->raw.len - drop + 1);
		tp->raw.len -= drop;
		tp->raw_base += drop;
	}
	if (tp->raw.len > tp->st.kept_max)
		tp->st.kept_max = tp->raw.len;
	return 0;
}

int
taxii_push_end(struct taxii_push *tp, struct taxii_msg **out, struct taxii_err *err)
{
	struct util_xml_quiet q;
	struct msg_box *box = NULL;
	xmlNode *root;
	xmlDocPtr doc;
	int rc;

	*out = NULL;
	if (err != NULL) {
		err->code = 0;
		err->line = 0;
		err->msg[0] = '\0';
	}
	if ((rc = push_check(tp, err)) != 0)
		return rc;
	if (tp->mode != PUSH_STREAM) {
		/* Anything but a Poll_Response streamed is read whole, as it always was. */
		return taxii_msg_parse_opts(tp->raw.data ? tp->raw.data : "", tp->raw.len,
		    TAXII_VANY, tp->flags, out, err);
	}
	util_xml_quiet_begin(&q);
	xmlParseChunk(tp->ctxt, NULL, 0, 1);
	util_xml_quiet_end(&q);
	if ((rc = push_check(tp, err)) != 0)
		return rc;
	doc = tp->ctxt->myDoc;
	if (doc == NULL)
		return taxii_seterr(err, TAXII_EXML, 0, "not a whole message");
	if (doc->intSubset != NULL || doc->extSubset != NULL || !tree_ok(doc))
		return taxii_seterr(err, TAXII_EHOSTILE, 0,
		    "DTD, entity or nesting deeper than %d refused", TAXII_MSG_MAX_DEPTH);
	root = xmlDocGetRootElement(doc);
	if (root == NULL)
		return taxii_seterr(err, TAXII_EXML, 0, "not a whole message");
	if ((box = xmlMalloc(sizeof(*box))) == NULL)
		return taxii_seterr(err, TAXII_ENOMEM, 0, "out of memory");
	memset(box, 0, sizeof(*box));
	box->m.priv_ = box;
	box->m.version = tp->p.ver;
	tp->p.a = &box->a;
	tp->p.err = err;
	/* Its blocks are gone, handed over: what is left is the envelope. */
	rc = parse_root(&tp->p, root, &box->m);
	tp->p.a = &tp->blocks;
	tp->p.err = &tp->err;
	if (rc != 0) {
		arena_free(&box->a);
		xmlFree(box);
		return rc;
	}
	*out = &box->m;
	return 0;
}
