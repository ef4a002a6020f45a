/*
 * record: the observation record (README.md, "Observation" and "Peers and TAXII users"),
 * the one thing every other module passes around. It knows the record's fields, computes its id and its
 * target's key, writes and reads its JSON form (the canonical dump every package embeds
 * and every store keeps), recognizes that form without parsing it, and says whether a
 * record from anywhere (the observer, a peer, an inbox, a file) is acceptable and why not.
 * It signs the records this node makes and verifies those of others (Ed25519 over
 * RFC 8785 JSON; the trust set says whose records must verify).
 * It depends on util, jansson and libcrypto only: it never includes store, stix, taxii or anything
 * above them, never logs, never touches storage or the network, and never exits.
 */
#ifndef C2W_RECORD_H
#define C2W_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"

#define REC_ID_LEN 32          /* a record id: SHA-256 */
#define REC_ID_HEX (2 * REC_ID_LEN) /* its text: lowercase hex digits */
#define REC_THREAT_ID_MAX 200  /* bytes; longer threat IDs are refused (as the store does) */

/* ------------------------------------------------------------------ fields */

/* The fields a store indexes and every check looks at, in this order everywhere. */
enum rec_field {
	REC_F_ID,          /* "id" */
	REC_F_THREAT,      /* "threat_id" */
	REC_F_NODE,        /* "node" */
	REC_F_OBSERVED_AT, /* "observed_at" */
	REC_F_INPUT,       /* "target"."input": the target key */
	REC_F_COUNT
};

/* The field's name in the record as a message names it ("target.input"); never NULL. */
const char *rec_field_name(enum rec_field f);

/*
 * A record held as JSON text: where the text is and where its indexed fields lie in it
 * (each unquoted and free of escapes, so the bytes are the values themselves). The
 * pointers are borrowed: they live as long as the text they point into.
 */
struct rec_text {
	const char *json;
	size_t len;
	const char *f[REC_F_COUNT];
	size_t flen[REC_F_COUNT];
};

/* ------------------------------------------------------------------ id and target key */

/*
 * The record id: SHA-256 over node id, target key and observation time (RFC 3339 UTC
 * with six fractional digits), each followed by a NUL. Returns 0, or -1 when the time is
 * outside years 0001..9999 or hashing failed (id is then all zero).
 */
int rec_id(const char *node, const char *target_key, int64_t observed_us,
    unsigned char id[REC_ID_LEN]);

/* rec_id as REC_ID_HEX lowercase hex digits and a NUL. Returns as rec_id ("" on -1). */
int rec_id_hex(const char *node, const char *target_key, int64_t observed_us,
    char hex[REC_ID_HEX + 1]);

/*
 * The target key that identifies a (checked) target within its threat ID and becomes the
 * record's target.input: the URL, else the domain, else the IP address; a domain or IP
 * gets ":port" when the target has an integer port (an IPv6 address is then bracketed).
 * Writes the NUL-terminated key into buf. Returns 0, or -1 when there is no destination
 * or buf is too small ("" written if len > 0).
 */
int rec_target_key(const json_t *target, char *buf, size_t len);

/* The same key appended to b (no NUL counted). Returns 0, or -1 (no destination, or
 * b's cap or memory reached: b may then hold part of it). */
int rec_target_key_append(const json_t *target, struct util_buf *b);

/* ------------------------------------------------------------------ checks */

/* What a check found, for a caller that stores the record. The pointers point into the
 * record checked and live as long as it. */
struct rec_keys {
	const char *threat_id; /* NUL-terminated for rec_check; threat_len bytes for both */
	const char *target_key;
	size_t threat_len, key_len;
	int64_t observed_us;
	unsigned char id[REC_ID_LEN];
};

/*
 * Whether a record (from the observer, a peer, an inbox or a file) may be stored, and why
 * not: id must be 64 hex digits; threat_id a string of 1 to REC_THREAT_ID_MAX bytes; node
 * and target.input non-empty strings; observed_at an RFC 3339 time; and id the rec_id of
 * node, target.input and observed_at. Returns 0 with *out filled (out may be NULL), or -1
 * with why holding the first problem ("record <id prefix>: what is wrong").
 */
int rec_check(const json_t *rec, struct rec_keys *out, char *why, size_t whylen);

/* rec_check for a record held as text whose fields are located (rec_canon's result, or
 * stix_observation_text's): the same checks and messages. */
int rec_check_text(const struct rec_text *rt, struct rec_keys *out, char *why,
    size_t whylen);

/*
 * The types of the fields beyond rec_check's that the store's summaries and the analysis
 * read: vantage a string or null; http an object or null, its status an integer from 0
 * to 999 or null, its sha256 64 hex digits or null; ping an object or null, its sent and
 * received integers. Absent fields pass (a probe not run). Merge, inbox and import all
 * refuse a record that fails, with this message. Returns 0, or -1 with why naming the
 * field ("http.status: not an integer from 0 to 999").
 */
int rec_check_fields(const json_t *rec, char *why, size_t whylen);

