/*
 * taxii: TAXII 1.1 and 1.0 messages (XML Message Binding) and their HTTP binding, the
 * TAXII server that serves a node's collections, and the client that polls a peer's.
 * The message layer turns request and response bodies into a plain struct and back: the
 * parser is hardened against hostile input (no network, no DTD, no entities, size and
 * depth caps) and keeps each content block as the raw XML of its Content child (or, on
 * request, as the parsed tree) so the STIX layer can read it; the builders write messages that validate against the
 * official binding schemas. The server reaches storage only through the function pointers
 * of `struct taxii_backend`; this module never includes the store, never logs and never
 * exits. The client also speaks discovery and collection information, counts, follows
 * the parts of a poll while merging, and falls back to TAXII 1.0 for peers that need it.
 */
#ifndef C2W_TAXII_H
#define C2W_TAXII_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct util_buf;

/* ---------------------------------------------------------------------------------------
 * Identifiers of the TAXII specifications.
 */
#define TAXII_NS_11 "http://taxii.mitre.org/messages/taxii_xml_binding-1.1"
#define TAXII_NS_10 "http://taxii.mitre.org/messages/taxii_xml_binding-1"

#define TAXII_MSG_BINDING_11 "urn:taxii.mitre.org:message:xml:1.1"
#define TAXII_MSG_BINDING_10 "urn:taxii.mitre.org:message:xml:1.0"
#define TAXII_SERVICES_11 "urn:taxii.mitre.org:services:1.1"
#define TAXII_SERVICES_10 "urn:taxii.mitre.org:services:1.0"
#define TAXII_PROTOCOL_HTTP "urn:taxii.mitre.org:protocol:http:1.0"
#define TAXII_PROTOCOL_HTTPS "urn:taxii.mitre.org:protocol:https:1.0"

#define TAXII_CB_STIX_12 "urn:stix.mitre.org:xml:1.2"
#define TAXII_CB_STIX_111 "urn:stix.mitre.org:xml:1.1.1"

/* HTTP Content-Type of every TAXII XML body. */
#define TAXII_HTTP_CONTENT_TYPE "application/xml"

/* Status Detail names (TAXII 1.1 Services Specification, status types table). */
#define TAXII_SD_ACCEPTABLE_DESTINATION "ACCEPTABLE_DESTINATION"
#define TAXII_SD_MAX_PART_NUMBER "MAX_PART_NUMBER"
#define TAXII_SD_ITEM "ITEM"
#define TAXII_SD_ESTIMATED_WAIT "ESTIMATED_WAIT"
#define TAXII_SD_RESULT_ID "RESULT_ID"
#define TAXII_SD_WILL_PUSH "WILL_PUSH"
#define TAXII_SD_SUPPORTED_BINDING "SUPPORTED_BINDING"
#define TAXII_SD_SUPPORTED_CONTENT "SUPPORTED_CONTENT"
#define TAXII_SD_SUPPORTED_PROTOCOL "SUPPORTED_PROTOCOL"
#define TAXII_SD_SUPPORTED_QUERY "SUPPORTED_QUERY"

/* Largest message body taxii_msg_parse accepts, and the deepest element nesting. */
#define TAXII_MSG_MAX_BYTES (64u * 1024u * 1024u)
#define TAXII_MSG_MAX_DEPTH 100

/* Longest message id taxii_msg_id_new writes, with its NUL. */
#define TAXII_ID_MAX 32

/* ---------------------------------------------------------------------------------------
 * Errors.
 */
enum taxii_code {
	TAXII_OK = 0,
	TAXII_ENOMEM = -1,      /* allocation failed */
	TAXII_EXML = -2,        /* not well-formed XML */
	TAXII_EHOSTILE = -3,    /* DOCTYPE, entities, too deep: refused on sight */
	TAXII_ETOOBIG = -4,     /* input or output over its cap */
	TAXII_EMSG = -5,        /* well-formed, but not a valid TAXII message */
	TAXII_EUNSUPPORTED = -6, /* a TAXII message this module does not handle */
	TAXII_EVERSION = -7,    /* the message speaks another TAXII version than asked */
	TAXII_EINVAL = -8,      /* bad argument (a builder given an incomplete message) */
	TAXII_ENET = -9,        /* could not bind, connect, or an HTTP error */
	TAXII_ESTATUS = -10,    /* client: the peer answered with a Status Message */
};

/* What failed and where; `line` is the line in the input (0 when not applicable). */
struct taxii_err {
	int code;
	int line;
	char msg[256];
};

/* A static description of a taxii_code. */
const char *taxii_strerror(int code);

/* ---------------------------------------------------------------------------------------
 * The message model. All pointers are const: a parsed message owns its strings and arrays
 * (they live until taxii_msg_free); a message built by a caller for a builder points at
 * the caller's storage.
 */
enum taxii_version {
	TAXII_VANY = 0, /* parser: take the version from the root's namespace */
	TAXII_V10 = 10,
	TAXII_V11 = 11,
};

