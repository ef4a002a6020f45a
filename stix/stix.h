/*
 * stix: converts between c2watch's JSON records and STIX 1.x XML. It writes STIX 1.2
 * packages (one per observation record, one per target) that validate against the official
 * XSDs, reads its own packages back to the identical JSON, and reads STIX 1.1.1 / 1.2 from
 * other producers (indicators, observables, watchlists, nested packages) into targets.
 * Every XML read goes through one hardened libxml2 parser: no network, no DTD, no entity
 * substitution (a DOCTYPE is refused outright), a size cap and a depth limit.
 * The module never logs, prints or exits, and never touches storage or the network.
 * Threads: every call is self-contained, but libxml2 wants xmlInitParser() called once
 * from the main thread before threads use it; during a call libxml2's per-thread error
 * handler is swapped for a silent one and restored afterwards.
 *
 * What a c2watch package looks like (so peers can rely on it):
 * - Namespace: ids are QNames in `xmlns:c2watch="urn:c2watch"`, of the form
 *   `c2watch:<Kind>-<uuid>`, the UUID derived from SHA-256 of the kind and the record id
 *   (observations) or the canonical target JSON (targets), so writing the same record twice
 *   yields the same bytes.
 * - Observation: STIX_Header Title "c2watch observation", Package_Intent "Observations";
 *   one cybox:Observable whose cybox:Title is the threat ID and whose cybox:Description holds
 *   the full JSON record plus the "x-ict-isac.jp" block; inside it an Observable_Composition
 *   (AND) of structured objects: URIObj (URL, when the input is one), DomainNameObj (FQDN),
 *   AddressObj (ipv4-addr / ipv6-addr, one per address, and the input when it is an
 *   address) and PortObj. The threat ID is also the Title and Name of a stix:Campaign in
 *   the package.
 * - Target: STIX_Header Title "c2watch target", Package_Intent "Indicators - Watchlist";
 *   one Indicator whose Title is the threat ID, whose Description holds the target JSON,
 *   with the same kind of structured observable and a Related_Campaign pointing at a
 *   Campaign titled with the threat ID.
 */
#ifndef C2W_STIX_H
#define C2W_STIX_H

#include <stddef.h>

#include <jansson.h>

#include "record/record.h"
#include "util/util.h"

/* Return codes of every stix_* function (0 is success). */
enum stix_status {
	STIX_OK = 0,
	STIX_ERR_NOMEM = -1,   /* allocation failed */
	STIX_ERR_INPUT = -2,   /* the JSON record or target given to a writer is malformed */
	STIX_ERR_PARSE = -3,   /* not well-formed XML */
	STIX_ERR_HOSTILE = -4, /* DOCTYPE, too large, too deep, too many items */
	STIX_ERR_FORMAT = -5,  /* well-formed XML, but not the STIX content expected */
	STIX_ERR_SCHEMA = -6,  /* schema could not be loaded, or the document is invalid */
	STIX_ERR_TOOBIG = -7,  /* the output buffer's cap was reached */
};

/* A static English text for a stix_status value (never NULL). */
const char *stix_strerror(int code);

/* Hard caps applied to every read unless a caller lowers them (stix_result). */
#define STIX_MAX_BYTES (32u * 1024 * 1024)
#define STIX_MAX_DEPTH 128
#define STIX_MAX_TARGETS 100000
#define STIX_MAX_NOTES 200

/*
 * Writes one observation record (the JSON form of the design contract) as a STIX 1.2
 * package, appended to `out` (whose cap bounds the output). Returns 0; STIX_ERR_INPUT when
 * a required field is missing or has the wrong type (err names the field); STIX_ERR_TOOBIG
 * or STIX_ERR_NOMEM. On error `out` may hold a partial package: reset it before reuse.
 * The record is not modified and stays the caller's.
 */
int stix_observation_write(const json_t *record, struct util_buf *out, char *err,
    size_t errlen);

