/*
 * The one check a record passes before it is stored, whatever brought it: the observer,
 * a peer's poll or push, an inbox, a file. It looks at the fields every store indexes and
 * at the id, which must be derived from them: a record is immutable, so one whose id does
 * not match was altered (or made by something that is not c2watch). rec_check_fields then
 * looks at the types of the fields the summaries read, so that a malformed record is
 * refused by every path with one message instead of counted oddly by the report.
 */
#include <stdio.h>
#include <string.h>

#include "record/record.h"
#include "record/rec_int.h"

/* The fields as counted bytes (NULL: absent or not a string), JSON or text alike. */
struct fields {
	const char *v[REC_F_COUNT];
	size_t n[REC_F_COUNT];
};

static int
check(const struct fields *fl, struct rec_keys *out, char *why, size_t whylen)
{
	const char *idhex = fl->v[REC_F_ID];
	struct rec_keys k;
	unsigned char want[REC_ID_LEN];
	char hex[REC_ID_HEX + 1], at[64];

	memset(&k, 0, sizeof(k));
	if (idhex == NULL || fl->n[REC_F_ID] != REC_ID_HEX) {
		util_seterr(why, whylen, "id: not 64 hex digits");
		return -1;
	}
	memcpy(hex, idhex, REC_ID_HEX);
	hex[REC_ID_HEX] = '\0';
	if (util_unhex(hex, k.id, REC_ID_LEN) != 0) {
		util_seterr(why, whylen, "id: not 64 hex digits");
		return -1;
	}
	if (fl->v[REC_F_THREAT] == NULL || fl->n[REC_F_THREAT] == 0 ||
	    fl->n[REC_F_THREAT] > REC_THREAT_ID_MAX) {
		util_seterr(why, whylen, "record %.16s: threat_id missing or too long", hex);
		return -1;
	}
	if (fl->v[REC_F_NODE] == NULL || fl->n[REC_F_NODE] == 0 || fl->v[REC_F_INPUT] == NULL ||
	    fl->n[REC_F_INPUT] == 0) {
		util_seterr(why, whylen, "record %.16s: node or target.input missing", hex);
		return -1;
	}
	if (fl->v[REC_F_OBSERVED_AT] == NULL || fl->n[REC_F_OBSERVED_AT] >= sizeof(at) ||
	    (memcpy(at, fl->v[REC_F_OBSERVED_AT], fl->n[REC_F_OBSERVED_AT]),
		at[fl->n[REC_F_OBSERVED_AT]] = '\0', util_time_parse(at, &k.observed_us) != 0)) {
		util_seterr(why, whylen, "record %.16s: observed_at is not an RFC 3339 time", hex);
		return -1;
	}
	if (rec_id_n(fl->v[REC_F_NODE], fl->n[REC_F_NODE], fl->v[REC_F_INPUT],
		fl->n[REC_F_INPUT], k.observed_us, want) != 0 ||
	    memcmp(want, k.id, REC_ID_LEN) != 0) {
		util_seterr(why, whylen,
		    "record %.16s: id is not SHA-256 of its node, target input and time", hex);
		return -1;
	}
	k.threat_id = fl->v[REC_F_THREAT];
	k.threat_len = fl->n[REC_F_THREAT];
	k.target_key = fl->v[REC_F_INPUT];
	k.key_len = fl->n[REC_F_INPUT];
	if (out != NULL)
		*out = k;
	return 0;
}

int
rec_check(const json_t *rec, struct rec_keys *out, char *why, size_t whylen)
{
	const json_t *target = json_object_get(rec, "target");
	struct fields fl;

	fl.v[REC_F_ID] = json_string_value(json_object_get(rec, "id"));
	fl.v[REC_F_THREAT] = json_string_value(json_object_get(rec, "threat_id"));
	fl.v[REC_F_NODE] = json_string_value(json_object_get(rec, "node"));
	fl.v[REC_F_OBSERVED_AT] = json_string_value(json_object_get(rec, "observed_at"));
	fl.v[REC_F_INPUT] = json_string_value(json_object_get(target, "input"));
	/* C-string lengths: a value with a NUL in it is checked (and keyed) up to the NUL,
	 * as the store keys it. */
	for (int k = 0; k < REC_F_COUNT; k++)
		fl.n[k] = fl.v[k] != NULL ? strlen(fl.v[k]) : 0;
	return check(&fl, out, why, whylen);
}

