/* The report as DESIGN.md's JSON (keys in its order, numbers in shortest round-trip
 * form) and as tables for a terminal. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "analysis/analysis.h"

/* A string literal, its length counted by the compiler. */
#define lit(o, s) util_buf_add((o), (s), sizeof(s) - 1)

/* A JSON string: quotes, backslashes and control characters escaped; other bytes as
 * they are (the store holds UTF-8 text). */
static int
jstr(struct util_buf *o, const char *s)
{
	int rc = lit(o, "\"");

	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = {'\\', (char)*p};

			rc = util_buf_add(o, e, 2);
		} else if (*p < 0x20) {
			rc = util_buf_printf(o, "\\u%04x", *p);
		} else {
			rc = util_buf_add(o, p, 1);
		}
	}
	return rc | lit(o, "\"");
}

static int
jtime(struct util_buf *o, int64_t us)
{
	char t[UTIL_TIME_MAX];

	if (us == INT64_MIN)
		return lit(o, "null");
	util_time_format(us, us % 1000000 != 0, t);
	return util_buf_printf(o, "\"%s\"", t);
}

static int
jnum(struct util_buf *o, double v)
{
	char n[32];

	an_num(v, n);
	return util_buf_add(o, n, strlen(n));
}

static int
jstatus(struct util_buf *o, int st)
{
	return st < 0 ? lit(o, "null") : util_buf_printf(o, "%d", st);
}

int
an_report_json(const struct an_report *r, struct util_buf *o)
{
	int rc = lit(o, "{\"from\": ");

	rc |= jtime(o, r->from_us);
	rc |= lit(o, ", \"to\": ");
	rc |= jtime(o, r->to_us);
	rc |= util_buf_printf(o, ", \"records\": %zu,\n \"status_share\": [", r->records);
	for (size_t i = 0; i < r->nstatus; i++) {
		rc |= util_buf_printf(o, "%s{\"status\": ", i ? ", " : "");
		rc |= jstatus(o, r->status[i].status);
		rc |= util_buf_printf(o, ", \"count\": %zu, \"pct\": ", r->status[i].count);
		rc |= jnum(o, r->status[i].pct);
		rc |= lit(o, "}");
	}
	rc |= util_buf_printf(o, "],\n \"transitions\": [");
	for (size_t i = 0; i < r->ntransitions; i++) {
		rc |= util_buf_printf(o, "%s{\"from\": ", i ? ", " : "");
		rc |= jstatus(o, r->transitions[i].from);
		rc |= lit(o, ", \"to\": ");
		rc |= jstatus(o, r->transitions[i].to);
		rc |= util_buf_printf(o, ", \"count\": %zu}", r->transitions[i].count);
	}
	rc |= util_buf_printf(o, "],\n \"shared_content\": [");
	for (size_t i = 0; i < r->nshared; i++) {
		char hex[65];

		util_hex(r->shared[i].sha256, 32, hex);
		rc |= util_buf_printf(o, "%s{\"sha256\": \"%s\", \"destinations\": %zu, "
		    "\"threat_ids\": [", i ? ", " : "", hex, r->shared[i].destinations);
		for (size_t j = 0; j < r->shared[i].nthreat_ids; j++) {
			rc |= util_buf_add(o, ", ", j ? 2 : 0);
			rc |= jstr(o, r->shared[i].threat_ids[j]);
		}
		rc |= lit(o, "]}");
	}
	rc |= util_buf_printf(o, "],\n \"monthly\": [");
	for (size_t i = 0; i < r->nmonths; i++) {
		const struct an_month *m = &r->months[i];

		rc |= util_buf_printf(o, "%s{\"threat_id\": ", i ? ", " : "");
		rc |= jstr(o, m->threat_id);
		rc |= util_buf_printf(o, ", \"month\": \"%04d-%02d\", \"observations\": %zu, "
		    "\"answered\": %zu, \"response_rate_pct\": ", m->year, m->month,
		    m->observations, m->answered);
		rc |= jnum(o, m->response_rate_pct);
		rc |= lit(o, ", \"ping_http_phi\": ");
		if (m->has_phi)
			rc |= jnum(o, m->phi);
		else
			rc |= lit(o, "null");
		rc |= lit(o, "}");
	}
	rc |= util_buf_printf(o, "],\n \"destinations\": [");
	for (size_t i = 0; i < r->ndests; i++) {
		const struct an_dest *d = &r->dests[i];

		rc |= util_buf_printf(o, "%s{\"threat_id\": ", i ? ",\n  " : "");
		rc |= jstr(o, d->threat_id);
		rc |= lit(o, ", \"target\": ");
		rc |= jstr(o, d->target);
		rc |= lit(o, ", \"nodes\": [");
		for (size_t j = 0; j < d->nnodes; j++) {
			rc |= util_buf_add(o, ", ", j ? 2 : 0);
			rc |= jstr(o, d->nodes[j]);
		}
		rc |= util_buf_printf(o, "], \"observations\": %zu, \"answered\": %zu, "
		    "\"unanswered\": %zu, \"inactive_ratio\": ", d->observations, d->answered,
		    d->unanswered);
		rc |= jnum(o, d->inactive_ratio);
		rc |= util_buf_printf(o, ", \"changes\": %zu, \"mean_change_ratio\": ", d->changes);
		rc |= jnum(o, d->mean_change_ratio);
		rc |= util_buf_printf(o, ", \"category\": \"%s\", \"last_answered\": ", d->category);
		rc |= jtime(o, d->last_answered);
		rc |= lit(o, ", \"last_ping_reply\": ");
		rc |= jtime(o, d->last_ping_reply);
		rc |= util_buf_printf(o, ", \"cloaking_pairs\": %zu, \"cloaking_compared\": %zu, "
		    "\"cloaking_suspect\": %s, \"verdict\": \"%s\", \"evidence\": ",
		    d->cloaking_pairs, d->cloaking_compared, d->cloaking_suspect ? "true" : "false",
		    an_verdict_name(d->verdict));
		rc |= jstr(o, d->evidence ? d->evidence : "");
		rc |= util_buf_printf(o, ", \"unverified\": %zu}", d->unverified);
	}
	rc |= lit(o, "]}\n");
	return rc ? -1 : 0;
}

