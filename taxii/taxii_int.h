/*
 * taxii internals shared by the message parser, the builders, the server and the client.
 * Not part of the public API.
 */
#ifndef C2W_TAXII_INT_H
#define C2W_TAXII_INT_H

#include "taxii/taxii.h"

/* Fills err (which may be NULL) with code, line (0: none) and the message; returns code,
 * so a failing path can `return taxii_seterr(...)`. */
int taxii_seterr(struct taxii_err *err, int code, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The message type whose root element is named `name` in version ver, or
 * TAXII_MSG_NONE. */
enum taxii_msg_type taxii_msg_type_of(const char *name, enum taxii_version ver);

/* The status named s in a Status_Message, or TAXII_ST_CUSTOM for any other name. */
enum taxii_status taxii_status_from_name(const char *s);

/* A service type's name in version ver, or NULL. */
const char *taxii_service_name(enum taxii_service_type t, enum taxii_version ver);

/* Subscription actions and statuses by their names, indexed by the enums. */
extern const char *const taxii_action_names[TAXII_SUB_STATUS + 1];
extern const char *const taxii_substatus_names[TAXII_SUBST_UNSUBSCRIBED + 1];

/* 1 when messages of type t answer a request (and carry in_response_to). */
int taxii_is_response(enum taxii_msg_type t);

/* 1 when s is a non-empty string of decimal digits (a TAXII 1.0 message id). */
int taxii_digits_only(const char *s);

/*
 * A message read as its bytes arrive (libxml2's push parser). A TAXII Poll_Response of
 * version `want` (TAXII_VANY: either) is read as it comes: each Content_Block goes to cb
 * as soon as its end tag is parsed (what comes before the first block is checked first),
 * then is freed, so what is held is about one block, however long the message. Any other
 * message (a Status_Message, another version, TAXII_PARSE_NODES in flags, or cb NULL) is
 * kept whole and parsed by taxii_msg_parse_opts at the end. Input over max_bytes (0 or
 * more than TAXII_MSG_MAX_BYTES: TAXII_MSG_MAX_BYTES) is refused with TAXII_ETOOBIG.
 * on_root (may be NULL) is told, as soon as a 1.1 Poll_Response's start tag is read,
 * whether it says more parts follow, its result id ("" when none) and part number (0
 * when none); the message is checked later, as a whole one is.
 */
struct taxii_push;
typedef void (*taxii_push_root_cb)(void *arg, int more, const char *result_id,
    uint64_t part);
struct taxii_push_stats {
	size_t blocks;          /* handed to cb */
	int has_last_label;     /* the last one's Timestamp_Label */
	int64_t last_label_us;
	size_t kept_max;        /* most input bytes held at once (after a feed) */
};

/* A new reader, or NULL when memory ran out. */
struct taxii_push *taxii_push_new(unsigned flags, enum taxii_version want, size_t max_bytes,
    taxii_block_cb cb, void *arg, taxii_push_root_cb on_root, void *root_arg);
/* Before the first byte: read the message whole whatever it is. */
void taxii_push_whole(struct taxii_push *tp);
/* The next bytes. 0, or a negative taxii_code (err filled) that every later call repeats:
 * the input is refused (as taxii_msg_parse_opts would refuse it) or cb returned non-zero
 * (TAXII_EINVAL, "poll aborted by the caller at block N"). */
int taxii_push_feed(struct taxii_push *tp, const char *data, size_t len, struct taxii_err *err);
/* The end of the input. 0 with *out the message (a streamed Poll_Response without its
 * blocks, which cb had; taxii_msg_free it), or a negative taxii_code with *out NULL. */
int taxii_push_end(struct taxii_push *tp, struct taxii_msg **out, struct taxii_err *err);
/* What cb was given. The pointer lives as long as tp. */
const struct taxii_push_stats *taxii_push_stats(const struct taxii_push *tp);
void taxii_push_free(struct taxii_push *tp);

#endif
