/* Loading and applying the official XSDs in the tests (see xsd.h). */
#include "config.h"

#include <stdio.h>

#include <libxml/parser.h>

#include "tests/tap.h"
#include "tests/xsd.h"

xmlSchemaPtr
xsd_load(const char *shared, const char *rel)
{
	char path[1024];
	xmlSchemaParserCtxtPtr pc;
	xmlSchemaPtr s;

	if (shared == NULL || *shared == '\0' ||
	    snprintf(path, sizeof(path), "%s/%s", shared, rel) >= (int)sizeof(path) ||
	    (pc = xmlSchemaNewParserCtxt(path)) == NULL)
		return NULL;
	s = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	return s;
}

int
xsd_valid(xmlSchemaPtr s, const char *xml, size_t len, int diag)
{
	xmlSchemaValidCtxtPtr vc;
	xmlDocPtr doc;
	int rc;

	doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
	if (doc == NULL) {
		if (diag)
			tap_diag("not well-formed: %.*s", (int)(len > 300 ? 300 : len), xml);
		return 0;
	}
	if ((vc = xmlSchemaNewValidCtxt(s)) == NULL) {
		xmlFreeDoc(doc);
		return 0;
	}
	rc = xmlSchemaValidateDoc(vc, doc);
	if (rc != 0 && diag) {
		const xmlError *e = xmlGetLastError();

		tap_diag("invalid (%d): %s", rc, e && e->message ? e->message : "?");
		tap_diag("%.*s", (int)(len > 1500 ? 1500 : len), xml);
	}
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(doc);
	return rc == 0;
}
