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

#endif
