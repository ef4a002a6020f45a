/* Wiring shared by several commands (and later the daemon): moving targets and records
 * between the modules' forms. Internal to node/. */
#ifndef C2W_NODE_H
#define C2W_NODE_H

#include <stddef.h>

#include <jansson.h>

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
};

/*
 * Checks and stores a JSON array of observation records (from a peer, an inbox or a file)
 * in one transaction: a record is rejected (counted, with the first reason in `why`) when
 * a required field is missing or its id is not the SHA-256 of its node, target input and
 * observation time; the others are stored unless already present. Returns 0, or -1 after
 * printing why nothing was stored.
 */
int node_put_records(struct store *s, json_t *records, struct node_merge_stats *st,
    char *why, size_t whylen);

/*
 * The record fields the store indexes, checked: threat ID, target key (target.input),
 * observation time, id. Returns 0, or -1 with why filled.
 */
int node_record_keys(json_t *rec, const char **threat, const char **key, int64_t *when,
    unsigned char id[32], char *why, size_t whylen);

#endif
