/*
 * A strict reader of the Prometheus text exposition format 0.0.4, for the tests: every
 * line must be a "# HELP", a "# TYPE" or a sample; names and label names valid, label
 * values quoted with only \\, \" and \n escapes, no label twice, the value a float
 * (or +Inf, -Inf, NaN), an optional integer timestamp; every sample's family typed before
 * it, a family's lines together, no series twice, a histogram's buckets with an "le".
 * With --prefix P every metric name must start with P.
 * Prints each sample again as `name{labels} value` (labels as written) and exits 0, or
 * says "promparse: line N: what" on stderr and exits 1.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 512
#define MAX_SERIES 8192

struct family {
	char name[256];
	char type[16];
	int help, typed, closed;
};

static struct family fams[MAX_FAMILIES];
static size_t nfams;
static char *series[MAX_SERIES];
static size_t nseries;
static long lineno;
static const char *prefix = "";

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "promparse: line %ld: %s%s%s\n", lineno, what, detail ? ": " : "",
	    detail ? detail : "");
	exit(1);
}

static int
name_ok(const char *s, size_t n, int metric)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (!(isalpha(c) || c == '_' || (metric && c == ':') || (i > 0 && isdigit(c))))
			return 0;
	}
	return 1;
}

static struct family *
find(const char *name)
{
	for (size_t i = 0; i < nfams; i++)
		if (strcmp(fams[i].name, name) == 0)
			return &fams[i];
	return NULL;
}

static struct family *
get(const char *name)
{
	struct family *f = find(name);

	if (f != NULL)
		return f;
	if (nfams == MAX_FAMILIES)
		die("too many families", NULL);
	f = &fams[nfams++];
	snprintf(f->name, sizeof(f->name), "%s", name);
	return f;
}

static struct family *current;

/* Lines of one family come together: moving to another closes the one before. */
static void
enter(struct family *f)
{
	if (f == current)
		return;
	if (f->closed)
		die("the lines of this family are not together", f->name);
	if (current != NULL)
		current->closed = 1;
	current = f;
}

static void
meta(char *line)
{
	char *kw = line + 2, *name, *rest, *sp;
	struct family *f;

	if (strncmp(kw, "HELP ", 5) != 0 && strncmp(kw, "TYPE ", 5) != 0)
		die("a comment that is neither HELP nor TYPE", line);
	name = kw + 5;
	sp = strchr(name, ' ');
	if (sp == NULL)
		die("HELP or TYPE without text", line);
	*sp = '\0';
	rest = sp + 1;
	if (!name_ok(name, strlen(name), 1))
		die("bad metric name", name);
	if (strncmp(name, prefix, strlen(prefix)) != 0)
		die("metric name without the prefix", name);
	f = get(name);
	enter(f);
	if (kw[0] == 'H') {
		if (f->help++)
			die("HELP twice", name);
		for (char *p = rest; *p; p++)
			if (*p == '\\' && p[1] != '\\' && p[1] != 'n')
				die("bad escape in HELP", name);
			else if (*p == '\\')
				p++;
		if (*rest == '\0')
			die("empty HELP", name);
		return;
	}
	if (f->typed++)
		die("TYPE twice", name);
	if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
	    strcmp(rest, "summary") && strcmp(rest, "untyped"))
		die("unknown type", rest);
	snprintf(f->type, sizeof(f->type), "%s", rest);
}

/* The family a sample name belongs to: itself, or a histogram's or summary's base. */
static struct family *
family_of(const char *name, const char **suffix)
{
	static const char *const sufs[] = {"_bucket", "_sum", "_count"};
	struct family *f = find(name);

	*suffix = "";
	if (f != NULL && f->typed)
		return f;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), s = strlen(sufs[i]);
		char base[256];

		if (n <= s || n - s >= sizeof(base) || strcmp(name + n - s, sufs[i]) != 0)
			continue;
		memcpy(base, name, n - s);
		base[n - s] = '\0';
		f = find(base);
		if (f != NULL && f->typed && (strcmp(f->type, "histogram") == 0 ||
		    (strcmp(f->type, "summary") == 0 && i > 0))) {
			*suffix = sufs[i];
			return f;
		}
	}
	return NULL;
}

