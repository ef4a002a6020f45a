/* Hex and SHA-256: record ids, content hashes and salts are shown as lowercase hex. */
#include "config.h"

#include <pthread.h>

#include <openssl/evp.h>

#include "util/util.h"

void
util_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A hex digit's value plus one, 0 for any other byte: one load a digit, for the ids every
 * record check and store key decodes. */
static const unsigned char unhex_tab[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

int
util_unhex(const char *s, unsigned char *out, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		unsigned hi = unhex_tab[u[2 * i]], lo;

		/* Checked before the next byte is read: a short string ends at its NUL. */
		if (hi == 0)
			return -1;
		lo = unhex_tab[u[2 * i + 1]];
		if (lo == 0)
			return -1;
		out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

/* OpenSSL 3 looks the algorithm up on every EVP_sha256() digest; fetching it once makes
 * the many short digests (record ids, STIX ids, key hashes) several times cheaper. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
util_sha256(const void *data, size_t len, unsigned char out[UTIL_SHA256_LEN])
{
	unsigned int n = 0;
	const EVP_MD *md;

	pthread_once(&sha256_once, sha256_fetch);
	md = sha256_md ? sha256_md : EVP_sha256();
	if (EVP_Digest(data, len, out, &n, md, NULL) != 1 || n != UTIL_SHA256_LEN)
		return -1;
	return 0;
}
