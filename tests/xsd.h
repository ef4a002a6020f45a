/*
 * The official XSDs for the tests: loaded from the shared directory (SHARED_DIR) when it
 * is there, and used to check that what the node writes or answers is valid TAXII or STIX.
 * Where it is absent the tests say so and check everything else.
 */
#ifndef C2W_TESTS_XSD_H
#define C2W_TESTS_XSD_H

#include <stddef.h>

#include <libxml/xmlschemas.h>

#define XSD_TAXII11 "schemas/taxii/TAXII_XMLMessageBinding_Schema_11.xsd"
#define XSD_TAXII10 "schemas/taxii/TAXII_XMLMessageBinding_Schema.xsd"

/* The schema at shared/rel, or NULL when shared is NULL or empty or the file does not
 * load. */
xmlSchemaPtr xsd_load(const char *shared, const char *rel);

/* 1 when the len bytes of xml parse (no network) and validate against s, else 0; with
 * diag set, says why not in TAP diagnostics. */
int xsd_valid(xmlSchemaPtr s, const char *xml, size_t len, int diag);

#endif
