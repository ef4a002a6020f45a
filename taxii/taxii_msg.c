/*
 * TAXII 1.1 / 1.0 messages: what the parser (taxii_msg_parse.c) and the builders
 * (taxii_msg_write.c) share: error codes, the names of message types, statuses and
 * services in each version, and the HTTP binding's headers.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taxii/taxii.h"
#include "taxii/taxii_int.h"
#include "util/util.h"

/* ---------------------------------------------------------------------------------------
 * Errors
 */

const char *
taxii_strerror(int code)
{
	switch (code) {
	case TAXII_OK: return "success";
	case TAXII_ENOMEM: return "out of memory";
	case TAXII_EXML: return "not well-formed XML";
	case TAXII_EHOSTILE: return "refused XML construct";
	case TAXII_ETOOBIG: return "too large";
	case TAXII_EMSG: return "not a valid TAXII message";
	case TAXII_EUNSUPPORTED: return "unsupported TAXII message";
	case TAXII_EVERSION: return "wrong TAXII version";
	case TAXII_EINVAL: return "invalid argument";
	case TAXII_ENET: return "network error";
	case TAXII_ESTATUS: return "peer answered with a status message";
	default: return "unknown error";
	}
}

int
taxii_seterr(struct taxii_err *err, int code, int line, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	err->line = line;
	va_start(ap, fmt);
	util_vseterr(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* ---------------------------------------------------------------------------------------
 * Names
 */

struct type_name {
	enum taxii_msg_type type;
	const char *v11, *v10;
};

static const struct type_name type_names[] = {
	{ TAXII_MSG_STATUS, "Status_Message", "Status_Message" },
	{ TAXII_MSG_DISCOVERY_REQ, "Discovery_Request", "Discovery_Request" },
	{ TAXII_MSG_DISCOVERY_RESP, "Discovery_Response", "Discovery_Response" },
	{ TAXII_MSG_COLLECTION_INFO_REQ, "Collection_Information_Request",
	    "Feed_Information_Request" },
	{ TAXII_MSG_COLLECTION_INFO_RESP, "Collection_Information_Response",
	    "Feed_Information_Response" },
	{ TAXII_MSG_SUBSCRIPTION_REQ, "Subscription_Management_Request",
	    "Subscription_Management_Request" },
	{ TAXII_MSG_SUBSCRIPTION_RESP, "Subscription_Management_Response",
	    "Subscription_Management_Response" },
	{ TAXII_MSG_POLL_REQ, "Poll_Request", "Poll_Request" },
	{ TAXII_MSG_POLL_RESP, "Poll_Response", "Poll_Response" },
	{ TAXII_MSG_POLL_FULFILLMENT, "Poll_Fulfillment", NULL },
	{ TAXII_MSG_INBOX, "Inbox_Message", "Inbox_Message" },
};

const char *
taxii_msg_type_name(enum taxii_msg_type type, enum taxii_version ver)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return ver == TAXII_V10 ? type_names[i].v10 : type_names[i].v11;
	return NULL;
}

enum taxii_msg_type
taxii_msg_type_of(const char *name, enum taxii_version ver)
{
	enum taxii_msg_type t = TAXII_MSG_NONE;

	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		const char *n = ver == TAXII_V10 ? type_names[i].v10 : type_names[i].v11;

		if (n != NULL && strcmp(name, n) == 0)
			t = type_names[i].type;
	}
	return t;
}

static const char *const status_names[] = {
	[TAXII_ST_CUSTOM] = NULL,
	[TAXII_ST_ASYNCHRONOUS_POLL_ERROR] = "ASYNCHRONOUS_POLL_ERROR",
	[TAXII_ST_BAD_MESSAGE] = "BAD_MESSAGE",
	[TAXII_ST_DENIED] = "DENIED",
	[TAXII_ST_DESTINATION_COLLECTION_ERROR] = "DESTINATION_COLLECTION_ERROR",
	[TAXII_ST_FAILURE] = "FAILURE",
	[TAXII_ST_INVALID_RESPONSE_PART] = "INVALID_RESPONSE_PART",
	[TAXII_ST_NETWORK_ERROR] = "NETWORK_ERROR",
	[TAXII_ST_NOT_FOUND] = "NOT_FOUND",
	[TAXII_ST_PENDING] = "PENDING",
	[TAXII_ST_POLLING_UNSUPPORTED] = "POLLING_UNSUPPORTED",
	[TAXII_ST_RETRY] = "RETRY",
	[TAXII_ST_SUCCESS] = "SUCCESS",
	[TAXII_ST_UNAUTHORIZED] = "UNAUTHORIZED",
	[TAXII_ST_UNSUPPORTED_MESSAGE] = "UNSUPPORTED_MESSAGE",
	[TAXII_ST_UNSUPPORTED_CONTENT] = "UNSUPPORTED_CONTENT",
	[TAXII_ST_UNSUPPORTED_PROTOCOL] = "UNSUPPORTED_PROTOCOL",
	[TAXII_ST_UNSUPPORTED_QUERY] = "UNSUPPORTED_QUERY",
};
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *
taxii_status_name(enum taxii_status st)
{
	if ((size_t)st >= N_STATUS)
		return NULL;
	return status_names[st];
}

