/*
 * stix internals shared by the writer, the reader and the validator: namespace URIs, the
 * hardened parser, deterministic ids and small tree helpers. Not part of the public API.
 */
#ifndef C2W_STIX_INT_H
#define C2W_STIX_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "record/record.h"

#define STIX_NS_C2WATCH "urn:c2watch"
#define STIX_NS_STIX "http://stix.mitre.org/stix-1"
#define STIX_NS_COMMON "http://stix.mitre.org/common-1"
#define STIX_NS_INDICATOR "http://stix.mitre.org/Indicator-2"
#define STIX_NS_CAMPAIGN "http://stix.mitre.org/Campaign-1"
#define STIX_NS_CYBOX "http://cybox.mitre.org/cybox-2"
#define STIX_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define STIX_NS_ADDRESS "http://cybox.mitre.org/objects#AddressObject-2"
#define STIX_NS_DOMAIN "http://cybox.mitre.org/objects#DomainNameObject-1"
#define STIX_NS_URI "http://cybox.mitre.org/objects#URIObject-2"
#define STIX_NS_HOSTNAME "http://cybox.mitre.org/objects#HostnameObject-1"
#define STIX_NS_PORT "http://cybox.mitre.org/objects#PortObject-2"

#define STIX_TITLE_OBSERVATION "c2watch observation"
#define STIX_TITLE_TARGET "c2watch target"

/* How every c2watch package begins: the XML declaration, then the root's start tag up to
 * its namespace declarations (the id and the other attributes follow). */
extern const char stix_package_open[];

/* "c2watch:" + kind (short) + "-" + 36-char UUID + NUL */
#define STIX_ID_MAX 80

/*
 * Parses with the hardened settings (see stix.h). Returns a document the caller frees with
 * xmlFreeDoc, or NULL with *rc (STIX_ERR_*) and err set.
 */
xmlDoc *stix_xml_parse(const char *xml, size_t len, size_t max_bytes, unsigned max_depth,
    int *rc, char *err, size_t errlen);

/*
 * Writes "c2watch:<kind>-<uuid>" where the UUID (version 5 layout) comes from SHA-256 of
 * kind, a newline and seed. Returns 0, or -1 if hashing failed.
 */
int stix_make_id(const char *kind, const char *seed, char out[STIX_ID_MAX]);

/* 1 when n is an element named {ns}local. */
int stix_is(const xmlNode *n, const char *ns, const char *local);

/* First element child of n named {ns}local, or NULL. */
xmlNode *stix_child(const xmlNode *n, const char *ns, const char *local);

/*
 * Resolves a QName-valued attribute (xsi:type, id, idref) against the namespaces in scope
 * at n: sets *ns (may be NULL: no prefix or unbound) and returns the local part, both
 * pointing into storage that lives as long as the document / the attribute value.
 */
const char *stix_qname(xmlNode *n, const char *value, const xmlChar **ns);

/* A node's text content (malloc'd via libxml2; free with xmlFree), NULL when none. */
char *stix_text(const xmlNode *n);

/*
 * Shape checks shared by writers (what they accept) and readers (what peers may send):
 * 0, or STIX_ERR_INPUT with err naming the field.
 */
int stix_check_record(const json_t *rec, char *err, size_t errlen);
int stix_check_target(const json_t *t, char *err, size_t errlen);

#endif