/* rec_check_fields for a record held as JSON text (json, len bytes): read in place, and
 * through jansson when the in-place reader cannot tell (escapes, a refusal to explain);
 * the same verdicts and messages. Text jansson does not take fails ("record: not JSON:
 * why"). */
int rec_check_fields_text(const char *json, size_t len, char *why, size_t whylen);

/* ------------------------------------------------------------------ signatures */

/*
 * RFC 8785 (JSON Canonicalization Scheme) form of j appended to out: members sorted by
 * UTF-16 code units, ECMAScript number and string forms, no whitespace. With
 * REC_JCS_UNSIGNED the top-level "sig" and "key" are left out: what a record is signed
 * over. Returns 0, or -1 with why (NaN or infinity, an integer beyond 2^53, nesting over
 * 64, memory) and out as it was.
 */
#define REC_JCS_UNSIGNED 1u
int rec_jcs(const json_t *j, unsigned flags, struct util_buf *out, char *why,
    size_t whylen);

/* A double in ECMAScript's Number-to-String form (RFC 8785 section 3.2.2.3): the length
 * written, or -1 for NaN and infinities. */
#define REC_JCS_NUM_MAX 32
int rec_jcs_number(double v, char buf[REC_JCS_NUM_MAX]);

/* A node's Ed25519 key pair. Reading and writing the key file is the caller's. */
#define REC_PUB_MAX 64  /* "ed25519:" and the base64 of 32 bytes, with its NUL */
#define REC_SIG_MAX 100 /* "ed25519:" and the base64 of 64 bytes, with its NUL */
struct rec_key;
/* A new random key, or NULL with err. */
struct rec_key *rec_key_new(char *err, size_t errlen);
/* A key from unencrypted PEM (PKCS#8, as rec_key_pem writes), or NULL with err. */
struct rec_key *rec_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);
/* The private key as PEM: malloc'd, NUL-terminated (length in *len, may be NULL), or
 * NULL when memory ran out. The caller wipes and frees it. */
char *rec_key_pem(const struct rec_key *k, size_t *len);
/* The public key as "ed25519:BASE64" (borrowed from k). */
const char *rec_key_public(const struct rec_key *k);
void rec_key_free(struct rec_key *k);
/* 1 when pub is "ed25519:" and the canonical base64 of 32 bytes. */
int rec_pub_valid(const char *pub);

/*
 * Signs a record this node made: the Ed25519 signature over its rec_jcs form without
 * "sig" and "key", set as "sig": "ed25519:BASE64", with "key": the public key. Returns 0,
 * or -1 with why (the record is then unchanged or holds the old sig and key).
 */
int rec_sign(json_t *rec, const struct rec_key *k, char *why, size_t whylen);

/* Whether rec's "sig" verifies with its own "key": 0, or -1 with why ("not signed",
 * a malformed sig or key, "signature does not verify"). Says nothing of whose key it is:
 * rec_trust_check does. */
int rec_sig_verify(const json_t *rec, char *why, size_t whylen);

/*
 * The trust set: the nodes whose records must carry a signature that verifies with one
 * of their listed keys (this node among them, with its current and old keys, and the
 * nodes of [trust] keys_file), and what becomes of records of every other node
 * (unknown = accept: taken, unverified; refuse: refused). A record's node being in the
 * set is what makes it verified: analysis counts the others as unverified.
 */
struct rec_trust;
struct rec_trust *rec_trust_new(void); /* empty, unknown = accept; NULL: out of memory */
void rec_trust_free(struct rec_trust *t);
void rec_trust_set_unknown(struct rec_trust *t, int refuse);
/* Adds a key of node (a node may have several). 0, or -1 with why (bad key, memory). */
int rec_trust_add(struct rec_trust *t, const char *node, const char *pub, char *why,
    size_t whylen);
/* Adds keys_file lines: "NODE-ID ed25519:BASE64", blank lines and '#' comments skipped.
 * 0, or -1 with err "NAME:LINE: what is wrong" for the first bad line (nothing after it
 * is added). */
int rec_trust_parse(struct rec_trust *t, const char *text, size_t len, const char *name,
    char *err, size_t errlen);
/* 1 when node (len bytes) is in the set, 0 otherwise (and for t NULL). */
int rec_trust_listed(const struct rec_trust *t, const char *node, size_t len);

enum rec_trust_result {
	REC_TRUST_VERIFIED,   /* a listed node, signed with one of its keys, verifies */
	REC_TRUST_UNVERIFIED, /* a node not listed, taken (unknown = accept; also t NULL) */
	REC_TRUST_REFUSED     /* why says "record ID of node NODE refused: what" */
};
/* What the trust set makes of a record (checked by rec_check first). */
int rec_trust_check(const struct rec_trust *t, const json_t *rec, char *why,
    size_t whylen);
/* The same for a record held as text (rec_check_text first); parses it only when its
 * node is listed or unknown nodes are refused. */
int rec_trust_check_text(const struct rec_trust *t, const struct rec_text *rt, char *why,
    size_t whylen);

/* ------------------------------------------------------------------ JSON form */