enum taxii_msg_type {
	TAXII_MSG_NONE = 0,
	TAXII_MSG_STATUS,
	TAXII_MSG_DISCOVERY_REQ,
	TAXII_MSG_DISCOVERY_RESP,
	TAXII_MSG_COLLECTION_INFO_REQ, /* 1.0: Feed_Information_Request */
	TAXII_MSG_COLLECTION_INFO_RESP, /* 1.0: Feed_Information_Response */
	TAXII_MSG_SUBSCRIPTION_REQ,    /* Subscription_Management_Request (1.0 and 1.1) */
	TAXII_MSG_SUBSCRIPTION_RESP,
	TAXII_MSG_POLL_REQ,
	TAXII_MSG_POLL_RESP,
	TAXII_MSG_POLL_FULFILLMENT, /* 1.1 only */
	TAXII_MSG_INBOX,
};

/* The element name of a message type in `ver`, or NULL when that version has none. */
const char *taxii_msg_type_name(enum taxii_msg_type type, enum taxii_version ver);

enum taxii_status {
	TAXII_ST_CUSTOM = 0, /* a status_type not in the specification: see status_type */
	TAXII_ST_ASYNCHRONOUS_POLL_ERROR,
	TAXII_ST_BAD_MESSAGE,
	TAXII_ST_DENIED,
	TAXII_ST_DESTINATION_COLLECTION_ERROR,
	TAXII_ST_FAILURE,
	TAXII_ST_INVALID_RESPONSE_PART,
	TAXII_ST_NETWORK_ERROR,
	TAXII_ST_NOT_FOUND,
	TAXII_ST_PENDING,
	TAXII_ST_POLLING_UNSUPPORTED,
	TAXII_ST_RETRY,
	TAXII_ST_SUCCESS,
	TAXII_ST_UNAUTHORIZED,
	TAXII_ST_UNSUPPORTED_MESSAGE,
	TAXII_ST_UNSUPPORTED_CONTENT,
	TAXII_ST_UNSUPPORTED_PROTOCOL,
	TAXII_ST_UNSUPPORTED_QUERY,
};

/* The status_type text of a status ("BAD_MESSAGE"), or NULL for TAXII_ST_CUSTOM. */
const char *taxii_status_name(enum taxii_status st);

/* Whether `ver` defines the status type (1.0 has fewer; builders refuse the others). */
int taxii_status_in_version(enum taxii_status st, enum taxii_version ver);

enum taxii_service_type {
	TAXII_SVC_DISCOVERY = 1,
	TAXII_SVC_COLLECTION_MANAGEMENT, /* 1.0: FEED_MANAGEMENT */
	TAXII_SVC_INBOX,
	TAXII_SVC_POLL,
};

enum taxii_response_type {
	TAXII_RESP_FULL = 0,
	TAXII_RESP_COUNT_ONLY,
};

enum taxii_coll_type {
	TAXII_COLL_DATA_FEED = 0,
	TAXII_COLL_DATA_SET,
};

enum taxii_sub_action {
	TAXII_SUB_SUBSCRIBE = 1,
	TAXII_SUB_UNSUBSCRIBE,
	TAXII_SUB_PAUSE,
	TAXII_SUB_RESUME,
	TAXII_SUB_STATUS,
};

enum taxii_sub_status {
	TAXII_SUBST_ACTIVE = 0,
	TAXII_SUBST_PAUSED,
	TAXII_SUBST_UNSUBSCRIBED,
};

/* A list of strings (URIs, names). */
struct taxii_strs {
	const char *const *v;
	size_t n;
};

/* A Status_Detail entry. In 1.0 the detail is one string: one entry with name NULL. */
struct taxii_detail {
	const char *name;
	const char *value;
};

/*
 * One Content_Block. `content` is what the Content element held: the XML of its element
 * children, each carrying every namespace declaration in scope (so it parses on its own),
 * when `is_xml` is set; otherwise its text. That XML is the message's own bytes with the
 * declarations added to each start tag (re-serialized only when the message was not
 * UTF-8). For builders, XML content is written verbatim (it must be well-formed) and text
 * content is escaped.
 */
struct taxii_content_block {
	const char *binding; /* 1.1 binding_id; 1.0 Content_Binding text */
	const char *subtype; /* 1.1 Subtype subtype_id, or NULL */
	const char *content;
	size_t content_len;
	int is_xml;
	int has_timestamp;
	int64_t timestamp_us; /* Timestamp_Label, microseconds since the epoch */
	const char *message;  /* 1.1 Message, or NULL */
	/*
	 * Parsed with TAXII_PARSE_NODES (and so in a client poll with blocks_as_nodes): the
	 * first element child of Content as a libxml2 xmlNode, still in the message's tree
	 * (its namespaces resolve through its ancestors), and `content` is then NULL. It
	 * lives as long as the message. NULL otherwise; builders ignore it.
	 */
	const void *node;
};

/* Where and how a service is reached (BindingsGroup). */
struct taxii_contact {
	const char *protocol; /* TAXII_PROTOCOL_HTTP(S) */
	const char *address;
	struct taxii_strs message_bindings;
};

/* A Service_Instance of a Discovery_Response. */
struct taxii_service {
	enum taxii_service_type type;
	enum taxii_version version; /* service_version */
	int available;              /* 1, 0, or -1 when absent */
	struct taxii_contact contact;
	struct taxii_strs content_bindings; /* accepted by an inbox */
	const char *message;
};

