/*
 * taxii messages: the official samples parse with the right fields, every builder's output
 * validates against the official binding schemas and parses back the same, hostile input
 * (DOCTYPE, entities, depth, size) is refused, namespaces match by URI, HTTP headers.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "taxii/taxii.h"
#include "taxii/taxii_int.h"
#include "tests/tap.h"
#include "tests/xsd.h"
#include "util/util.h"

static xmlSchemaPtr schema11, schema10;
static char samples[1200], srcdata[1024];

static void
quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

/* Validates a message against the binding schema of its version; prints why not. */
static int
schema_valid(const char *xml, size_t len, enum taxii_version ver)
{
	xmlSchemaPtr s = ver == TAXII_V10 ? schema10 : schema11;

	if (s == NULL)
		return 1; /* skipped, said so at start */
	return xsd_valid(s, xml, len, 1);
}

/* dir/rel into buf; aborts rather than truncating a path. */
static char *
join(char *buf, size_t size, const char *dir, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", dir, rel);

	if (n < 0 || (size_t)n >= size)
		abort();
	return buf;
}

static int
read_file(const char *path, struct util_buf *b)
{
	util_buf_init(b, 1 << 22);
	if (util_read_file(path, b) != 0) {
		tap_diag("cannot read %s", path);
		return -1;
	}
	return 0;
}

static struct taxii_msg *
parse_file(const char *path, enum taxii_version ver, int *rc)
{
	struct util_buf b;
	struct taxii_msg *m = NULL;
	struct taxii_err err;

	*rc = -100;
	if (read_file(path, &b) != 0)
		return NULL;
	*rc = taxii_msg_parse(b.data, b.len, ver, &m, &err);
	if (*rc != 0)
		tap_diag("%s: %s (line %d)", path, err.msg, err.line);
	util_buf_fini(&b);
	return m;
}

/* Content serialized by the parser must parse on its own, root in namespace `ns`. */
static int
content_standalone(const struct taxii_content_block *b, const char *ns)
{
	xmlDocPtr d;
	xmlNode *r;
	int ok_;

	if (!b->is_xml)
		return 0;
	d = xmlReadMemory(b->content, (int)b->content_len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (d == NULL)
		return 0;
	r = xmlDocGetRootElement(d);
	ok_ = r && r->ns && strcmp((const char *)r->ns->href, ns) == 0;
	xmlFreeDoc(d);
	return ok_;
}

static int64_t
t(const char *s)
{
	int64_t us = 0;

	if (util_time_parse(s, &us) != 0)
		abort();
	return us;
}

/* Writes m, validates it, parses it back; returns the parsed copy (caller frees). */
static struct taxii_msg *
roundtrip(const struct taxii_msg *m, const char *what)
{
	struct util_buf b;
	struct taxii_err err;
	struct taxii_msg *back = NULL;
	int rc;

	util_buf_init(&b, 0);
	rc = taxii_msg_write(m, &b, &err);
	if (!ok(rc == 0, "%s: builds", what))
		tap_diag("%s", err.msg);
	if (rc == 0) {
		if (schema11 != NULL && schema10 != NULL)
			ok(schema_valid(b.data, b.len, m->version), "%s: validates against the XSD",
			    what);
		rc = taxii_msg_parse(b.data, b.len, m->version, &back, &err);
		if (!ok(rc == 0 && back && back->type == m->type, "%s: parses back", what))
			tap_diag("%s", err.msg);
	}
	util_buf_fini(&b);
	return back;
}

static void
test_samples(void)
{
	char path[1200];
	struct taxii_msg *m;
	int rc;

	if (!*samples) {
		tap_skip("official samples", "SHARED_DIR unset or without schemas/taxii/samples");
		return;
	}
#define SAMPLE(rel) join(path, sizeof(path), samples, rel)

	m = parse_file(SAMPLE("1.1/Discovery_Request.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_DISCOVERY_REQ && strcmp(m->message_id, "1001") == 0,
	    "1.1 Discovery_Request");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Collection_Information_Request.xml"), TAXII_VANY, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_COLLECTION_INFO_REQ && m->version == TAXII_V11,
	    "1.1 Collection_Information_Request, version detected");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Poll_Request.xml"), TAXII_V11, &rc);
	if (ok(rc == 0 && m->type == TAXII_MSG_POLL_REQ, "1.1 Poll_Request")) {
		is_str(m->collection, "observations", "poll collection");
		ok(m->has_begin && m->begin_us == t("2026-01-01T00:00:00Z"), "exclusive begin");
		ok(m->has_end && m->end_us == t("2026-01-02T00:00:00Z"), "inclusive end");
		ok(m->has_poll_params && m->response_type == TAXII_RESP_FULL && !m->allow_asynch,
		    "FULL, not asynchronous");
		ok(m->content_bindings.n == 1 &&
		    strcmp(m->content_bindings.v[0], TAXII_CB_STIX_12) == 0, "STIX 1.2 binding");
	}
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Poll_Request_COUNT_ONLY.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->response_type == TAXII_RESP_COUNT_ONLY && !m->has_begin && !m->has_end,
	    "1.1 Poll_Request COUNT_ONLY without a window");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Poll_Fulfillment.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_POLL_FULFILLMENT && m->result_part == 2 &&
	    strcmp(m->result_id, "result-0001") == 0 && strcmp(m->collection, "observations") == 0,
	    "1.1 Poll_Fulfillment part 2 of result-0001");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Poll_Response_part1.xml"), TAXII_V11, &rc);
	if (ok(rc == 0 && m->type == TAXII_MSG_POLL_RESP, "1.1 Poll_Response part 1")) {
		ok(m->more && m->result_part == 1 && strcmp(m->result_id, "result-0001") == 0,
		    "more, result id, part number");
		ok(m->has_record_count && m->record_count == 25 && !m->partial_count,
		    "Record_Count 25, not partial");
		is_str(m->in_response_to, "1003", "in_response_to");
		if (ok(m->n_blocks == 1, "one content block")) {
			const struct taxii_content_block *b = &m->blocks[0];

			is_str(b->binding, TAXII_CB_STIX_12, "block binding");
			ok(b->has_timestamp && b->timestamp_us == t("2026-01-01T04:00:00Z"),
			    "block timestamp label");
			ok(strncmp(b->content, "<stix:STIX_Package", 18) == 0 &&
			    b->content_len == strlen(b->content), "content is the raw package");
			has_str(b->content, "http://c2.example.invalid/gate.php", "content text kept");
			ok(content_standalone(b, "http://stix.mitre.org/stix-1"),
			    "content parses on its own");
		}
	}
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Inbox_Message.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_INBOX && m->collection &&
	    strcmp(m->collection, "targets") == 0 && m->n_blocks == 1 &&
	    content_standalone(&m->blocks[0], "http://stix.mitre.org/stix-1"),
	    "1.1 Inbox_Message to targets with one STIX block");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Status_Message_INVALID_RESPONSE_PART.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_STATUS && m->status == TAXII_ST_INVALID_RESPONSE_PART &&
	    m->n_details == 1 && strcmp(m->details[0].name, TAXII_SD_MAX_PART_NUMBER) == 0 &&
	    strcmp(m->details[0].value, "3") == 0 && m->message != NULL,
	    "1.1 Status INVALID_RESPONSE_PART with MAX_PART_NUMBER 3");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Status_Message_BAD_MESSAGE.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->status == TAXII_ST_BAD_MESSAGE && strcmp(m->in_response_to, "0") == 0,
	    "1.1 Status BAD_MESSAGE");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/Status_Message_SUCCESS.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->status == TAXII_ST_SUCCESS && m->n_details == 0, "1.1 Status SUCCESS");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-opentaxii/Discovery_Response.xml"), TAXII_V11, &rc);
	if (ok(rc == 0 && m->type == TAXII_MSG_DISCOVERY_RESP && m->n_services > 0,
		"OpenTAXII Discovery_Response")) {
		int poll = 0;

		for (size_t i = 0; i < m->n_services; i++)
			if (m->services[i].type == TAXII_SVC_POLL &&
			    m->services[i].contact.address != NULL &&
			    m->services[i].contact.message_bindings.n > 0)
				poll = 1;
		ok(poll, "it lists a poll service with address and binding");
	}
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-opentaxii/Collection_Information_Response.xml"), TAXII_V11,
	    &rc);
	ok(rc == 0 && m->type == TAXII_MSG_COLLECTION_INFO_RESP && m->n_collections > 0 &&
	    m->collections[0].name && m->collections[0].description,
	    "OpenTAXII Collection_Information_Response");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-opentaxii/Poll_Response_more_part1.xml"), TAXII_V11, &rc);
	if (ok(rc == 0 && m->type == TAXII_MSG_POLL_RESP && m->more && m->n_blocks == 10,
		"OpenTAXII Poll_Response: more, 10 blocks")) {
		int all = 1;

		for (size_t i = 0; i < m->n_blocks; i++)
			if (!m->blocks[i].is_xml || m->blocks[i].content_len == 0)
				all = 0;
		ok(all, "every OpenTAXII block kept as XML");
	}
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-opentaxii/Poll_Response.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->n_blocks > 0 && m->has_end, "OpenTAXII Poll_Response");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-opentaxii/Status_Message_UNAUTHORIZED.xml"), TAXII_V11,
	    &rc);
	ok(rc == 0 && m->status == TAXII_ST_UNAUTHORIZED, "OpenTAXII Status UNAUTHORIZED");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-opentaxii/Status_Message_FAILURE_missing_header.xml"),
	    TAXII_V11, &rc);
	ok(rc == 0 && m->status == TAXII_ST_FAILURE && m->message != NULL,
	    "OpenTAXII Status FAILURE (extra namespace declarations)");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-libtaxii-tests/Subscription_Management_Request.xml"),
	    TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_SUBSCRIPTION_REQ && m->action == TAXII_SUB_SUBSCRIBE &&
	    strcmp(m->collection, "collection2") == 0 && m->has_poll_params,
	    "libtaxii Subscription_Management_Request");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-libtaxii-tests/Subscription_Management_Response.xml"),
	    TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_SUBSCRIPTION_RESP && m->n_subscriptions == 3 &&
	    m->subscriptions[1].status == TAXII_SUBST_PAUSED &&
	    m->subscriptions[0].response_type == TAXII_RESP_COUNT_ONLY,
	    "libtaxii Subscription_Management_Response");
	ok(rc == 0 && m->subscriptions[0].push &&
	    strcmp(m->subscriptions[0].push->address, "https://example.com/inboxAddress/") == 0 &&
	    m->subscriptions[0].n_poll_instances == 3 &&
	    strcmp(m->subscriptions[0].poll_instances[2].address, "https://example.com/poll3/") ==
		0, "its Push_Parameters and three Poll_Instances");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.1/from-libtaxii-tests/Inbox_Message.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_INBOX, "libtaxii Inbox_Message");
	ok(rc == 0 && m->source_collection &&
	    strcmp(m->source_collection, "SomeCollectionName") == 0 && m->subscription_id &&
	    strcmp(m->subscription_id, "SubsId021") == 0 && m->has_begin && m->has_end,
	    "its Source_Subscription");
	taxii_msg_free(m);
	m = parse_file(SAMPLE("1.1/from-libtaxii-tests/Discovery_Response.xml"), TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_DISCOVERY_RESP, "libtaxii Discovery_Response");
	taxii_msg_free(m);
	m = parse_file(SAMPLE("1.1/from-libtaxii-tests/Collection_Information_Response.xml"),
	    TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_COLLECTION_INFO_RESP,
	    "libtaxii Collection_Information_Response");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.0/Discovery_Request.xml"), TAXII_V10, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_DISCOVERY_REQ && m->version == TAXII_V10,
	    "1.0 Discovery_Request");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.0/Poll_Request.xml"), TAXII_VANY, &rc);
	ok(rc == 0 && m->version == TAXII_V10 && m->type == TAXII_MSG_POLL_REQ &&
	    strcmp(m->collection, "observations") == 0 && m->has_begin && m->has_end &&
	    m->content_bindings.n == 1 && strcmp(m->content_bindings.v[0], TAXII_CB_STIX_12) == 0,
	    "1.0 Poll_Request: feed, window, binding");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.0/Status_Message_SUCCESS.xml"), TAXII_V10, &rc);
	ok(rc == 0 && m->status == TAXII_ST_SUCCESS, "1.0 Status SUCCESS");
	taxii_msg_free(m);

	m = parse_file(SAMPLE("1.0/Poll_Request.xml"), TAXII_V11, &rc);
	ok(rc == TAXII_EVERSION && m == NULL, "a 1.0 message refused when 1.1 is asked");

	/* Every sample re-written by the builder still validates and keeps its content. */
	static const char *again[] = {
		"1.1/Poll_Request.xml", "1.1/Poll_Response_part1.xml", "1.1/Inbox_Message.xml",
		"1.1/Status_Message_INVALID_RESPONSE_PART.xml", "1.1/Poll_Fulfillment.xml",
		"1.1/from-opentaxii/Discovery_Response.xml",
		"1.1/from-opentaxii/Collection_Information_Response.xml",
		"1.1/from-opentaxii/Poll_Response_more_part1.xml",
		"1.1/from-libtaxii-tests/Subscription_Management_Response.xml",
		"1.0/Poll_Request.xml", "1.0/Status_Message_SUCCESS.xml",
	};
	for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		struct taxii_msg *back;

		m = parse_file(SAMPLE(again[i]), TAXII_VANY, &rc);
		if (m == NULL) {
			ok(0, "%s parses for re-writing", again[i]);
			continue;
		}
		back = roundtrip(m, again[i]);
		if (back != NULL) {
			int same = back->n_blocks == m->n_blocks;

			for (size_t j = 0; same && j < m->n_blocks; j++)
				same = back->blocks[j].content_len == m->blocks[j].content_len &&
				    memcmp(back->blocks[j].content, m->blocks[j].content,
					m->blocks[j].content_len) == 0;
			ok(same, "%s: content identical after a round trip", again[i]);
		}
		taxii_msg_free(back);
		taxii_msg_free(m);
	}
