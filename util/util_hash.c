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

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
util_unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(s[2 * i]), lo;

		if (hi < 0)
			return -1;
		lo = nibble(s[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
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
