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

/* Writes a bounded, always NUL-terminated message to err (which may be NULL). */
void stix_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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
 * Compact JSON with sorted keys, the form c2watch embeds (same value, same bytes); reals
 * with 15 significant digits unless they need 17. Returns malloc'd text or NULL.
 */
char *stix_dump_json(const json_t *j);

/* The canonical dump's writer (see stix_dump_json): a growing text with a sticky
 * give-up flag (set on memory failure and on anything only jansson writes exactly). */
struct stix_jdump {
	char *p; /* malloc'd, NUL-terminated once done */
	size_t len, cap;
	int prec; /* 15, or 0 for jansson's 17 */
	int give_up;
};
void stix_jd_put(struct stix_jdump *d, const char *s, size_t n);
/* A string (n bytes of valid UTF-8) as jansson escapes it. */
void stix_jd_string(struct stix_jdump *d, const char *s, size_t n);
/* A real as jansson writes it with d->prec digits. */
void stix_jd_real(struct stix_jdump *d, double v);

/*
 * A parsed JSON value in two flat arrays (stix_json.c): node 0 is the root object; an
 * object's or array's children are linked through `first` / `next`; strings (and keys)
 * are decoded, NUL-terminated, in `s`. Offsets, not pointers: the arrays grow.
 */
#define STIX_JL_NONE UINT32_MAX
#define STIX_JL_MAX_DEPTH 64
enum stix_jl_type {
	STIX_JL_NULL, STIX_JL_TRUE, STIX_JL_FALSE, STIX_JL_INT, STIX_JL_REAL, STIX_JL_STR,
	STIX_JL_ARR, STIX_JL_OBJ
};
struct stix_jl_node {
	unsigned char type;
	uint32_t key, key_len; /* as an object member */
	uint32_t str, str_len; /* STIX_JL_STR */
	uint32_t first, next, count;
	long long i;
	double d;
};
struct stix_jl {
	struct stix_jl_node *v;
	size_t n, cap;
	char *s;
	size_t slen, scap;
};

/*
 * Parses an object the way jansson would (json_loadb with no flags) into jl (zeroed the
 * first time, reusable). Returns 0, or -1 when the text is not JSON or holds what this
 * reader leaves to jansson (duplicate keys, \u0000, surrogates, depth over 64) or memory
 * ran out. Free with stix_jl_fini.
 */
int stix_jl_parse(struct stix_jl *jl, const char *text, size_t len);
void stix_jl_fini(struct stix_jl *jl);
/* The member `key` of an object node, or NULL. */
const struct stix_jl_node *stix_jl_get(const struct stix_jl *jl,
    const struct stix_jl_node *obj, const char *key);
/* A string node's text, or NULL for any other node (or NULL). */
const char *stix_jl_str(const struct stix_jl *jl, const struct stix_jl_node *n);
/* Whether every real prints with 15 digits and reads back the same (stix_json_prec). */
int stix_jl_reals_fit_15(const struct stix_jl *jl);
/* Appends n's canonical dump (as stix_dump_json would write the same value). */
void stix_jl_dump(const struct stix_jl *jl, const struct stix_jl_node *n,
    struct stix_jdump *d);

/* The real precision stix_dump_json uses for j: 15, or 0 (jansson's 17) when a real
 * needs more digits to read back the same. */
int stix_json_prec(const json_t *j);

/*
 * stix_dump_json's own writer with that precision: malloc'd text (its length in *len, may
 * be NULL), or NULL when j holds something only jansson dumps exactly (U+FFFE/U+FFFF,
 * nesting over 64, a locale's decimal comma), is not a container, or memory ran out.
 */
char *stix_dump_json_fast(const json_t *j, int prec, size_t *len);

/*
 * Parses JSON text as embedded by c2watch, refusing a parse that memory pressure may have
 * altered (see the body). Returns a new reference or NULL.
 */
json_t *stix_json_parse(const char *text);

/*
 * Where the fields the store indexes lie in a record text (offsets and lengths into it,
 * without quotes; none holds an escape): 0 id, 1 threat_id, 2 node, 3 observed_at,
 * 4 target.input; and the offset of the ',' that starts the "x-ict-isac.jp" member.
 */
struct stix_canon_rec {
	size_t at[5], len[5];
	size_t isac_at;
};

/*
 * 0 when `text` is exactly stix_dump_json's output for an object whose last member is
 * "x-ict-isac.jp" (an object) and which has string fields id, threat_id, node,
 * observed_at and an object "target" with a string "input", all without escapes and not
 * empty; -1 otherwise (not an error: the text may still be a valid record).
 */
int stix_canon_record(const char *text, size_t len, struct stix_canon_rec *rec);

/*
 * Shape checks shared by writers (what they accept) and readers (what peers may send):
 * 0, or STIX_ERR_INPUT with err naming the field.
 */
int stix_check_record(const json_t *rec, char *err, size_t errlen);
int stix_check_target(const json_t *t, char *err, size_t errlen);

#endif