/* A field for a terminal: control characters (attacker-controlled text) shown as '?'. */
static void
tprint(FILE *fp, const char *s, int width)
{
	int n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, fp);
	for (; n < width; n++)
		fputc(' ', fp);
}

static const char *
tstatus(int st, char buf[16])
{
	if (st < 0)
		return "none";
	snprintf(buf, 16, "%d", st);
	return buf;
}

int
an_report_text(const struct an_report *r, FILE *fp)
{
	char t1[UTIL_TIME_MAX], t2[UTIL_TIME_MAX], b1[16], b2[16], n1[32], n2[32];

	util_time_format(r->from_us, 0, t1);
	util_time_format(r->to_us, 0, t2);
	fprintf(fp, "Period %s to %s: %zu records, %zu destinations\n\n", t1, t2, r->records,
	    r->ndests);
	fprintf(fp, "HTTP status share (\"none\": no answer)\n  %-8s %10s %9s\n", "status",
	    "count", "percent");
	for (size_t i = 0; i < r->nstatus; i++)
		fprintf(fp, "  %-8s %10zu %8.2f%%\n", tstatus(r->status[i].status, b1),
		    r->status[i].count, r->status[i].pct);
	fprintf(fp, "\nStatus transitions (one vantage, consecutive observations)\n"
	    "  %-6s    %-6s %10s\n", "from", "to", "count");
	for (size_t i = 0; i < r->ntransitions; i++)
		fprintf(fp, "  %-6s -> %-6s %10zu\n", tstatus(r->transitions[i].from, b1),
		    tstatus(r->transitions[i].to, b2), r->transitions[i].count);
	fprintf(fp, "\nContent shared by several destinations\n  %-64s %5s  %s\n", "sha256",
	    "dests", "threat IDs");
	for (size_t i = 0; i < r->nshared; i++) {
		char hex[65];

		util_hex(r->shared[i].sha256, 32, hex);
		fprintf(fp, "  %s %5zu  ", hex, r->shared[i].destinations);
		for (size_t j = 0; j < r->shared[i].nthreat_ids; j++) {
			fputs(j ? ", " : "", fp);
			tprint(fp, r->shared[i].threat_ids[j], 0);
		}
		fputc('\n', fp);
	}
	fprintf(fp, "\nMonthly HTTP response rate\n  %-24s %-7s %8s %8s %8s %8s\n", "threat ID",
	    "month", "observ.", "answered", "rate %", "ping phi");
	for (size_t i = 0; i < r->nmonths; i++) {
		const struct an_month *m = &r->months[i];

		fputs("  ", fp);
		tprint(fp, m->threat_id, 24);
		snprintf(n1, sizeof(n1), "%.2f", m->response_rate_pct);
		if (m->has_phi)
			snprintf(n2, sizeof(n2), "%.3f", m->phi);
		else
			snprintf(n2, sizeof(n2), "-");
		fprintf(fp, " %04d-%02d %8zu %8zu %8s %8s\n", m->year, m->month, m->observations,
		    m->answered, n1, n2);
	}
	fprintf(fp, "\nDestinations\n");
	for (size_t i = 0; i < r->ndests; i++) {
		const struct an_dest *d = &r->dests[i];

		fputs("  ", fp);
		tprint(fp, d->threat_id, 0);
		fputs("  ", fp);
		tprint(fp, d->target, 0);
		fprintf(fp, "\n    %s, %s; %zu observations, %zu answered, inactive %.3f, "
		    "%zu changes (mean ratio %.3f)", an_verdict_name(d->verdict), d->category,
		    d->observations, d->answered, d->inactive_ratio, d->changes,
		    d->mean_change_ratio);
		if (d->cloaking_compared)
			fprintf(fp, "; cloaking %zu/%zu pairs%s", d->cloaking_pairs,
			    d->cloaking_compared, d->cloaking_suspect ? " (suspect)" : "");
		if (d->unverified)
			fprintf(fp, "; %zu unverified", d->unverified);
		fputs("\n    ", fp);
		tprint(fp, d->evidence ? d->evidence : "", 0);
		fputc('\n', fp);
	}
	return ferror(fp) ? -1 : 0;
}
