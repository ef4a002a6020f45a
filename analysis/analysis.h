/*
 * analysis: what the records a node holds say — the figures of DESIGN.md "Analysis"
 * (status share, transitions, shared content, monthly response rate and ping/HTTP phi,
 * per destination inactive ratio, changes, category, cloaking, verdict with evidence,
 * unverified records) for a period, a threat ID or a month, and the exports built on them
 * (the report's JSON and tables, blocklists in the forms firewalls and resolvers read).
 *
 * It reads only the store's per-destination summaries (store_snap_*), never the records'
 * JSON, so a report costs in proportion to the destinations in scope and their entries.
 * It never logs, never exits, never writes to the store and never uses the network.
 */
#ifndef C2W_ANALYSIS_H
#define C2W_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/util.h"

struct store;

/* ------------------------------------------------------------------ sinkhole list */

struct an_sinkholes;

/*
 * Reads a sinkhole list: "sha256 HEX note" and "net CIDR note" lines (IPv4 or IPv6; the
 * note is free text, may be empty), blank lines and '#' comments. path NULL: the list
 * built into c2watch (conf/sinkholes.txt). Returns 0 with *out set (free with
 * an_sinkholes_free), or -1 with err "FILE:LINE: what is wrong" and *out untouched.
 */
int an_sinkholes_load(const char *path, struct an_sinkholes **out, char *err, size_t errlen);
void an_sinkholes_free(struct an_sinkholes *sl);
/* Entries in the list. */
size_t an_sinkholes_count(const struct an_sinkholes *sl);

/* ------------------------------------------------------------------ report */

struct an_query {
	const char *threat_id;   /* NULL: every threat ID */
	int64_t from_us;         /* INT64_MIN: from the first record in scope */
	int64_t to_us;           /* the period's end (exclusive); the verdict is as of it */
	int64_t remove_after_us; /* [analysis] remove_after */
	const char *self_node;   /* this node's id: its records are never "unverified" */
	const struct an_sinkholes *sinkholes; /* may be NULL: nothing is sinkholed */
};

enum an_verdict { AN_KEEP = 1, AN_SINKHOLED = 2, AN_REMOVE = 4 };

struct an_dest {
	char *threat_id, *target;
	char **nodes; /* sorted */
	size_t nnodes;
	size_t records, observations, answered, unanswered, changes, unverified;
	size_t cloaking_pairs, cloaking_compared;
	double inactive_ratio, mean_change_ratio;
	const char *category;
	enum an_verdict verdict;
	char *evidence;
	int64_t last_answered, last_ping_reply; /* INT64_MIN: never (before the period's end) */
	int cloaking_suspect;
};

struct an_status_count {
	int status; /* -1: null (unanswered) */
	size_t count;
	double pct;
};

struct an_transition {
	int from, to; /* -1: null */
	size_t count;
};

struct an_shared {
	unsigned char sha256[32];
	size_t destinations;
	char **threat_ids; /* sorted, distinct */
	size_t nthreat_ids;
};

struct an_month {
	char *threat_id;
	int year, month;
	size_t observations, answered;
	double response_rate_pct;
	int has_phi;
	double phi;
};

struct an_report {
	int64_t from_us, to_us;
	size_t records;
	struct an_status_count *status;
	size_t nstatus;
	struct an_transition *transitions;
	size_t ntransitions;
	struct an_shared *shared;
	size_t nshared;
	struct an_month *months;
	size_t nmonths;
	struct an_dest *dests;
	size_t ndests;
};

/*
 * Builds the report of q over the store's summaries, in one read snapshot. Returns 0 with
 * *out (free with an_report_free), or -1 with err (the store's message, or out of
 * memory). An older data directory opened read-only has no summaries: -1, err says so.
 */
int an_report_build(struct store *s, const struct an_query *q, struct an_report **out,
    char *err, size_t errlen);
void an_report_free(struct an_report *r);

/* The verdict's name: "keep", "sinkholed", "remove-candidate". */
const char *an_verdict_name(enum an_verdict v);

/* Appends DESIGN.md's report JSON (one line, then "\n"). 0, or -1 out of memory. */
int an_report_json(const struct an_report *r, struct util_buf *out);

/* Writes the report as tables a person reads. 0, or -1 on a write error. */
int an_report_text(const struct an_report *r, FILE *fp);

/* ------------------------------------------------------------------ exports */

/*
 * Appends the blocklist of the report's destinations whose verdict is in `verdicts` (a
 * mask of enum an_verdict), deduplicated, in `style`: plain, edl-url, edl-domain, edl-ip,
 * rpz, suricata, zeek, csv (DESIGN.md "Exports"). For rpz, serial is the SOA serial (it
 * must grow from one export to the next: the caller passes e.g. the time in seconds).
 * For suricata, the categories file is repeated in the leading comment lines, which
 * Suricata skips (an_blocklist_suricata_categories gives it alone).
 * Returns 0, or -1 with err (unknown style, out of memory).
 */
int an_blocklist(const struct an_report *r, const char *style, unsigned verdicts,
    uint32_t serial, struct util_buf *out, char *err, size_t errlen);

/* The Suricata categories file that an_blocklist's suricata lines refer to. */
int an_blocklist_suricata_categories(struct util_buf *out);

/* Parses "keep,sinkholed,remove-candidate" into a mask. 0, or -1 (err names the word). */
int an_verdicts_parse(const char *list, unsigned *mask, char *err, size_t errlen);

/* ------------------------------------------------------------------ numbers */

/* A double in its shortest round-trip form, as RFC 8785 (ECMAScript) writes it:
 * 0.723, 50, 1e-7, 33.333333333333336. NaN and infinities write "null". */
void an_num(double v, char buf[32]);

#endif