#undef SAMPLE
}

static void
test_builders11(void)
{
	char id[TAXII_ID_MAX];
	struct taxii_msg m, *b;
	static const char *const bindings[] = { TAXII_CB_STIX_12, TAXII_CB_STIX_111 };
	static const char *const mb[] = { TAXII_MSG_BINDING_11 };

	taxii_msg_id_new(id);
	ok(strlen(id) > 10 && strspn(id, "0123456789") == strlen(id), "message id is digits");

	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_DISCOVERY_REQ;
	m.message_id = id;
	taxii_msg_free(roundtrip(&m, "1.1 Discovery_Request"));

	m.type = TAXII_MSG_COLLECTION_INFO_REQ;
	taxii_msg_free(roundtrip(&m, "1.1 Collection_Information_Request"));

	struct taxii_service svc[4];
	memset(svc, 0, sizeof(svc));
	for (int i = 0; i < 4; i++) {
		svc[i].type = (enum taxii_service_type)(TAXII_SVC_DISCOVERY + i);
		svc[i].version = TAXII_V11;
		svc[i].available = 1;
		svc[i].contact.protocol = TAXII_PROTOCOL_HTTP;
		svc[i].contact.address = "http://127.0.0.1:9090/taxii/x?a=1&b=2";
		svc[i].contact.message_bindings = (struct taxii_strs){ mb, 1 };
	}
	svc[2].content_bindings = (struct taxii_strs){ bindings, 2 };
	svc[3].message = "poll <here>";
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_DISCOVERY_RESP;
	m.message_id = id;
	m.in_response_to = "req-1";
	m.services = svc;
	m.n_services = 4;
	b = roundtrip(&m, "1.1 Discovery_Response");
	ok(b && b->n_services == 4 && b->services[1].type == TAXII_SVC_COLLECTION_MANAGEMENT &&
	    strcmp(b->services[0].contact.address, svc[0].contact.address) == 0 &&
	    b->services[2].content_bindings.n == 2 && strcmp(b->services[3].message,
	    "poll <here>") == 0 && b->services[0].version == TAXII_V11,
	    "discovery fields survive, escaped");
	taxii_msg_free(b);

	struct taxii_contact pollc = { TAXII_PROTOCOL_HTTP, "http://127.0.0.1/taxii/poll",
		{ mb, 1 } };
	struct taxii_collection cols[2];
	memset(cols, 0, sizeof(cols));
	cols[0].name = "observations";
	cols[0].type = TAXII_COLL_DATA_FEED;
	cols[0].available = 1;
	cols[0].description = "every observation";
	cols[0].has_volume = 1;
	cols[0].volume = 12345;
	cols[0].content_bindings = (struct taxii_strs){ bindings, 1 };
	cols[0].polling = &pollc;
	cols[0].n_polling = 1;
	cols[0].inbox = &pollc;
	cols[0].n_inbox = 1;
	cols[1].name = "targets";
	cols[1].type = TAXII_COLL_DATA_SET;
	cols[1].available = -1;
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_COLLECTION_INFO_RESP;
	m.message_id = id;
	m.in_response_to = "x";
	m.collections = cols;
	m.n_collections = 2;
	b = roundtrip(&m, "1.1 Collection_Information_Response");
	ok(b && b->n_collections == 2 && b->collections[0].has_volume &&
	    b->collections[0].volume == 12345 && b->collections[1].type == TAXII_COLL_DATA_SET &&
	    b->collections[1].available == -1 && b->collections[0].n_polling == 1 &&
	    b->collections[0].n_inbox == 1, "collection fields survive");
	taxii_msg_free(b);

	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_POLL_REQ;
	m.message_id = id;
	m.collection = "observations";
	m.has_begin = m.has_end = 1;
	m.begin_us = t("2026-01-01T00:00:00.000001Z");
	m.end_us = t("2026-01-02T00:00:00Z");
	m.has_poll_params = 1;
	m.response_type = TAXII_RESP_COUNT_ONLY;
	m.content_bindings = (struct taxii_strs){ bindings, 2 };
	b = roundtrip(&m, "1.1 Poll_Request");
	ok(b && b->begin_us == m.begin_us && b->end_us == m.end_us &&
	    b->response_type == TAXII_RESP_COUNT_ONLY && b->content_bindings.n == 2,
	    "poll window to the microsecond and COUNT_ONLY survive");
	taxii_msg_free(b);

	m.has_poll_params = 0;
	m.subscription_id = "sub-1";
	b = roundtrip(&m, "1.1 Poll_Request by subscription");
	ok(b && b->subscription_id && strcmp(b->subscription_id, "sub-1") == 0 &&
	    !b->has_poll_params, "Subscription_ID instead of Poll_Parameters");
	taxii_msg_free(b);

	struct taxii_content_block blocks[3];
	const char *pkg = "<stix:STIX_Package xmlns:stix=\"http://stix.mitre.org/stix-1\" "
			  "version=\"1.2\"><stix:STIX_Header/></stix:STIX_Package>";
	memset(blocks, 0, sizeof(blocks));
	for (int i = 0; i < 3; i++) {
		blocks[i].binding = TAXII_CB_STIX_12;
		blocks[i].content = pkg;
		blocks[i].content_len = strlen(pkg);
		blocks[i].is_xml = 1;
		blocks[i].has_timestamp = 1;
		blocks[i].timestamp_us = t("2026-01-01T04:00:00Z") + i;
	}
	blocks[1].subtype = "urn:example:subtype";
	blocks[2].is_xml = 0;
	blocks[2].content = "text & <tags>";
	blocks[2].content_len = strlen(blocks[2].content);
	blocks[2].message = "third";
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_POLL_RESP;
	m.message_id = id;
	m.in_response_to = "1003";
	m.collection = "observations";
	m.more = 1;
	m.result_id = "r-1";
	m.result_part = 3;
	m.has_begin = m.has_end = 1;
	m.begin_us = 0;
	m.end_us = t("2026-01-02T00:00:00Z");
	m.has_record_count = 1;
	m.record_count = 250;
	m.partial_count = 1;
	m.message = "part three";
	m.blocks = blocks;
	m.n_blocks = 3;
	b = roundtrip(&m, "1.1 Poll_Response");
	ok(b && b->more && b->result_part == 3 && strcmp(b->result_id, "r-1") == 0 &&
	    b->record_count == 250 && b->partial_count && b->n_blocks == 3,
	    "more / result / count survive");
	ok(b && b->n_blocks == 3 && b->blocks[1].subtype &&
	    strcmp(b->blocks[1].subtype, "urn:example:subtype") == 0 &&
	    b->blocks[2].timestamp_us == blocks[2].timestamp_us && !b->blocks[2].is_xml &&
	    strcmp(b->blocks[2].content, "text & <tags>") == 0 &&
	    strcmp(b->blocks[0].content, pkg) == 0, "blocks survive: subtype, label, text, xml");
	taxii_msg_free(b);

	/* Streaming gives the same bytes as the one-shot writer. */
	{
		struct util_buf one, two;
		int rc = 0;

		util_buf_init(&one, 0);
		util_buf_init(&two, 0);
		rc |= taxii_msg_write(&m, &one, NULL);
		rc |= taxii_msg_write_open(&m, &two, NULL);
		for (size_t i = 0; i < m.n_blocks; i++)
			rc |= taxii_block_write(TAXII_V11, &blocks[i], &two, NULL);
		rc |= taxii_msg_write_close(&m, &two, NULL);
		ok(rc == 0 && one.len == two.len && memcmp(one.data, two.data, one.len) == 0,
		    "streamed Poll_Response equals the one-shot one");
		util_buf_fini(&one);
		util_buf_fini(&two);
	}

	/* The cap of the output buffer is honoured. */
	{
		struct util_buf small;
		struct taxii_err err;

		util_buf_init(&small, 200);
		ok(taxii_msg_write(&m, &small, &err) == TAXII_ETOOBIG && small.len <= 200,
		    "builder stops at the buffer cap with TAXII_ETOOBIG");
		util_buf_fini(&small);
	}

	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_POLL_FULFILLMENT;
	m.message_id = id;
	m.collection = "observations";
	m.result_id = "r-1";
	m.result_part = 2;
	b = roundtrip(&m, "1.1 Poll_Fulfillment");
	ok(b && b->result_part == 2, "fulfillment part survives");
	taxii_msg_free(b);

	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_INBOX;
	m.message_id = id;
	m.collection = "targets";
	m.blocks = blocks;
	m.n_blocks = 2;
	b = roundtrip(&m, "1.1 Inbox_Message");
	ok(b && b->collection && strcmp(b->collection, "targets") == 0 && b->n_blocks == 2,
	    "inbox destination and blocks survive");
	taxii_msg_free(b);
	m.collection = NULL;
	m.source_collection = "observations";
	m.subscription_id = "urn:c2watch:subscription:1";
	m.has_begin = m.has_end = 1;
	m.begin_us = INT64_C(1795320000000000);
	m.end_us = INT64_C(1795320060000000);
	b = roundtrip(&m, "1.1 Inbox_Message with Source_Subscription");
	ok(b && b->source_collection && strcmp(b->source_collection, "observations") == 0 &&
	    b->subscription_id && strcmp(b->subscription_id, "urn:c2watch:subscription:1") == 0 &&
	    b->has_begin && b->begin_us == m.begin_us && b->has_end && b->end_us == m.end_us &&
	    b->n_blocks == 2, "its Source_Subscription survives");
	taxii_msg_free(b);
	m.source_collection = NULL;
	m.subscription_id = NULL;
	m.has_begin = m.has_end = 0;

	static const char *const mb11[] = { TAXII_MSG_BINDING_11 };
	struct taxii_contact push = { TAXII_PROTOCOL_HTTPS, "https://sub.example/taxii/inbox",
		{ mb11, 1 } };
	struct taxii_contact poll_inst = { TAXII_PROTOCOL_HTTP, "http://node.example/taxii/poll",
		{ mb11, 1 } };
	struct taxii_subscription subs[1] = { { "s-1", TAXII_SUBST_PAUSED, 1,
		TAXII_RESP_FULL, { bindings, 1 }, &push, &poll_inst, 1 } };
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_SUBSCRIPTION_REQ;
	m.message_id = id;
	m.collection = "observations";
	m.action = TAXII_SUB_STATUS;
	m.subscription_id = "s-1";
	b = roundtrip(&m, "1.1 Subscription_Management_Request");
	ok(b && b->action == TAXII_SUB_STATUS, "subscription action survives");
	taxii_msg_free(b);
	m.action = TAXII_SUB_SUBSCRIBE;
	m.subscription_id = NULL;
	m.has_poll_params = 1;
	m.response_type = TAXII_RESP_COUNT_ONLY;
	m.push = &push;
	b = roundtrip(&m, "1.1 Subscription_Management_Request with Push_Parameters");
	ok(b && b->action == TAXII_SUB_SUBSCRIBE && b->has_poll_params &&
	    b->response_type == TAXII_RESP_COUNT_ONLY && b->push &&
	    strcmp(b->push->protocol, TAXII_PROTOCOL_HTTPS) == 0 &&
	    strcmp(b->push->address, "https://sub.example/taxii/inbox") == 0 &&
	    b->push->message_bindings.n == 1 &&
	    strcmp(b->push->message_bindings.v[0], TAXII_MSG_BINDING_11) == 0,
	    "push parameters survive");
	taxii_msg_free(b);
	m.push = NULL;
	m.has_poll_params = 0;
	m.action = TAXII_SUB_STATUS;
	m.type = TAXII_MSG_SUBSCRIPTION_RESP;
	m.in_response_to = "1";
	m.subscriptions = subs;
	m.n_subscriptions = 1;
	b = roundtrip(&m, "1.1 Subscription_Management_Response");
	ok(b && b->n_subscriptions == 1 && b->subscriptions[0].status == TAXII_SUBST_PAUSED &&
	    b->subscriptions[0].has_params, "subscription record survives");
	ok(b && b->n_subscriptions == 1 && b->subscriptions[0].push &&
	    strcmp(b->subscriptions[0].push->address, "https://sub.example/taxii/inbox") == 0 &&
	    b->subscriptions[0].n_poll_instances == 1 &&
	    strcmp(b->subscriptions[0].poll_instances[0].address,
		"http://node.example/taxii/poll") == 0,
	    "its Push_Parameters and Poll_Instance survive");
	taxii_msg_free(b);

	/* TAXII 1.0 Manage Feed Subscription: attributes, and bindings in Push_Parameters. */
	{
		static const char *const mb10[] = { TAXII_MSG_BINDING_10 };
		static const char *const cb10[] = { TAXII_CB_STIX_12 };
		struct taxii_contact push10 = { TAXII_PROTOCOL_HTTP, "http://sub.example/inbox",
			{ mb10, 1 } };
		struct taxii_subscription subs10[1] = { { "s-10", TAXII_SUBST_ACTIVE, 0,
			TAXII_RESP_FULL, { cb10, 1 }, &push10, &push10, 1 } };

		memset(&m, 0, sizeof(m));
		m.version = TAXII_V10;
		m.type = TAXII_MSG_SUBSCRIPTION_REQ;
		m.message_id = "42";
		m.collection = "observations";
		m.action = TAXII_SUB_SUBSCRIBE;
		m.push = &push10;
		m.content_bindings.v = cb10;
		m.content_bindings.n = 1;
		b = roundtrip(&m, "1.0 Subscription_Management_Request");
		ok(b && b->action == TAXII_SUB_SUBSCRIBE && b->push &&
		    strcmp(b->push->address, "http://sub.example/inbox") == 0 &&
		    b->content_bindings.n == 1 &&
		    strcmp(b->content_bindings.v[0], TAXII_CB_STIX_12) == 0,
		    "1.0: action, feed and push parameters with their content binding survive");
		taxii_msg_free(b);
		m.action = TAXII_SUB_PAUSE;
		{
			struct util_buf o10;
			struct taxii_err e10;

			util_buf_init(&o10, 0);
			ok(taxii_msg_write(&m, &o10, &e10) == TAXII_EINVAL,
			    "1.0 has no PAUSE: EINVAL");
			util_buf_fini(&o10);
		}
		m.action = TAXII_SUB_UNSUBSCRIBE;
		m.push = NULL;
		m.subscription_id = "s-10";
		b = roundtrip(&m, "1.0 UNSUBSCRIBE");
		ok(b && b->subscription_id && strcmp(b->subscription_id, "s-10") == 0,
		    "1.0: subscription_id attribute survives");
		taxii_msg_free(b);
		memset(&m, 0, sizeof(m));
		m.version = TAXII_V10;
		m.type = TAXII_MSG_SUBSCRIPTION_RESP;
		m.message_id = "43";
		m.in_response_to = "42";
		m.collection = "observations";
		m.subscriptions = subs10;
		m.n_subscriptions = 1;
		b = roundtrip(&m, "1.0 Subscription_Management_Response");
		ok(b && b->n_subscriptions == 1 && strcmp(b->subscriptions[0].id, "s-10") == 0 &&
		    b->subscriptions[0].push && b->subscriptions[0].n_poll_instances == 1 &&
		    b->subscriptions[0].content_bindings.n == 1,
		    "1.0: the subscription record survives");
		taxii_msg_free(b);
	}

	/* Missing required fields are refused, not written invalid. */
	struct util_buf o;
	struct taxii_err err;
	util_buf_init(&o, 0);
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V11;
	m.type = TAXII_MSG_POLL_REQ;
	m.message_id = id;
	ok(taxii_msg_write(&m, &o, &err) == TAXII_EINVAL, "Poll_Request without a collection: EINVAL");
	m.type = TAXII_MSG_DISCOVERY_RESP;
	ok(taxii_msg_write(&m, &o, &err) == TAXII_EINVAL, "response without in_response_to: EINVAL");
	m.version = TAXII_V10;
	m.type = TAXII_MSG_POLL_FULFILLMENT;
	ok(taxii_msg_write(&m, &o, &err) == TAXII_EINVAL, "no Poll_Fulfillment in 1.0: EINVAL");
	util_buf_fini(&o);
}

