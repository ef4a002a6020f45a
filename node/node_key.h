/* The node's signing key: [node] key_file made on first use (mode 0600, PEM), rotated
 * with the old public keys kept in KEY_FILE.pub.old, shared by the daemon's threads, and
 * this node's keys in the trust set. Internal to node/. */
#ifndef C2W_NODE_KEY_H
#define C2W_NODE_KEY_H

#include <stddef.h>

struct conf;
struct rec_key;
struct rec_trust;

/* The key of key_file, made when the file does not exist (*created then 1; created may be
 * NULL). A key file group or others may read or write is refused. NULL with err. */
struct rec_key *node_key_load(const struct conf *c, int *created, char *err,
    size_t errlen);

/* A new key replaces key_file; the old public key is appended to KEY_FILE.pub.old
 * first. The old and new public keys are copied out. 0, or -1 with err (key_file must
 * exist and be readable). */
int node_key_rotate(const struct conf *c, char *old_pub, size_t old_len, char *new_pub,
    size_t new_len, char *err, size_t errlen);

/* The old public keys (KEY_FILE.pub.old, absent: none) added to t for this node; their
 * count in *n. 0, or -1 with err naming FILE:LINE. */
int node_key_old(const struct conf *c, struct rec_trust *t, size_t *n, char *err,
    size_t errlen);

/* The process's key (node_key_load once, the same for every thread after), or NULL with
 * err. */
const struct rec_key *node_key(const struct conf *c, char *err, size_t errlen);

/* This node's current and old public keys added to c->trust.set, so its own records
 * that come back from peers must verify. 0, or -1 with err. */
int node_trust_self(struct conf *c, char *err, size_t errlen);

/* Signs the records this node made before records were signed: each record of the feed
 * (after where the last upgrade stopped) whose node is this node's and that has no sig
 * is rewritten in place, same id and label, with sig and key added. Records of other
 * nodes stay as they are. The count in *signed_n. 0, or -1 with err. */
struct store;
int node_sign_upgrade(const struct conf *c, struct store *s, const struct rec_key *k,
    size_t *signed_n, char *err, size_t errlen);

/* What a command that stores records does first: node_trust_self, then
 * node_sign_upgrade (its count in *signed_n). 0, or -1 with err. */
int node_key_start(struct conf *c, struct store *s, size_t *signed_n, char *err,
    size_t errlen);

#endif
