/*
 * TAXII 1.1 / 1.0 XML messages written: text written straight into a capped buffer, so
 * output size is bounded by the caller's cap.
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
 * Builders
 */

void
taxii_msg_id_new(char buf[TAXII_ID_MAX])
{
	static unsigned counter;
	unsigned c = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

	snprintf(buf, TAXII_ID_MAX, "%lld%04u", (long long)util_now_us(), c % 10000u);
}

/* A writer that remembers its first failure, so callers check once at the end. */
struct w {
	struct util_buf *b;
	struct taxii_err *err;
	const char *pfx;
	enum taxii_version ver;
	int rc;
};

static void
w_raw(struct w *w, const char *s, size_t n)
{
	int r;

	if (w->rc)
		return;
	if ((r = util_buf_add(w->b, s, n)) != 0)
		w->rc = taxii_seterr(w->err, r == -2 ? TAXII_ETOOBIG : TAXII_ENOMEM, 0,
		    r == -2 ? "output buffer cap reached" : "out of memory");
}

static void
w_str(struct w *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes left) encoding a character XML 1.0
 * allows (no surrogates, no U+FFFE/U+FFFF), or 0.
 */
static size_t
utf8_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

/*
 * XML-escapes text. Bytes XML 1.0 cannot carry (control characters, malformed UTF-8, as
 * from a URL or a peer's error text) become '?', so the output is always well-formed.
 */
