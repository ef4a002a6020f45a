/* Wiring shared by several commands (and later the daemon): moving targets and records
 * between the modules' forms. Internal to node/. */
#ifndef C2W_NODE_H
#define C2W_NODE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/util.h"

struct store;

struct node_put_stats {
	size_t added, updated, same;
};

/*
 * Stores a JSON array of checked target objects (conf_targets_read's output) in one
 * transaction: all or nothing. Returns 0, or -1 after printing why.
 */
int node_put_targets(struct store *s, json_t *targets, struct node_put_stats *st);

struct node_merge_stats {
	size_t added, same, rejected;
	size_t targets_added, targets_updated, targets_same;
};

/*
 * A set of checked records and targets to store at once. Add to it (each add checks its
 * item and returns -1 with why filled when it is refused), then commit: one transaction
 * that also saves a peer's cursor when `peer` is given, so a poll's cursor moves only
 * with the records it covers.
 */
struct node_text_rec;
struct node_merge {
	json_t *records, *targets;
	struct node_merge_stats stats; /* filled by node_merge_commit */
	/* Records added as checked text (node_merge_add_text): texts and keys in `text`. */
	struct util_buf text;
	struct node_text_rec *text_recs;
	size_t n_text, cap_text;
	/* Where node_content_merge reads a record before adding it (kept between calls). */
	struct util_buf scratch;
};

struct node_merge *node_merge_new(void);
void node_merge_free(struct node_merge *m);
int node_merge_add_record(struct node_merge *m, json_t *rec, char *why, size_t whylen);
int node_merge_add_target(struct node_merge *m, json_t *target, char *why, size_t whylen);
int node_merge_commit(struct node_merge *m, struct store *s, const char *peer, int64_t cursor,
    char *err, size_t errlen);

/*
 * A record already in canonical JSON text (what stix_observation_text gives), with its
 * fields located. Checked like node_merge_add_record (rec_check_text) and copied; stored
 * as this text. Returns 0, or -1 with why filled.
 */
struct rec_text;
int node_merge_add_text(struct node_merge *m, const struct rec_text *r, char *why,
    size_t whylen);

/* Records and targets waiting in m. */
size_t node_merge_pending(const struct node_merge *m);

/*
 * Checks and stores a JSON array of observation records in one transaction: a record is
 * refused (counted, with the first reason in `why`) when a required field is missing or
 * its id is not the SHA-256 of its node, target input and observation time; the others
 * are stored unless already present. Returns 0, or -1 after printing why nothing was
 * stored.
 */
int node_put_records(struct store *s, json_t *records, struct node_merge_stats *st,
    char *why, size_t whylen);

/*
 * The record fields the store indexes, checked: threat ID, target key (target.input),
 * observation time, id. Returns 0, or -1 with why filled.
 */
int node_record_keys(json_t *rec, const char **threat, const char **key, int64_t *when,
    unsigned char id[32], char *why, size_t whylen);

struct taxii_content_block;

/*
 * Adds what content blocks hold to m: c2watch observation records, and the network
 * indicators of any producer as targets (threat_override, when not NULL, names their
 * threat). Returns 0, or -1 with err saying which block or item was refused.
 */
int node_content_merge(struct node_merge *m, const struct taxii_content_block *blocks,
    size_t n, const char *threat_override, char *err, size_t errlen);

/* The TAXII server of `run`, serving the store (node_taxii.c). */
struct conf;
struct node_taxii;
struct node_taxii *node_taxii_start(const struct conf *c, struct store *s, char *err,
    size_t errlen);
unsigned node_taxii_port(const struct node_taxii *nt, size_t i);
void node_taxii_stop(struct node_taxii *nt);

struct conf_peer;
struct node_poll_stats {
	size_t blocks, added, same, targets_added, targets_updated;
	int64_t begin, end; /* the window polled: cursor before and after */
};

/*
 * Polls a peer once from its cursor (kept under cursor_name) and merges what it sends;
 * the cursor moves in the same transaction as the last records. `cancel` (may be NULL)
 * turning non-zero abandons the poll within about a second, as a failure. Returns 0, or
 * -1 with err (nothing after the failure stored, cursor unchanged).
 */
int node_peer_poll(struct store *s, const struct conf_peer *peer, const char *cursor_name,
    const volatile sig_atomic_t *cancel, struct node_poll_stats *st, char *err,
    size_t errlen);

/* The first line of a password file, without its line end, into buf. 0 or -1 (err). */
int node_read_secret(const char *path, char *buf, size_t len, char *err, size_t errlen);

/*
 * The TAXII client settings for `peer` at `url` (its poll URL, or the inbox derived from
 * it): credentials, certificates and CA file, with the password and the client key's
 * passphrase read from their files into the caller's buffers, which the caller wipes
 * after use. 0 or -1 (err names the file).
 */
struct taxii_client_conf;
struct node_peer_secrets {
	char password[1024];
	char key_password[1024];
};
int node_peer_client(const struct conf_peer *peer, const char *url,
    struct taxii_client_conf *cc, struct node_peer_secrets *sec, char *err, size_t errlen);

#endif
