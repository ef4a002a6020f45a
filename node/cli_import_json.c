/* import --format json: observation records in export's JSON form (an array, or one
 * record per line, or records one after another), read as a stream so that no file ever
 * sits in memory whole. The file is read twice: first every record is checked (a bad one
 * rejects the file, and nothing is stored), then the records are merged in transactions
 * of BATCH, as a peer's records are (set union by id, each record's node kept), the next
 * batch read while one is committed. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "conf/conf.h"
#include "node/cli.h"
#include "fed/fed.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define RECORD_MAX (16u * 1024 * 1024) /* one record's text */
#define CHUNK (1u << 20)
/* A transaction's records: BATCH, or fewer when their texts pass BATCH_BYTES. Two batches
 * are in memory at most (one read, one committed), about 1.1 KiB a record of 700 bytes;
 * beyond 50,000 a larger batch is barely faster (its commit is not cheaper a record). */
#define BATCH 50000
#define BATCH_BYTES (48u * 1024 * 1024)
#define MAX_REPORTED 20 /* bad records reported before the rest are only counted */

/* A reader that cuts the stream into records, compacting each (whitespace outside
 * strings dropped) so the stored text is what export writes. */
struct rd {
	FILE *fp;
	const char *name;
	char *chunk;
	size_t clen, cpos;
	int eof;
	long line;    /* current line, 1-based */
	int mode;     /* 0: not started, '[': inside an array, '{': records in sequence */
	int done;     /* the array's ']' was read */
	uint64_t bytes;
	struct util_buf rec;
	long rec_line; /* line the current record starts on */
};

static int
rd_getc(struct rd *r)
{
	if (r->cpos == r->clen) {
		if (r->eof)
			return EOF;
		r->clen = fread(r->chunk, 1, CHUNK, r->fp);
		r->cpos = 0;
		if (r->clen == 0) {
			r->eof = 1;
			return EOF;
		}
	}
	r->bytes++;
	return (unsigned char)r->chunk[r->cpos++];
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
skip_ws(struct rd *r)
{
	int c;

	while ((c = rd_getc(r)) != EOF && is_ws(c))
		if (c == '\n')
			r->line++;
	return c;
}

/* The next record's text into r->rec (NUL-terminated). Returns 1, 0 at the end, or -1
 * with why (and *line where it went wrong). */
static int
rd_next(struct rd *r, char *why, size_t whylen, long *line)
{
	int c = skip_ws(r), depth, in_str = 0, esc = 0;

	*line = r->line;
	if (r->mode == 0) {
		if (c == EOF)
			return 0;
		if (c == '[') {
			r->mode = '[';
			c = skip_ws(r);
			*line = r->line;
			if (c == ']') {
				r->done = 1;
				c = skip_ws(r);
				*line = r->line;
				if (c != EOF) {
					util_seterr(
					    why, whylen, "JSON: text after the array's end");
					return -1;
				}
				return 0;
			}
		} else {
			r->mode = '{';
		}
	} else if (r->mode == '[') {
		if (r->done) {
			if (c == EOF)
				return 0;
			util_seterr(why, whylen, "JSON: text after the array's end");
			return -1;
		}
		if (c == ']') {
			r->done = 1;
			c = skip_ws(r);
			*line = r->line;
			if (c != EOF) {
				util_seterr(why, whylen, "JSON: text after the array's end");
				return -1;
			}
			return 0;
		}
		if (c != ',') {
			util_seterr(why, whylen,
			    c == EOF ? "JSON: the array is not closed (']')" :
				       "JSON: ',' or ']' expected between records");
			return -1;
		}
		c = skip_ws(r);
		*line = r->line;
	}
	if (c == EOF) {
		if (r->mode == '[') {
			util_seterr(why, whylen, "JSON: the array is not closed (']')");
			return -1;
		}
		return 0;
	}
	if (c != '{') {
		util_seterr(why, whylen, "JSON: a record (an object, '{') expected");
		return -1;
	}
	r->rec_line = r->line;
	util_buf_reset(&r->rec);
	/* c is the record's '{', already taken from the chunk; the rest is cut from the
	 * chunk in runs, whitespace outside strings dropped. */
	depth = 1;
	if (util_buf_add(&r->rec, "{", 1) != 0) {
		util_seterr(why, whylen, "out of memory");
		return -1;
	}
	while (depth > 0) {
		size_t run;

		if (r->cpos == r->clen) {
			if (rd_getc(r) == EOF)
				break;
			r->cpos--; /* rd_getc refilled the chunk; take it from there */
			r->bytes--;
		}
		for (run = r->cpos; run < r->clen && depth > 0; run++) {
			char ch = r->chunk[run];

			if (in_str) {
				if (esc)
					esc = 0;
				else if (ch == '\\')
					esc = 1;
				else if (ch == '"')
					in_str = 0;
				else if (ch == '\n') {
					util_seterr(
					    why, whylen, "JSON: line break inside a string");
					*line = r->line;
					return -1;
				}
				continue;
			}
			if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
				/* whitespace outside strings: flush the run before it, drop it */
				if (util_buf_add(&r->rec, r->chunk + r->cpos, run - r->cpos) != 0)
					goto nomem;
				if (ch == '\n')
					r->line++;
				r->bytes += run + 1 - r->cpos;
				r->cpos = run + 1;
				continue;
			}
			if (ch == '"')
				in_str = 1;
			else if (ch == '{' || ch == '[')
				depth++;
			else if (ch == '}' || ch == ']')
				depth--;
		}
		if (util_buf_add(&r->rec, r->chunk + r->cpos, run - r->cpos) != 0)
			goto nomem;
		r->bytes += run - r->cpos;
		r->cpos = run;
		if (r->rec.len > RECORD_MAX) {
			util_seterr(
			    why, whylen, "JSON: record longer than %u MiB", RECORD_MAX >> 20);
			*line = r->rec_line;
			return -1;
		}
	}
	if (depth != 0) {
		util_seterr(why, whylen, "JSON: the file ends inside a record");
		*line = r->rec_line;
		return -1;
	}
	if (util_buf_add(&r->rec, "", 1) != 0) {
		util_seterr(why, whylen, "out of memory");
		return -1;
	}
	r->rec.len--;
	*line = r->rec_line;
	return 1;
nomem:
	util_seterr(why, whylen, "out of memory");
	return -1;
}