static int
value_ok(const char *v)
{
	char *end;

	if (strcmp(v, "+Inf") == 0 || strcmp(v, "-Inf") == 0 || strcmp(v, "NaN") == 0)
		return 1;
	if (*v == '\0' || isspace((unsigned char)*v))
		return 0;
	/* strtod also reads "inf", "nan" and hex floats, which the format does not have. */
	for (const char *p = v; *p; p++)
		if (!(isdigit((unsigned char)*p) || strchr("+-.eE", *p)))
			return 0;
	errno = 0;
	strtod(v, &end);
	return *end == '\0' && errno == 0;
}

static void
sample(char *line)
{
	char *p = line, *name = line, *labels = NULL, *value, *ts;
	const char *suffix;
	char seen[32][128];
	size_t nseen = 0, nlen;
	struct family *f;
	int has_le = 0;

	while (*p && *p != '{' && *p != ' ')
		p++;
	nlen = (size_t)(p - name);
	if (!name_ok(name, nlen, 1))
		die("bad metric name", line);
	if (*p == '{') {
		*p++ = '\0';
		labels = p;
		while (*p != '}') {
			char *ln = p, key[128];

			while (*p && *p != '=')
				p++;
			if (*p != '=' || !name_ok(ln, (size_t)(p - ln), 0) ||
			    (size_t)(p - ln) >= sizeof(key))
				die("bad label name", line);
			memcpy(key, ln, (size_t)(p - ln));
			key[p - ln] = '\0';
			for (size_t i = 0; i < nseen; i++)
				if (strcmp(seen[i], key) == 0)
					die("label twice", key);
			if (nseen == 32)
				die("too many labels", line);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", key);
			if (strcmp(key, "le") == 0)
				has_le = 1;
			if (*++p != '"')
				die("label value not quoted", line);
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					die("label value not closed", line);
				if (*p == '\\') {
					p++;
					if (*p != '\\' && *p != '"' && *p != 'n')
						die("bad escape in a label value", line);
				}
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				die("labels not separated by commas", line);
		}
		*p++ = '\0';
	} else {
		*p = '\0';
		p++;
	}
	if (labels == NULL)
		p = line + nlen + 1;
	else if (*p++ != ' ')
		die("no blank before the value", line);
	value = p;
	ts = strchr(value, ' ');
	if (ts != NULL) {
		*ts++ = '\0';
		if (*ts == '\0' || strspn(ts, "-0123456789") != strlen(ts))
			die("bad timestamp", ts);
	}
	if (!value_ok(value))
		die("bad value", value);
	if (strncmp(name, prefix, strlen(prefix)) != 0)
		die("metric name without the prefix", name);
	f = family_of(name, &suffix);
	if (f == NULL)
		die("sample of a family without TYPE", name);
	enter(f);
	if (strcmp(f->type, "histogram") == 0 && strcmp(suffix, "_bucket") == 0 && !has_le)
		die("histogram bucket without le", name);
	{
		char key[4096];

		if (labels != NULL)
			snprintf(key, sizeof(key), "%s{%s}", name, labels);
		else
			snprintf(key, sizeof(key), "%s", name);
		for (size_t i = 0; i < nseries; i++)
			if (strcmp(series[i], key) == 0)
				die("series twice", key);
		if (nseries == MAX_SERIES)
			die("too many series", NULL);
		series[nseries++] = strdup(key);
		printf("%s %s\n", key, value);
	}
}

int
main(int argc, char **argv)
{
	char line[8192];

	if (argc == 3 && strcmp(argv[1], "--prefix") == 0)
		prefix = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: promparse [--prefix P] < exposition\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t n = strlen(line);

		lineno++;
		if (n == 0 || line[n - 1] != '\n')
			die("line too long or without its line end", NULL);
		line[--n] = '\0';
		if (n == 0)
			die("empty line", NULL);
		if (strchr(line, '\r') != NULL || strchr(line, '\t') != NULL)
			die("carriage return or tab", NULL);
		if (line[0] == '#') {
			if (line[1] != ' ')
				die("bad comment", line);
			meta(line);
		} else {
			sample(line);
		}
	}
	if (lineno == 0)
		die("no lines", NULL);
	return 0;
}
