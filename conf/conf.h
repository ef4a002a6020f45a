/*
 * conf: the operator's input files. It parses the node's INI config file into a
 * `struct conf` (every key typed and validated, defaults filled in, relative paths made
 * absolute) and reads the targets CSV into a JSON array of normalised target objects.
 * Both are all-or-nothing: a bad file gives no result, only messages that name the file,
 * the line and the key or column. This module never logs, prints (except conf_print to the
 * stream it is given), exits, or touches the network.
 *
 * Config conventions (the README's "Config" section and conf/c2watch.conf.example):
 * - required keys: [node] id and [node] data_dir; [peer NAME] url. Everything else has a
 *   default (conf_new_defaults).
 * - an empty value ("key =") means "unset": string fields are then NULL, never "".
 * - relative paths (data_dir and every file key, on_change too) are taken relative to the
 *   config file's directory and stored absolute.
 * - durations: a whole number with a unit, ms s m h d, units may be chained ("1h30m").
 *   Sizes: a whole number of bytes, optionally with B, KiB, MiB or GiB.
 *   Booleans: true/false, on/off, yes/no, 1/0 (any case).
 * - `listen` accepts port 0 (the kernel picks one; the server reports which).
 * - `anchor` is "HH:MM" optionally followed by a zone name under /usr/share/zoneinfo
 *   (default UTC).
 * - vantage defaults to the node id.
 * - secret files (users_file, tls_key, peer password_file and client_key) must exist and
 *   must not be readable or writable by group or others. Other file keys must exist;
 *   [node] key_file need not (the node makes it on first use); [trust] keys_file is read
 *   at load, its first bad line reported as "KEYS_FILE:LINE: what";
 *   on_change must be executable.
 * - values cannot hold " ;" (inih starts an inline comment there) nor leading or trailing
 *   blanks.
 */
#ifndef C2W_CONF_H
#define C2W_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "util/util.h"

/* One message, "FILE:LINE: key: what is wrong" (or "FILE: what" when no line applies). */
struct rec_trust;

struct conf_err {
	char msg[1024];
};

struct conf_peer {
	char *name;
	int line;          /* line of its [peer NAME] header */
	char *url;         /* required, http or https */
	char *collection;  /* default "observations" */
	int64_t interval_us; /* default 15m */
	char *username, *password_file, *client_cert, *client_key, *ca_file, *threat_id;
	char *client_key_password_file; /* passphrase of an encrypted client_key */
	int push;          /* default false */
};

enum conf_log_level { CONF_LOG_ERROR, CONF_LOG_WARN, CONF_LOG_INFO, CONF_LOG_DEBUG };

struct conf {
	char *path; /* the file (or name) it was loaded from; NULL for bare defaults */
	struct {
		char *id, *organization, *data_dir;
		int log_level; /* enum conf_log_level, default info */
		char *key_file; /* the Ed25519 signing key; default DATA_DIR/node.key (set at
				 * load: never NULL in a loaded config); may not exist yet */
	} node;
	struct {
		char **listen; /* normalised "host:port" / "[v6]:port"; default 127.0.0.1:9090 */
		size_t nlisten;
		char *tls_cert, *tls_key, *client_ca, *users_file;
		int dashboard; /* default on */
		int allow_private_push; /* default 0: pushes go to public addresses only */
		int metrics;   /* GET /metrics; default on */
	} server;
	struct {
		int enabled;           /* default true */
		int64_t interval_us;   /* default 4h */
		int anchor_minute;     /* minutes after midnight in anchor_tz, default 0 */
		char *anchor_tz;       /* zone name, default "UTC" (never NULL) */
		unsigned concurrency;  /* default 256 */
		int64_t host_spacing_us; /* default 10s */
		char *user_agent, *accept_encoding;
		int64_t connect_timeout_us, timeout_us; /* default 10s, 30s */
		uint64_t max_body;     /* default 5MiB */
		unsigned max_redirects, ping_count; /* default 5, 4; ping_count 0 = no ping */
		int robots_respect;    /* default 1 */
		char *exclude_file;
		int allow_private;     /* default 0 */
		char *vantage, *source_address, *proxy, *targets_file;
	} observer;
	struct conf_peer *peers;
	size_t npeers;
	struct {
		char *on_change;
	} hook;
	struct {
		char *sinkholes_file;    /* NULL: the list built into c2watch (conf/sinkholes.txt) */
		int64_t remove_after_us; /* default 30d, at least 1h */
	} analysis;
	struct {
		char *keys_file;    /* NODE-ID ed25519:BASE64 lines, or NULL */
		int unknown_refuse; /* unknown = refuse (default accept: 0) */
		/* The trust set: keys_file's nodes and keys, `unknown` applied; never NULL in a
		 * loaded config. The caller adds this node's own keys (rec_trust_add). */
		struct rec_trust *set;
	} trust;
};

