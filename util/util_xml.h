/*
 * util_xml: the one hardened libxml2 parser setup, for every module that reads XML from
 * outside (STIX documents, TAXII messages). A guarded parse never touches the network,
 * loads no DTD, expands no entity (a DOCTYPE or an entity declaration stops it at once),
 * stops past a nesting depth, and never prints: libxml2's errors are kept, not shown.
 * It is util's only part that needs libxml2, in a header of its own so that modules
 * without XML never see it; like the rest of util it never logs, allocates only through
 * libxml2 and never exits.
 */
#ifndef C2W_UTIL_XML_H
#define C2W_UTIL_XML_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* The options of every guarded parse; a caller may add XML_PARSE_COMPACT, never
 * XML_PARSE_NOENT, DTDLOAD, DTDATTR or HUGE. */
#define UTIL_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/*
 * What a guarded parse watches, reached through ctxt->_private (util_xml_guard_of). The
 * caller fills the first part and may chain its own element and reference hooks, which
 * run after the guard's checks; the parse leaves the second part.
 */
struct util_xml_guard {
	unsigned max_depth;              /* deepest element nesting taken; the root is 1 */
	startElementNsSAX2Func start;    /* NULL: libxml2's tree builder */
	endElementNsSAX2Func end;        /* NULL: libxml2's tree builder */
	referenceSAXFunc reference;      /* NULL: libxml2's tree builder */
	void *arg;                       /* the caller's state, for its hooks */
	/* out */
	unsigned depth;
	int hostile;  /* a DOCTYPE or an entity declaration was met: the parse stopped */
	int too_deep; /* nesting passed max_depth: the parse stopped */
};

/*
 * Sets up ctxt (new, not yet parsing) for a guarded parse: the guard's DOCTYPE, entity
 * and depth hooks, the caller's element hooks behind them, errors kept quiet. g must
 * outlive the parse. Pass UTIL_XML_OPTIONS to the parse.
 */
void util_xml_guard_init(xmlParserCtxt *ctxt, struct util_xml_guard *g);

/* The guard of a context set up by util_xml_guard_init (ctx as libxml2 hands hooks). */
struct util_xml_guard *util_xml_guard_of(void *ctx);

/*
 * Errors raised outside a parser context (out of memory, encodings, I/O) go to libxml2's
 * per-thread handler, which prints by default; a library must not, so a call swaps it for
 * a silent one and restores it when done.
 */
struct util_xml_quiet {
	xmlStructuredErrorFunc func;
	void *ctx;
};
void util_xml_quiet_begin(struct util_xml_quiet *q);
void util_xml_quiet_end(const struct util_xml_quiet *q);

/*
 * Checks a tree built by any parser: 0 when n and everything below it are elements,
 * text, CDATA, comments and processing instructions, nested no deeper than max_depth
 * counting n as `depth`; -1 when there is anything else (entity references, DTD nodes:
 * only a DTD makes them); -2 when an element lies deeper.
 */
int util_xml_tree_check(const xmlNode *n, unsigned depth, unsigned max_depth);

#endif