/* A Collection (1.1) or Feed (1.0) of a Collection_Information_Response. */
struct taxii_collection {
	const char *name;
	enum taxii_coll_type type; /* 1.0 feeds are data feeds */
	int available;             /* 1, 0, or -1 when absent */
	const char *description;
	int has_volume;
	uint64_t volume;
	struct taxii_strs content_bindings;
	const struct taxii_contact *polling;
	size_t n_polling;
	const struct taxii_contact *subscription;
	size_t n_subscription;
	const struct taxii_contact *inbox; /* 1.1 Receiving_Inbox_Service */
	size_t n_inbox;
};

/*
 * A Subscription record of a Subscription_Management_Response. `push` (Push_Parameters:
 * protocol, address and exactly one message binding) and the Poll_Instance contacts are
 * optional.
 */
struct taxii_subscription {
	const char *id;
	enum taxii_sub_status status;
	int has_params;
	enum taxii_response_type response_type;
	struct taxii_strs content_bindings;
	const struct taxii_contact *push;
	const struct taxii_contact *poll_instances;
	size_t n_poll_instances;
};

/*
 * One TAXII message. Which fields mean something depends on `type` (see each comment);
 * the others are zero. Timestamps are microseconds since the epoch.
 */
struct taxii_msg {
	enum taxii_version version;
	enum taxii_msg_type type;
	const char *message_id;     /* every message */
	const char *in_response_to; /* every response and Status_Message */
	/* collection_name / feed_name; Inbox: Destination_Collection_Name (1.1, may be NULL) */
	const char *collection;
	const char *message; /* the Message element, where the type has one */

	/* Status_Message */
	enum taxii_status status;
	const char *status_type; /* the text, set for parsed messages and custom types */
	const struct taxii_detail *details;
	size_t n_details;

	/* Poll_Request / Poll_Response / Inbox_Message. A 1.1 Inbox_Message has a
	 * Source_Subscription when source_collection is set: its collection_name, then
	 * subscription_id and the begin/end labels below. */
	int has_begin, has_end;
	int64_t begin_us; /* Exclusive_Begin (1.0 Poll_Response: Inclusive_Begin) */
	int64_t end_us;   /* Inclusive_End */
	const char *subscription_id;
	const char *source_collection;
	int has_poll_params; /* 1.1 Poll_Request: Poll_Parameters rather than Subscription_ID */
	enum taxii_response_type response_type;
	int allow_asynch;
	struct taxii_strs content_bindings; /* Poll_Parameters (1.0: the request's) */

	/* Poll_Response / Poll_Fulfillment / Inbox (result_id) */
	int more;
	const char *result_id;
	uint64_t result_part; /* 0 when absent */
	int has_record_count;
	uint64_t record_count;
	int partial_count;
	const struct taxii_content_block *blocks;
	size_t n_blocks;

	/* Discovery_Response */
	const struct taxii_service *services;
	size_t n_services;

	/* Collection_Information_Response */
	const struct taxii_collection *collections;
	size_t n_collections;

	/* Subscription_Management_Request / _Response (has_poll_params: it carried
	 * Subscription_Parameters; `push`: its Push_Parameters, or NULL) */
	enum taxii_sub_action action;
	const struct taxii_contact *push;
	const struct taxii_subscription *subscriptions;
	size_t n_subscriptions;

	void *priv_; /* parser-owned storage; NULL in caller-built messages */
};

/* ---------------------------------------------------------------------------------------
 * Parsing.
 */

/*
 * Parses one TAXII message of version `ver` (or either, with TAXII_VANY) from `len` bytes.
 * The parser never touches the network, refuses any DOCTYPE (and so every entity), nesting
 * deeper than TAXII_MSG_MAX_DEPTH and input over TAXII_MSG_MAX_BYTES, and matches elements
 * by namespace URI and local name, whatever the prefixes.
 * Returns 0 and sets *out to a message the caller frees with taxii_msg_free; or a negative
 * taxii_code with *out NULL and err (may be NULL) saying what and where: TAXII_EXML,
 * TAXII_EHOSTILE, TAXII_ETOOBIG (answer BAD_MESSAGE), TAXII_EMSG (BAD_MESSAGE),
 * TAXII_EUNSUPPORTED (UNSUPPORTED_MESSAGE), TAXII_EVERSION, TAXII_ENOMEM (FAILURE).
 */
int taxii_msg_parse(const char *xml, size_t len, enum taxii_version ver,
    struct taxii_msg **out, struct taxii_err *err);

/*
 * taxii_msg_parse with options. TAXII_PARSE_NODES keeps the parsed tree with the message
 * and leaves XML content as a tree (see taxii_content_block.node) instead of serializing
 * it, which spares a reader that walks the tree a second parse.
 */
#define TAXII_PARSE_NODES 1u
int taxii_msg_parse_opts(const char *xml, size_t len, enum taxii_version ver, unsigned flags,
    struct taxii_msg **out, struct taxii_err *err);

/* Frees a parsed message and every string it points at. NULL is a no-op. */
void taxii_msg_free(struct taxii_msg *m);

/* ---------------------------------------------------------------------------------------
 * Building. Builders append to `out`; on error `out` may hold a partial message (reset it).
 * They return 0, TAXII_ETOOBIG when `out` reaches its cap, TAXII_ENOMEM, or TAXII_EINVAL
 * when a field the schema requires is missing (err says which).
 */