/* The checks a merged record gets, each naming its field. Fills the text fields for
 * fed_merge_add_text. Returns 0, or -1 with why. */
static int
check_record(json_t *rec, struct rec_text *t, char *why, size_t whylen)
{
	static const char *const names[5] = { "id", "threat_id", "node", "observed_at",
		"target.input" };
	json_t *target;
	const char *s[5];
	int64_t when;
	unsigned char id[STORE_ID_LEN];
	char reason[256];

	if (!json_is_object(rec)) {
		util_seterr(why, whylen, "record: not a JSON object");
		return -1;
	}
	target = json_object_get(rec, "target");
	if (!json_is_object(target)) {
		util_seterr(why, whylen, "target: missing or not an object");
		return -1;
	}
	s[0] = json_string_value(json_object_get(rec, "id"));
	s[1] = json_string_value(json_object_get(rec, "threat_id"));
	s[2] = json_string_value(json_object_get(rec, "node"));
	s[3] = json_string_value(json_object_get(rec, "observed_at"));
	s[4] = json_string_value(json_object_get(target, "input"));
	for (int i = 0; i < 5; i++)
		if (s[i] == NULL || s[i][0] == '\0') {
			util_seterr(why, whylen, "%s: missing, empty or not a string", names[i]);
			return -1;
		}
	if (strlen(s[0]) != 64 || util_unhex(s[0], id, STORE_ID_LEN) != 0) {
		util_seterr(why, whylen, "id: not 64 hex digits");
		return -1;
	}
	if (strlen(s[1]) > STORE_THREAT_ID_MAX) {
		util_seterr(why, whylen, "threat_id: longer than %d bytes", STORE_THREAT_ID_MAX);
		return -1;
	}
	if (util_time_parse(s[3], &when) != 0) {
		util_seterr(why, whylen, "observed_at: not an RFC 3339 time \"%.40s\"", s[3]);
		return -1;
	}
	if (rec_check(rec, NULL, reason, sizeof(reason)) != 0) {
		util_seterr(
		    why, whylen, "id: not the SHA-256 of node, target.input and observed_at");
		return -1;
	}
	if (rec_check_fields(rec, why, whylen) != 0)
		return -1;
	for (int i = 0; i < 5; i++) {
		t->f[i] = s[i];
		t->flen[i] = strlen(s[i]);
	}
	return 0;
}

