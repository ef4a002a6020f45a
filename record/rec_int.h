/* record internals shared by its files. Not part of the public API. */
#ifndef C2W_REC_INT_H
#define C2W_REC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "record/record.h"

/* rec_id over counted (not NUL-terminated) node and key bytes. Returns as rec_id. */
int rec_id_n(const char *node, size_t node_len, const char *key, size_t key_len,
    int64_t observed_us, unsigned char id[REC_ID_LEN]);

/*
 * The JSON escape of one byte below 0x20, or of '"' or '\\', into esc: its length (2 or
 * 6). `hex` gives the digits of \u00XX: lower case for RFC 8785, upper for the dump,
 * which writes what jansson writes.
 */
static inline size_t
rec_json_escape(unsigned char c, const char *hex, char esc[6])
{
	esc[0] = '\\';
	switch (c) {
	case '"': esc[1] = '"'; return 2;
	case '\\': esc[1] = '\\'; return 2;
	case '\b': esc[1] = 'b'; return 2;
	case '\f': esc[1] = 'f'; return 2;
	case '\n': esc[1] = 'n'; return 2;
	case '\r': esc[1] = 'r'; return 2;
	case '\t': esc[1] = 't'; return 2;
	default:
		esc[1] = 'u';
		esc[2] = esc[3] = '0';
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		return 6;
	}
}

#endif