/*
 * The canonical dump: compact JSON with sorted keys, what
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) writes except that every real takes its
 * shortest round-trip form (rec_real_format), and with \u escapes throughout (jansson's
 * JSON_ENSURE_ASCII form) when U+FFFE / U+FFFF appear (they cannot travel raw in XML).
 * Same value, same bytes. Returns malloc'd text, or NULL when memory ran out.
 */
char *rec_json_dump(const json_t *j);

/*
 * rec_json_dump's own writer: with ascii 0 the plain form, with 1 the \u form. Malloc'd
 * text (its length in *len, which may be NULL), or NULL when j holds U+FFFE/U+FFFF and
 * ascii is 0, is nested deeper than 64, is not a container, or memory ran out.
 */
char *rec_json_dump_fast(const json_t *j, int ascii, size_t *len);

/*
 * Parses JSON text as c2watch writes it (duplicate keys refused), refusing a parse that
 * memory pressure may have altered. Returns a new reference, or NULL.
 */
json_t *rec_json_parse(const char *text);

/* The longest text rec_real_format writes, with its NUL. */
#define REC_REAL_MAX 40

/*
 * A real as every JSON the node writes has it: the first of 15, 16 and 17 significant
 * digits (%g) that reads back as v, so 0.723 and never 0.72299999999999998; ".0" added
 * when it would read back as an integer, the exponent without '+' or leading zeros, a
 * point even under a locale's decimal comma. Returns the length written, or -1.
 */
int rec_real_format(double v, char buf[REC_REAL_MAX]);

/* The canonical dump's writer: a growing text with a sticky give-up flag (set on memory
 * failure, on U+FFFE/U+FFFF when not ascii, and on anything only jansson writes). Start
 * it zeroed but for ascii. */
struct rec_jdump {
	char *p; /* malloc'd, NUL-terminated once done */
	size_t len, cap;
	int ascii; /* 1: every non-ASCII character as \uXXXX (jansson's JSON_ENSURE_ASCII) */
	int give_up;
};
void rec_jd_put(struct rec_jdump *d, const char *s, size_t n);
/* A string (n bytes of valid UTF-8) as jansson escapes it. */
void rec_jd_string(struct rec_jdump *d, const char *s, size_t n);
/* A real as rec_real_format writes it. */
void rec_jd_real(struct rec_jdump *d, double v);

/*
 * A parsed JSON object in two flat arrays, for readers that would otherwise build
 * jansson values per record: node 0 is the root object; an object's or array's children
 * are linked through `first` / `next`; strings (and keys) are decoded, NUL-terminated, in
 * `s`. Offsets, not pointers: the arrays grow.
 */
#define REC_JL_NONE UINT32_MAX
#define REC_JL_MAX_DEPTH 64
enum rec_jl_type {
	REC_JL_NULL, REC_JL_TRUE, REC_JL_FALSE, REC_JL_INT, REC_JL_REAL, REC_JL_STR,
	REC_JL_ARR, REC_JL_OBJ
};
struct rec_jl_node {
	unsigned char type;
	uint32_t key, key_len; /* as an object member */
	uint32_t str, str_len; /* REC_JL_STR */
	uint32_t first, next, count;
	long long i;
	double d;
};
struct rec_jl {
	struct rec_jl_node *v;
	size_t n, cap;
	char *s;
	size_t slen, scap;
};

/*
 * Parses an object the way jansson would (json_loadb with no flags) into jl (zeroed the
 * first time, reusable). Returns 0, or -1 when the text is not JSON or holds what this
 * reader leaves to jansson (duplicate keys, \u0000, surrogates, depth over 64) or memory
 * ran out. Free with rec_jl_fini.
 */
int rec_jl_parse(struct rec_jl *jl, const char *text, size_t len);
void rec_jl_fini(struct rec_jl *jl);
/* The member `key` of an object node, or NULL (borrowed from jl). */
const struct rec_jl_node *rec_jl_get(const struct rec_jl *jl,
    const struct rec_jl_node *obj, const char *key);
/* A string node's text, or NULL for any other node (or NULL). */
const char *rec_jl_str(const struct rec_jl *jl, const struct rec_jl_node *n);
/* Appends n's canonical dump (as rec_json_dump would write the same value). */
void rec_jl_dump(const struct rec_jl *jl, const struct rec_jl_node *n,
    struct rec_jdump *d);

/*
 * Recognizes the canonical form without building it: 0 when `text` is exactly
 * rec_json_dump's output (plain form) for an object with string fields id, threat_id,
 * node, observed_at and an object "target" with a string "input", all non-empty and
 * free of escapes, and whose "x-ict-isac.jp" member, if it has one, is an object and
 * its last member. Fills rt (json = text) and *isac_at: the offset of the ',' that
 * starts the "x-ict-isac.jp" member, 0 when there is none. Returns -1 otherwise, which
 * is not an error: the text may still be a valid record in another form.
 */
int rec_canon(const char *text, size_t len, struct rec_text *rt, size_t *isac_at);

#endif