struct totals {
	size_t records;
};

/* The five key fields of a checked record read in place: 0, or -1 when one is not a
 * plain string (escapes in it), for jansson to read. */
static int
fast_keys(const char *j, size_t len, struct rec_text *t)
{
	static const char *const top[5] = { "id", "threat_id", "node", "observed_at", "target" };
	static const char *const in[1] = { "input" };
	const char *end = j + len, *v[5], *ve[5], *x[1], *xe[1];

	memset(t, 0, sizeof(*t));
	if (util_jscan_getv(j, end, top, 5, v, ve) != 5 ||
	    util_jscan_getv(v[4], ve[4], in, 1, x, xe) != 1)
		return -1;
	for (int i = 0; i < 4; i++)
		if (util_jscan_str(v[i], ve[i], &t->f[i], &t->flen[i]) != 1)
			return -1;
	if (util_jscan_str(x[0], xe[0], &t->f[4], &t->flen[4]) != 1)
		return -1;
	return 0;
}

/*
 * The second pass reads and prepares the next batch while the batch before it is being
 * committed (fed_commitq): the reading (a third of the pass) runs beside the store's
 * writes instead of between them, and two batches are all the memory the pass holds.
 */

/* Hands what *mp holds to the committer and starts a new merge. 0, or -1 when a commit
 * failed or memory ran out (printed). */
static int
flush(struct fed_commitq *q, struct fed_merge **mp)
{
	char err[1024];

	if (fed_commitq_put(q, mp, NULL, 0, err, sizeof(err)) != 0) {
		cli_err("import: %s", err);
		return -1;
	}
	return 0;
}

/* The check of check_record done in place, for a record of plain form: 0 when it passes;
 * -1 when it does not or the in-place reader cannot tell (jansson then checks it, and
 * says why it fails). */