/* A config holding every default (node.id and node.data_dir NULL). NULL on ENOMEM.
 * Free with conf_free. */
struct conf *conf_new_defaults(void);

/*
 * Reads and validates a config file. Returns a new config (free with conf_free), or NULL
 * with err->msg describing the first problem found. Secret and referenced files are
 * checked at this time.
 */
struct conf *conf_load(const char *path, struct conf_err *err);

/* As conf_load, from a NUL-terminated string; `name` is used in messages, becomes
 * c->path, and its directory anchors relative paths. */
struct conf *conf_load_string(const char *text, const char *name, struct conf_err *err);

/* Flags for conf_load_flags: CONF_LOAD_NEW_USERS_FILE accepts a users_file that does not
 * exist yet (for the command that creates it). */
#define CONF_LOAD_NEW_USERS_FILE 1u
struct conf *conf_load_flags(const char *path, unsigned flags, struct conf_err *err);
struct conf *conf_load_string_flags(const char *text, const char *name, unsigned flags,
    struct conf_err *err);

/* Frees a config and everything it holds. NULL is a no-op. */
void conf_free(struct conf *c);

/*
 * Writes the effective config as an INI file that conf_load reads back into an equal
 * config (every key, including defaults; unset ones as "key ="). Write errors are left
 * on the stream (check ferror).
 */
void conf_print(const struct conf *c, FILE *fp);

/*
 * The config file to use: `given` (-c FILE) when non-NULL, else $C2WATCH_CONF when set
 * and non-empty, else ./c2watch.conf if it exists, else /etc/c2watch/c2watch.conf.
 * The result is `given`, getenv's string or a static string: never free it.
 */
const char *conf_find_path(const char *given);

/* Parses a duration ("500ms", "10s", "15m", "4h", "1d", "1h30m") into microseconds.
 * Returns 0, or -1 (bad syntax, no unit, overflow); *us is untouched on error. */
int conf_parse_duration(const char *s, int64_t *us);

/* Parses a size ("5MiB", "500KiB", "1GiB", "1024", "1024B"). Returns 0 or -1
 * (*bytes untouched on error). */
int conf_parse_size(const char *s, uint64_t *bytes);

/* Parses "true/false/on/off/yes/no/1/0" (any case). Returns 0 or -1. */
int conf_parse_bool(const char *s, int *val);

/* The name of a log level ("error", "warn", "info", "debug"); "?" when out of range. */
const char *conf_log_level_name(int level);

/*
 * Targets CSV.
 *
 * conf_targets_read reads a targets CSV (the README's "Targets": header row required,
 * RFC 4180 quoting, CRLF or LF, optional UTF-8 BOM, empty lines skipped). It is
 * all-or-nothing. On success it returns 0 and *out is a new JSON array (caller owns it,
 * json_decref) of target objects whose keys are the CSV columns (threat_id, ip, domain,
 * url, port as an integer, report_date, malware_sha256, file_type, summary, user_agent),
 * empty fields omitted and values normalised (conf_target_check). Rows naming the same
 * destination (rec_target_key) within one threat ID are collapsed to the first one.
 * A row whose threat_id is empty or absent takes `default_threat_id` (may be NULL).
 *
 * On failure it returns -1, leaves *out untouched and appends to `errors` (initialised by
 * the caller) one line per problem: "FILE:LINE: column: what is wrong \"value\"\n" —
 * every bad row is reported, up to CONF_TARGETS_MAX_ERRORS lines, then one line saying
 * how many more there were. *nerrors (may be NULL) gets the number of problems found.
 * LINE is the physical line where the record starts.
 *
 * `progress` (may be NULL) is called with bytes parsed so far and the file size, at most
 * about ten times a second, and once at the end.
 */
