/*
 * Signed records: a node's Ed25519 key (OpenSSL's EVP API), the signature over a
 * record's RFC 8785 form without its "sig" and "key", and the trust set that says which
 * nodes' records must verify and with which keys. Keys come and go as PEM text and
 * "ed25519:BASE64" strings: reading and writing the key file is the caller's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "record/record.h"

#define ED_PUB_LEN 32
#define ED_SIG_LEN 64
#define PREFIX "ed25519:"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

struct rec_key {
	EVP_PKEY *pk;
	char pub[REC_PUB_MAX];
};

/* "ed25519:" and the standard base64 of n bytes (with padding) into out (cap outlen). */
static int
b64_put(const unsigned char *raw, size_t n, char *out, size_t outlen)
{
	if (outlen < PREFIX_LEN + 4 * ((n + 2) / 3) + 1)
		return -1;
	memcpy(out, PREFIX, PREFIX_LEN);
	EVP_EncodeBlock((unsigned char *)out + PREFIX_LEN, raw, (int)n);
	return 0;
}

/* "ed25519:BASE64" decoded into exactly want bytes; the base64 must be the canonical
 * (padded) form of those bytes. 0 or -1. */
static int
b64_get(const char *s, unsigned char *raw, size_t want)
{
	unsigned char tmp[ED_SIG_LEN + 3];
	char again[2 * ED_SIG_LEN];
	size_t n;
	int got;

	if (s == NULL || strncmp(s, PREFIX, PREFIX_LEN) != 0)
		return -1;
	s += PREFIX_LEN;
	n = strlen(s);
	if (n != 4 * ((want + 2) / 3) || want > ED_SIG_LEN)
		return -1;
	got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got < want)
		return -1;
	memcpy(raw, tmp, want);
	/* Base64 with stray bits or other padding decodes too: only the one form counts. */
	EVP_EncodeBlock((unsigned char *)again, raw, (int)want);
	return strcmp(again, s) == 0 ? 0 : -1;
}

static struct rec_key *
key_wrap(EVP_PKEY *pk, char *err, size_t errlen)
{
	struct rec_key *k = NULL;
	unsigned char raw[ED_PUB_LEN];
	size_t len = sizeof(raw);

	if (EVP_PKEY_id(pk) != EVP_PKEY_ED25519) {
		util_seterr(err, errlen, "not an Ed25519 key");
		goto fail;
	}
	if (EVP_PKEY_get_raw_public_key(pk, raw, &len) != 1 || len != ED_PUB_LEN) {
		util_seterr(err, errlen, "cannot read the public key");
		goto fail;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto fail;
	}
	k->pk = pk;
	b64_put(raw, len, k->pub, sizeof(k->pub));
	return k;
fail:
	EVP_PKEY_free(pk);
	return NULL;
}

struct rec_key *
rec_key_new(char *err, size_t errlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pk = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pk) != 1) {
		EVP_PKEY_CTX_free(ctx);
		util_seterr(err, errlen, "cannot make an Ed25519 key");
		return NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return key_wrap(pk, err, errlen);
}

/* No passphrase: an encrypted key file is refused, never prompted for. */
static int
no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

struct rec_key *
rec_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
	BIO *bio = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	EVP_PKEY *pk;

	if (bio == NULL) {
		util_seterr(err, errlen, "out of memory");
		return NULL;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL);
	BIO_free(bio);
	if (pk == NULL) {
		util_seterr(err, errlen, "not an unencrypted PEM private key");
		return NULL;
	}
	return key_wrap(pk, err, errlen);
}

char *
rec_key_pem(const struct rec_key *k, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, k->pk, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || (out = malloc((size_t)n + 1)) == NULL)
		goto out;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
out:
	BIO_free(bio);
	return out;
}

const char *
rec_key_public(const struct rec_key *k)
{
	return k->pub;
}

