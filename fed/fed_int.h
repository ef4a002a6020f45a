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

/*
 * Kept bytes: a tag naming the writer's version and the compression dictionary, the
 * package's length (4 bytes, big-endian), then the package compressed with LZ4 against a
 * dictionary of sample packages. A package is mostly the layout every package shares, so
 * it is kept in about 800 bytes instead of 4.7 KB, small enough for LMDB to hold inside
 * its pages instead of in pages of its own. Bytes under another tag are treated as
 * absent (written again at the next poll). Change FED_PREP_VERSION with any change to the
 * bytes stix_observation_write_text gives for a record; a change that reaches the sample
 * packages changes the tag by itself.
 */
#define FED_PREP_VERSION "c2watch-stix-1.2/2"
#define FED_PREP_MAX_ITEMS 4096 /* packages one batch holds */

/* 1 when prep holds a package kept under this writer's tag, else 0. */
int fed_prep_current(const char *prep, size_t len);

/* Decompresses the package kept in prep into out (emptied first). 0, or -1 when prep is
 * NULL, was written under another tag, is damaged or does not fit out's cap. */
int fed_prep_open(const char *prep, size_t len, struct util_buf *out);

/* Packages waiting to be kept, in one buffer. */
struct fed_prep_item {
	int64_t label;
	size_t off, len;
};

struct fed_prep_batch {
	struct util_buf bytes;
	struct fed_prep_item *items;
	size_t n, cap;
	void *lz;      /* the compressor's state, made at the first package */
	char *z;       /* one package compressed */
	size_t zcap;
};

void fed_prep_init(struct fed_prep_batch *b);
void fed_prep_fini(struct fed_prep_batch *b);
/* Adds the package of the record of `label`, compressed. Returns 0, 1 when the batch is
 * full (the package is not added), or -1 when memory ran out. */
int fed_prep_add(struct fed_prep_batch *b, int64_t label, const char *xml, size_t len);
/* Moves every package of src to the end of dst (src is emptied). Returns 0, 1 when dst
 * is full first (what did not fit stays in src), or -1 when memory ran out. */
int fed_prep_move(struct fed_prep_batch *dst, struct fed_prep_batch *src);
/* Keeps the batch's packages in one transaction and empties it. 0, or -1 with err. */
int fed_prep_commit(struct fed_prep_batch *b, struct store *s, char *err, size_t errlen);

#endif