#define CONF_TARGETS_MAX_ERRORS 1000
#define CONF_TARGETS_MAX_FILE (512u * 1024 * 1024)

typedef void (*conf_progress_fn)(uint64_t done_bytes, uint64_t total_bytes, void *arg);

int conf_targets_read(const char *path, const char *default_threat_id, json_t **out,
    struct util_buf *errors, size_t *nerrors, conf_progress_fn progress, void *arg);

/*
 * Validates and normalises one target object in place (targets from STIX, Cuckoo or a
 * TAXII inbox): keys as in the CSV, values strings (port an integer or a decimal string).
 * threat_id is required; so is one of ip, domain, url. Empty strings are removed; IPv6
 * addresses take their canonical form; domains and URL hosts are lowercased and IDNs
 * converted to punycode; a URL gets "/" as its empty path, loses a default port, and takes
 * the port column when it has no port of its own; sha256 is lowercased; report_date
 * becomes "YYYY-MM-DD" or an RFC 3339 UTC time; CR, LF and tab in summary and file_type
 * become spaces. Returns 0, or -1 with err holding the first problem ("column: what")
 * and the object possibly partly normalised.
 */
int conf_target_check(json_t *target, char *err, size_t errlen);

/*
 * Targets from a Cuckoo or CAPE sandbox report.json: HTTP requests (URL with the request's
 * user agent and port), looked-up names and domains, and contacted hosts that are public
 * addresses (the sandbox's own network, broadcast, multicast and other special-purpose
 * addresses are skipped, and so is a host that is only the answer for a name already
 * taken). Every target gets threat_id (NULL: the sample's SHA-256 from the report), the
 * sample's SHA-256 and type, the report's date, and a summary naming the report file.
 * Returns 0 with *out a new JSON array of checked targets (maybe empty: `note` then says
 * why, e.g. no network section); `note` also reports skipped entries. Returns -1 with
 * err->msg ("FILE: what") when the file cannot be read, is not JSON or not a report, or no
 * threat ID can be had.
 */
int conf_cuckoo_read(const char *path, const char *threat_id, json_t **out, char *note,
    size_t notelen, struct conf_err *err);

/*
 * The TAXII users file ([server] users_file): one "name:hash:collections" line per user;
 * hash is "scrypt$LOGN$R$P$SALT$KEY" (conf_user_hash makes one), collections a comma
 * list of collection names or "*" (or empty) for all. '#' starts a comment line.
 */
struct conf_users;

/* Reads a users file. NULL with err->msg ("FILE:LINE: what") on any bad line. */
struct conf_users *conf_users_load(const char *path, struct conf_err *err);
void conf_users_free(struct conf_users *u);
size_t conf_users_count(const struct conf_users *u);

/*
 * 1 when name and password match a user, else 0 (a password holding a control byte never
 * matches). Slow (scrypt) the first time a given name and password are seen, then fast:
 * verified pairs are remembered by an HMAC under a key made at load time. -1 when the
 * check cannot be made now because another scrypt check is under way (bounded so that
 * wrong passwords cannot take every core): the caller asks the client to retry.
 * Safe to call from several threads at once.
 */
int conf_users_verify(struct conf_users *u, const char *name, const char *password);

/* 1 when user `name` may use `collection`, else 0 (unknown users may use nothing). */
int conf_users_allows(const struct conf_users *u, const char *name, const char *collection);

/* A new salted scrypt hash of password into out (160 bytes suffice). 0, -1 on failure,
 * -2 when the password holds a control byte (refused: no client could send it intact). */
int conf_user_hash(const char *password, char *out, size_t len);

/*
 * Adds user `name` to the users file at path, or replaces the line of an existing one
 * (collections NULL or "": all). The file is rewritten through a 0600 temporary file and
 * rename, so it is never half-written nor readable by others. Returns 0 (added), 1
 * (replaced), or -1 with err->msg.
 */
int conf_users_set(const char *path, const char *name, const char *hash,
    const char *collections, struct conf_err *err);

#endif