void
rec_key_free(struct rec_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

int
rec_pub_valid(const char *pub)
{
	unsigned char raw[ED_PUB_LEN];

	return b64_get(pub, raw, sizeof(raw)) == 0;
}

int
rec_sign(json_t *rec, const struct rec_key *k, char *why, size_t whylen)
{
	struct util_buf msg;
	EVP_MD_CTX *ctx = NULL;
	unsigned char sig[ED_SIG_LEN];
	size_t siglen = sizeof(sig);
	char text[REC_SIG_MAX];
	int ret = -1;

	util_buf_init(&msg, 0);
	if (rec_jcs(rec, REC_JCS_UNSIGNED, &msg, why, whylen) != 0)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg.data, msg.len) != 1 ||
	    siglen != ED_SIG_LEN) {
		util_seterr(why, whylen, "signing failed");
		goto out;
	}
	b64_put(sig, siglen, text, sizeof(text));
	if (json_object_set_new(rec, "sig", json_string(text)) != 0 ||
	    json_object_set_new(rec, "key", json_string(k->pub)) != 0) {
		util_seterr(why, whylen, "out of memory");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	util_buf_fini(&msg);
	return ret;
}

int
rec_sig_verify(const json_t *rec, char *why, size_t whylen)
{
	const char *s = json_string_value(json_object_get(rec, "sig"));
	const char *pub = json_string_value(json_object_get(rec, "key"));
	unsigned char raw[ED_PUB_LEN], sig[ED_SIG_LEN];
	struct util_buf msg;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	int ret = -1;

	util_buf_init(&msg, 0);
	if (s == NULL || pub == NULL) {
		util_seterr(why, whylen, "not signed (no sig and key)");
		goto out;
	}
	if (b64_get(pub, raw, sizeof(raw)) != 0) {
		util_seterr(why, whylen, "key: not ed25519:BASE64 of 32 bytes");
		goto out;
	}
	if (b64_get(s, sig, sizeof(sig)) != 0) {
		util_seterr(why, whylen, "sig: not ed25519:BASE64 of 64 bytes");
		goto out;
	}
	if (rec_jcs(rec, REC_JCS_UNSIGNED, &msg, why, whylen) != 0)
		goto out;
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
	if (pk == NULL || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1) {
		util_seterr(why, whylen, "key: not usable as an Ed25519 public key");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, sizeof(sig), (const unsigned char *)msg.data,
		msg.len) != 1) {
		util_seterr(why, whylen, "signature does not verify");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	util_buf_fini(&msg);
	return ret;
}

/* ------------------------------------------------------------------ the trust set */

struct trust_node {
	char *node;
	char **keys;
	size_t nkeys;
};

struct rec_trust {
	struct trust_node *v;
	size_t n;
	int unknown_refuse;
};

struct rec_trust *
rec_trust_new(void)
{
	return calloc(1, sizeof(struct rec_trust));
}

void
rec_trust_free(struct rec_trust *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		for (size_t j = 0; j < t->v[i].nkeys; j++)
			free(t->v[i].keys[j]);
		free(t->v[i].keys);
		free(t->v[i].node);
	}
	free(t->v);
	free(t);
}

void
rec_trust_set_unknown(struct rec_trust *t, int refuse)
{
	t->unknown_refuse = refuse != 0;
}

static struct trust_node *
trust_find(const struct rec_trust *t, const char *node, size_t len)
{
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (strlen(t->v[i].node) == len && memcmp(t->v[i].node, node, len) == 0)
			return &t->v[i];
	return NULL;
}

int
rec_trust_listed(const struct rec_trust *t, const char *node, size_t len)
{
	return trust_find(t, node, len) != NULL;
}

int
rec_trust_add(struct rec_trust *t, const char *node, const char *pub, char *why,
    size_t whylen)
{
	struct trust_node *tn = trust_find(t, node, strlen(node));
	char **keys, *copy;

	if (node[0] == '\0') {
		util_seterr(why, whylen, "empty node id");
		return -1;
	}
	if (!rec_pub_valid(pub)) {
		util_seterr(why, whylen, "not an Ed25519 public key (ed25519:BASE64 of 32 bytes)");
		return -1;
	}
	if (tn == NULL) {
		struct trust_node *v = realloc(t->v, (t->n + 1) * sizeof(*v));

		if (v == NULL)
			goto nomem;
		t->v = v;
		tn = &t->v[t->n];
		memset(tn, 0, sizeof(*tn));
		if ((tn->node = strdup(node)) == NULL)
			goto nomem;
		t->n++;
	}
	for (size_t j = 0; j < tn->nkeys; j++)
		if (strcmp(tn->keys[j], pub) == 0)
			return 0;
	if ((copy = strdup(pub)) == NULL)
		goto nomem;
	if ((keys = realloc(tn->keys, (tn->nkeys + 1) * sizeof(*keys))) == NULL) {
		free(copy);
		goto nomem;
	}
	tn->keys = keys;
	tn->keys[tn->nkeys++] = copy;
	return 0;
nomem:
	util_seterr(why, whylen, "out of memory");
	return -1;
}