int
rec_check_text(const struct rec_text *rt, struct rec_keys *out, char *why, size_t whylen)
{
	struct fields fl;

	for (int k = 0; k < REC_F_COUNT; k++) {
		fl.v[k] = rt->f[k];
		fl.n[k] = rt->f[k] != NULL ? rt->flen[k] : 0;
	}
	return check(&fl, out, why, whylen);
}

int
rec_check_fields(const json_t *rec, char *why, size_t whylen)
{
	const json_t *v, *http, *ping;

	if (!json_is_object(rec)) {
		util_seterr(why, whylen, "record: not a JSON object");
		return -1;
	}
	v = json_object_get(rec, "vantage");
	if (v && !json_is_string(v) && !json_is_null(v)) {
		util_seterr(why, whylen, "vantage: not a string");
		return -1;
	}
	http = json_object_get(rec, "http");
	if (http && !json_is_null(http)) {
		const json_t *st, *sha;
		unsigned char h[32];

		if (!json_is_object(http)) {
			util_seterr(why, whylen, "http: not an object or null");
			return -1;
		}
		st = json_object_get(http, "status");
		sha = json_object_get(http, "sha256");
		if (st && !json_is_null(st) &&
		    (!json_is_integer(st) || json_integer_value(st) < 0 ||
			json_integer_value(st) > 999)) {
			util_seterr(why, whylen, "http.status: not an integer from 0 to 999");
			return -1;
		}
		if (sha && !json_is_null(sha) &&
		    (!json_is_string(sha) || json_string_length(sha) != 64 ||
			util_unhex(json_string_value(sha), h, sizeof(h)) != 0)) {
			util_seterr(why, whylen, "http.sha256: not 64 hex digits");
			return -1;
		}
	}
	ping = json_object_get(rec, "ping");
	if (ping && !json_is_null(ping) &&
	    (!json_is_object(ping) ||
		(json_object_get(ping, "sent") && !json_is_integer(json_object_get(ping, "sent"))) ||
		(json_object_get(ping, "received") &&
		    !json_is_integer(json_object_get(ping, "received"))))) {
		util_seterr(why, whylen, "ping: sent and received must be integers");
		return -1;
	}
	return 0;
}

static int
is_null(const char *v, const char *ve)
{
	return ve - v == 4 && memcmp(v, "null", 4) == 0;
}

/* The in-place half of rec_check_fields_text: 0 when the fields surely pass, -1 when the
 * text must be read through jansson (to refuse it with a reason, or to read escapes). */
static int
fields_in_place(const char *json, size_t len)
{
	static const char *const top[3] = {"vantage", "http", "ping"};
	static const char *const hk[2] = {"status", "sha256"};
	static const char *const pk[2] = {"sent", "received"};
	const char *end = json + len, *v[3], *ve[3], *x[2], *xe[2], *s;
	size_t sl;
	long long n;
	char hex[65];
	unsigned char h[32];

	if (util_jscan_getv(json, end, top, 3, v, ve) < 0)
		return -1;
	if (v[0] && util_jscan_str(v[0], ve[0], &s, &sl) < 0)
		return -1;
	if (v[1] && !is_null(v[1], ve[1])) {
		if (*v[1] != '{' || util_jscan_getv(v[1], ve[1], hk, 2, x, xe) < 0)
			return -1;
		if (x[0] && (util_jscan_int(x[0], xe[0], &n) < 0 ||
				(!is_null(x[0], xe[0]) && (n < 0 || n > 999))))
			return -1;
		if (x[1]) {
			int rc = util_jscan_str(x[1], xe[1], &s, &sl);

			if (rc < 0 || (rc == 1 && (sl != 64 || (memcpy(hex, s, 64), hex[64] = '\0',
							 util_unhex(hex, h, sizeof(h)) != 0))))
				return -1;
		}
	}
	if (v[2] && !is_null(v[2], ve[2])) {
		if (*v[2] != '{' || util_jscan_getv(v[2], ve[2], pk, 2, x, xe) < 0)
			return -1;
		for (int i = 0; i < 2; i++)
			if (x[i] && util_jscan_int(x[i], xe[i], &n) != 1)
				return -1;
	}
	return 0;
}

int
rec_check_fields_text(const char *json, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *rec;
	int rc;

	if (fields_in_place(json, len) == 0)
		return 0;
	rec = json_loadb(json, len, 0, &jerr);
	if (rec == NULL) {
		util_seterr(why, whylen, "record: not JSON: %s", jerr.text);
		return -1;
	}
	rc = rec_check_fields(rec, why, whylen);
	json_decref(rec);
	return rc;
}
