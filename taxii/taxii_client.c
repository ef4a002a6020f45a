/*
 * The TAXII client: polls a peer's collection (following every part) and pushes to its
 * inbox over libcurl. Each response is read into a capped buffer and parsed with the same
 * hardened parser the server uses.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "taxii/taxii.h"
#include "util/util.h"

#define DEFAULT_MAX_RESPONSE (64u * 1024u * 1024u)
#define DEFAULT_MAX_PARTS 10000u

__attribute__((format(printf, 3, 4))) static int
cerr(struct taxii_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	err->line = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct util_buf *b = arg;

	/* A short count makes curl stop with CURLE_WRITE_ERROR: the cap is enforced here. */
	if (util_buf_add(b, p, size * n) != 0)
		return 0;
	return size * n;
}

static enum taxii_version
conf_version(const struct taxii_client_conf *c)
{
	return c->version == TAXII_V10 ? TAXII_V10 : TAXII_V11;
}

/*
 * POSTs one message and parses the answer into *out. Returns 0 or a negative taxii_code;
 * a Status Message is returned as a message (the caller decides what it means).
 */
static int
exchange(const struct taxii_client_conf *c, const struct taxii_msg *req, struct taxii_msg **out,
    struct taxii_err *err)
{
	enum taxii_version ver = conf_version(c);
	struct util_buf body, resp;
	struct curl_slist *h = NULL, *nh;
	char hb[200];
	CURL *cu = NULL;
	CURLcode cc;
	long http = 0;
	int rc;