static int
check_fast(const char *j, size_t len, struct rec_text *t)
{
	char node[1024], at[64], key[8192], hex[65], why[256];
	unsigned char id[STORE_ID_LEN], want[STORE_ID_LEN];
	int64_t when;

	if (!util_jscan_valid(j, len) || fast_keys(j, len, t) != 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if (t->flen[i] == 0)
			return -1;
	if (t->flen[0] != 64 || t->flen[1] > STORE_THREAT_ID_MAX || t->flen[2] >= sizeof(node) ||
	    t->flen[3] >= sizeof(at) || t->flen[4] >= sizeof(key))
		return -1;
	if (rec_check_fields_text(j, len, why, sizeof(why)) != 0)
		return -1;
	memcpy(hex, t->f[0], 64);
	hex[64] = '\0';
	memcpy(node, t->f[2], t->flen[2]);
	node[t->flen[2]] = '\0';
	memcpy(at, t->f[3], t->flen[3]);
	at[t->flen[3]] = '\0';
	memcpy(key, t->f[4], t->flen[4]);
	key[t->flen[4]] = '\0';
	if (util_unhex(hex, id, STORE_ID_LEN) != 0 || util_time_parse(at, &when) != 0 ||
	    rec_id(node, key, when, want) != 0 || memcmp(id, want, STORE_ID_LEN) != 0)
		return -1;
	return 0;
}

/* One record of the first pass: 0 when it passes, 1 when it is refused, 2 for a syntax
 * error (the stream cannot be trusted past it); why says what. */
static int
check_one(const char *j, size_t len, const struct rec_trust *trust, char *why, size_t whylen)
{
	char sig[400];
	json_error_t jerr;
	struct rec_text t;
	json_t *rec;
	int rc = 0;

	if (check_fast(j, len, &t) == 0) {
		/* A record of a node whose key is known must verify (the signature is the
		 * one check the in-place reader leaves to the trust set). */
		t.json = j;
		t.len = len;
		if (rec_trust_check_text(trust, &t, sig, sizeof(sig)) == REC_TRUST_REFUSED) {
			util_seterr(why, whylen, "sig: %s", sig);
			return 1;
		}
		return 0;
	}
	rec = json_loadb(j, len, 0, &jerr);
	if (rec == NULL) {
		util_seterr(why, whylen, "JSON: %s", jerr.text);
		return 2;
	}
	memset(&t, 0, sizeof(t));
	if (check_record(rec, &t, why, whylen) != 0) {
		rc = 1;
	} else if (rec_trust_check(trust, rec, sig, sizeof(sig)) == REC_TRUST_REFUSED) {
		util_seterr(why, whylen, "sig: %s", sig);
		rc = 1;
	}
	json_decref(rec);
	return rc;
}

/*
 * The first pass checks on two threads: the reader cuts CHECK_BATCH records, hands the
 * second half to a helper thread and checks the first half itself; what both found is
 * printed in the file's order once both are done.
 */
#define CHECK_BATCH 8192

struct half {
	const char *file;
	const struct rec_trust *trust;
	const char *text; /* the batch's records, each ending in a NUL */
	const size_t *off, *len;
	const long *line;
	size_t from, to;
	size_t ok, bad;
	int stop;           /* a syntax error: nothing after it counts */
	struct util_buf msgs; /* its first MAX_REPORTED reports, a line each */
	size_t nmsgs;
	char stop_msg[640];
};

static void *
check_half(void *arg)
{
	struct half *h = arg;
	char why[512];

	for (size_t i = h->from; i < h->to; i++) {
		int rc = check_one(h->text + h->off[i], h->len[i], h->trust, why, sizeof(why));

		if (rc == 0) {
			h->ok++;
			continue;
		}
		h->bad++;
		if (rc == 2) {
			snprintf(h->stop_msg, sizeof(h->stop_msg), "c2watch: %s:%ld: %s\n", h->file,
			    h->line[i], why);
			h->stop = 1;
			break;
		}
		/* out of memory for a report: it is still counted */
		if (h->nmsgs < MAX_REPORTED &&
		    util_buf_printf(&h->msgs, "c2watch: %s:%ld: %s\n", h->file, h->line[i], why) == 0)
			h->nmsgs++;
	}
	return NULL;
}

/* Prints a half's reports while fewer than MAX_REPORTED are out; its syntax error always. */
static void
report_half(const struct half *h, size_t *reported)
{
	const char *p = h->msgs.data ? h->msgs.data : "", *nl;

	while (*p && *reported < MAX_REPORTED && (nl = strchr(p, '\n')) != NULL) {
		fwrite(p, 1, (size_t)(nl + 1 - p), stderr);
		(*reported)++;
		p = nl + 1;
	}
	if (h->stop)
		fputs(h->stop_msg, stderr);
}

/* The first pass: every record checked, nothing stored. Returns 0, or -1 for bad input
 * (reported, *nbad counted). */
static int
check_pass(struct rd *r, const struct rec_trust *trust, struct totals *tot, uint64_t size,
    size_t *nbad)
{
	size_t *off = calloc(CHECK_BATCH, sizeof(*off)), *len = calloc(CHECK_BATCH, sizeof(*len));
	long *lines = calloc(CHECK_BATCH, sizeof(*lines)), line = 0;
	struct util_buf text;
	size_t reported = 0;
	char why[512];
	int rc = 1, ret = -1;

	util_buf_init(&text, 0);
	if (off == NULL || len == NULL || lines == NULL) {
		cli_err("out of memory");
		goto out;
	}
	while (rc == 1) {
		struct half h[2];
		size_t n = 0;
		pthread_t th;
		int threaded = 0;

		util_buf_reset(&text);
		while (n < CHECK_BATCH && (rc = rd_next(r, why, sizeof(why), &line)) == 1) {
			off[n] = text.len;
			len[n] = r->rec.len;
			lines[n] = line;
			if (util_buf_add(&text, r->rec.data, r->rec.len + 1) != 0) {
				cli_err("out of memory");
				goto out;
			}
			n++;
		}
		memset(h, 0, sizeof(h));
		for (int k = 0; k < 2; k++) {
			h[k].file = r->name;
			h[k].trust = trust;
			h[k].text = text.data;
			h[k].off = off;
			h[k].len = len;
			h[k].line = lines;
			util_buf_init(&h[k].msgs, 0);
		}
		h[0].to = h[1].from = n / 2;
		h[1].to = n;
		/* A helper costs a thread's start: a small batch is checked here whole. */
		if (n >= 64 && pthread_create(&th, NULL, check_half, &h[1]) == 0)
			threaded = 1;
		check_half(&h[0]);
		if (threaded)
			pthread_join(th, NULL);
		else
			check_half(&h[1]);
		report_half(&h[0], &reported);
		tot->records += h[0].ok;
		*nbad += h[0].bad;
		if (!h[0].stop) {
			report_half(&h[1], &reported);
			tot->records += h[1].ok;
			*nbad += h[1].bad;
		}
		util_buf_fini(&h[0].msgs);
		util_buf_fini(&h[1].msgs);
		if (h[0].stop || h[1].stop)
			goto out;
		cli_progress("checking", r->bytes, size);
	}
	if (rc < 0) {
		fprintf(stderr, "c2watch: %s:%ld: %s\n", r->name, line, why);
		(*nbad)++;
		goto out;
	}
	ret = *nbad ? -1 : 0;
out:
	util_buf_fini(&text);
	free(off);
	free(len);
	free(lines);
	return ret;
}

/* The second pass: the checked records merged into the store through the committer.
 * Returns 0; -1 for input that changed since it was checked (reported, *nbad counted);
 * -2 for a failure to store (printed). */
static int
pass(struct rd *r, struct fed_commitq *s, struct fed_merge **mp, struct totals *tot,
    uint64_t size, size_t *nbad)
{
	char why[512];
	long line;
	int rc;

	while ((rc = rd_next(r, why, sizeof(why), &line)) == 1) {
		json_error_t jerr;
		json_t *rec = NULL;
		struct rec_text t;

		/* Storing what the first pass checked: its keys read in place when plain,
		 * else by jansson (t then points into rec until it is added). */
		if (fast_keys(r->rec.data, r->rec.len, &t) != 0) {
			rec = json_loadb(r->rec.data, r->rec.len, 0, &jerr);
			if (rec == NULL) {
				fprintf(stderr, "c2watch: %s:%ld: JSON: %s\n", r->name, line,
				    jerr.text);
				(*nbad)++;
				return -1;
			}
			memset(&t, 0, sizeof(t));
			if (check_record(rec, &t, why, sizeof(why)) != 0) {
				fprintf(stderr, "c2watch: %s:%ld: %s\n", r->name, line, why);
				json_decref(rec);
				(*nbad)++;
				return -1;
			}
		}
		t.json = r->rec.data;
		t.len = r->rec.len;
		tot->records++;
		rc = fed_merge_add_text(*mp, &t, why, sizeof(why));
		json_decref(rec);
		if (rc != 0) {
			fprintf(stderr, "c2watch: %s:%ld: %s\n", r->name, line, why);
			(*nbad)++;
			return -1;
		}
		if ((fed_merge_pending(*mp) >= BATCH || (*mp)->text.len >= BATCH_BYTES) &&
		    flush(s, mp) != 0)
			return -2;
		cli_progress("import", r->bytes, size);
	}
	if (rc < 0) {
		fprintf(stderr, "c2watch: %s:%ld: %s\n", r->name, line, why);
		(*nbad)++;
		return -1;
	}
	if (fed_merge_pending(*mp) > 0 && flush(s, mp) != 0)
		return -2;
	return 0;
}

static void
rd_init(struct rd *r, FILE *fp, const char *name, char *chunk)
{
	memset(r, 0, sizeof(*r));
	r->fp = fp;
	r->name = name;
	r->chunk = chunk;
	r->line = 1;
	util_buf_init(&r->rec, 0);
}

int
cli_import_json(const struct conf *c, const char *file)
{
	struct rd r;
	struct totals tot = { 0 };
	struct fed_merge *m = NULL;
	struct store *s = NULL;
	struct stat st1, st2;
	char *chunk = malloc(CHUNK);
	FILE *fp = fopen(file, "rb");
	size_t nbad = 0;
	int rc, qrc, ret = CLI_FAIL;
	struct fed_commitq *q = NULL;
	struct fed_merge_stats ms = {0};
	char qerr[1024];

	memset(&r, 0, sizeof(r));
	util_buf_init(&r.rec, 0);
	if (chunk == NULL) {
		cli_err("out of memory");
		goto out;
	}
	if (fp == NULL || fstat(fileno(fp), &st1) != 0) {
		cli_err("%s: %s", file, strerror(errno));
		ret = CLI_USAGE;
		goto out;
	}
	if (!S_ISREG(st1.st_mode)) {
		cli_err(
		    "%s: not a regular file (records are read twice: checked, then stored)", file);
		ret = CLI_USAGE;
		goto out;
	}
	util_buf_fini(&r.rec);
	rd_init(&r, fp, file, chunk);
	rc = check_pass(&r, c->trust.set, &tot, (uint64_t)st1.st_size, &nbad);
	if (rc == 0 && ferror(fp)) {
		cli_err("%s: read error: %s", file, strerror(errno));
		goto out;
	}
	if (rc != 0 || nbad) {
		if (nbad > MAX_REPORTED)
			fprintf(stderr, "c2watch: %s: %zu more bad records not shown\n", file,
			    nbad - MAX_REPORTED);
		fprintf(stderr, "c2watch: %s: nothing imported (%zu bad record%s)\n", file, nbad,
		    nbad == 1 ? "" : "s");
		ret = CLI_USAGE;
		goto out;
	}
	s = cli_open_store(c, 0);
	if (s == NULL || (m = fed_merge_new()) == NULL)
		goto out;
	rewind(fp);
	util_buf_fini(&r.rec);
	rd_init(&r, fp, file, chunk);
	memset(&tot, 0, sizeof(tot));
	if (fstat(fileno(fp), &st2) != 0 || st2.st_size != st1.st_size ||
	    st2.st_mtime != st1.st_mtime) {
		cli_err("%s: changed while it was being checked; nothing imported", file);
		goto out;
	}
	q = fed_commitq_new(s, qerr, sizeof(qerr));
	if (q == NULL) {
		cli_err("import: %s", qerr);
		goto out;
	}
	rc = pass(&r, q, &m, &tot, (uint64_t)st1.st_size, &nbad);
	/* Stopped on the reading side or not, the batches handed over were read whole and
	 * checked: they are stored, and counted below. */
	qrc = fed_commitq_free(q, &ms, qerr, sizeof(qerr));
	q = NULL;
	if (qrc != 0 && rc == 0)
		cli_err("import: %s", qerr);
	if (rc != 0 || qrc != 0) {
		cli_err("%s: stopped after %zu records were stored (a re-import completes it)",
		    file, ms.added + ms.same);
		goto out;
	}
	printf("%s: %zu observation record%s merged: %zu new, %zu already held\n", file,
	    tot.records, tot.records == 1 ? "" : "s", ms.added, ms.same);
	ret = CLI_OK;
out:
	fed_merge_free(m);
	store_close(s);
	(void)fed_commitq_free(q, NULL, qerr, sizeof(qerr));
	util_buf_fini(&r.rec);
	if (fp)
		fclose(fp);
	free(chunk);
	return ret;
}
