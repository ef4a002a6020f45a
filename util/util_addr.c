/* Special-purpose address ranges (RFC 6890 and its IANA registries): which addresses are
 * not public destinations, for the allow_private policy and for imports that must skip a
 * sandbox's own network. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "util/util.h"

static int
in4(uint32_t a, uint32_t net, int bits)
{
	uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);

	return (a & mask) == net;
}

static enum util_addr_class
classify4(const unsigned char *b)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

	if (a == 0)
		return UTIL_ADDR_UNSPECIFIED;
	if (a == 0xffffffffu)
		return UTIL_ADDR_BROADCAST;
	if (in4(a, 0x00000000u, 8))
		return UTIL_ADDR_THIS_NETWORK;
	if (in4(a, 0x0a000000u, 8) || in4(a, 0xac100000u, 12) || in4(a, 0xc0a80000u, 16))
		return UTIL_ADDR_PRIVATE;
	if (in4(a, 0x64400000u, 10))
		return UTIL_ADDR_CGNAT;
	if (in4(a, 0x7f000000u, 8))
		return UTIL_ADDR_LOOPBACK;
	if (in4(a, 0xa9fe0000u, 16))
		return UTIL_ADDR_LINK_LOCAL;
	if (in4(a, 0xc0000200u, 24) || in4(a, 0xc6336400u, 24) || in4(a, 0xcb007100u, 24))
		return UTIL_ADDR_DOCUMENTATION;
	if (in4(a, 0xc6120000u, 15))
		return UTIL_ADDR_BENCHMARK;
	if (in4(a, 0xe0000000u, 4))
		return UTIL_ADDR_MULTICAST;
	if (in4(a, 0xf0000000u, 4) || in4(a, 0xc0000000u, 24) || in4(a, 0xc0586300u, 24))
		return UTIL_ADDR_RESERVED;
	return UTIL_ADDR_PUBLIC;
}

/* Whether the first `bits` bits of b equal those of prefix p. */
static int
in6(const unsigned char *b, const unsigned char *p, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(b, p, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((b[full] ^ p[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static enum util_addr_class
classify6(const unsigned char *b)
{
	static const unsigned char zero[16];
	static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char nat64[16] = { 0, 0x64, 0xff, 0x9b };
	static const unsigned char nat64l[16] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	static const unsigned char discard[16] = { 1, 0 };
	static const unsigned char bench[16] = { 0x20, 0x01, 0, 2 };
	static const unsigned char doc1[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const unsigned char doc2[16] = { 0x3f, 0xff };
	static const unsigned char ietf[16] = { 0x20, 0x01 };
	static const unsigned char sixto4[16] = { 0x20, 0x02 };
	static const unsigned char srv6[16] = { 0x5f, 0x00 };

	if (memcmp(b, zero, 15) == 0 && b[15] <= 1)
		return b[15] == 0 ? UTIL_ADDR_UNSPECIFIED : UTIL_ADDR_LOOPBACK;
	if (in6(b, mapped, 96) || in6(b, nat64, 96))
		return classify4(b + 12);
	if (in6(b, sixto4, 16))
		return classify4(b + 2);
	if (in6(b, nat64l, 48))
		return UTIL_ADDR_PRIVATE;
	if (in6(b, discard, 64))
		return UTIL_ADDR_RESERVED;
	if (in6(b, bench, 48))
		return UTIL_ADDR_BENCHMARK;
	if (in6(b, doc1, 32) || in6(b, doc2, 20))
		return UTIL_ADDR_DOCUMENTATION;
	if (in6(b, ietf, 23) || in6(b, srv6, 16))
		return UTIL_ADDR_RESERVED;
	if (b[0] == 0xff)
		return UTIL_ADDR_MULTICAST;
	if ((b[0] & 0xfe) == 0xfc)
		return UTIL_ADDR_PRIVATE;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return UTIL_ADDR_LINK_LOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return UTIL_ADDR_PRIVATE; /* site-local, deprecated but still routed inside sites */
	/* Only 2000::/3 is allocated for global unicast. */
	if ((b[0] & 0xe0) != 0x20)
		return UTIL_ADDR_RESERVED;
	return UTIL_ADDR_PUBLIC;
}

enum util_addr_class
util_addr_classify(int family, const void *addr)
{
	if (addr == NULL)
		return UTIL_ADDR_RESERVED;
	if (family == AF_INET)
		return classify4(addr);
	if (family == AF_INET6)
		return classify6(addr);
	return UTIL_ADDR_RESERVED;
}

enum util_addr_class
util_addr_classify_sa(const struct sockaddr *sa)
{
	if (sa == NULL)
		return UTIL_ADDR_RESERVED;
	if (sa->sa_family == AF_INET)
		return classify4((const unsigned char *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return classify6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
	return UTIL_ADDR_RESERVED;
}

int
util_addr_classify_text(const char *text, enum util_addr_class *out)
{
	unsigned char b[16];

	if (text == NULL || out == NULL)
		return -1;
	if (inet_pton(AF_INET, text, b) == 1)
		*out = classify4(b);
	else if (inet_pton(AF_INET6, text, b) == 1)
		*out = classify6(b);
	else
		return -1;
	return 0;
}

const char *
util_addr_class_name(enum util_addr_class c)
{
	switch (c) {
	case UTIL_ADDR_PUBLIC: return "public";
	case UTIL_ADDR_UNSPECIFIED: return "unspecified";
	case UTIL_ADDR_THIS_NETWORK: return "this-network";
	case UTIL_ADDR_LOOPBACK: return "loopback";
	case UTIL_ADDR_PRIVATE: return "private";
	case UTIL_ADDR_CGNAT: return "cgnat";
	case UTIL_ADDR_LINK_LOCAL: return "link-local";
	case UTIL_ADDR_DOCUMENTATION: return "documentation";
	case UTIL_ADDR_BENCHMARK: return "benchmark";
	case UTIL_ADDR_MULTICAST: return "multicast";
	case UTIL_ADDR_BROADCAST: return "broadcast";
	case UTIL_ADDR_RESERVED: break;
	}
	return "reserved";
}