static void
test_status(void)
{
	static const struct {
		enum taxii_status st;
		const char *detail;
		const char *value;
	} cases[] = {
		{ TAXII_ST_BAD_MESSAGE, NULL, NULL },
		{ TAXII_ST_UNAUTHORIZED, NULL, NULL },
		{ TAXII_ST_DENIED, NULL, NULL },
		{ TAXII_ST_FAILURE, NULL, NULL },
		{ TAXII_ST_SUCCESS, NULL, NULL },
		{ TAXII_ST_NOT_FOUND, TAXII_SD_ITEM, "nosuch" },
		{ TAXII_ST_UNSUPPORTED_MESSAGE, TAXII_SD_SUPPORTED_BINDING, TAXII_MSG_BINDING_11 },
		{ TAXII_ST_UNSUPPORTED_CONTENT, TAXII_SD_SUPPORTED_CONTENT, TAXII_CB_STIX_12 },
		{ TAXII_ST_UNSUPPORTED_PROTOCOL, TAXII_SD_SUPPORTED_PROTOCOL, TAXII_PROTOCOL_HTTP },
		{ TAXII_ST_UNSUPPORTED_QUERY, TAXII_SD_SUPPORTED_QUERY, "urn:x" },
		{ TAXII_ST_INVALID_RESPONSE_PART, TAXII_SD_MAX_PART_NUMBER, "3" },
		{ TAXII_ST_PENDING, TAXII_SD_ESTIMATED_WAIT, "30" },
		{ TAXII_ST_RETRY, TAXII_SD_ESTIMATED_WAIT, "5" },
		{ TAXII_ST_DESTINATION_COLLECTION_ERROR, TAXII_SD_ACCEPTABLE_DESTINATION, "targets" },
		{ TAXII_ST_ASYNCHRONOUS_POLL_ERROR, NULL, NULL },
		{ TAXII_ST_NETWORK_ERROR, NULL, NULL },
		{ TAXII_ST_POLLING_UNSUPPORTED, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int v = 0; v < 2; v++) {
			enum taxii_version ver = v ? TAXII_V10 : TAXII_V11;
			struct taxii_detail d = { cases[i].detail, cases[i].value };
			const char *name = taxii_status_name(cases[i].st);
			struct util_buf b;
			struct taxii_err err;
			struct taxii_msg *m = NULL;
			int rc;

			util_buf_init(&b, 0);
			rc = taxii_status_write(ver, ver == TAXII_V10 ? "77" : "req-9", cases[i].st,
			    cases[i].detail ? &d : NULL, 1, "why & how", &b, &err);
			if (!taxii_status_in_version(cases[i].st, ver)) {
				ok(rc == TAXII_EINVAL, "%s %s: not in TAXII 1.0, refused", name,
				    v ? "1.0" : "1.1");
				util_buf_fini(&b);
				continue;
			}
			if (!ok(rc == 0 && schema_valid(b.data, b.len, ver), "%s %s validates", name,
				v ? "1.0" : "1.1"))
				tap_diag("%s", err.msg);
			rc = taxii_msg_parse(b.data, b.len, ver, &m, &err);
			ok(rc == 0 && m->status == cases[i].st && strcmp(m->status_type, name) == 0 &&
			    strcmp(m->message, "why & how") == 0 &&
			    (cases[i].detail == NULL ? m->n_details == 0 :
			    ver == TAXII_V10 ? m->n_details == 1 && strstr(m->details[0].value,
				cases[i].value) != NULL :
			    m->n_details == 1 && strcmp(m->details[0].name, cases[i].detail) == 0 &&
			    strcmp(m->details[0].value, cases[i].value) == 0),
			    "%s %s parses back with its detail", name, v ? "1.0" : "1.1");
			taxii_msg_free(m);
			util_buf_fini(&b);
		}
	}

	struct util_buf b;
	struct taxii_msg *m = NULL;
	struct taxii_detail bad = { TAXII_SD_ITEM, "/taxii/\xff\xc3(\xed\xa0\x80\x01" };

	/* Bytes from the network that are not XML characters must not break the output. */
	util_buf_init(&b, 0);
	ok(taxii_status_write(TAXII_V11, "1", TAXII_ST_NOT_FOUND, &bad, 1,
	    "caf\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbe \xc0\xaf end", &b, NULL) == 0 &&
	    schema_valid(b.data, b.len, TAXII_V11) &&
	    taxii_msg_parse(b.data, b.len, TAXII_V11, &m, NULL) == 0,
	    "malformed UTF-8 and control bytes are replaced, output well-formed");
	ok(m && strcmp(m->message, "caf\xc3\xa9 \xf0\x9f\x98\x80 ?" "?? ?" "? end") == 0 &&
	    strcmp(m->details[0].value, "/taxii/?" "?(?" "?" "?" "?") == 0,
	    "valid UTF-8 kept, each bad byte one '?'");
	taxii_msg_free(m);
	m = NULL;
	util_buf_reset(&b);
	ok(taxii_status_write(TAXII_V10, "not-digits", TAXII_ST_BAD_MESSAGE, NULL, 0, NULL, &b,
	    NULL) == 0 && schema_valid(b.data, b.len, TAXII_V10) &&
	    taxii_msg_parse(b.data, b.len, TAXII_V10, &m, NULL) == 0 &&
	    strcmp(m->in_response_to, "0") == 0, "1.0 status to a non-numeric id answers \"0\"");
	taxii_msg_free(m);
	util_buf_fini(&b);
}

