/* Numbers in their shortest round-trip form, laid out as ECMAScript's Number::toString
 * (which RFC 8785 adopts): the fewest significant digits that read back to the same
 * double, positional between 1e-7 and 1e21, exponent form outside. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"

void
an_num(double v, char buf[32])
{
	char tmp[40], digits[24];
	int prec, exp10, nd = 0, neg = 0, pos = 0;
	const char *p;

	if (!isfinite(v)) {
		strcpy(buf, "null");
		return;
	}
	if (v == 0) {
		strcpy(buf, "0"); /* -0 too */
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	/* tmp: [-]D[.DDD]e[+-]XX */
	p = tmp;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	/* value = 0.d1d2...dn * 10^n with n = exp10 + 1 */
	{
		int n = exp10 + 1, k = nd;

		if (neg)
			buf[pos++] = '-';
		if (k <= n && n <= 21) {
			memcpy(buf + pos, digits, (size_t)k);
			pos += k;
			for (int i = 0; i < n - k; i++)
				buf[pos++] = '0';
		} else if (0 < n && n < k) { /* k <= 17 here */
			memcpy(buf + pos, digits, (size_t)n);
			pos += n;
			buf[pos++] = '.';
			memcpy(buf + pos, digits + n, (size_t)(k - n));
			pos += k - n;
		} else if (-6 < n && n <= 0) {
			buf[pos++] = '0';
			buf[pos++] = '.';
			for (int i = 0; i < -n; i++)
				buf[pos++] = '0';
			memcpy(buf + pos, digits, (size_t)k);
			pos += k;
		} else {
			buf[pos++] = digits[0];
			if (k > 1) {
				buf[pos++] = '.';
				memcpy(buf + pos, digits + 1, (size_t)(k - 1));
				pos += k - 1;
			}
			pos += snprintf(buf + pos, 32 - (size_t)pos, "e%c%d", n - 1 < 0 ? '-' : '+',
			    abs(n - 1));
		}
		buf[pos] = '\0';
	}
}