/* Writes a fresh message id (decimal digits, valid in 1.0 and 1.1) into buf. */
void taxii_msg_id_new(char buf[TAXII_ID_MAX]);

/* Writes the whole message `m` (its type and version say which) with an XML declaration. */
int taxii_msg_write(const struct taxii_msg *m, struct util_buf *out, struct taxii_err *err);

/*
 * Streaming for Poll_Response and Inbox_Message, so content is never held twice:
 * taxii_msg_write_open writes everything before the content blocks (`m->blocks` ignored),
 * taxii_block_write one block, taxii_msg_write_close the rest. Same returns as above.
 */
int taxii_msg_write_open(const struct taxii_msg *m, struct util_buf *out,
    struct taxii_err *err);
int taxii_block_write(enum taxii_version ver, const struct taxii_content_block *b,
    struct util_buf *out, struct taxii_err *err);
int taxii_msg_write_close(const struct taxii_msg *m, struct util_buf *out,
    struct taxii_err *err);

/*
 * Writes a Status_Message: a shortcut for taxii_msg_write. `in_response_to` NULL means "0"
 * (the request could not be read); in 1.0 a non-numeric one is also written as "0".
 * `details` may be NULL; `text` (the Message) may be NULL.
 */
int taxii_status_write(enum taxii_version ver, const char *in_response_to,
    enum taxii_status st, const struct taxii_detail *details, size_t n_details,
    const char *text, struct util_buf *out, struct taxii_err *err);

/* ---------------------------------------------------------------------------------------
 * HTTP binding.
 */

/* X-TAXII-Content-Type (and X-TAXII-Accept) value for `ver`. */
const char *taxii_http_content_type(enum taxii_version ver);
/* X-TAXII-Services value for `ver`. */
const char *taxii_http_services(enum taxii_version ver);
/* X-TAXII-Protocol value. */
const char *taxii_http_protocol(int https);

/*
 * The version a request speaks, from its X-TAXII-Content-Type, else its X-TAXII-Services
 * header (either may be NULL when absent). Returns TAXII_V11 or TAXII_V10, or TAXII_VANY
 * when neither header is present or recognized.
 */
enum taxii_version taxii_http_version(const char *x_content_type, const char *x_services);

/*
 * The version to answer in, given the request's X-TAXII-Accept (NULL when absent) and the
 * version it spoke: the accepted version when it names one this module speaks, else `req`.
 */
enum taxii_version taxii_http_accept(const char *x_accept, enum taxii_version req);

/* ---------------------------------------------------------------------------------------
 * Address policy for pushes: a push is the server reaching out to an address a client
 * chose, so without the operator's say-so it may only go to public addresses (never to
 * this host, its networks, or a cloud's metadata service).
 */
struct sockaddr_storage;

/*
 * Looks `host` up (a name, or numeric text): fills up to `max` addresses and sets *n.
 * Returns 0, or -1 when the name does not resolve. What the policy check uses instead of
 * getaddrinfo when given one (a resolver of the caller's, or a test's).
 */
typedef int (*taxii_resolve_fn)(void *arg, const char *host, struct sockaddr_storage *addrs,
    size_t max, size_t *n);

/*
 * Whether `url` (http or https) may be pushed to under the address policy: its host, a
 * numeric address in any form getaddrinfo reads (IPv4-mapped IPv6 included) or a name
 * looked up with `resolve` (NULL: getaddrinfo), must be public and resolve to public
 * addresses only (util_addr_classify: loopback, private, link-local, CGNAT,
 * documentation, multicast, unspecified, reserved ... are not). Returns 0 when it may;
 * -1 when it may not, with `why` (may be NULL) naming the host, the address and its class
 * ("127.0.0.1 is a loopback address"), or saying that the URL has no host or that the
 * name does not resolve.
 */
int taxii_push_allowed(const char *url, taxii_resolve_fn resolve, void *arg, char *why,
    size_t whylen);

/* ---------------------------------------------------------------------------------------
 * Server.
 */

/* Longest subscription id, owner and push address the server keeps, with their NUL. */
#define TAXII_SUB_ID_MAX 80
#define TAXII_SUB_OWNER_MAX 128
#define TAXII_SUB_URI_MAX 128
#define TAXII_SUB_ADDR_MAX 1024

/*
 * A subscription as the server asks the backend to keep it: plain values, copied both
 * ways. The server makes subscriptions (id, owner, collection, parameters, push target,
 * start label) and changes only their status; a push deliverer moves `delivered_us`.
 */
struct taxii_sub {
	char id[TAXII_SUB_ID_MAX];
	char collection[64];
	char owner[TAXII_SUB_OWNER_MAX]; /* authenticated user who made it; "" without auth */
	enum taxii_sub_status status;
	enum taxii_response_type response_type;
	int has_push;
	char push_protocol[TAXII_SUB_URI_MAX];
	char push_address[TAXII_SUB_ADDR_MAX];
	char push_binding[TAXII_SUB_URI_MAX];
	int64_t created_us;   /* records with later labels belong to the subscription */
	int64_t delivered_us; /* last label the push subscriber accepted (created_us at first) */
};

typedef int (*taxii_sub_cb)(void *arg, const struct taxii_sub *sub);

