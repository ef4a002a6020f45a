/* Host names, IP literals and URLs as they appear in config files and target lists. The
 * same text must normalise the same way everywhere, or duplicate targets slip through. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <idn2.h>

#include "conf/conf_int.h"
#include "util/util.h"

int
conf_looks_ipv4(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

int
conf_ip_norm(const char *in, char out[CONF_HOST_MAX])
{
	unsigned char addr[16];

	/* glibc's inet_pton takes only four decimal parts without leading zeros: the strict
	 * form we want (no "010.1.1.1" octal surprises, no "1.2.3"). */
	if (inet_pton(AF_INET, in, addr) == 1) {
		if (inet_ntop(AF_INET, addr, out, CONF_HOST_MAX) == NULL)
			return -1;
		return 4;
	}
	if (strchr(in, ':') != NULL && inet_pton(AF_INET6, in, addr) == 1) {
		if (inet_ntop(AF_INET6, addr, out, CONF_HOST_MAX) == NULL)
			return -1;
		return 6;
	}
	return -1;
}

int
conf_hostname_norm(const char *in, char out[CONF_HOST_MAX], const char **why)
{
	size_t n = strlen(in), i, label = 0, last_label_start = 0;
	int non_ascii = 0, numeric_last = 1;

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0) {
		*why = "empty host name";
		return -1;
	}
	if (n >= CONF_HOST_MAX * 4) {
		*why = "host name too long";
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)in[i] >= 0x80)
			non_ascii = 1;
	if (non_ascii) {
		char tmp[CONF_HOST_MAX * 4];
		char *ascii = NULL;

		memcpy(tmp, in, n);
		tmp[n] = '\0';
		if (idn2_to_ascii_8z(tmp, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
		    IDN2_OK) {
			*why = "bad internationalised domain name";
			return -1;
		}
		n = strlen(ascii);
		if (n >= CONF_HOST_MAX) {
			idn2_free(ascii);
			*why = "host name too long";
			return -1;
		}
		memcpy(out, ascii, n + 1);
		idn2_free(ascii);
	} else {
		if (n >= CONF_HOST_MAX) {
			*why = "host name too long";
			return -1;
		}
		for (i = 0; i < n; i++) {
			char ch = in[i];

			out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
		}
		out[n] = '\0';
	}
	if (n > 253) {
		*why = "host name longer than 253 characters";
		return -1;
	}
	for (i = 0; i <= n; i++) {
		char ch = out[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0) {
				*why = "empty label in host name";
				return -1;
			}
			if (label > 63) {
				*why = "label longer than 63 characters in host name";
				return -1;
			}
			if (out[i - 1] == '-' || out[i - label] == '-') {
				*why = "label starts or ends with '-' in host name";
				return -1;
			}
			last_label_start = i - label;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			ch == '_')) {
			*why = "bad character in host name";
			return -1;
		}
		label++;
	}
	for (i = last_label_start; i < n; i++)
		if (out[i] < '0' || out[i] > '9')
			numeric_last = 0;
	if (numeric_last) {
		*why = "numeric top-level label (an IP address is not a host name)";
		return -1;
	}
	return 0;
}

static int
scheme_allowed(const char *scheme, const char *schemes)
{
	size_t n = strlen(scheme);
	const char *p = schemes;

	while (*p) {
		size_t m = strcspn(p, " ");

		if (m == n && memcmp(p, scheme, n) == 0)
			return 1;
		p += m;
		while (*p == ' ')
			p++;
	}
	return 0;
}

int
conf_url_parse(const char *in, const char *schemes, int allow_userinfo, struct conf_url *u,
    char *why, size_t whylen)
{
	const char *p = in, *auth, *auth_end, *host, *host_end, *at;
	char hostbuf[CONF_HOST_MAX * 4];
	const char *hwhy;
	size_t i, n;

	memset(u, 0, sizeof(*u));
	u->port = -1;
	for (i = 0; p[i] && p[i] != ':' && i < sizeof(u->scheme) - 1; i++) {
		char ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(i > 0 && ch >= '0' && ch <= '9')))
			break;
		u->scheme[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	u->scheme[i] = '\0';
	if (i == 0 || strncmp(p + i, "://", 3) != 0) {
		util_seterr(why, whylen, "not a URL (expected %s)", schemes);
		return -1;
	}
	if (!scheme_allowed(u->scheme, schemes)) {
		util_seterr(why, whylen, "scheme \"%s\" not allowed (use %s)", u->scheme, schemes);
		return -1;
	}
	auth = p + i + 3;
	auth_end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (host = auth; host < auth_end; host++)
		if (*host == '@')
			at = host;
	if (at != NULL) {
		if (!allow_userinfo) {
			util_seterr(why, whylen, "user name or password in URL");
			return -1;
		}
		u->has_userinfo = 1;
		host = at + 1;
	} else {
		host = auth;
	}
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(auth_end - host));

		if (close == NULL) {
			util_seterr(why, whylen, "unclosed '[' in URL host");
			return -1;
		}
		n = (size_t)(close - host - 1);
		if (n == 0 || n >= sizeof(hostbuf)) {
			util_seterr(why, whylen, "bad IPv6 address in URL");
			return -1;
		}
		memcpy(hostbuf, host + 1, n);
		hostbuf[n] = '\0';
		if (conf_ip_norm(hostbuf, u->host) != 6) {
			util_seterr(why, whylen, "bad IPv6 address in URL");
			return -1;
		}
		u->family = 6;
		host_end = close + 1;
		if (host_end < auth_end && *host_end != ':') {
			util_seterr(why, whylen, "junk after ']' in URL host");
			return -1;
		}
	} else {
		host_end = memchr(host, ':', (size_t)(auth_end - host));
		if (host_end == NULL)
			host_end = auth_end;
		n = (size_t)(host_end - host);
		if (n == 0) {
			util_seterr(why, whylen, "no host in URL");
			return -1;
		}
		if (n >= sizeof(hostbuf)) {
			util_seterr(why, whylen, "URL host too long");
			return -1;
		}
		memcpy(hostbuf, host, n);
		hostbuf[n] = '\0';
		if (conf_looks_ipv4(hostbuf, n)) {
			if (conf_ip_norm(hostbuf, u->host) != 4) {
				util_seterr(why, whylen, "bad IPv4 address in URL");
				return -1;
			}
			u->family = 4;
		} else if (conf_hostname_norm(hostbuf, u->host, &hwhy) != 0) {
			util_seterr(why, whylen, "%s in URL", hwhy);
			return -1;
		}
	}
	if (host_end < auth_end) {
		/* host_end points at ':' */
		const char *q = host_end + 1;
		long port = 0;

		if (q == auth_end) {
			util_seterr(why, whylen, "empty port in URL");
			return -1;
		}
		for (; q < auth_end; q++) {
			if (*q < '0' || *q > '9' || port > 65535) {
				util_seterr(why, whylen, "bad port in URL");
				return -1;
			}
			port = port * 10 + (*q - '0');
		}
		if (port < 1 || port > 65535) {
			util_seterr(why, whylen, "port out of range 1..65535 in URL");
			return -1;
		}
		u->port = (int)port;
	}
	u->rest = auth_end;
	return 0;
}
