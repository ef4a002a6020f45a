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

#endif