/*
 * stix_observation_write for a record given as JSON text (as a store holds it): the same
 * bytes as stix_observation_write of json_loadb(json), written without building jansson
 * values when the text is plain enough (it falls back to jansson otherwise). Returns as
 * stix_observation_write, or STIX_ERR_INPUT when the text is not JSON.
 */
int stix_observation_write_text(const char *json, size_t len, struct util_buf *out, char *err,
    size_t errlen);

/*
 * Reads a package written by stix_observation_write back into the identical record.
 * On success returns 0 and stores a new reference in *record (the caller json_decref()s it).
 * On error *record is NULL and err says why: STIX_ERR_PARSE / STIX_ERR_HOSTILE for XML
 * that is malformed or refused, STIX_ERR_FORMAT when it is not a c2watch observation, its
 * package id does not match the embedded record's id, or the embedded JSON is broken.
 */
int stix_observation_read(const char *xml, size_t len, json_t **record, char *err,
    size_t errlen);

/*
 * Writes one target (an object whose keys are the targets CSV columns: threat_id, ip,
 * domain, url, port (integer), report_date, malware_sha256, file_type, summary,
 * user_agent) as a STIX 1.2 Indicator package appended to `out`. threat_id and at least
 * one of ip/domain/url are required. Returns as stix_observation_write.
 */
int stix_target_write(const json_t *target, struct util_buf *out, char *err, size_t errlen);

/* What a document held, as far as c2watch is concerned. */
enum stix_kind {
	STIX_KIND_NONE = 0,     /* nothing c2watch can use (notes say why) */
	STIX_KIND_OBSERVATIONS, /* c2watch observation packages: see records */
	STIX_KIND_TARGETS,      /* indicators / observables of network destinations */
};

/*
 * The result of stix_read. Set it up with stix_result_init (which also sets the limits to
 * the STIX_MAX_* defaults; a caller may lower them before stix_read) and release it with
 * stix_result_fini. The arrays are owned by the result.
 */
struct stix_result {
	enum stix_kind kind;
	json_t *records; /* array of observation records (kind OBSERVATIONS) */
	json_t *targets; /* array of target objects, deduplicated */
	json_t *notes;   /* array of strings: what was skipped and why, for the operator */
	char version[16]; /* the root's version attribute, "" when absent */
	/* limits, in */
	size_t max_bytes;
	unsigned max_depth;
	size_t max_targets;
};

void stix_result_init(struct stix_result *res);
void stix_result_fini(struct stix_result *res);

/*
 * Reads a STIX 1.x document (STIX_Package, or a bare cybox:Observables) from any producer.
 * c2watch observation packages (also nested in Related_Packages) become records. Every
 * literal URL, domain and IPv4/IPv6 value in indicators and observables becomes a target
 * ({"threat_id", and one of "url", "domain", "ip"}); c2watch target packages give back the
 * full target they were written from (when its JSON holds well-typed CSV columns only;
 * otherwise the indicator is read like any other). An embedded observation record that
 * lacks required fields or does not match its package id is skipped with a note. Watchlists (`##comma##`, or the value's delimiter
 * attribute) are split; patterns (a condition other than Equals), IP ranges, e-mail
 * addresses and Course_Of_Action parameters are skipped with a note.
 * The threat ID is, first found: the related Campaign's title or name (1.2 Related_Campaigns,
 * or a Campaign's Related_Indicators), the Indicator's title, the package title,
 * `default_threat_id` (may be NULL), the Indicator's id, the package id, "unknown". The
 * Indicator is the enclosing one, or one that refers to the observable by idref. A caller
 * that must force one threat ID simply overwrites it in the targets.
 * Targets are deduplicated by kind and value within one call (the one from an indicator
 * wins over a bare observable's); records by id. Several calls on one result append.
 * A document with no destination returns 0, kind STIX_KIND_NONE and a note starting
 * "no network indicator". Returns 0, or STIX_ERR_PARSE / STIX_ERR_HOSTILE /
 * STIX_ERR_FORMAT (not STIX) / STIX_ERR_NOMEM with err set; on error `res` holds whatever
 * it held before plus possibly partial results, and must still be finied.
 */
