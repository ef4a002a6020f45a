/* Targets from a Cuckoo or CAPE sandbox report.json: the destinations a sample contacted.
 * Reports come in several layouts (early Cuckoo, Cuckoo 2.x, CAPE), so every field is
 * optional and read defensively; the sandbox's own network (guest, resolver, broadcast,
 * multicast) is never taken for a destination. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"
#include "record/record.h"
#include "util/util.h"

#define CUCKOO_MAX_FILE (1024u * 1024 * 1024) /* behaviour sections make reports large */
#define CUCKOO_MAX_ITEMS 100000               /* per list: bounds the work on odd reports */

struct cuckoo {
	const char *path;
	json_t *out;      /* array of targets */
	json_t *seen;     /* object: destination key -> true */
	json_t *resolved; /* object: address answered for a name taken as a target -> true */
	json_t *common;   /* threat_id, malware_sha256, file_type, report_date, summary */
	size_t skipped;
	struct conf_err *err;
};

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : NULL;
}

/* Adds one target (taking ownership of t) unless it is a repeat or not a destination. */
static int
add_target(struct cuckoo *c, json_t *t)
{
	char why[256], key[8192];
	const char *ip;
	enum util_addr_class cls;

	json_object_update_missing(t, c->common);
	ip = str(t, "ip");
	if (ip && util_addr_classify_text(ip, &cls) == 0 && cls != UTIL_ADDR_PUBLIC) {
		c->skipped++;
		json_decref(t);
		return 0;
	}
	if (conf_target_check(t, why, sizeof(why)) != 0 ||
	    rec_target_key(t, key, sizeof(key)) != 0) {
		/* A report is someone else's output: one odd entry is skipped, not fatal. */
		c->skipped++;
		json_decref(t);
		return 0;
	}
	if (json_object_get(c->seen, key)) {
		json_decref(t);
		return 0;
	}
	if (json_object_set_new(c->seen, key, json_true()) != 0 ||
	    json_array_append_new(c->out, t) != 0) {
		util_seterr(c->err->msg, sizeof(c->err->msg), "%s: out of memory", c->path);
		return -1;
	}
	return 0;
}

/* A URL's host when it is a literal address, else NULL (into buf). */
static const char *
url_host_addr(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://"), *end;
	size_t n;
	enum util_addr_class cls;

	if (p == NULL)
		return NULL;
	p += 3;
	if (*p == '[') {
		end = strchr(++p, ']');
	} else {
		end = p + strcspn(p, ":/?#");
	}
	if (end == NULL || (n = (size_t)(end - p)) == 0 || n >= len)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return util_addr_classify_text(buf, &cls) == 0 ? buf : NULL;
}

static int
read_http(struct cuckoo *c, json_t *list)
{
	size_t i;
	json_t *h;

	json_array_foreach(list, i, h) {
		const char *uri = str(h, "uri"), *host = str(h, "host"), *path = str(h, "path");
		const char *ua = str(h, "user-agent");
		json_int_t port = json_integer_value(json_object_get(h, "port"));
		char url[8192], addr[64];
		json_t *t;

		if (i >= CUCKOO_MAX_ITEMS)
			break;
		if (uri == NULL && host) {
			if (port > 0 && port != 80)
				snprintf(url, sizeof(url), "http://%s:%lld%s", host, (long long)port,
				    path ? path : "/");
			else
				snprintf(url, sizeof(url), "http://%s%s", host, path ? path : "/");
			uri = url;
		}
		if (uri == NULL) {
			c->skipped++;
			continue;
		}
		t = json_pack("{s:s}", "url", uri);
		if (t == NULL)
			return -1;
		if (ua)
			json_object_set_new(t, "user_agent", json_string(ua));
		if (url_host_addr(uri, addr, sizeof(addr)))
			json_object_set_new(t, "ip", json_string(addr));
		if (add_target(c, t) != 0)
			return -1;
	}
	return 0;
}

/* Names: early Cuckoo's dns [{hostname, ip}], 2.x's dns [{request, answers}], and
 * domains [{domain, ip}]. The addresses they resolved to are remembered, so a host entry
 * that is only a named server's address does not become a second target. */
static int
read_names(struct cuckoo *c, json_t *list, const char *name_key)
{
	size_t i, j;
	json_t *d, *a;

	json_array_foreach(list, i, d) {
		const char *name = str(d, name_key), *ip = str(d, "ip");

		if (i >= CUCKOO_MAX_ITEMS)
			break;
		if (name == NULL && strcmp(name_key, "hostname") == 0)
			name = str(d, "request");
		if (name == NULL) {
			c->skipped++;
			continue;
		}
		if (ip)
			json_object_set_new(c->resolved, ip, json_true());
		json_array_foreach(json_object_get(d, "answers"), j, a) {
			const char *data = str(a, "data");

			if (j >= CUCKOO_MAX_ITEMS)
				break;
			if (data)
				json_object_set_new(c->resolved, data, json_true());
		}
		if (add_target(c, json_pack("{s:s}", "domain", name)) != 0)
			return -1;
	}
	return 0;
}