	*out = NULL;
	util_buf_init(&body, 0);
	util_buf_init(&resp, c->max_response ? c->max_response : DEFAULT_MAX_RESPONSE);
	if ((rc = taxii_msg_write(req, &body, err)) != 0)
		goto out;
	if ((cu = curl_easy_init()) == NULL) {
		rc = cerr(err, TAXII_ENOMEM, "cannot create a curl handle");
		goto out;
	}
	static const char *const hdrs[] = { "Content-Type: " TAXII_HTTP_CONTENT_TYPE, "Expect:",
		NULL };
	for (size_t i = 0; hdrs[i] != NULL; i++) {
		if ((nh = curl_slist_append(h, hdrs[i])) == NULL) {
			rc = cerr(err, TAXII_ENOMEM, "out of memory");
			goto out;
		}
		h = nh;
	}
	const char *names[] = { "X-TAXII-Content-Type", "X-TAXII-Accept", "X-TAXII-Services",
		"X-TAXII-Protocol" };
	const char *val[] = { taxii_http_content_type(ver), taxii_http_content_type(ver),
		taxii_http_services(ver),
		taxii_http_protocol(strncmp(c->url, "https:", 6) == 0) };
	for (size_t i = 0; i < 4; i++) {
		snprintf(hb, sizeof(hb), "%s: %s", names[i], val[i]);
		if ((nh = curl_slist_append(h, hb)) == NULL) {
			rc = cerr(err, TAXII_ENOMEM, "out of memory");
			goto out;
		}
		h = nh;
	}
	curl_easy_setopt(cu, CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_PROXY, c->proxy ? c->proxy : "");
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, c->timeout_s > 0 ? c->timeout_s : 60L);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(cu, CURLOPT_POST, 1L);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body.data);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &resp);
	if (c->username != NULL) {
		curl_easy_setopt(cu, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(cu, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(cu, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	if (c->ca_file != NULL)
		curl_easy_setopt(cu, CURLOPT_CAINFO, c->ca_file);
	if (c->client_cert != NULL)
		curl_easy_setopt(cu, CURLOPT_SSLCERT, c->client_cert);
	if (c->client_key != NULL)
		curl_easy_setopt(cu, CURLOPT_SSLKEY, c->client_key);
	if (c->client_key_password != NULL)
		curl_easy_setopt(cu, CURLOPT_KEYPASSWD, c->client_key_password);
	cc = curl_easy_perform(cu);
	if (cc == CURLE_WRITE_ERROR) {
		rc = cerr(err, TAXII_ETOOBIG, "%s: response over the %zu-byte cap", c->url,
		    resp.limit);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = cerr(err, TAXII_ENET, "%s: %s", c->url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &http);
	/* A Status Message explains most failures, whatever the HTTP code. */
	rc = taxii_msg_parse(resp.data ? resp.data : "", resp.len, TAXII_VANY, out, err);
	if (rc != 0 && http != 200) {
		rc = cerr(err, TAXII_ENET, "%s: HTTP %ld", c->url, http);
		goto out;
	}
	if (rc != 0 && err != NULL) {
		char inner[sizeof(err->msg)];

		memcpy(inner, err->msg, sizeof(inner));
		cerr(err, rc, "%.100s: answer: %.140s", c->url, inner);
	}
out:
	curl_slist_free_all(h);
	if (cu != NULL)
		curl_easy_cleanup(cu);
	util_buf_fini(&body);
	util_buf_fini(&resp);
	return rc;
}

/* A Status Message as an error naming its type, message and details. */
static int
status_err(const struct taxii_client_conf *c, const struct taxii_msg *m, struct taxii_err *err)
{
	char det[120] = "";

	if (m->n_details > 0)
		snprintf(det, sizeof(det), " (%s%s%.80s)", m->details[0].name ? m->details[0].name : "",
		    m->details[0].name ? "=" : "", m->details[0].value ? m->details[0].value : "");
	return cerr(err, TAXII_ESTATUS, "%s: %s%s%s%s", c->url, m->status_type ? m->status_type : "?",
	    det, m->message ? ": " : "", m->message ? m->message : "");
}

static void
new_msg(struct taxii_msg *m, enum taxii_version ver, enum taxii_msg_type type, char *id)
{
	memset(m, 0, sizeof(*m));
	taxii_msg_id_new(id);
	m->version = ver;
	m->type = type;
	m->message_id = id;
}

/* Delivers the blocks of a Poll_Response; returns 0 or TAXII_EINVAL when cb aborts. */
static int
deliver(const struct taxii_msg *m, taxii_block_cb cb, void *arg, struct taxii_err *err)
{
	for (size_t i = 0; i < m->n_blocks; i++)
		if (cb(arg, &m->blocks[i]) != 0)
			return cerr(err, TAXII_EINVAL, "poll aborted by the caller at block %zu", i + 1);
	return 0;
}

int
taxii_client_poll(const struct taxii_client_conf *conf, const char *collection,
    int64_t begin_us, int64_t end_us, taxii_block_cb cb, void *arg, int64_t *end_us_out,
    struct taxii_err *err)
{
	static const char *const bindings[] = { TAXII_CB_STIX_12, TAXII_CB_STIX_111 };
	enum taxii_version ver;
	unsigned max_parts, n = 0;
	struct taxii_msg req, *resp = NULL;
	char id[TAXII_ID_MAX], result_id[256];
	int64_t begin = begin_us, reached = begin_us;
	int rc = 0;

	if (conf == NULL || conf->url == NULL || collection == NULL || cb == NULL)
		return cerr(err, TAXII_EINVAL, "poll: url, collection and callback required");
	ver = conf_version(conf);
	max_parts = conf->max_parts ? conf->max_parts : DEFAULT_MAX_PARTS;

	for (;;) {
		if (++n > max_parts) {
			rc = cerr(err, TAXII_ETOOBIG, "%s: more than %u parts", conf->url, max_parts);
			goto out;
		}
		new_msg(&req, ver, TAXII_MSG_POLL_REQ, id);
		req.collection = collection;
		req.has_begin = begin >= 0;
		req.begin_us = begin;
		req.has_end = end_us != INT64_MAX;
		req.end_us = end_us;
		req.has_poll_params = 1;
		req.response_type = TAXII_RESP_FULL;
		req.content_bindings.v = bindings;
		req.content_bindings.n = 2;
		if ((rc = exchange(conf, &req, &resp, err)) != 0)
			goto out;
		if (resp->type == TAXII_MSG_STATUS) {
			rc = status_err(conf, resp, err);
			goto out;
		}
		if (resp->type != TAXII_MSG_POLL_RESP) {
			rc = cerr(err, TAXII_EMSG, "%s: answer is not a Poll_Response", conf->url);
			goto out;
		}
		if ((rc = deliver(resp, cb, arg, err)) != 0)
			goto out;
		/* Where the peer says it delivered up to; without it, the last label seen. */
		if (resp->has_end)
			reached = resp->end_us;
		else
			for (size_t i = 0; i < resp->n_blocks; i++)
				if (resp->blocks[i].has_timestamp && resp->blocks[i].timestamp_us > reached)
					reached = resp->blocks[i].timestamp_us;

		if (ver == TAXII_V11) {
			uint64_t part = resp->result_part ? resp->result_part : 1;

			while (resp->more && resp->result_id != NULL) {
				if (++n > max_parts) {
					rc = cerr(err, TAXII_ETOOBIG, "%s: more than %u parts", conf->url,
					    max_parts);
					goto out;
				}
				snprintf(result_id, sizeof(result_id), "%s", resp->result_id);
				taxii_msg_free(resp);
				resp = NULL;
				new_msg(&req, ver, TAXII_MSG_POLL_FULFILLMENT, id);
				req.collection = collection;
				req.result_id = result_id;
				req.result_part = ++part;
				if ((rc = exchange(conf, &req, &resp, err)) != 0)
					goto out;
				if (resp->type == TAXII_MSG_STATUS) {
					rc = status_err(conf, resp, err);
					goto out;
				}
				if (resp->type != TAXII_MSG_POLL_RESP) {
					rc = cerr(err, TAXII_EMSG, "%s: answer is not a Poll_Response",
					    conf->url);
					goto out;
				}
				if ((rc = deliver(resp, cb, arg, err)) != 0)
					goto out;
			}
			break;
		}
		/* 1.0 has no parts: a peer that narrowed Inclusive_End to its last block's label
		 * has more; poll again from there. An empty answer ends it. */
		if (resp->n_blocks == 0 || !resp->has_end ||
		    !resp->blocks[resp->n_blocks - 1].has_timestamp ||
		    resp->blocks[resp->n_blocks - 1].timestamp_us != resp->end_us ||
		    resp->end_us >= end_us || resp->end_us <= begin)
			break;
		begin = resp->end_us;
		taxii_msg_free(resp);
		resp = NULL;
	}
	if (end_us_out != NULL)
		*end_us_out = reached;
out:
	taxii_msg_free(resp);
	return rc;
}

/* Sends a prepared Inbox_Message; 0 when the answer is SUCCESS. */
static int
inbox_send(const struct taxii_client_conf *conf, const struct taxii_msg *req,
    struct taxii_err *err)
{
	struct taxii_msg *resp = NULL;
	int rc;

	if ((rc = exchange(conf, req, &resp, err)) != 0)
		goto out;
	if (resp->type != TAXII_MSG_STATUS)
		rc = cerr(err, TAXII_EMSG, "%s: answer is not a Status_Message", conf->url);
	else if (resp->status != TAXII_ST_SUCCESS)
		rc = status_err(conf, resp, err);
out:
	taxii_msg_free(resp);
	return rc;
}

int
taxii_client_inbox(const struct taxii_client_conf *conf, const char *collection,
    const struct taxii_content_block *blocks, size_t n_blocks, struct taxii_err *err)
{
	struct taxii_msg req;
	char id[TAXII_ID_MAX];

	if (conf == NULL || conf->url == NULL)
		return cerr(err, TAXII_EINVAL, "inbox: url required");
	new_msg(&req, conf_version(conf), TAXII_MSG_INBOX, id);
	req.collection = collection;
	req.blocks = blocks;
	req.n_blocks = n_blocks;
	return inbox_send(conf, &req, err);
}

int
taxii_client_inbox_sub(const struct taxii_client_conf *conf, const char *src_collection,
    const char *sub_id, int64_t begin_us, int64_t end_us,
    const struct taxii_content_block *blocks, size_t n_blocks, struct taxii_err *err)
{
	struct taxii_msg req;
	char id[TAXII_ID_MAX];

	if (conf == NULL || conf->url == NULL || src_collection == NULL || sub_id == NULL)
		return cerr(err, TAXII_EINVAL, "inbox: url, collection and subscription required");
	/* Source_Subscription exists in TAXII 1.1 only. */
	new_msg(&req, TAXII_V11, TAXII_MSG_INBOX, id);
	req.source_collection = src_collection;
	req.subscription_id = sub_id;
	req.has_begin = begin_us >= 0;
	req.begin_us = begin_us;
	req.has_end = 1;
	req.end_us = end_us;
	req.blocks = blocks;
	req.n_blocks = n_blocks;
	return inbox_send(conf, &req, err);
}