static void
test_builders10(void)
{
	char id[TAXII_ID_MAX];
	struct taxii_msg m, *b;
	static const char *const bindings[] = { TAXII_CB_STIX_12 };

	taxii_msg_id_new(id);
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V10;
	m.message_id = id;
	m.type = TAXII_MSG_DISCOVERY_REQ;
	taxii_msg_free(roundtrip(&m, "1.0 Discovery_Request"));
	m.type = TAXII_MSG_COLLECTION_INFO_REQ;
	b = roundtrip(&m, "1.0 Feed_Information_Request");
	taxii_msg_free(b);

	struct taxii_service svc[2];
	memset(svc, 0, sizeof(svc));
	svc[0].type = TAXII_SVC_COLLECTION_MANAGEMENT;
	svc[0].version = TAXII_V10;
	svc[0].available = -1;
	svc[0].contact.protocol = TAXII_PROTOCOL_HTTPS;
	svc[0].contact.address = "https://127.0.0.1/taxii/collections";
	svc[1] = svc[0];
	svc[1].type = TAXII_SVC_INBOX;
	svc[1].content_bindings = (struct taxii_strs){ bindings, 1 };
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V10;
	m.type = TAXII_MSG_DISCOVERY_RESP;
	m.message_id = id;
	m.in_response_to = "3001";
	m.services = svc;
	m.n_services = 2;
	b = roundtrip(&m, "1.0 Discovery_Response");
	ok(b && b->n_services == 2 && b->services[0].type == TAXII_SVC_COLLECTION_MANAGEMENT &&
	    b->services[0].version == TAXII_V10 && b->services[1].content_bindings.n == 1 &&
	    strcmp(b->services[0].contact.message_bindings.v[0], TAXII_MSG_BINDING_10) == 0,
	    "1.0 FEED_MANAGEMENT service, default 1.0 message binding");
	taxii_msg_free(b);

	struct taxii_contact pc = { TAXII_PROTOCOL_HTTP, "http://127.0.0.1/taxii/poll", { 0, 0 } };
	struct taxii_collection col;
	memset(&col, 0, sizeof(col));
	col.name = "observations";
	col.description = "obs";
	col.available = 1;
	col.content_bindings = (struct taxii_strs){ bindings, 1 };
	col.polling = &pc;
	col.n_polling = 1;
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V10;
	m.type = TAXII_MSG_COLLECTION_INFO_RESP;
	m.message_id = id;
	m.in_response_to = "3001";
	m.collections = &col;
	m.n_collections = 1;
	b = roundtrip(&m, "1.0 Feed_Information_Response");
	ok(b && b->n_collections == 1 && strcmp(b->collections[0].name, "observations") == 0,
	    "1.0 feed survives");
	taxii_msg_free(b);

	memset(&m, 0, sizeof(m));
	m.version = TAXII_V10;
	m.type = TAXII_MSG_POLL_REQ;
	m.message_id = id;
	m.collection = "observations";
	m.has_end = 1;
	m.end_us = t("2026-01-02T00:00:00Z");
	m.content_bindings = (struct taxii_strs){ bindings, 1 };
	b = roundtrip(&m, "1.0 Poll_Request");
	ok(b && !b->has_begin && b->has_end && b->end_us == m.end_us, "1.0 poll window");
	taxii_msg_free(b);

	struct taxii_content_block blk;
	const char *pkg = "<p:x xmlns:p=\"urn:example\">1</p:x>";
	memset(&blk, 0, sizeof(blk));
	blk.binding = TAXII_CB_STIX_12;
	blk.content = pkg;
	blk.content_len = strlen(pkg);
	blk.is_xml = 1;
	blk.has_timestamp = 1;
	blk.timestamp_us = 1;
	memset(&m, 0, sizeof(m));
	m.version = TAXII_V10;
	m.type = TAXII_MSG_POLL_RESP;
	m.message_id = id;
	m.in_response_to = "3002";
	m.collection = "observations";
	m.has_begin = m.has_end = 1;
	m.end_us = t("2026-01-02T00:00:00Z");
	m.blocks = &blk;
	m.n_blocks = 1;
	b = roundtrip(&m, "1.0 Poll_Response");
	ok(b && b->n_blocks == 1 && strcmp(b->blocks[0].binding, TAXII_CB_STIX_12) == 0 &&
	    strcmp(b->blocks[0].content, pkg) == 0 && b->blocks[0].timestamp_us == 1,
	    "1.0 content block survives");
	taxii_msg_free(b);
	m.has_end = 0;
	{
		struct util_buf o;

		util_buf_init(&o, 0);
		ok(taxii_msg_write(&m, &o, NULL) == TAXII_EINVAL,
		    "1.0 Poll_Response without Inclusive_End refused");
		util_buf_fini(&o);
	}

	memset(&m, 0, sizeof(m));
	m.version = TAXII_V10;
	m.type = TAXII_MSG_INBOX;
	m.message_id = id;
	m.message = "hello";
	m.blocks = &blk;
	m.n_blocks = 1;
	b = roundtrip(&m, "1.0 Inbox_Message");
	ok(b && b->n_blocks == 1 && b->collection == NULL && strcmp(b->message, "hello") == 0,
	    "1.0 inbox survives");
	taxii_msg_free(b);
}