/*
 * The subscription part of the backend: all four set, or none (then the server offers no
 * subscriptions). Same error convention as struct taxii_backend, plus 1 for "no such
 * subscription" where noted.
 */
struct taxii_sub_backend {
	/* Keeps a new subscription. */
	int (*add)(void *ctx, const struct taxii_sub *sub, char *err, size_t errlen);
	/* Copies subscription `id` into *out; 1 when there is none. */
	int (*get)(void *ctx, const char *id, struct taxii_sub *out, char *err, size_t errlen);
	/* Sets the status of `id` atomically (other fields untouched) and copies the result
	 * into *out; 1 when there is none. */
	int (*set_status)(void *ctx, const char *id, enum taxii_sub_status st,
	    struct taxii_sub *out, char *err, size_t errlen);
	/* Calls cb for every subscription of `collection`, in id order; a non-zero return
	 * from cb stops the walk (still 0). */
	int (*list)(void *ctx, const char *collection, taxii_sub_cb cb, void *arg, char *err,
	    size_t errlen);
};

/* One record the backend hands to the server while polling. */
struct taxii_record {
	const char *content; /* serialized STIX XML, well-formed */
	size_t content_len;
	const char *binding; /* NULL: TAXII_CB_STIX_12 */
	int64_t label_us;    /* when it entered this node: its Timestamp_Label */
};

/* Called once per record; returns 0 to go on, non-zero to stop (the poll then fails). */
typedef int (*taxii_record_cb)(void *arg, const struct taxii_record *rec);

/*
 * Storage as the server sees it. Every function returns 0, or -1 with a reason in
 * err/errlen (which the server puts in a FAILURE Status Message). Functions may be called
 * from several server threads at once.
 */
struct taxii_backend {
	void *ctx;
	/*
	 * Records of `collection` with begin < label <= end (begin -1: from the start; end
	 * INT64_MAX: no end), in label order, skipping the first `offset`, at most `limit`.
	 * A part of a data feed is read in several calls as it is sent, each from the last
	 * label the one before gave: a call should read what it gives and hold nothing of
	 * the store once it returns (the client may be slow to take it).
	 */
	int (*poll)(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
	    size_t offset, size_t limit, taxii_record_cb cb, void *arg, char *err,
	    size_t errlen);
	/* How many records poll would give without offset and limit. */
	int (*count)(void *ctx, const char *collection, int64_t begin_us, int64_t end_us,
	    uint64_t *count, char *err, size_t errlen);
	/*
	 * The latest label up to which `collection` is complete now: every record with a
	 * label at or below it is visible, and none can appear there later (a write in
	 * progress may have taken a label before now and commit after it). A poll without
	 * Inclusive_End ends there rather than at the clock, so a client continuing from
	 * that end misses nothing. NULL: the clock (for collections without that race).
	 */
	int (*settled)(void *ctx, const char *collection, int64_t *label_us, char *err,
	    size_t errlen);
	/*
	 * Stores every block of an Inbox message into `collection`, or none (then -1). Blocks
	 * are those of the message, their content as the parser serialized it.
	 */
	int (*inbox)(void *ctx, const char *collection, const struct taxii_content_block *blocks,
	    size_t n_blocks, char *err, size_t errlen);
	/* Subscriptions (same ctx); every member NULL: none offered. */
	struct taxii_sub_backend subs;
};

/*
 * Optional HTTP Basic authentication. With `check` set, a request without credentials it
 * accepts gets HTTP 401 and an UNAUTHORIZED Status Message. Called from server threads.
 */
struct taxii_auth {
	void *ctx;
	/* 0 when the user and password are valid, -1 otherwise, -2 when they cannot be
	 * checked now (too many costly checks under way: the client gets 503 and retries).
	 * The server never passes a user or password holding a control byte, and calls it
	 * for no source it is throttling (see taxii_server_conf). */
	int (*check)(void *ctx, const char *user, const char *password);
	/* 0 when `user` may poll, fill and see `collection`, -1 otherwise; NULL: every one. */
	int (*allow)(void *ctx, const char *user, const char *collection);
};

/*
 * Pages beside the TAXII services: the dashboard, feeds and metrics a browser, firewall
 * or monitoring system fetches with GET (or HEAD). The server hands such a request for any
 * path outside /taxii/ to `get` once the client has passed the same checks as a TAXII
 * request (client certificate when client_ca is set; HTTP Basic when auth is set, else a
 * 401 with WWW-Authenticate), and sends what `get` filled in. Called from server threads.
 */
struct taxii_http_req {
	const char *path; /* the URL path, without the query */
	const char *user; /* the authenticated user; NULL without authentication */
	const void *conn; /* the server's own; for taxii_http_arg and taxii_http_header */
};

#define TAXII_HTTP_MAX_HEADERS 8

struct taxii_http_resp {
	int status;             /* HTTP status; 200 when left 0 */
	char content_type[96];  /* "" sends text/plain; charset=utf-8 */
	struct util_buf *body;  /* the server's, empty and capped: append to it */
	size_t n_headers;       /* further response headers: names and values */
	char header_name[TAXII_HTTP_MAX_HEADERS][40];
	char header_value[TAXII_HTTP_MAX_HEADERS][512];
};

