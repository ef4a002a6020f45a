/* Wiring shared by several commands and the daemon: targets into the store, and fed's and
 * the observer's messages into the node's log. Internal to node/. */
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
 * transaction: all or nothing. Returns 0, or -1 with err saying why.
 */
int node_put_targets(struct store *s, json_t *targets, struct node_put_stats *st,
    char *err, size_t errlen);

/* A log callback for fed and the observer (arg unused): the message goes to node_log at
 * its level (their levels are the config's, as node_log's are). */
void node_log_cb(void *arg, int level, const char *msg);

#endif