static int
parse_str(const char *s, enum taxii_version ver, struct taxii_err *err)
{
	struct taxii_msg *m = NULL;
	int rc = taxii_msg_parse(s, strlen(s), ver, &m, err);

	ok((rc == 0) == (m != NULL), "out set exactly on success");
	taxii_msg_free(m);
	return rc;
}

static void
test_hostile(void)
{
	char dir[1100], path[1400];
	struct taxii_err err;
	DIR *d;
	struct dirent *de;
	int n = 0;

	join(dir, sizeof(dir), srcdata, "hostile");
	if ((d = opendir(dir)) == NULL) {
		ok(0, "open %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct util_buf b;
		struct taxii_msg *m = NULL;
		int rc;

		if (strstr(de->d_name, ".xml") == NULL)
			continue;
		join(path, sizeof(path), dir, de->d_name);
		if (read_file(path, &b) != 0)
			continue;
		rc = taxii_msg_parse(b.data, b.len, TAXII_V11, &m, &err);
		if (strstr(b.data, "<!DOCTYPE") != NULL)
			ok(rc == TAXII_EHOSTILE && m == NULL, "%s: refused as hostile (%s)",
			    de->d_name, err.msg);
		else
			ok((rc == TAXII_EXML || rc == TAXII_EHOSTILE) && m == NULL,
			    "%s: refused (%s)", de->d_name, err.msg);
		util_buf_fini(&b);
		n++;
	}
	closedir(d);
	ok(n >= 5, "hostile cases found (%d)", n);

	/* Nesting: libxml2 allows 256, we stop at TAXII_MSG_MAX_DEPTH. */
	struct util_buf deep;
	util_buf_init(&deep, 0);
	util_buf_printf(&deep, "<t:Inbox_Message xmlns:t=\"%s\" message_id=\"1\">"
			       "<t:Content_Block><t:Content_Binding binding_id=\"x\"/><t:Content>",
	    TAXII_NS_11);
	for (int i = 0; i < TAXII_MSG_MAX_DEPTH + 5; i++)
		util_buf_printf(&deep, "<a>");
	for (int i = 0; i < TAXII_MSG_MAX_DEPTH + 5; i++)
		util_buf_printf(&deep, "</a>");
	util_buf_printf(&deep, "</t:Content></t:Content_Block></t:Inbox_Message>");
	is_int(parse_str(deep.data, TAXII_V11, &err), TAXII_EHOSTILE, "too deep: refused");
	util_buf_fini(&deep);

	/* Size: refused before the parser reads a byte. */
	char *big = calloc(1, (size_t)TAXII_MSG_MAX_BYTES + 2);
	struct taxii_msg *m = NULL;
	if (big != NULL) {
		ok(taxii_msg_parse(big, (size_t)TAXII_MSG_MAX_BYTES + 1, TAXII_V11, &m, &err) ==
			TAXII_ETOOBIG && m == NULL, "over the size cap: TAXII_ETOOBIG");
		free(big);
	}
	is_int(taxii_msg_parse("", 0, TAXII_V11, &m, &err), TAXII_EXML, "empty body: EXML");

	is_int(parse_str("<x:Discovery_Request xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\">\n<oops>",
	    TAXII_V11, &err), TAXII_EXML, "not well-formed: EXML");
	ok(err.line == 2, "error names line 2 (got %d: %s)", err.line, err.msg);
	is_int(parse_str("<Discovery_Request message_id=\"1\"/>", TAXII_V11, &err), TAXII_EMSG,
	    "no namespace: EMSG");
	is_int(parse_str("<x:Discovery_Request xmlns:x=\"urn:other\" message_id=\"1\"/>", TAXII_V11,
	    &err), TAXII_EMSG, "right name, wrong namespace: EMSG");
	is_int(parse_str("<x:Frobnicate xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\"/>", TAXII_V11,
	    &err), TAXII_EUNSUPPORTED, "unknown TAXII message: EUNSUPPORTED");
	is_int(parse_str("<x:Poll_Fulfillment xmlns:x=\"" TAXII_NS_10 "\" message_id=\"1\"/>",
	    TAXII_VANY, &err), TAXII_EUNSUPPORTED, "1.1-only message in 1.0: EUNSUPPORTED");
	is_int(parse_str("<x:Poll_Request xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\">\n"
			 "<x:Poll_Parameters/></x:Poll_Request>", TAXII_V11, &err), TAXII_EMSG,
	    "Poll_Request without collection_name: EMSG");
	has_str(err.msg, "collection_name", "error names the attribute");
	is_int(parse_str("<x:Poll_Request xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\" "
			 "collection_name=\"c\"/>", TAXII_V11, &err), TAXII_EMSG,
	    "Poll_Request without parameters or subscription: EMSG");
	is_int(parse_str("<x:Poll_Request xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\" "
			 "collection_name=\"c\"><x:Exclusive_Begin_Timestamp>yesterday"
			 "</x:Exclusive_Begin_Timestamp><x:Poll_Parameters/></x:Poll_Request>",
	    TAXII_V11, &err), TAXII_EMSG, "bad timestamp: EMSG");
	is_int(parse_str("<x:Poll_Response xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\" "
			 "in_response_to=\"1\" collection_name=\"c\" result_part_number=\"0\"/>",
	    TAXII_V11, &err), TAXII_EMSG, "part number 0: EMSG");
	is_int(parse_str("<x:Discovery_Request xmlns:x=\"" TAXII_NS_10 "\" message_id=\"abc\"/>",
	    TAXII_V10, &err), TAXII_EMSG, "1.0 non-numeric message_id: EMSG");
	is_int(parse_str("<x:Status_Message xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\"/>",
	    TAXII_V11, &err), TAXII_EMSG, "Status_Message without in_response_to: EMSG");
	is_int(parse_str("<x:Inbox_Message xmlns:x=\"" TAXII_NS_11 "\" message_id=\"1\">"
			 "<x:Content_Block><x:Content>a</x:Content></x:Content_Block>"
			 "</x:Inbox_Message>", TAXII_V11, &err), TAXII_EMSG,
	    "Content_Block without binding: EMSG");
}

static void
test_namespaces(void)
{
	char path[1400];
	struct taxii_msg *m;
	int rc;

	join(path, sizeof(path), srcdata, "valid/default_ns_poll_request.xml");
	m = parse_file(path, TAXII_V11, &rc);
	ok(rc == 0 && m->type == TAXII_MSG_POLL_REQ && m->response_type == TAXII_RESP_COUNT_ONLY &&
	    m->allow_asynch && m->content_bindings.n == 2 && m->has_begin && !m->has_end,
	    "default namespace and foreign declarations: parsed");
	taxii_msg_free(m);

	join(path, sizeof(path), srcdata, "valid/inherited_ns_inbox.xml");
	m = parse_file(path, TAXII_V11, &rc);
	if (ok(rc == 0 && m->n_blocks == 2, "inbox with inherited content namespaces")) {
		const struct taxii_content_block *b = &m->blocks[0];

		ok(content_standalone(b, "http://stix.mitre.org/stix-1"),
		    "content declares the prefixes it inherited");
		has_str(b->content, "xmlns:indicator=", "prefix used only in xsi:type kept");
		is_str(b->subtype, "urn:example:sub", "subtype");
		ok(b->has_timestamp && b->timestamp_us == t("2026-01-01T04:00:00.5+09:00"),
		    "timestamp with offset");
		is_str(b->message, "a & b", "block message unescaped");
		ok(!m->blocks[1].is_xml && strcmp(m->blocks[1].content, "plain <text>") == 0,
		    "text content kept as text");
	}
	taxii_msg_free(m);
}

/*
 * Mutated messages (a fixed seed, so failures reproduce): the parser never crashes, and
 * whatever it accepts the builder writes back into something it parses again.
 */
static void
test_mutations(void)
{
	static const char *const files[] = { "valid/inherited_ns_inbox.xml",
		"valid/default_ns_poll_request.xml" };
	static const char alphabet[] = "<>&;\"'=/:x \n\xc3\xff";
	unsigned seed = 12345;
	int answered = 0, accepted = 0, rewritten = 0;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char path[1400];
		struct util_buf orig;

		join(path, sizeof(path), srcdata, files[f]);
		if (!ok(read_file(path, &orig) == 0, "mutations: %s read", files[f]))
			continue;
		for (int round = 0; round < 1500; round++) {
			struct util_buf b;
			struct taxii_msg *m = NULL, *back = NULL;
			int rc;

			util_buf_init(&b, 0);
			util_buf_add(&b, orig.data, orig.len);
			for (int k = 0; k < 1 + round % 4; k++) {
				size_t at;

				if (b.len < 2)
					break;
				seed = seed * 1103515245u + 12345u;
				at = (seed >> 8) % b.len;
				seed = seed * 1103515245u + 12345u;
				switch ((seed >> 16) % 3) {
				case 0: /* replace a byte */
					b.data[at] = alphabet[(seed >> 4) % (sizeof(alphabet) - 1)];
					break;
				case 1: /* delete a byte */
					memmove(b.data + at, b.data + at + 1, b.len - at - 1);
					b.len--;
					break;
				default: /* cut the message short */
					b.len = at + 1;
				}
			}
			rc = taxii_msg_parse(b.data, b.len, TAXII_VANY, &m, NULL);
			/* A message, or a refusal for what is wrong with the input (never ENOMEM,
			 * EINVAL or a network error) and no message. */
			if ((rc == 0 && m != NULL) ||
			    (m == NULL && rc <= TAXII_EXML && rc >= TAXII_EVERSION))
				answered++;
			else
				tap_diag("round %d of %s: parse gave %d, message %p", round, files[f],
				    rc, (void *)m);
			if (rc == 0) {
				struct util_buf out;

				accepted++;
				util_buf_init(&out, 0);
				if (taxii_msg_write(m, &out, NULL) == 0 &&
				    taxii_msg_parse(out.data, out.len, m->version, &back, NULL) == 0 &&
				    back->type == m->type && back->n_blocks == m->n_blocks)
					rewritten++;
				else
					tap_diag("round %d of %s: accepted but not rewritable", round,
					    files[f]);
				util_buf_fini(&out);
			}
			taxii_msg_free(back);
			taxii_msg_free(m);
			util_buf_fini(&b);
		}
		util_buf_fini(&orig);
	}
	ok(answered == 3000, "3000 mutated messages parsed without a crash, each accepted or "
	    "refused for what is wrong with it (%d)", answered);
	ok(accepted > 0 && rewritten == accepted,
	    "every accepted mutant (%d) is written back and parses again (%d)", accepted,
	    rewritten);
}

