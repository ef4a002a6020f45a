/* The hardened libxml2 parser setup of util_xml.h. */
#include "config.h"

#include <libxml/SAX2.h>
#include <libxml/globals.h>

#include "util/util_xml.h"

struct util_xml_guard *
util_xml_guard_of(void *ctx)
{
	return ((xmlParserCtxt *)ctx)->_private;
}

/* A DOCTYPE is where entity declarations (XXE, billion laughs) live; stopping as soon as
 * it starts means none of its content is ever parsed. */
static void
guard_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
	(void)name;
	(void)ext_id;
	(void)sys_id;
	util_xml_guard_of(ctx)->hostile = 1;
	xmlStopParser(ctx);
}

static void
guard_entity(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
    const xmlChar *system_id, xmlChar *content)
{
	(void)name;
	(void)type;
	(void)public_id;
	(void)system_id;
	(void)content;
	util_xml_guard_of(ctx)->hostile = 1;
	xmlStopParser(ctx);
}

static void
guard_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
    int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
    const xmlChar **attributes)
{
	struct util_xml_guard *g = util_xml_guard_of(ctx);

	if (++g->depth > g->max_depth) {
		g->too_deep = 1;
		xmlStopParser(ctx);
		return;
	}
	(g->start ? g->start : xmlSAX2StartElementNs)(ctx, localname, prefix, uri,
	    nb_namespaces, namespaces, nb_attributes, nb_defaulted, attributes);
}

static void
guard_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
	struct util_xml_guard *g = util_xml_guard_of(ctx);

	if (g->depth > 0)
		g->depth--;
	(g->end ? g->end : xmlSAX2EndElementNs)(ctx, localname, prefix, uri);
}

static void
guard_reference(void *ctx, const xmlChar *name)
{
	struct util_xml_guard *g = util_xml_guard_of(ctx);

	(g->reference ? g->reference : xmlSAX2Reference)(ctx, name);
}

/* libxml2 keeps the last error in the context; this only keeps it from being printed. */
static void
quiet_error(void *data, xmlError *e)
{
	(void)data;
	(void)e;
}

void
util_xml_guard_init(xmlParserCtxt *ctxt, struct util_xml_guard *g)
{
	g->depth = 0;
	g->hostile = g->too_deep = 0;
	ctxt->_private = g;
	ctxt->sax->internalSubset = guard_subset;
	ctxt->sax->externalSubset = guard_subset;
	ctxt->sax->entityDecl = guard_entity;
	ctxt->sax->startElementNs = guard_start;
	ctxt->sax->endElementNs = guard_end;
	ctxt->sax->reference = guard_reference;
	ctxt->sax->serror = quiet_error;
}

void
util_xml_quiet_begin(struct util_xml_quiet *q)
{
	q->func = xmlStructuredError;
	q->ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(NULL, quiet_error);
}

void
util_xml_quiet_end(const struct util_xml_quiet *q)
{
	xmlSetStructuredErrorFunc(q->ctx, q->func);
}

int
util_xml_tree_check(const xmlNode *n, unsigned depth, unsigned max_depth)
{
	if (n->type != XML_ELEMENT_NODE)
		return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE ||
		    n->type == XML_COMMENT_NODE || n->type == XML_PI_NODE ? 0 : -1;
	if (depth > max_depth)
		return -2;
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		int rc = util_xml_tree_check(c, depth + 1, max_depth);

		if (rc != 0)
			return rc;
	}
	return 0;
}