int
taxii_status_in_version(enum taxii_status st, enum taxii_version ver)
{
	if ((size_t)st >= N_STATUS || st == TAXII_ST_CUSTOM)
		return 0;
	if (ver != TAXII_V10)
		return 1;
	switch (st) {
	case TAXII_ST_BAD_MESSAGE: case TAXII_ST_DENIED: case TAXII_ST_FAILURE:
	case TAXII_ST_NOT_FOUND: case TAXII_ST_POLLING_UNSUPPORTED: case TAXII_ST_RETRY:
	case TAXII_ST_SUCCESS: case TAXII_ST_UNAUTHORIZED: case TAXII_ST_UNSUPPORTED_MESSAGE:
	case TAXII_ST_UNSUPPORTED_CONTENT: case TAXII_ST_UNSUPPORTED_PROTOCOL:
		return 1;
	default:
		return 0;
	}
}

enum taxii_status
taxii_status_from_name(const char *s)
{
	for (size_t i = 1; i < N_STATUS; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum taxii_status)i;
	return TAXII_ST_CUSTOM;
}

const char *
taxii_service_name(enum taxii_service_type t, enum taxii_version ver)
{
	switch (t) {
	case TAXII_SVC_DISCOVERY: return "DISCOVERY";
	case TAXII_SVC_COLLECTION_MANAGEMENT:
		return ver == TAXII_V10 ? "FEED_MANAGEMENT" : "COLLECTION_MANAGEMENT";
	case TAXII_SVC_INBOX: return "INBOX";
	case TAXII_SVC_POLL: return "POLL";
	}
	return NULL;
}

const char *const taxii_action_names[TAXII_SUB_STATUS + 1] = {
	[TAXII_SUB_SUBSCRIBE] = "SUBSCRIBE", [TAXII_SUB_UNSUBSCRIBE] = "UNSUBSCRIBE",
	[TAXII_SUB_PAUSE] = "PAUSE", [TAXII_SUB_RESUME] = "RESUME", [TAXII_SUB_STATUS] = "STATUS",
};

const char *const taxii_substatus_names[TAXII_SUBST_UNSUBSCRIBED + 1] = {
	[TAXII_SUBST_ACTIVE] = "ACTIVE", [TAXII_SUBST_PAUSED] = "PAUSED",
	[TAXII_SUBST_UNSUBSCRIBED] = "UNSUBSCRIBED",
};

int
taxii_is_response(enum taxii_msg_type t)
{
	return t == TAXII_MSG_STATUS || t == TAXII_MSG_DISCOVERY_RESP ||
	    t == TAXII_MSG_COLLECTION_INFO_RESP || t == TAXII_MSG_SUBSCRIPTION_RESP ||
	    t == TAXII_MSG_POLL_RESP;
}

int
taxii_digits_only(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* ---------------------------------------------------------------------------------------
 * HTTP binding
 */

const char *
taxii_http_content_type(enum taxii_version ver)
{
	return ver == TAXII_V10 ? TAXII_MSG_BINDING_10 : TAXII_MSG_BINDING_11;
}

const char *
taxii_http_services(enum taxii_version ver)
{
	return ver == TAXII_V10 ? TAXII_SERVICES_10 : TAXII_SERVICES_11;
}

const char *
taxii_http_protocol(int https)
{
	return https ? TAXII_PROTOCOL_HTTPS : TAXII_PROTOCOL_HTTP;
}

/* Whether the comma-separated header value `h` lists `want` (surrounding blanks ignored). */
static int
hdr_lists(const char *h, const char *want)
{
	size_t wl = strlen(want);

	while (h != NULL && *h != '\0') {
		const char *end;
		size_t n;

		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		end = strchr(h, ',');
		n = end ? (size_t)(end - h) : strlen(h);
		while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
			n--;
		if (n == wl && strncmp(h, want, n) == 0)
			return 1;
		h = end;
	}
	return 0;
}

enum taxii_version
taxii_http_version(const char *x_content_type, const char *x_services)
{
	if (x_content_type != NULL) {
		if (hdr_lists(x_content_type, TAXII_MSG_BINDING_11))
			return TAXII_V11;
		if (hdr_lists(x_content_type, TAXII_MSG_BINDING_10))
			return TAXII_V10;
		return TAXII_VANY;
	}
	if (x_services != NULL) {
		if (hdr_lists(x_services, TAXII_SERVICES_11))
			return TAXII_V11;
		if (hdr_lists(x_services, TAXII_SERVICES_10))
			return TAXII_V10;
	}
	return TAXII_VANY;
}

enum taxii_version
taxii_http_accept(const char *x_accept, enum taxii_version req)
{
	if (x_accept == NULL)
		return req;
	if (req != TAXII_VANY && hdr_lists(x_accept, taxii_http_content_type(req)))
		return req;
	if (hdr_lists(x_accept, TAXII_MSG_BINDING_11))
		return TAXII_V11;
	if (hdr_lists(x_accept, TAXII_MSG_BINDING_10))
		return TAXII_V10;
	return req;
}