/* Allocation failure injection: the Nth allocation libxml2 or the parser makes fails. */
static long alloc_count, alloc_fail_at;

static int
alloc_should_fail(void)
{
	return alloc_fail_at > 0 && ++alloc_count == alloc_fail_at;
}

static void *
t_malloc(size_t n)
{
	return alloc_should_fail() ? NULL : malloc(n);
}

static void *
t_realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : realloc(p, n);
}

static char *
t_strdup(const char *s)
{
	return alloc_should_fail() ? NULL : strdup(s);
}

static void
torture(const char *what, const char *xml, size_t len)
{
	long n;
	int consistent = 1, enomem = 0, done = 0;

	for (n = 1; n < 20000 && !done; n++) {
		struct taxii_msg *m = NULL;
		int rc;

		alloc_count = 0;
		alloc_fail_at = n;
		rc = taxii_msg_parse(xml, len, TAXII_VANY, &m, NULL);
		alloc_fail_at = 0;
		if ((rc == 0) != (m != NULL))
			consistent = 0;
		if (rc == TAXII_ENOMEM)
			enomem++;
		if (rc == 0 && alloc_count < n)
			done = 1; /* the failure point is past the last allocation */
		taxii_msg_free(m);
	}
	ok(done && consistent, "%s: every one of %ld allocation failures handled", what, n - 1);
	ok(enomem > 0, "%s: some reported as TAXII_ENOMEM (%d)", what, enomem);
}

static void
test_alloc_failures(void)
{
	char path[1400];
	struct util_buf b;

	if (!ok(xmlMemSetup(free, t_malloc, t_realloc, t_strdup) == 0,
		"libxml2 takes the failing allocator"))
		return;
	join(path, sizeof(path), srcdata, "valid/inherited_ns_inbox.xml");
	if (ok(read_file(path, &b) == 0, "allocation failures: inbox fixture read")) {
		torture("inbox with content", b.data, b.len);
		util_buf_fini(&b);
	}
	join(path, sizeof(path), srcdata, "valid/default_ns_poll_request.xml");
	if (ok(read_file(path, &b) == 0, "allocation failures: poll request fixture read")) {
		torture("poll request", b.data, b.len);
		util_buf_fini(&b);
	}
}

static void
test_http(void)
{
	is_str(taxii_http_content_type(TAXII_V11), "urn:taxii.mitre.org:message:xml:1.1",
	    "1.1 X-TAXII-Content-Type");
	is_str(taxii_http_content_type(TAXII_V10), "urn:taxii.mitre.org:message:xml:1.0",
	    "1.0 X-TAXII-Content-Type");
	is_str(taxii_http_services(TAXII_V11), "urn:taxii.mitre.org:services:1.1",
	    "1.1 X-TAXII-Services");
	is_str(taxii_http_services(TAXII_V10), "urn:taxii.mitre.org:services:1.0",
	    "1.0 X-TAXII-Services");
	is_str(taxii_http_protocol(0), "urn:taxii.mitre.org:protocol:http:1.0", "http protocol");
	is_str(taxii_http_protocol(1), "urn:taxii.mitre.org:protocol:https:1.0", "https protocol");
	is_int(taxii_http_version(TAXII_MSG_BINDING_11, NULL), TAXII_V11, "1.1 by content type");
	is_int(taxii_http_version(TAXII_MSG_BINDING_10, TAXII_SERVICES_11), TAXII_V10,
	    "content type wins over services");
	is_int(taxii_http_version(NULL, TAXII_SERVICES_10), TAXII_V10, "1.0 by services");
	is_int(taxii_http_version(NULL, NULL), TAXII_VANY, "no headers: unknown");
	is_int(taxii_http_version("urn:bogus", NULL), TAXII_VANY, "bogus content type: unknown");
	is_int(taxii_http_accept(" urn:x , " TAXII_MSG_BINDING_10 " ", TAXII_V11), TAXII_V10,
	    "Accept of 1.0 only: answer 1.0");
	is_int(taxii_http_accept(TAXII_MSG_BINDING_10 "," TAXII_MSG_BINDING_11, TAXII_V11),
	    TAXII_V11, "Accept of both: answer in the request's version");
	is_int(taxii_http_accept(NULL, TAXII_V10), TAXII_V10, "no Accept: request's version");
	is_str(taxii_status_name(TAXII_ST_INVALID_RESPONSE_PART), "INVALID_RESPONSE_PART",
	    "status name");
	is_str(taxii_msg_type_name(TAXII_MSG_COLLECTION_INFO_REQ, TAXII_V10),
	    "Feed_Information_Request", "1.0 name of collection information");
	ok(taxii_strerror(TAXII_EHOSTILE) != NULL && taxii_strerror(-999) != NULL, "strerror");
}