int stix_read(const char *xml, size_t len, const char *default_threat_id,
    struct stix_result *res, char *err, size_t errlen);

/*
 * stix_read for a document some other reader already parsed with libxml2 (a TAXII
 * message's content, say): `node` is the xmlNode of a STIX_Package or cybox:Observables
 * element; it is only read, and namespaces resolve through its ancestors. The depth limit
 * of `res` applies to the subtree (max_bytes does not: the text is gone), and a subtree
 * holding entity references is refused (STIX_ERR_HOSTILE). Returns as stix_read.
 */
int stix_read_node(const void *node, const char *default_threat_id, struct stix_result *res,
    char *err, size_t errlen);

/*
 * The fast path for c2watch's own observation packages, for a reader that stores record
 * text: when `node` (as for stix_read_node) is a c2watch observation package whose record
 * is in exactly the canonical form c2watch writes, with a 64-character id that matches
 * the package id and a valid observed_at, appends the record's JSON without the ISAC
 * block (compact, sorted keys: stix_read would give the same record) to `out` and returns
 * 1 with *rt pointing at the record and its fields in out's data (valid until out next
 * changes). Returns 0 for anything else, which stix_read_node then reads
 * (or refuses, saying why); STIX_ERR_NOMEM or STIX_ERR_TOOBIG (out's cap) on failure.
 */
int stix_observation_text(const void *node, struct util_buf *out, struct rec_text *rt);

/*
 * stix_observation_text for a package given as text, as a TAXII message's content is
 * when its tree was not kept. Only a package laid out exactly as c2watch writes it, up to
 * and including its record, is read this way (byte for byte: the root's start tag with its
 * namespace declarations, the header, the observable's id and title, then the record in
 * the Description with no character references); it is then checked as
 * stix_observation_text checks it. Returns 1 with the record appended to `out` and *rt
 * saying where; 0 for anything else, which stix_read then reads (or refuses), and for a
 * record that would pass out's cap; or STIX_ERR_NOMEM. Either way out holds what it held
 * before plus, on 1, the record only. Only the bytes up to the record's end tag are looked
 * at: the caller must already know the text is well-formed XML (the TAXII parser checks
 * every content it copies); this function does not check it.
 */
int stix_observation_text_xml(const char *xml, size_t len, struct util_buf *out,
    struct rec_text *rt);

/*
 * A compiled XML Schema set, for validating what is written and what peers send. Loading
 * the whole STIX tree takes a noticeable time, so load it once and keep it.
 */
struct stix_schema;

/*
 * Loads the schema whose entry file is `path` (for STIX 1.2: validate-stix-1.2.xsd of the
 * official schema directory, which imports every extension). Returns a new handle (free it
 * with stix_schema_free), or NULL with err set.
 */
struct stix_schema *stix_schema_new(const char *path, char *err, size_t errlen);

/* Frees a schema handle; NULL is a no-op. */
void stix_schema_free(struct stix_schema *schema);

/*
 * Validates a document against a loaded schema, parsing it with the hardened parser.
 * Returns 0 when valid; STIX_ERR_SCHEMA with the first error (line and message) in err;
 * STIX_ERR_PARSE / STIX_ERR_HOSTILE when it cannot be parsed.
 */
int stix_schema_validate(struct stix_schema *schema, const char *xml, size_t len, char *err,
    size_t errlen);

/*
 * One-shot validation against `schema_dir`/validate-stix-1.2.xsd (slow: loads the schema
 * every call; keep a stix_schema for repeated use). Returns as stix_schema_validate.
 */
int stix_validate(const char *xml, size_t len, const char *schema_dir, char *err,
    size_t errlen);

#endif