struct taxii_http {
	void *ctx;
	/* Fills resp for req. Returns 0, or -1 with err (the client gets 500 and err). */
	int (*get)(void *ctx, const struct taxii_http_req *req, struct taxii_http_resp *resp,
	    char *err, size_t errlen);
};

/* A query argument of req, percent-decoded; NULL when absent. Lives as long as req. */
const char *taxii_http_arg(const struct taxii_http_req *req, const char *name);

/* A request header of req; NULL when absent. Lives as long as req. */
const char *taxii_http_header(const struct taxii_http_req *req, const char *name);

/* Adds a response header (name and value copied); -1 when full or too long. */
int taxii_http_add_header(struct taxii_http_resp *resp, const char *name, const char *value);

/*
 * Optional watch over what the server answers, for counters a monitoring system reads.
 * `done` is called once per request the server answered (not for a connection closed
 * without an answer), from a server thread, when the request ends (a streamed
 * Poll_Response: once it was sent, or cut short; cut short by a failure of the backend,
 * its status is TAXII_ST_FAILURE); it must be quick and must not block.
 */
enum taxii_auth_fail {
	TAXII_AUTH_PASSED = 0, /* or no authentication asked */
	TAXII_AUTH_MISSING,    /* 401: no credentials */
	TAXII_AUTH_INVALID,    /* 401: credentials the check refused */
	TAXII_AUTH_NO_CERT,    /* 403: no client certificate that verifies */
};

struct taxii_request_info {
	/* "discovery", "collections", "poll", "inbox" (by path), "page" (GET or HEAD
	 * for struct taxii_http), or "other" (no such service, wrong method) */
	const char *service;
	unsigned http_status;
	/* The enum taxii_status of a Status Message, TAXII_ST_SUCCESS for any other TAXII
	 * message, -1 for an answer that is not a TAXII message (pages). */
	int status;
	enum taxii_auth_fail auth;
};

struct taxii_watch {
	void *ctx;
	void (*done)(void *ctx, const struct taxii_request_info *info);
};

struct taxii_server_conf {
	const char *listen;      /* "host:port" or "[v6]:port", several separated by commas */
	const char *base_url;    /* advertised, e.g. "http://127.0.0.1:9090"; NULL: derived */
	size_t max_body;         /* request body cap; 0: 16 MiB */
	size_t part_size;        /* records per Poll_Response part; 0: 100 */
	unsigned result_ttl_s;   /* how long a multi-part result may be fulfilled; 0: 600 */
	unsigned threads;        /* libmicrohttpd worker threads; 0: 2 */
	const struct taxii_auth *auth; /* copied; NULL: no authentication */
	const char *tls_cert;    /* PEM certificate (chain) file; with tls_key: HTTPS only */
	const char *tls_key;     /* PEM private key file */
	/* PEM CA certificate(s); needs tls_cert and tls_key. Every request must then come
	 * with a client certificate that verifies against them: a TLS connection without
	 * one, or with one that does not verify, gets HTTP 403 and an UNAUTHORIZED Status
	 * Message (the handshake itself succeeds, so the client learns why). */
	const char *client_ca;
	/* A connection idle this long is closed, and so is one whose whole request (headers
	 * and body) has not arrived this long after the connection opened or its previous
	 * answer was sent (a client dripping bytes); 0: 30 */
	unsigned timeout_s;
	/* Connections served at once, over every listen address and thread together; 0: 256.
	 * One over it (or over max_per_source) is answered HTTP 503 with a RETRY Status
	 * Message once its request has arrived, and closed after 2 s if it does not. Up to
	 * four times as many connections are held open (then new ones wait in the kernel). */
	unsigned max_connections;
	/* Connections served at once from one source address (IPv6: one /64); 0: 32 */
	unsigned max_per_source;
	/* Request headers (names and values together) above this are answered 431 with a
	 * BAD_MESSAGE Status Message; 0: 32 KiB. Headers beyond libmicrohttpd's per-connection
	 * memory (256 KiB here) still get its own 431 page: it offers no hook for that. */
	size_t max_header_bytes;
	/* Failed logins: after 5 from one source (IPv6: one /64), its logins are answered
	 * HTTP 429 with a RETRY Status Message, without checking, for 1 s, then 2, 4, ... up
	 * to 5 min after each further failure; a success, or 15 min without failure, ends it. */
	/* Subscriptions: with allow_private_push unset, SUBSCRIBE refuses Push_Parameters
	 * whose address taxii_push_allowed refuses (DENIED, saying why), looked up with
	 * resolve (NULL: getaddrinfo) and resolve_arg. */
	int allow_private_push;
	taxii_resolve_fn resolve;
	void *resolve_arg;
	/* Told of what an operator should know (a source throttled for failed logins), one
	 * line without newline; NULL: nobody. Called from server threads. */
	void (*log)(void *arg, const char *msg);
	void *log_arg;
	/* GET and HEAD outside /taxii/ (copied); NULL: answered 405 like any other method. */
	const struct taxii_http *http;
	/* Told of every answer (copied); NULL: nobody. */
	const struct taxii_watch *watch;
};

