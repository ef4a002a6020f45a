/* record internals shared by its files. Not part of the public API. */
#ifndef C2W_REC_INT_H
#define C2W_REC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "record/record.h"

/* rec_id over counted (not NUL-terminated) node and key bytes. Returns as rec_id. */
int rec_id_n(const char *node, size_t node_len, const char *key, size_t key_len,
    int64_t observed_us, unsigned char id[REC_ID_LEN]);

#endif
