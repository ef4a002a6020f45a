/*
 * fed internals: prepared packages (fed_prep.c), shared by the TAXII backend (fed_server.c)
 * that serves and keeps them. Not part of fed's public API.
 */
#ifndef C2W_FED_INT_H
#define C2W_FED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct store;

/* Opens every prepared package kept in the store: the writer's version. Change it with
 * any change to the bytes stix_observation_write_text gives for a record. */
#define FED_PREP_TAG "c2watch-stix-1.2/1\n"
#define FED_PREP_MAX_ITEMS 4096 /* packages one batch holds */

/* The package inside kept bytes (*content_len its length), or NULL when prep is NULL or
 * was written under another tag. */
const char *fed_prep_content(const char *prep, size_t len, size_t *content_len);

/* Packages waiting to be kept, in one buffer. */
struct fed_prep_item {
	int64_t label;
	size_t off, len;
};

struct fed_prep_batch {
	struct util_buf bytes;
	struct fed_prep_item *items;
	size_t n, cap;
};

void fed_prep_init(struct fed_prep_batch *b);
void fed_prep_fini(struct fed_prep_batch *b);
/* Adds the package of the record of `label`. Returns 0, 1 when the batch is full (the
 * package is not added), or -1 when memory ran out. */
int fed_prep_add(struct fed_prep_batch *b, int64_t label, const char *xml, size_t len);
/* Moves every package of src to the end of dst (src is emptied). Returns 0, 1 when dst
 * is full first (what did not fit stays in src), or -1 when memory ran out. */
int fed_prep_move(struct fed_prep_batch *dst, struct fed_prep_batch *src);
/* Keeps the batch's packages in one transaction and empties it. 0, or -1 with err. */
int fed_prep_commit(struct fed_prep_batch *b, struct store *s, char *err, size_t errlen);

#endif
