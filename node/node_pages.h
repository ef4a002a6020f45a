/*
 * The pages `run` serves beside TAXII (GET and HEAD outside /taxii/): one dispatcher that
 * applies the dashboard's own authorization (with users_file, only a user who may poll
 * `observations`; the server already checked the certificate and the password) and hands
 * each path to the module that answers it: the dashboard (dash/) and GET /metrics (the
 * daemon's counters, node_stats.h). Internal to node/.
 */
#ifndef C2W_NODE_PAGES_H
#define C2W_NODE_PAGES_H

#include <stddef.h>

struct conf;
struct store;
struct node_stats;
struct taxii_http;
struct node_pages;

/* The pages of c over s with the daemon's counters stats (all outlive them; stats NULL:
 * no /metrics). NULL with err filled on a bad sinkhole list or users file, or out of
 * memory. */
struct node_pages *node_pages_new(const struct conf *c, struct store *s,
    struct node_stats *stats, char *err, size_t errlen);
void node_pages_free(struct node_pages *np);
/* The server's page hook for np. */
void node_pages_hook(struct node_pages *np, struct taxii_http *out);

#endif