static void
w_esc(struct w *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = 0, i = 0;

	while (i < n && !w->rc) {
		const char *rep = NULL;
		size_t len = 1;

		switch (u[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\t': case '\n': break;
		case '\r': rep = "&#13;"; break;
		default:
			if (u[i] < 0x20)
				rep = "?";
			else if (u[i] >= 0x80 && (len = utf8_char(u + i, n - i)) == 0) {
				rep = "?";
				len = 1;
			}
		}
		if (rep != NULL) {
			w_raw(w, s + start, i - start);
			w_str(w, rep);
			start = i + len;
		}
		i += len;
	}
	w_raw(w, s + start, n - start);
}

static void
w_invalid(struct w *w, const char *what)
{
	if (!w->rc)
		w->rc = taxii_seterr(w->err, TAXII_EINVAL, 0, "%s", what);
}

static void
w_open(struct w *w, const char *name)
{
	w_str(w, "<");
	w_str(w, w->pfx);
	w_str(w, ":");
	w_str(w, name);
}

static void
w_close(struct w *w, const char *name)
{
	w_str(w, "</");
	w_str(w, w->pfx);
	w_str(w, ":");
	w_str(w, name);
	w_str(w, ">");
}

static void
w_attr(struct w *w, const char *name, const char *value)
{
	if (value == NULL)
		return;
	w_str(w, " ");
	w_str(w, name);
	w_str(w, "=\"");
	w_esc(w, value, strlen(value));
	w_str(w, "\"");
}

static void
w_attr_u64(struct w *w, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	w_attr(w, name, num);
}

static void
w_text_el(struct w *w, const char *name, const char *text)
{
	if (text == NULL)
		return;
	w_open(w, name);
	w_str(w, ">");
	w_esc(w, text, strlen(text));
	w_close(w, name);
}

static void
w_time_el(struct w *w, const char *name, int has, int64_t us)
{
	char t[UTIL_TIME_MAX];

	if (!has)
		return;
	if (util_time_format(us, 1, t) != 0) {
		w_invalid(w, "timestamp out of range");
		return;
	}
	w_text_el(w, name, t);
}

static void
w_strs_el(struct w *w, const char *name, const struct taxii_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		w_text_el(w, name, s->v[i]);
}

/* Content_Binding list: 1.1 <Content_Binding binding_id=".."/>, 1.0 element text. */
static void
w_bindings(struct w *w, const struct taxii_strs *s)
{
	if (w->ver == TAXII_V10) {
		w_strs_el(w, "Content_Binding", s);
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		w_open(w, "Content_Binding");
		w_attr(w, "binding_id", s->v[i]);
		w_str(w, "/>");
	}
}

static void
w_contact(struct w *w, const char *name, const struct taxii_contact *c)
{
	static const char *const def11[] = { TAXII_MSG_BINDING_11 };
	static const char *const def10[] = { TAXII_MSG_BINDING_10 };
	struct taxii_strs mb = c->message_bindings;

	if (c->protocol == NULL || c->address == NULL) {
		w_invalid(w, "service contact without protocol or address");
		return;
	}
	if (mb.n == 0) {
		mb.v = w->ver == TAXII_V10 ? def10 : def11;
		mb.n = 1;
	}
	if (name != NULL) {
		w_open(w, name);
		w_str(w, ">");
	}
	w_text_el(w, "Protocol_Binding", c->protocol);
	w_text_el(w, "Address", c->address);
	w_strs_el(w, "Message_Binding", &mb);
	if (name != NULL)
		w_close(w, name);
}

static void
w_bool_attr(struct w *w, const char *name, int v)
{
	if (v >= 0)
		w_attr(w, name, v ? "true" : "false");
}

static void
w_status_body(struct w *w, const struct taxii_msg *m)
{
	if (m->n_details > 0 && w->ver == TAXII_V10) {
		/* 1.0 has a single string: the details joined as NAME=value. */
		w_open(w, "Status_Detail");
		w_str(w, ">");
		for (size_t i = 0; i < m->n_details; i++) {
			const struct taxii_detail *d = &m->details[i];

			if (i > 0)
				w_str(w, "; ");
			if (d->name != NULL) {
				w_esc(w, d->name, strlen(d->name));
				w_str(w, "=");
			}
			if (d->value != NULL)
				w_esc(w, d->value, strlen(d->value));
		}
		w_close(w, "Status_Detail");
	} else if (m->n_details > 0) {
		w_open(w, "Status_Detail");
		w_str(w, ">");
		for (size_t i = 0; i < m->n_details; i++) {
			const struct taxii_detail *d = &m->details[i];

			if (d->name == NULL) {
				w_invalid(w, "Status_Detail without a name");
				return;
			}
			w_open(w, "Detail");
			w_attr(w, "name", d->name);
			w_str(w, ">");
			if (d->value != NULL)
				w_esc(w, d->value, strlen(d->value));
			w_close(w, "Detail");
		}
		w_close(w, "Status_Detail");
	}
	w_text_el(w, "Message", m->message);
}

static void
w_discovery_body(struct w *w, const struct taxii_msg *m)
{
	for (size_t i = 0; i < m->n_services; i++) {
		const struct taxii_service *s = &m->services[i];
		const char *t = taxii_service_name(s->type, w->ver);

		if (t == NULL) {
			w_invalid(w, "Service_Instance: bad service type");
			return;
		}
		w_open(w, "Service_Instance");
		w_attr(w, "service_type", t);
		w_attr(w, "service_version",
		    taxii_http_services(s->version == TAXII_VANY ? w->ver : s->version));
		w_bool_attr(w, "available", s->available);
		w_str(w, ">");
		w_contact(w, NULL, &s->contact);
		w_bindings(w, &s->content_bindings);
		w_text_el(w, "Message", s->message);
		w_close(w, "Service_Instance");
	}
}

static void
w_collections_body(struct w *w, const struct taxii_msg *m)
{
	const char *el = w->ver == TAXII_V10 ? "Feed" : "Collection";

	for (size_t i = 0; i < m->n_collections; i++) {
		const struct taxii_collection *c = &m->collections[i];

		if (c->name == NULL) {
			w_invalid(w, "collection without a name");
			return;
		}
		if (w->ver == TAXII_V10 && (c->content_bindings.n == 0 || c->n_polling == 0)) {
			w_invalid(w, "a TAXII 1.0 feed needs a content binding and a polling service");
			return;
		}
		w_open(w, el);
		w_attr(w, w->ver == TAXII_V10 ? "feed_name" : "collection_name", c->name);
		if (w->ver == TAXII_V11)
			w_attr(w, "collection_type",
			    c->type == TAXII_COLL_DATA_SET ? "DATA_SET" : "DATA_FEED");
		w_bool_attr(w, "available", c->available);
		w_str(w, ">");
		w_text_el(w, "Description", c->description ? c->description : "");
		if (w->ver == TAXII_V11 && c->has_volume) {
			char num[24];

			snprintf(num, sizeof(num), "%llu", (unsigned long long)c->volume);
			w_text_el(w, "Collection_Volume", num);
		}
		w_bindings(w, &c->content_bindings);
		for (size_t j = 0; j < c->n_polling; j++)
			w_contact(w, "Polling_Service", &c->polling[j]);
		for (size_t j = 0; j < c->n_subscription; j++)
			w_contact(w, "Subscription_Service", &c->subscription[j]);
		for (size_t j = 0; w->ver == TAXII_V11 && j < c->n_inbox; j++)
			w_contact(w, "Receiving_Inbox_Service", &c->inbox[j]);
		w_close(w, el);
	}
}

static void
w_response_type(struct w *w, enum taxii_response_type rt)
{
	w_text_el(w, "Response_Type", rt == TAXII_RESP_COUNT_ONLY ? "COUNT_ONLY" : "FULL");
}

static void
w_poll_req_body(struct w *w, const struct taxii_msg *m)
{
	w_time_el(w, "Exclusive_Begin_Timestamp", m->has_begin, m->begin_us);
	w_time_el(w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
	if (w->ver == TAXII_V10) {
		w_bindings(w, &m->content_bindings);
		return;
	}
	if (m->subscription_id != NULL && !m->has_poll_params) {
		w_text_el(w, "Subscription_ID", m->subscription_id);
		return;
	}
	w_open(w, "Poll_Parameters");
	w_attr(w, "allow_asynch", m->allow_asynch ? "true" : "false");
	w_str(w, ">");
	w_response_type(w, m->response_type);
	w_bindings(w, &m->content_bindings);
	w_close(w, "Poll_Parameters");
}

static void
w_record_count(struct w *w, const struct taxii_msg *m)
{
	char num[24];

	if (!m->has_record_count)
		return;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)m->record_count);
	w_open(w, "Record_Count");
	w_attr(w, "partial_count", m->partial_count ? "true" : "false");
	w_str(w, ">");
	w_str(w, num);
	w_close(w, "Record_Count");
}