/*
 * The server answers POST /taxii/discovery, /taxii/collections, /taxii/poll (Poll_Request
 * and Poll_Fulfillment) and /taxii/inbox, in TAXII 1.1 and 1.0, for two collections:
 * `observations` (a data feed) and `targets` (a data set). An Inbox_Message without a
 * destination goes to `observations`. With backend->subs set, /taxii/collections also
 * answers Subscription_Management_Request for `observations` (TAXII 1.1: SUBSCRIBE,
 * STATUS, PAUSE, RESUME, UNSUBSCRIBE; 1.0: SUBSCRIBE, STATUS, UNSUBSCRIBE), the collection
 * (feed) information response advertises it, and a Poll_Request naming a subscription
 * polls the records that entered after the subscription was made; with authentication a
 * subscription is managed only by the user who made it, who may have at most 100 that
 * are not ended. Every request it cannot serve (wrong method, path, Content-Type, body over max_body, malformed or hostile
 * XML, unknown collection or result part) gets a Status Message.
 */
struct taxii_server;

/*
 * Binds every listen address and starts serving (HTTPS on all of them when tls_cert and
 * tls_key are set; client certificates checked when client_ca is set). `backend` is copied;
 * backend->ctx must outlive the server. Returns 0 with *out set, or a negative taxii_code
 * (TAXII_EINVAL for a bad address or unreadable TLS file, TAXII_ENET when binding or TLS
 * setup fails) with err filled and *out NULL.
 */
int taxii_server_new(const struct taxii_server_conf *conf, const struct taxii_backend *backend,
    struct taxii_server **out, struct taxii_err *err);

/* Port the i-th listen address is bound to (useful with port 0), or 0 when i is too big. */
unsigned taxii_server_port(const struct taxii_server *s, size_t i);

/* Stops serving (in-flight requests finish) and frees everything. NULL is a no-op. */
void taxii_server_free(struct taxii_server *s);

/* ---------------------------------------------------------------------------------------
 * Client.
 */

struct taxii_client_conf {
	const char *url;       /* the service: poll or inbox URL (http or https); redirects
				* are never followed (a 3xx is an HTTP error) */
	/* TAXII_VANY: 1.1, falling back to 1.0 (and remembering it for this url) when the
	 * peer answers in 1.0 or with UNSUPPORTED_PROTOCOL / UNSUPPORTED_MESSAGE. */
	enum taxii_version version;
	const char *username;  /* HTTP Basic, or NULL */
	const char *password;
	const char *ca_file;   /* PEM: trusted CAs for https; NULL: the system's */
	const char *client_cert; /* PEM client certificate and key, or NULL */
	const char *client_key;
	const char *client_key_password; /* passphrase of an encrypted client_key, or NULL */
	const char *proxy;     /* e.g. "socks5h://127.0.0.1:1080"; NULL: none (environment ignored) */
	long timeout_s;        /* per request; 0: 60 */
	size_t max_response;   /* cap of one response body; 0: 64 MiB */
	unsigned max_parts;    /* most responses one poll follows; 0: 10000 */
	int blocks_as_nodes;   /* poll: XML content as parsed trees (block.node), not text */
	/* Poll: called (with the block callback's arg, on the calling thread) when a part
	 * has been read whole and found sound and all its blocks were delivered, before any
	 * block of the next part; non-zero aborts the poll (TAXII_EINVAL). NULL: not told.
	 * Blocks come as their part is parsed, before its end is seen: a caller that keeps
	 * them for good does so here, so a part that turns out bad leaves nothing kept. */
	int (*part_done)(void *arg);
	/* When set and non-zero (a daemon stopping), an exchange under way is abandoned
	 * within about a second, and none is started: TAXII_ENET, "cancelled". */
	const volatile sig_atomic_t *cancel;
	/* Address policy (pushes): refuse to connect to any address that is not public
	 * (util_addr_classify), checked for every address as the connection is made, so a
	 * name that resolves differently than when it was accepted is still caught. The
	 * request then fails with TAXII_ENET naming the address and its class. */
	int public_only;
	/* NULL-terminated "HOST:PORT:ADDRESS[,ADDRESS]" entries that pin names to addresses
	 * (libcurl's CURLOPT_RESOLVE), or NULL. */
	const char *const *resolve;
};

/* Called per content block received; return 0 to go on, non-zero to abort the poll. The
 * block lives until the callback returns. */
typedef int (*taxii_block_cb)(void *arg, const struct taxii_content_block *b);

/*
 * Polls `collection` at conf->url for content with begin < label <= end (begin -1: from the
 * start; end INT64_MAX: up to the peer's now), following every part (1.1 Poll_Fulfillment;
 * 1.0: re-polling from a narrowed Inclusive_End) up to conf->max_parts. Each answer is
 * fetched on a second thread and parsed as its bytes arrive (libxml2's push parser), and
 * each block goes to `cb` as soon as its end tag is read, before the part's end is seen
 * (parsing, `cb` and part_done always run on the calling thread, after xmlInitParser).
 * Part k+1 is asked for as soon as part k's start tag is parsed and says more. What is
 * held is the bytes of at most two parts not yet parsed (each part under
 * conf->max_response, counted byte by byte as it arrives) and one block being read; a
 * Status Message or any answer that is not a Poll_Response of the version asked for is
 * read whole, under the same cap. A peer that stops sending mid-part fails the poll at
 * conf->timeout_s.
 * Returns 0 with *end_us (may be NULL) set to the label the peer fully delivered up to —
 * where the next poll begins; save it only once the blocks are merged. Otherwise a
 * negative taxii_code: TAXII_ESTATUS (err->msg names the status and the peer's message),
 * TAXII_ENET (connection or HTTP error), TAXII_ETOOBIG, TAXII_EMSG (an answer that is not
 * a Poll_Response), TAXII_EINVAL (aborted by the callback or bad arguments). Blocks already
 * passed to `cb` before an error must be discarded by the caller.
 */