static int
read_hosts(struct cuckoo *c, json_t *list)
{
	size_t i;
	json_t *h;

	json_array_foreach(list, i, h) {
		/* Early Cuckoo lists strings; CAPE lists objects with an "ip". */
		const char *ip = json_is_string(h) ? json_string_value(h) : str(h, "ip");

		if (i >= CUCKOO_MAX_ITEMS)
			break;
		if (ip == NULL || *ip == '\0') {
			c->skipped++;
			continue;
		}
		if (json_object_get(c->resolved, ip))
			continue;
		if (add_target(c, json_pack("{s:s}", "ip", ip)) != 0)
			return -1;
	}
	return 0;
}

/* threat_id and the attributes every target of the report shares. */
static int
common_fields(struct cuckoo *c, json_t *root, const char *threat_id)
{
	json_t *file = json_object_get(json_object_get(root, "target"), "file");
	const char *sha = str(file, "sha256"), *type = str(file, "type");
	const char *started = str(json_object_get(root, "info"), "started");
	const char *base = strrchr(c->path, '/');
	char summary[512], lower[65];

	if (threat_id == NULL && sha && strlen(sha) == 64) {
		for (int i = 0; i < 65; i++)
			lower[i] = (char)tolower((unsigned char)sha[i]);
		threat_id = lower;
	}
	if (threat_id == NULL) {
		util_seterr(c->err->msg, sizeof(c->err->msg),
		    "%s: the report names no sample SHA-256 to use as threat ID; give --threat-id",
		    c->path);
		return -1;
	}
	c->common = json_pack("{s:s}", "threat_id", threat_id);
	if (c->common == NULL)
		return -1;
	if (sha && strlen(sha) == 64)
		json_object_set_new(c->common, "malware_sha256", json_string(sha));
	if (type)
		json_object_set_new(c->common, "file_type", json_string(type));
	/* "2014-05-27 13:45:10": the date is what the report says about when. */
	if (started && strlen(started) >= 10) {
		char date[11];
		int64_t us;

		memcpy(date, started, 10);
		date[10] = '\0';
		if (util_time_parse(date, &us) == 0)
			json_object_set_new(c->common, "report_date", json_string(date));
	}
	snprintf(summary, sizeof(summary), "sandbox report %s", base ? base + 1 : c->path);
	json_object_set_new(c->common, "summary", json_string(summary));
	return 0;
}

int
conf_cuckoo_read(const char *path, const char *threat_id, json_t **out, char *note,
    size_t notelen, struct conf_err *err)
{
	struct cuckoo c = {path, NULL, NULL, NULL, NULL, 0, err};
	struct util_buf buf;
	json_error_t jerr;
	json_t *root = NULL, *net;
	int rc, ret = -1;

	if (note && notelen)
		note[0] = '\0';
	util_buf_init(&buf, CUCKOO_MAX_FILE);
	rc = util_read_file(path, &buf);
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: %s", path,
		    rc == -2 ? "larger than 1 GiB" : strerror(errno));
		goto out;
	}
	root = json_loadb(buf.data, buf.len, 0, &jerr);
	if (root == NULL) {
		util_seterr(err->msg, sizeof(err->msg), "%s:%d: not JSON: %s", path, jerr.line,
		    jerr.text);
		goto out;
	}
	if (!json_is_object(root) ||
	    (json_object_get(root, "info") == NULL && json_object_get(root, "network") == NULL)) {
		util_seterr(err->msg, sizeof(err->msg),
		    "%s: not a sandbox report (no \"info\" or \"network\" section)", path);
		goto out;
	}
	c.out = json_array();
	c.seen = json_object();
	c.resolved = json_object();
	if (c.out == NULL || c.seen == NULL || c.resolved == NULL) {
		util_seterr(err->msg, sizeof(err->msg), "%s: out of memory", path);
		goto out;
	}
	if (common_fields(&c, root, threat_id) != 0)
		goto out;
	net = json_object_get(root, "network");
	if (read_http(&c, json_object_get(net, "http")) != 0 ||
	    read_http(&c, json_object_get(net, "http_ex")) != 0 ||
	    read_http(&c, json_object_get(net, "https_ex")) != 0 ||
	    read_names(&c, json_object_get(net, "dns"), "hostname") != 0 ||
	    read_names(&c, json_object_get(net, "domains"), "domain") != 0 ||
	    read_hosts(&c, json_object_get(net, "hosts")) != 0)
		goto out;
	if (note && notelen) {
		if (net == NULL)
			snprintf(note, notelen, "%s: the report has no network section", path);
		else if (json_array_size(c.out) == 0)
			snprintf(note, notelen, "%s: no public destination in the report", path);
		if (c.skipped && json_array_size(c.out) > 0)
			snprintf(note, notelen,
			    "%s: %zu entries skipped (sandbox-local, special-purpose or unusable)",
			    path, c.skipped);
	}
	*out = c.out;
	c.out = NULL;
	ret = 0;
out:
	if (ret != 0 && err->msg[0] == '\0')
		util_seterr(err->msg, sizeof(err->msg), "%s: out of memory", path);
	json_decref(c.out);
	json_decref(c.seen);
	json_decref(c.resolved);
	json_decref(c.common);
	json_decref(root);
	util_buf_fini(&buf);
	return ret;
}
