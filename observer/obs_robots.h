/*
 * obs_robots: the robots.txt rules of one site for one crawler, per RFC 9309. It turns the
 * outcome of fetching /robots.txt (HTTP status and body) into a rule set and answers
 * whether a path may be requested. It selects the group for the product token of the
 * configured User-Agent ("Mozilla/5.0 (compatible)" -> "Mozilla"), falls back to the "*"
 * group, merges groups naming the same agent, lets the longest pattern win (Allow on a
 * tie) and understands the "*" wildcard and the "$" end anchor. It never fetches anything
 * and never logs; a rule set is immutable once built. Its only global state is the
 * allocation hook tests use.
 */
#ifndef C2W_OBS_ROBOTS_H
#define C2W_OBS_ROBOTS_H

#include <stddef.h>

/* Bytes of a robots.txt body that are parsed; the rest is ignored (RFC 9309 2.5). */
#define OBS_ROBOTS_MAX_BYTES (500u * 1024u)
/* Most rules kept for the selected agent; later ones are dropped and counted. */
#define OBS_ROBOTS_MAX_RULES 10000u

/* What the fetch outcome means before any rule is looked at. */
enum obs_robots_policy {
	OBS_ROBOTS_RULES = 0,    /* 2xx: the parsed rules decide */
	OBS_ROBOTS_ALLOW_ALL,    /* 4xx, or redirects that never reached a file */
	OBS_ROBOTS_DISALLOW_ALL, /* 5xx, or the server could not be reached */
};

struct obs_robots;

/*
 * Maps the final HTTP status of the robots.txt fetch (after redirects) to a policy:
 * 200-299 -> RULES; 300-499 -> ALLOW_ALL (a 3xx here means the redirect chain was cut
 * short, which RFC 9309 2.3.1.2 lets a crawler treat as "unavailable"); anything else,
 * including 0 or a negative value for "no response at all" -> DISALLOW_ALL.
 */
enum obs_robots_policy obs_robots_status_policy(int http_status);

/*
 * Parses a robots.txt body for the crawler whose User-Agent header is `user_agent` (may be
 * NULL or empty: only the "*" group then applies). `body` need not be NUL-terminated and
 * may hold NULs; at most OBS_ROBOTS_MAX_BYTES of it are read, and when it is cut there the
 * partial last line is dropped. A UTF-8 BOM, CRLF/CR/LF line ends, comments and lines
 * without a colon are handled; unknown keys are ignored.
 * Returns 0 and sets *out to a new rule set the caller frees with obs_robots_free(), or -1
 * (allocation failure, NULL arguments) with *out NULL and a message in err.
 */
int obs_robots_parse(const char *body, size_t len, const char *user_agent,
    struct obs_robots **out, char *err, size_t errsz);

/*
 * Builds the rule set from a whole fetch outcome: the final HTTP status (0 or negative when
 * nothing answered) and, for a 2xx, its body (ignored otherwise). Same returns and
 * ownership as obs_robots_parse().
 */
int obs_robots_from_fetch(int http_status, const char *body, size_t len,
    const char *user_agent, struct obs_robots **out, char *err, size_t errsz);

/*
 * Whether the crawler may request `path_and_query` (for example "/a/b?c=d"; an empty
 * string or NULL means "/"). Percent-encodings are normalised on both sides before the
 * comparison; "/robots.txt" is always allowed. Returns 1 (allowed) or 0 (disallowed).
 */
int obs_robots_allowed(const struct obs_robots *r, const char *path_and_query);

/* The policy the rule set was built with (RULES for obs_robots_parse()). */
enum obs_robots_policy obs_robots_policy(const struct obs_robots *r);

/* Rules kept for the selected agent, and rules dropped past OBS_ROBOTS_MAX_RULES. */
size_t obs_robots_rule_count(const struct obs_robots *r);
size_t obs_robots_dropped_rules(const struct obs_robots *r);

/*
 * The product token the parser looked for: the leading letters, "-" and "_" of the
 * User-Agent ("" when there are none). The pointer lives as long as `r`.
 */
const char *obs_robots_agent(const struct obs_robots *r);

/* Frees a rule set; NULL is a no-op. */
void obs_robots_free(struct obs_robots *r);

/*
 * Routes this module's allocations through m and r (NULL, NULL: back to malloc and
 * realloc), so that tests can fail the Nth one. Not thread-safe; memory is still released
 * with free(), so the hooks must hand out malloc-compatible blocks.
 */
void obs_robots_set_alloc(void *(*m)(size_t), void *(*r)(void *, size_t));

#endif
