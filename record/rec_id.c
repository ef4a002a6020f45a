/*
 * The record's identity: its id (what makes the same observation arriving twice, by any
 * path, one record) and its target's key (what names a destination within a threat ID).
 */
#include <stdio.h>
#include <string.h>

#include "record/record.h"
#include "record/rec_int.h"

const char *
rec_field_name(enum rec_field f)
{
	static const char *const names[REC_F_COUNT] = { "id", "threat_id", "node", "observed_at",
		"target.input" };

	return (unsigned)f < REC_F_COUNT ? names[f] : "?";
}

int
rec_id_n(const char *node, size_t node_len, const char *key, size_t key_len,
    int64_t observed_us, unsigned char id[REC_ID_LEN])
{
	char when[UTIL_TIME_MAX], small[1024];
	struct util_buf b;
	size_t wl;
	int rc = -1;

	util_buf_init(&b, 0);
	if (util_time_format(observed_us, 1, when) != 0)
		goto out;
	wl = strlen(when) + 1;
	/* A usual record's fields fit on the stack: no allocation per id. */
	if (node_len + key_len + wl + 2 <= sizeof(small)) {
		memcpy(small, node, node_len);
		small[node_len] = '\0';
		memcpy(small + node_len + 1, key, key_len);
		small[node_len + 1 + key_len] = '\0';
		memcpy(small + node_len + key_len + 2, when, wl);
		rc = util_sha256(small, node_len + key_len + 2 + wl, id);
	} else if (util_buf_add(&b, node, node_len) == 0 && util_buf_add(&b, "", 1) == 0 &&
	    util_buf_add(&b, key, key_len) == 0 && util_buf_add(&b, "", 1) == 0 &&
	    util_buf_add(&b, when, wl) == 0) {
		rc = util_sha256(b.data, b.len, id);
	}
out:
	if (rc != 0) {
		rc = -1;
		memset(id, 0, REC_ID_LEN);
	}
	util_buf_fini(&b);
	return rc;
}

int
rec_id(const char *node, const char *target_key, int64_t observed_us,
    unsigned char id[REC_ID_LEN])
{
	return rec_id_n(node, strlen(node), target_key, strlen(target_key), observed_us, id);
}

int
rec_id_hex(const char *node, const char *target_key, int64_t observed_us,
    char hex[REC_ID_HEX + 1])
{
	unsigned char id[REC_ID_LEN];

	hex[0] = '\0';
	if (rec_id(node, target_key, observed_us, id) != 0)
		return -1;
	util_hex(id, sizeof(id), hex);
	return 0;
}

int
rec_target_key_append(const json_t *t, struct util_buf *b)
{
	const char *url = json_string_value(json_object_get(t, "url"));
	const char *dom = json_string_value(json_object_get(t, "domain"));
	const char *ip = json_string_value(json_object_get(t, "ip"));
	json_t *jport = json_object_get(t, "port");
	int v6;

	if (url != NULL)
		return util_buf_add(b, url, strlen(url)) == 0 ? 0 : -1;
	if (dom == NULL && ip == NULL)
		return -1;
	v6 = dom == NULL && strchr(ip, ':') != NULL;
	if (!json_is_integer(jport))
		return util_buf_printf(b, "%s", dom ? dom : ip) == 0 ? 0 : -1;
	return util_buf_printf(b, v6 ? "[%s]:%lld" : "%s:%lld", dom ? dom : ip,
		   (long long)json_integer_value(jport)) == 0 ? 0 : -1;
}

int
rec_target_key(const json_t *target, char *buf, size_t len)
{
	struct util_buf b;
	int rc = -1;

	util_buf_init(&b, 0);
	if (len > 0)
		buf[0] = '\0';
	if (rec_target_key_append(target, &b) == 0 && b.len < len) {
		memcpy(buf, b.data, b.len + 1);
		rc = 0;
	}
	util_buf_fini(&b);
	return rc;
}
