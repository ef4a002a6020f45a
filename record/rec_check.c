/*
 * The one check a record passes before it is stored, whatever brought it: the observer,
 * a peer's poll or push, an inbox, a file. It looks at the fields every store indexes and
 * at the id, which must be derived from them: a record is immutable, so one whose id does
 * not match was altered (or made by something that is not c2watch).
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