int taxii_client_poll(const struct taxii_client_conf *conf, const char *collection,
    int64_t begin_us, int64_t end_us, taxii_block_cb cb, void *arg, int64_t *end_us_out,
    struct taxii_err *err);

/*
 * taxii_client_poll of the content of subscription `sub_id` to `collection` (a Poll_Request
 * naming the subscription instead of Poll_Parameters: the subscription says which content
 * and response type). Same arguments otherwise, and the same returns.
 */
int taxii_client_poll_sub(const struct taxii_client_conf *conf, const char *collection,
    const char *sub_id, int64_t begin_us, int64_t end_us, taxii_block_cb cb, void *arg,
    int64_t *end_us_out, struct taxii_err *err);

/*
 * Asks conf->url (a discovery, resp. collection management service) what the peer offers.
 * Returns 0 with *out a Discovery_Response, resp. Collection_Information_Response (1.0:
 * Feed_Information_Response) the caller frees with taxii_msg_free; otherwise *out is NULL
 * and a negative taxii_code as for taxii_client_poll (TAXII_EMSG: another kind of answer).
 */
int taxii_client_discovery(const struct taxii_client_conf *conf, struct taxii_msg **out,
    struct taxii_err *err);
int taxii_client_collections(const struct taxii_client_conf *conf, struct taxii_msg **out,
    struct taxii_err *err);

/*
 * How many records a poll of `collection` over begin < label <= end would give (a 1.1
 * COUNT_ONLY poll; a `more` flag on the answer is ignored). A 1.0 peer has no counts: its
 * content blocks are counted. Returns 0 with *count (and *partial, may be NULL: the peer
 * says the count is a lower bound) set, or a negative taxii_code as taxii_client_poll.
 */
int taxii_client_count(const struct taxii_client_conf *conf, const char *collection,
    int64_t begin_us, int64_t end_us, uint64_t *count, int *partial, struct taxii_err *err);

/* The version the client will speak to conf->url: conf->version when set, else TAXII_V10
 * for a peer remembered as 1.0-only, else TAXII_V11. */
enum taxii_version taxii_client_peer_version(const struct taxii_client_conf *conf);

/*
 * Sends blocks to `collection` (1.1 Destination_Collection_Name; ignored in 1.0) with one
 * Inbox_Message. Returns 0 when the peer answered SUCCESS, else as taxii_client_poll.
 */
int taxii_client_inbox(const struct taxii_client_conf *conf, const char *collection,
    const struct taxii_content_block *blocks, size_t n_blocks, struct taxii_err *err);

/*
 * taxii_client_inbox for a subscription's push (TAXII 1.1): the message carries a
 * Source_Subscription naming the subscribed collection `src_collection`, the
 * subscription `sub_id` and the labels the blocks cover, (begin_us, end_us] (begin_us -1:
 * from the start). No Destination_Collection_Name: the subscriber files it. Same returns.
 */
int taxii_client_inbox_sub(const struct taxii_client_conf *conf, const char *src_collection,
    const char *sub_id, int64_t begin_us, int64_t end_us,
    const struct taxii_content_block *blocks, size_t n_blocks, struct taxii_err *err);

/* What a SUBSCRIBE asks for. */
struct taxii_client_sub_req {
	enum taxii_response_type response_type; /* FULL, or COUNT_ONLY: notices only */
	/* The inbox (http:// or https:// URL) the peer pushes new content to, or NULL: the
	 * subscriber polls (taxii_client_poll_sub). */
	const char *push_address;
};

/*
 * Manages a subscription to `collection` at conf->url (a collection management service):
 * SUBSCRIBE (sub_id NULL: the peer names the new subscription; `sr` NULL asks for full
 * content by poll), STATUS (sub_id NULL: every subscription of this client to the
 * collection), PAUSE, RESUME, UNSUBSCRIBE (each of these needs sub_id). The content asked
 * for is STIX 1.2 or 1.1.1; pushes are asked for in the message binding this client speaks
 * to the peer (TAXII 1.0 after a fallback).
 * Returns 0 with *out the Subscription_Management_Response (its subscriptions[0] is the
 * one asked about, or the new one) the caller frees with taxii_msg_free; otherwise *out is
 * NULL and a negative taxii_code as for taxii_client_poll (TAXII_ESTATUS for the peer's
 * refusal, e.g. NOT_FOUND for an unknown id; TAXII_EMSG for an answer about another
 * subscription or none).
 */
int taxii_client_subscription(const struct taxii_client_conf *conf, const char *collection,
    enum taxii_sub_action action, const char *sub_id, const struct taxii_client_sub_req *sr,
    struct taxii_msg **out, struct taxii_err *err);

#endif