/*
 * Content is copied from the input, its subtree never built: the copy must still carry
 * every namespace it uses (the envelope's too, when used deep inside), stand alone, keep
 * the input's own bytes, and the depth cap must still hold inside it.
 */
static void
test_content_copy(void)
{
	static const char head[] =
	    "<t:Poll_Response xmlns:t=\"" TAXII_NS_11 "\" xmlns:p=\"urn:example:p\" "
	    "xmlns:q=\"urn:example:&quot;q\" message_id=\"1\" in_response_to=\"2\" "
	    "collection_name=\"c\"><t:Content_Block><t:Content_Binding binding_id=\"b\"/>"
	    "<t:Content>";
	static const char tail[] = "</t:Content></t:Content_Block></t:Poll_Response>";
	static const char body[] =
	    "<p:a  x='1' ><p:b>&lt;&#65;<!-- c --><![CDATA[<z>]]><t:Deep q:k=\"v\"/></p:b>"
	    "<?pi x?></p:a>";
	struct util_buf in, deep;
	struct taxii_msg *m = NULL;
	struct taxii_err err;
	int rc;

	util_buf_init(&in, 0);
	util_buf_printf(&in, "%s%s%s", head, body, tail);
	rc = taxii_msg_parse(in.data, in.len, TAXII_VANY, &m, &err);
	is_int(rc, 0, "copy: parsed (%s)", rc ? err.msg : "");
	if (rc == 0 && m->n_blocks == 1) {
		const char *c = m->blocks[0].content;
		xmlDoc *d = xmlReadMemory(c, (int)m->blocks[0].content_len, NULL, NULL,
		    XML_PARSE_NONET);

		has_str(c, "<p:a xmlns:", "copy: declarations right after the name");
		has_str(c, "xmlns:p=\"urn:example:p\"", "copy: the content's own prefix declared");
		has_str(c, "xmlns:t=\"" TAXII_NS_11 "\"", "copy: the envelope's, used deep inside");
		has_str(c, "xmlns:q=\"urn:example:&quot;q\"", "copy: an attribute's, escaped");
		has_str(c, "  x='1' ><p:b>&lt;&#65;<!-- c --><![CDATA[<z>]]>",
		    "copy: the input's own bytes");
		ok(strlen(c) == m->blocks[0].content_len && c[strlen(c) - 1] == '>' &&
		    strstr(c, "<?pi x?></p:a>") != NULL, "copy: up to the element's end");
		ok(d != NULL, "copy: stands alone");
		xmlFreeDoc(d);
	}
	taxii_msg_free(m);
	m = NULL;

	util_buf_init(&deep, 0);
	util_buf_printf(&deep, "%s<p:a>", head);
	for (int i = 0; i < TAXII_MSG_MAX_DEPTH; i++)
		util_buf_printf(&deep, "<p:n>");
	for (int i = 0; i < TAXII_MSG_MAX_DEPTH; i++)
		util_buf_printf(&deep, "</p:n>");
	util_buf_printf(&deep, "</p:a>%s", tail);
	is_int(taxii_msg_parse(deep.data, deep.len, TAXII_VANY, &m, &err), TAXII_EHOSTILE,
	    "copy: nesting past the cap inside content is refused");
	ok(m == NULL, "copy: nothing returned");
	util_buf_fini(&in);
	util_buf_fini(&deep);
}


/* ---------------------------------------------------------------------------------------
 * A message read as it arrives (taxii_push) gives what the whole message gives, however
 * its bytes are cut.
 */
struct seen {
	struct util_buf text; /* every block, one line each field */
	size_t n;
	int abort_at;
};

static void
seen_block(struct util_buf *t, const struct taxii_content_block *b)
{
	util_buf_printf(t, "binding=%s subtype=%s xml=%d ts=%d:%lld msg=%s len=%zu\n",
	    b->binding ? b->binding : "-", b->subtype ? b->subtype : "-", b->is_xml,
	    b->has_timestamp, (long long)b->timestamp_us, b->message ? b->message : "-",
	    b->content_len);
	util_buf_add(t, b->content ? b->content : "", b->content_len);
	util_buf_add(t, "\n", 1);
}

static int
seen_cb(void *arg, const struct taxii_content_block *b)
{
	struct seen *s = arg;

	seen_block(&s->text, b);
	s->n++;
	return s->abort_at && (int)s->n == s->abort_at;
}

static void
seen_msg(struct util_buf *t, const struct taxii_msg *m)
{
	util_buf_printf(t, "type=%d ver=%d id=%s irt=%s coll=%s more=%d rid=%s part=%llu "
	    "begin=%d:%lld end=%d:%lld count=%d:%llu status=%s\n", (int)m->type, (int)m->version,
	    m->message_id ? m->message_id : "-", m->in_response_to ? m->in_response_to : "-",
	    m->collection ? m->collection : "-", m->more, m->result_id ? m->result_id : "-",
	    (unsigned long long)m->result_part, m->has_begin, (long long)m->begin_us,
	    m->has_end, (long long)m->end_us, m->has_record_count,
	    (unsigned long long)m->record_count, m->status_type ? m->status_type : "-");
}

/* The message parsed whole: its envelope and blocks as text. rc returned. */
static int
whole_text(const char *xml, size_t len, struct util_buf *t, struct taxii_err *err)
{
	struct taxii_msg *m = NULL;
	int rc = taxii_msg_parse(xml, len, TAXII_VANY, &m, err);

	if (rc == 0) {
		for (size_t i = 0; i < m->n_blocks; i++)
			seen_block(t, &m->blocks[i]);
		seen_msg(t, m);
	}
	taxii_msg_free(m);
	return rc;
}

/* Fed in pieces of `step` bytes (0: sizes from a small generator seeded with seed). */
static int
push_text(const char *xml, size_t len, size_t step, unsigned seed, struct util_buf *t,
    size_t max_bytes, struct taxii_err *err, size_t *blocks, size_t *kept)
{
	struct seen s;
	struct taxii_push *tp;
	struct taxii_msg *m = NULL;
	size_t at = 0;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.text = *t;
	tp = taxii_push_new(0, TAXII_VANY, max_bytes, seen_cb, &s, NULL, NULL);
	if (tp == NULL)
		return TAXII_ENOMEM;
	while (at < len && rc == 0) {
		size_t n = step;

		if (n == 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 97;
		}
		if (n > len - at)
			n = len - at;
		rc = taxii_push_feed(tp, xml + at, n, err);
		at += n;
	}
	if (rc == 0)
		rc = taxii_push_end(tp, &m, err);
	if (rc == 0) {
		for (size_t i = 0; i < m->n_blocks; i++)
			seen_block(&s.text, &m->blocks[i]);
		seen_msg(&s.text, m);
	}
	if (blocks != NULL)
		*blocks = taxii_push_stats(tp)->blocks;
	if (kept != NULL)
		*kept = taxii_push_stats(tp)->kept_max;
	*t = s.text;
	taxii_msg_free(m);
	taxii_push_free(tp);
	return rc;
}