static void
w_poll_resp_head(struct w *w, const struct taxii_msg *m)
{
	if (w->ver == TAXII_V10) {
		w_text_el(w, "Message", m->message);
		w_time_el(w, "Inclusive_Begin_Timestamp", m->has_begin, m->begin_us);
		if (!m->has_end)
			w_invalid(w, "a TAXII 1.0 Poll_Response needs Inclusive_End_Timestamp");
		w_time_el(w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
		return;
	}
	w_text_el(w, "Subscription_ID", m->subscription_id);
	w_time_el(w, "Exclusive_Begin_Timestamp", m->has_begin, m->begin_us);
	w_time_el(w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
	w_record_count(w, m);
	w_text_el(w, "Message", m->message);
}

static void
w_sub_params(struct w *w, enum taxii_response_type rt, const struct taxii_strs *bindings)
{
	w_open(w, "Subscription_Parameters");
	w_str(w, ">");
	w_response_type(w, rt);
	w_bindings(w, bindings);
	w_close(w, "Subscription_Parameters");
}

/* Push_Parameters takes exactly one Message_Binding: the first given, else the default.
 * In 1.0 it also lists the content bindings (`bindings`, may be NULL). */
static void
w_push(struct w *w, const struct taxii_contact *c, const struct taxii_strs *bindings)
{
	struct taxii_contact one;

	if (c == NULL)
		return;
	one = *c;
	if (one.message_bindings.n > 1)
		one.message_bindings.n = 1;
	if (w->ver == TAXII_V11 || bindings == NULL || bindings->n == 0) {
		w_contact(w, "Push_Parameters", &one);
		return;
	}
	w_open(w, "Push_Parameters");
	w_str(w, ">");
	w_contact(w, NULL, &one);
	w_bindings(w, bindings);
	w_close(w, "Push_Parameters");
}

static void
w_sub_resp_body(struct w *w, const struct taxii_msg *m)
{
	w_text_el(w, "Message", m->message);
	for (size_t i = 0; i < m->n_subscriptions; i++) {
		const struct taxii_subscription *s = &m->subscriptions[i];

		if (s->id == NULL || (size_t)s->status > TAXII_SUBST_UNSUBSCRIBED) {
			w_invalid(w, "Subscription without an id or with a bad status");
			return;
		}
		w_open(w, "Subscription");
		if (w->ver == TAXII_V10) {
			w_attr(w, "subscription_id", s->id);
			w_str(w, ">");
			w_push(w, s->push, &s->content_bindings);
			for (size_t j = 0; j < s->n_poll_instances; j++)
				w_contact(w, "Poll_Instance", &s->poll_instances[j]);
			w_close(w, "Subscription");
			continue;
		}
		w_attr(w, "status", taxii_substatus_names[s->status]);
		w_str(w, ">");
		w_text_el(w, "Subscription_ID", s->id);
		if (s->has_params)
			w_sub_params(w, s->response_type, &s->content_bindings);
		w_push(w, s->push, NULL);
		for (size_t j = 0; j < s->n_poll_instances; j++)
			w_contact(w, "Poll_Instance", &s->poll_instances[j]);
		w_close(w, "Subscription");
	}
}

static int
w_init(struct w *w, enum taxii_version ver, struct util_buf *out, struct taxii_err *err)
{
	memset(w, 0, sizeof(*w));
	w->b = out;
	w->err = err;
	w->ver = ver == TAXII_V10 ? TAXII_V10 : TAXII_V11;
	w->pfx = w->ver == TAXII_V10 ? "taxii" : "taxii_11";
	if (ver != TAXII_V10 && ver != TAXII_V11)
		return taxii_seterr(err, TAXII_EINVAL, 0, "message without a TAXII version");
	return 0;
}

int
taxii_msg_write_open(const struct taxii_msg *m, struct util_buf *out, struct taxii_err *err)
{
	const char *name = taxii_msg_type_name(m->type, m->version);
	struct w w;
	int rc;

	if ((rc = w_init(&w, m->version, out, err)) != 0)
		return rc;
	if (name == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0, "no such message type in this TAXII version");
	if (m->message_id == NULL || (w.ver == TAXII_V10 && !taxii_digits_only(m->message_id)))
		return taxii_seterr(err, TAXII_EINVAL, 0, "%s: missing or bad message_id", name);
	if (taxii_is_response(m->type) && (m->in_response_to == NULL ||
	    (w.ver == TAXII_V10 && !taxii_digits_only(m->in_response_to))))
		return taxii_seterr(err, TAXII_EINVAL, 0, "%s: missing or bad in_response_to", name);

	w_str(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	w_open(&w, name);
	w_str(&w, " xmlns:");
	w_str(&w, w.pfx);
	w_str(&w, "=\"");
	w_str(&w, w.ver == TAXII_V10 ? TAXII_NS_10 : TAXII_NS_11);
	w_str(&w, "\"");
	w_attr(&w, "message_id", m->message_id);
	w_attr(&w, "in_response_to", taxii_is_response(m->type) ? m->in_response_to : NULL);

	switch (m->type) {
	case TAXII_MSG_STATUS: {
		const char *st = m->status == TAXII_ST_CUSTOM ? m->status_type :
		    taxii_status_name(m->status);

		if (st == NULL || (m->status != TAXII_ST_CUSTOM &&
		    !taxii_status_in_version(m->status, w.ver)))
			return taxii_seterr(err, TAXII_EINVAL, 0,
			    "Status_Message: no such status type in this TAXII version");
		w_attr(&w, "status_type", st);
		w_str(&w, ">");
		w_status_body(&w, m);
		break;
	}
	case TAXII_MSG_DISCOVERY_REQ:
	case TAXII_MSG_COLLECTION_INFO_REQ:
		w_str(&w, ">");
		break;
	case TAXII_MSG_DISCOVERY_RESP:
		w_str(&w, ">");
		w_discovery_body(&w, m);
		break;
	case TAXII_MSG_COLLECTION_INFO_RESP:
		w_str(&w, ">");
		w_collections_body(&w, m);
		break;
	case TAXII_MSG_SUBSCRIPTION_REQ:
		if (m->collection == NULL || m->action < TAXII_SUB_SUBSCRIBE ||
		    m->action > TAXII_SUB_STATUS)
			return taxii_seterr(err, TAXII_EINVAL, 0, "%s: missing collection or action", name);
		w_attr(&w, "action", taxii_action_names[m->action]);
		if (w.ver == TAXII_V10) {
			if (m->action == TAXII_SUB_PAUSE || m->action == TAXII_SUB_RESUME)
				return taxii_seterr(err, TAXII_EINVAL, 0, "%s: no PAUSE or RESUME in 1.0",
				    name);
			w_attr(&w, "feed_name", m->collection);
			w_attr(&w, "subscription_id", m->subscription_id);
			w_str(&w, ">");
			w_push(&w, m->push, &m->content_bindings);
			break;
		}
		w_attr(&w, "collection_name", m->collection);
		w_str(&w, ">");
		w_text_el(&w, "Subscription_ID", m->subscription_id);
		if (m->has_poll_params)
			w_sub_params(&w, m->response_type, &m->content_bindings);
		w_push(&w, m->push, NULL);
		break;
	case TAXII_MSG_SUBSCRIPTION_RESP:
		if (m->collection == NULL)
			return taxii_seterr(err, TAXII_EINVAL, 0, "%s: missing collection", name);
		w_attr(&w, w.ver == TAXII_V10 ? "feed_name" : "collection_name", m->collection);
		w_str(&w, ">");
		w_sub_resp_body(&w, m);
		break;
	case TAXII_MSG_POLL_REQ:
		if (m->collection == NULL)
			return taxii_seterr(err, TAXII_EINVAL, 0, "%s: missing collection", name);
		w_attr(&w, w.ver == TAXII_V10 ? "feed_name" : "collection_name", m->collection);
		if (w.ver == TAXII_V10)
			w_attr(&w, "subscription_id", m->subscription_id);
		w_str(&w, ">");
		w_poll_req_body(&w, m);
		break;
	case TAXII_MSG_POLL_RESP:
		if (m->collection == NULL)
			return taxii_seterr(err, TAXII_EINVAL, 0, "%s: missing collection", name);
		w_attr(&w, w.ver == TAXII_V10 ? "feed_name" : "collection_name", m->collection);
		if (w.ver == TAXII_V10) {
			w_attr(&w, "subscription_id", m->subscription_id);
		} else {
			if (m->more)
				w_attr(&w, "more", "true");
			w_attr(&w, "result_id", m->result_id);
			if (m->result_part > 0)
				w_attr_u64(&w, "result_part_number", m->result_part);
		}
		w_str(&w, ">");
		w_poll_resp_head(&w, m);
		break;
	case TAXII_MSG_POLL_FULFILLMENT:
		if (m->collection == NULL || m->result_id == NULL)
			return taxii_seterr(err, TAXII_EINVAL, 0, "%s: missing collection or result_id",
			    name);
		w_attr(&w, "collection_name", m->collection);
		w_attr(&w, "result_id", m->result_id);
		if (m->result_part > 0)
			w_attr_u64(&w, "result_part_number", m->result_part);
		w_str(&w, ">");
		break;
	case TAXII_MSG_INBOX:
		if (w.ver == TAXII_V11)
			w_attr(&w, "result_id", m->result_id);
		w_str(&w, ">");
		if (w.ver == TAXII_V11) {
			w_text_el(&w, "Destination_Collection_Name", m->collection);
			w_text_el(&w, "Message", m->message);
			if (m->source_collection != NULL) {
				if (m->subscription_id == NULL)
					return taxii_seterr(err, TAXII_EINVAL, 0,
					    "%s: Source_Subscription without a Subscription_ID",
					    name);
				w_open(&w, "Source_Subscription");
				w_attr(&w, "collection_name", m->source_collection);
				w_str(&w, ">");
				w_text_el(&w, "Subscription_ID", m->subscription_id);
				w_time_el(&w, "Exclusive_Begin_Timestamp", m->has_begin, m->begin_us);
				w_time_el(&w, "Inclusive_End_Timestamp", m->has_end, m->end_us);
				w_close(&w, "Source_Subscription");
			}
			w_record_count(&w, m);
		} else {
			w_text_el(&w, "Message", m->message);
		}
		break;
	default:
		return taxii_seterr(err, TAXII_EINVAL, 0, "bad message type");
	}
	return w.rc;
}

/* XML content is embedded in Content, where a document's own XML declaration (and a
 * byte order mark) may not stand: both are dropped. */
static void
skip_xml_decl(const char **p, size_t *n)
{
	const char *c = *p, *end = *p + *n;

	if (end - c >= 3 && (unsigned char)c[0] == 0xef && (unsigned char)c[1] == 0xbb &&
	    (unsigned char)c[2] == 0xbf)
		c += 3;
	while (c < end && (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n'))
		c++;
	if (end - c >= 5 && memcmp(c, "<?xml", 5) == 0 &&
	    (end - c == 5 || c[5] == ' ' || c[5] == '\t' || c[5] == '\r' || c[5] == '\n')) {
		const char *q = c + 5;

		while (q + 1 < end && !(q[0] == '?' && q[1] == '>'))
			q++;
		if (q + 1 < end) {
			*n -= (size_t)(q + 2 - *p);
			*p = q + 2;
		}
	}
}

int
taxii_block_write(enum taxii_version ver, const struct taxii_content_block *b,
    struct util_buf *out, struct taxii_err *err)
{
	struct w w;
	int rc;

	if ((rc = w_init(&w, ver, out, err)) != 0)
		return rc;
	if (b->binding == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0, "Content_Block without a binding");
	w_open(&w, "Content_Block");
	w_str(&w, ">");
	if (w.ver == TAXII_V11) {
		w_open(&w, "Content_Binding");
		w_attr(&w, "binding_id", b->binding);
		if (b->subtype != NULL) {
			w_str(&w, ">");
			w_open(&w, "Subtype");
			w_attr(&w, "subtype_id", b->subtype);
			w_str(&w, "/>");
			w_close(&w, "Content_Binding");
		} else {
			w_str(&w, "/>");
		}
	} else {
		w_text_el(&w, "Content_Binding", b->binding);
	}
	w_open(&w, "Content");
	w_str(&w, ">");
	if (b->content != NULL) {
		if (b->is_xml) {
			const char *c = b->content;
			size_t n = b->content_len;

			skip_xml_decl(&c, &n);
			w_raw(&w, c, n);
		} else
			w_esc(&w, b->content, b->content_len);
	}
	w_close(&w, "Content");
	w_time_el(&w, "Timestamp_Label", b->has_timestamp, b->timestamp_us);
	if (w.ver == TAXII_V11)
		w_text_el(&w, "Message", b->message);
	w_close(&w, "Content_Block");
	return w.rc;
}

int
taxii_msg_write_close(const struct taxii_msg *m, struct util_buf *out, struct taxii_err *err)
{
	const char *name = taxii_msg_type_name(m->type, m->version);
	struct w w;
	int rc;

	if ((rc = w_init(&w, m->version, out, err)) != 0)
		return rc;
	if (name == NULL)
		return taxii_seterr(err, TAXII_EINVAL, 0, "no such message type in this TAXII version");
	w_close(&w, name);
	w_str(&w, "\n");
	return w.rc;
}

int
taxii_msg_write(const struct taxii_msg *m, struct util_buf *out, struct taxii_err *err)
{
	int rc;

	if ((rc = taxii_msg_write_open(m, out, err)) != 0)
		return rc;
	if (m->type == TAXII_MSG_POLL_RESP || m->type == TAXII_MSG_INBOX)
		for (size_t i = 0; i < m->n_blocks; i++)
			if ((rc = taxii_block_write(m->version, &m->blocks[i], out, err)) != 0)
				return rc;
	return taxii_msg_write_close(m, out, err);
}

int
taxii_status_write(enum taxii_version ver, const char *in_response_to,
    enum taxii_status st, const struct taxii_detail *details, size_t n_details,
    const char *text, struct util_buf *out, struct taxii_err *err)
{
	char id[TAXII_ID_MAX];
	struct taxii_msg m;

	memset(&m, 0, sizeof(m));
	taxii_msg_id_new(id);
	m.version = ver == TAXII_V10 ? TAXII_V10 : TAXII_V11;
	m.type = TAXII_MSG_STATUS;
	m.message_id = id;
	m.in_response_to = in_response_to;
	if (m.in_response_to == NULL || *m.in_response_to == '\0' ||
	    (m.version == TAXII_V10 && !taxii_digits_only(m.in_response_to)))
		m.in_response_to = "0";
	m.status = st;
	m.details = details;
	m.n_details = details ? n_details : 0;
	m.message = text;
	return taxii_msg_write(&m, out, err);
}