int
rec_trust_parse(struct rec_trust *t, const char *text, size_t len, const char *name,
    char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		char buf[1024], node[512], pub[128], extra[2], why[256];
		size_t n;

		line++;
		n = (size_t)(e - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(buf)) {
			util_seterr(err, errlen, "%s:%d: line too long", name, line);
			return -1;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p = nl ? nl + 1 : end;
		if (memchr(buf, '\0', n) != NULL) {
			util_seterr(err, errlen, "%s:%d: a NUL byte", name, line);
			return -1;
		}
		{
			char *c = buf + strspn(buf, " \t");

			if (*c == '\0' || *c == '#')
				continue;
		}
		if (sscanf(buf, " %511s %127s %1s", node, pub, extra) != 2) {
			util_seterr(err, errlen, "%s:%d: not \"NODE-ID ed25519:BASE64\"", name,
			    line);
			return -1;
		}
		if (rec_trust_add(t, node, pub, why, sizeof(why)) != 0) {
			util_seterr(err, errlen, "%s:%d: %s: %s", name, line, node, why);
			return -1;
		}
	}
	return 0;
}

int
rec_trust_check(const struct rec_trust *t, const json_t *rec, char *why, size_t whylen)
{
	const char *node = json_string_value(json_object_get(rec, "node"));
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *pub = json_string_value(json_object_get(rec, "key"));
	const struct trust_node *tn;
	char reason[256];
	size_t j;

	if (t == NULL)
		return REC_TRUST_UNVERIFIED;
	if (node == NULL)
		node = "";
	if (id == NULL)
		id = "?";
	if ((tn = trust_find(t, node, strlen(node))) == NULL) {
		if (!t->unknown_refuse)
			return REC_TRUST_UNVERIFIED;
		util_seterr(why, whylen, "record %.64s of node %.200s refused: the node is not in "
		    "the trusted keys (unknown = refuse)", id, node);
		return REC_TRUST_REFUSED;
	}
	for (j = 0; pub != NULL && j < tn->nkeys; j++)
		if (strcmp(tn->keys[j], pub) == 0)
			break;
	if (pub == NULL || j == tn->nkeys) {
		util_seterr(why, whylen, "record %.64s of node %.200s refused: %s", id, node,
		    pub == NULL ? "not signed" : "signed with a key that is not the node's");
		return REC_TRUST_REFUSED;
	}
	if (rec_sig_verify(rec, reason, sizeof(reason)) != 0) {
		util_seterr(why, whylen, "record %.64s of node %.200s refused: %s", id, node,
		    reason);
		return REC_TRUST_REFUSED;
	}
	return REC_TRUST_VERIFIED;
}

int
rec_trust_check_text(const struct rec_trust *t, const struct rec_text *rt, char *why,
    size_t whylen)
{
	json_t *rec;
	int rc;

	if (t == NULL)
		return REC_TRUST_UNVERIFIED;
	/* The common case costs no parse: a node nobody vouches for, taken as it is. */
	if (rt->f[REC_F_NODE] != NULL && !t->unknown_refuse &&
	    trust_find(t, rt->f[REC_F_NODE], rt->flen[REC_F_NODE]) == NULL)
		return REC_TRUST_UNVERIFIED;
	rec = json_loadb(rt->json, rt->len, JSON_REJECT_DUPLICATES, NULL);
	if (rec == NULL) {
		util_seterr(why, whylen, "record %.64s refused: not JSON",
		    rt->f[REC_F_ID] ? rt->f[REC_F_ID] : "?");
		return REC_TRUST_REFUSED;
	}
	rc = rec_trust_check(t, rec, why, whylen);
	json_decref(rec);
	return rc;
}