static void
test_push(void)
{
	static const char poll[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a peer -->\n"
	    "<t:Poll_Response xmlns:t=\"" TAXII_NS_11 "\" xmlns:p=\"urn:example:p\" "
	    "xmlns:q=\"urn:example:&quot;q\" message_id=\"1\" in_response_to=\"2\" "
	    "collection_name=\"c&amp;d\" more = 'true' result_id=\"R&lt;1\" "
	    "result_part_number=\"3\">\n"
	    "  <t:Exclusive_Begin_Timestamp>2026-11-22T04:00:00Z</t:Exclusive_Begin_Timestamp>\n"
	    "  <t:Inclusive_End_Timestamp>2026-11-22T05:00:00.25+09:00</t:Inclusive_End_Timestamp>\n"
	    "  <t:Record_Count partial_count=\"false\">3</t:Record_Count>\n"
	    "  <t:Content_Block><t:Content_Binding binding_id=\"urn:stix.mitre.org:xml:1.2\">"
	    "<t:Subtype subtype_id=\"s&#x31;\"/></t:Content_Binding>"
	    "<t:Content><p:a  x='1>2' y=\"&gt;\" ><p:b>&lt;&#65;&amp;&#x10FFFF;<!-- c -->"
	    "<![CDATA[<z>]]]]><t:Deep q:k=\"v\"/></p:b><?pi x?></p:a></t:Content>"
	    "<t:Timestamp_Label>2026-11-22T04:10:00Z</t:Timestamp_Label>"
	    "<t:Message>one &amp; only</t:Message></t:Content_Block>\n"
	    "  <t:Content_Block>\n    <t:Content_Binding binding_id=\"b2\"/>\n"
	    "    <t:Content>plain &amp; text, no element</t:Content>\n"
	    "  </t:Content_Block>\n"
	    "  <t:Content_Block><t:Content_Binding binding_id=\"b3\"/><t:Content>"
	    "<r:x xmlns:r=\"urn:r\"/><r:y xmlns:r=\"urn:r2\">&#233;t&#xE9;</r:y></t:Content>"
	    "<t:Timestamp_Label>2026-11-22T04:20:00.5Z</t:Timestamp_Label></t:Content_Block>\n"
	    "</t:Poll_Response>\n<!-- end -->\n";
	static const char status[] =
	    "<taxii_11:Status_Message xmlns:taxii_11=\"" TAXII_NS_11 "\" message_id=\"9\" "
	    "in_response_to=\"1\" status_type=\"DENIED\"><taxii_11:Message>no</taxii_11:Message>"
	    "</taxii_11:Status_Message>";
	static const char bad_tail[] =
	    "<t:Poll_Response xmlns:t=\"" TAXII_NS_11 "\" message_id=\"1\" in_response_to=\"2\" "
	    "collection_name=\"c\"><t:Content_Block><t:Content_Binding binding_id=\"b\"/>"
	    "<t:Content>x</t:Content></t:Content_Block><t:Content_Block></t:Poll_Response>";
	static const char bad_head[] =
	    "<t:Poll_Response xmlns:t=\"" TAXII_NS_11 "\" message_id=\"1\" in_response_to=\"2\" "
	    "collection_name=\"c\"><t:Record_Count>many</t:Record_Count><t:Content_Block>"
	    "<t:Content_Binding binding_id=\"b\"/><t:Content>x</t:Content></t:Content_Block>"
	    "</t:Poll_Response>";
	static const char doctype[] =
	    "<!DOCTYPE t [<!ENTITY e \"x\">]><t:Poll_Response xmlns:t=\"" TAXII_NS_11 "\"/>";
	static const size_t steps[] = { 1, 2, 3, 5, 7, 13, 64, 1000, 0 };
	const char *const docs[] = { poll, status, NULL };
	static const char *const fixtures[] = { "client/poll_part1.xml",
		"client/poll_response_labels.xml", "client/poll_response_10.xml",
		"client/poll_count_more.xml", NULL };
	struct util_buf a, b, big;
	struct taxii_err err;
	struct seen s;
	struct taxii_push *tp;
	size_t nb = 0, kept = 0;
	int rc, same;

	for (int d = 0; docs[d] != NULL; d++) {
		util_buf_init(&a, 0);
		rc = whole_text(docs[d], strlen(docs[d]), &a, &err);
		is_int(rc, 0, "push: document %d parses whole (%s)", d, rc ? err.msg : "");
		same = 1;
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			for (unsigned seed = 1; seed <= (steps[i] ? 1u : 20u); seed++) {
				util_buf_init(&b, 0);
				rc = push_text(docs[d], strlen(docs[d]), steps[i], seed, &b, 0, &err,
				    NULL, NULL);
				if (rc != 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
					if (same)
						tap_diag("pieces of %zu (seed %u): rc %d (%s)\n%s\n--- "
						    "whole:\n%s", steps[i], seed, rc, rc ? err.msg : "",
						    b.data ? b.data : "", a.data ? a.data : "");
					same = 0;
				}
				util_buf_fini(&b);
			}
		}
		ok(same, "push: document %d read in pieces of 1, 2, 3, 5, 7, 13, 64, 1000 bytes "
		    "and 20 random cuts gives what it gives whole", d);
		util_buf_fini(&a);
	}
	/* Peers' answers as the client tests play them, 1.0 among them. */
	for (int f = 0; fixtures[f] != NULL; f++) {
		char path[1200];
		struct util_buf in;

		util_buf_init(&in, 0);
		join(path, sizeof(path), srcdata, fixtures[f]);
		util_buf_init(&a, 0);
		util_buf_init(&b, 0);
		rc = read_file(path, &in) == 0 ? whole_text(in.data, in.len, &a, &err) : -1;
		if (rc == 0)
			rc = push_text(in.data, in.len, 1, 0, &b, 0, &err, NULL, NULL);
		ok(rc == 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
		    "push: %s read a byte at a time gives what it gives whole", fixtures[f]);
		util_buf_fini(&a);
		util_buf_fini(&b);
		util_buf_fini(&in);
	}

	/* A long Poll_Response: what is kept stays about one block, not the message. */
	util_buf_init(&big, 0);
	util_buf_printf(&big, "<t:Poll_Response xmlns:t=\"" TAXII_NS_11 "\" message_id=\"1\" "
	    "in_response_to=\"2\" collection_name=\"c\">");
	for (int i = 0; i < 3000; i++) {
		util_buf_printf(&big, "<t:Content_Block><t:Content_Binding binding_id=\"b\"/>"
		    "<t:Content><p:x xmlns:p=\"urn:p\">");
		for (int k = 0; k < 20; k++)
			util_buf_printf(&big, "<p:y n=\"%d\">%0100d</p:y>", k, i);
		util_buf_printf(&big, "</p:x></t:Content></t:Content_Block>");
	}
	util_buf_printf(&big, "</t:Poll_Response>");
	util_buf_init(&a, 0);
	util_buf_init(&b, 0);
	rc = whole_text(big.data, big.len, &a, &err);
	is_int(push_text(big.data, big.len, 4096, 0, &b, 0, &err, &nb, &kept), 0,
	    "push: a %zu-byte message read in 4 KiB pieces", big.len);
	is_int(nb, 3000, "push: every block handed over as it came");
	ok(kept < 80 * 1024, "push: at most %zu bytes of it held at once", kept);
	ok(rc == 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
	    "push: the same blocks as the message parsed whole");
	util_buf_fini(&a);
	util_buf_fini(&b);

	/* The cap counts every byte fed. */
	util_buf_init(&b, 0);
	is_int(push_text(big.data, big.len, 4096, 0, &b, big.len - 1, &err, NULL, NULL), TAXII_ETOOBIG,
	    "push: one byte over the cap is refused");
	has_str(err.msg, "cap", "push: saying it is over the cap");
	util_buf_fini(&b);
	util_buf_fini(&big);

	/* A message that breaks after its first block: the error comes, at the end. */
	util_buf_init(&b, 0);
	rc = push_text(bad_tail, strlen(bad_tail), 1, 0, &b, 0, &err, &nb, NULL);
	is_int(rc, TAXII_EXML, "push: a message cut wrong is refused (%s)", err.msg);
	is_int(nb, 1, "push: after the blocks before the break were handed over");
	util_buf_fini(&b);

	/* What precedes the blocks is checked before the first one goes out. */
	util_buf_init(&b, 0);
	rc = push_text(bad_head, strlen(bad_head), 7, 0, &b, 0, &err, &nb, NULL);
	is_int(rc, TAXII_EMSG, "push: a bad Record_Count is refused (%s)", err.msg);
	is_int(nb, 0, "push: before any block is handed over");
	util_buf_fini(&b);

	util_buf_init(&b, 0);
	rc = push_text(doctype, strlen(doctype), 3, 0, &b, 0, &err, &nb, NULL);
	is_int(rc, TAXII_EHOSTILE, "push: a DOCTYPE is refused (%s)", err.msg);
	util_buf_fini(&b);

	/* A callback that says stop stops the read, naming the block. */
	memset(&s, 0, sizeof(s));
	util_buf_init(&s.text, 0);
	s.abort_at = 1;
	tp = taxii_push_new(0, TAXII_VANY, 0, seen_cb, &s, NULL, NULL);
	rc = tp ? taxii_push_feed(tp, poll, strlen(poll), &err) : TAXII_ENOMEM;
	is_int(rc, TAXII_EINVAL, "push: the callback stops it");
	has_str(err.msg, "aborted by the caller at block 1", "push: at the first block");
	is_int(s.n, 1, "push: nothing handed over after");
	taxii_push_free(tp);
	util_buf_fini(&s.text);
}

int
main(void)
{
	const char *shared = getenv("SHARED_DIR");
	const char *src = getenv("TESTS_SRCDIR");
	char path[1200];
	struct stat st;

	if (src == NULL)
		tap_skip_all("TESTS_SRCDIR unset");
	join(srcdata, sizeof(srcdata), src, "data/taxii");
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
	if (shared != NULL && *shared) {
		join(path, sizeof(path), shared, "schemas/taxii/samples");
		if (stat(path, &st) == 0)
			join(samples, sizeof(samples), shared, "schemas/taxii/samples");
		schema11 = xsd_load(shared, XSD_TAXII11);
		schema10 = xsd_load(shared, XSD_TAXII10);
	}
	if (shared == NULL || !*shared || stat(shared, &st) != 0)
		tap_skip("schema validation", "SHARED_DIR (%s) absent", shared ? shared : "unset");
	else
		ok(schema11 != NULL && schema10 != NULL,
		    "TAXII 1.1 and 1.0 binding schemas load from %s", shared);

	test_samples();
	test_builders11();
	test_builders10();
	test_status();
	test_hostile();
	test_namespaces();
	test_content_copy();
	test_push();
	test_http();
	test_mutations();
	test_alloc_failures();

	xmlSchemaFree(schema11);
	xmlSchemaFree(schema10);
	xmlCleanupParser();
	return tap_done();
}
