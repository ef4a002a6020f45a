/* The TAXII users file: "name:hash:collections" lines. Passwords are stored as scrypt
 * hashes with a random salt (slow and memory-hard on purpose); a verified password is
 * remembered as an HMAC under a key made at load time (never the password, nor a plain
 * hash of it that could be tried offline) so a client polling every few seconds does not
 * pay scrypt's cost on every request, and at most SCRYPT_RUNNING checks run at once so
 * wrong passwords cannot take every core. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "conf/conf.h"
#include "util/util.h"

#define USERS_MAX_FILE (4u * 1024 * 1024)
#define USERS_MAX 10000
#define SALT_LEN 16
#define KEY_LEN 32
#define SCRYPT_LOG_N 15 /* N = 32768, r = 8: 32 MiB and tens of milliseconds per try */
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_MAXMEM (64u * 1024 * 1024)
#define CACHE_SLOTS 64
#define SCRYPT_RUNNING 1 /* scrypt checks under way at once; one more is refused busy */
/* And at most this many a second on average (a bucket of SCRYPT_BURST): wrong passwords
 * from many sources at once then hold a server thread a small share of the time. */
#define SCRYPT_PER_S 2
#define SCRYPT_BURST 4

struct user {
	char *name;
	int log_n, r, p;
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char **collections; /* NULL: every collection */
	size_t ncollections;
};

struct conf_users {
	struct user *users;
	size_t n;
	pthread_mutex_t lock;
	unsigned char mac_key[32]; /* random, this process only */
	unsigned char cache[CACHE_SLOTS][UTIL_SHA256_LEN]; /* HMAC(name NUL password) */
	size_t cache_next;
	unsigned running; /* scrypt checks under way */
	double tokens;    /* scrypt checks the bucket allows now */
	struct timespec refill; /* CLOCK_MONOTONIC of the last refill */
};

/* Whether s holds a control byte (C0 or DEL): never part of a password or name here. */
static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

static int
valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._@-", s[i]))
			return 0;
	return 1;
}

static int
valid_collection(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	return 1;
}

/* "scrypt$LOGN$R$P$SALTHEX$KEYHEX" */
static int
parse_hash(const char *h, struct user *u)
{
	char salt[2 * SALT_LEN + 1], key[2 * KEY_LEN + 1];
	int used = 0;

	if (sscanf(h, "scrypt$%d$%d$%d$%32[0-9a-f]$%64[0-9a-f]%n", &u->log_n, &u->r, &u->p, salt,
		key, &used) != 5 || h[used] != '\0')
		return -1;
	if (u->log_n < 10 || u->log_n > 20 || u->r < 1 || u->r > 32 || u->p < 1 || u->p > 16)
		return -1;
	if (util_unhex(salt, u->salt, SALT_LEN) != 0 || util_unhex(key, u->key, KEY_LEN) != 0)
		return -1;
	return 0;
}

static int
derive(const char *password, const unsigned char *salt, int log_n, int r, int p,
    unsigned char key[KEY_LEN])
{
	return EVP_PBE_scrypt(password, strlen(password), salt, SALT_LEN, (uint64_t)1 << log_n,
		   (uint64_t)r, (uint64_t)p, SCRYPT_MAXMEM, key, KEY_LEN) == 1 ? 0 : -1;
}

int
conf_user_hash(const char *password, char *out, size_t len)
{
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char sh[2 * SALT_LEN + 1], kh[2 * KEY_LEN + 1];
	int n;

	if (has_control(password))
		return -2;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    derive(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, key) != 0)
		return -1;
	util_hex(salt, SALT_LEN, sh);
	util_hex(key, KEY_LEN, kh);
	OPENSSL_cleanse(key, sizeof(key));
	n = snprintf(out, len, "scrypt$%d$%d$%d$%s$%s", SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, sh, kh);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static void
user_fini(struct user *u)
{
	free(u->name);
	for (size_t i = 0; i < u->ncollections; i++)
		free(u->collections[i]);
	free(u->collections);
}

void
conf_users_free(struct conf_users *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n; i++)
		user_fini(&u->users[i]);
	free(u->users);
	pthread_mutex_destroy(&u->lock);
	OPENSSL_cleanse(u->cache, sizeof(u->cache));
	OPENSSL_cleanse(u->mac_key, sizeof(u->mac_key));
	free(u);
}

static int
users_fail(struct conf_err *err, const char *path, int line, const char *what)
{
	util_seterr_at(err->msg, sizeof(err->msg), path, line, NULL, "%s", what);
	return -1;
}

/* One "name:hash:collections" line into u. */
static int
parse_line(char *line, struct user *u, const char **why)
{
	char *c1 = strchr(line, ':'), *c2, *col, *save = NULL;

	if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL) {
		*why = "expected name:hash:collections";
		return -1;
	}
	*c1 = '\0';
	*c2 = '\0';
	if (!valid_name(line, strlen(line))) {
		*why = "bad user name (letters, digits, '.', '_', '@', '-'; at most 64)";
		return -1;
	}
	if (parse_hash(c1 + 1, u) != 0) {
		*why = "bad password hash (make one with: c2watch user add NAME)";
		return -1;
	}
	if ((u->name = strdup(line)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (strcmp(c2 + 1, "") == 0 || strcmp(c2 + 1, "*") == 0)
		return 0;
	for (col = strtok_r(c2 + 1, ",", &save); col; col = strtok_r(NULL, ",", &save)) {
		char **nc;

		while (*col == ' ')
			col++;
		if (!valid_collection(col, strlen(col))) {
			*why = "bad collection name";
			return -1;
		}
		nc = realloc(u->collections, (u->ncollections + 1) * sizeof(*nc));
		if (nc == NULL) {
			*why = "out of memory";
			return -1;
		}
		u->collections = nc;
		if ((nc[u->ncollections] = strdup(col)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		u->ncollections++;
	}
	return 0;
}

struct conf_users *
conf_users_load(const char *path, struct conf_err *err)
{
	struct conf_users *u = NULL;
	struct util_buf b;
	char *p, *next;
	int line = 0, rc;

	util_buf_init(&b, USERS_MAX_FILE);
	rc = util_read_file(path, &b);
	if (rc != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: %s", path,
		    rc == -2 ? "larger than 4 MiB" : strerror(errno));
		goto fail;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		util_seterr(err->msg, sizeof(err->msg), "%s: out of memory", path);
		goto fail;
	}
	pthread_mutex_init(&u->lock, NULL);
	u->tokens = SCRYPT_BURST;
	clock_gettime(CLOCK_MONOTONIC, &u->refill);
	if (RAND_bytes(u->mac_key, sizeof(u->mac_key)) != 1) {
		users_fail(err, path, 0, "no randomness for the verification cache");
		pthread_mutex_destroy(&u->lock);
		free(u);
		return NULL;
	}
	for (p = b.data; p && *p; p = next) {
		const char *why = NULL;
		struct user *nu;
		size_t len;

		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		line++;
		len = strlen(p);
		if (len && p[len - 1] == '\r')
			p[--len] = '\0';
		if (len == 0 || p[0] == '#')
			continue;
		if (u->n == USERS_MAX) {
			users_fail(err, path, line, "too many users");
			goto fail;
		}
		nu = realloc(u->users, (u->n + 1) * sizeof(*nu));
		if (nu == NULL) {
			users_fail(err, path, line, "out of memory");
			goto fail;
		}
		u->users = nu;
		memset(&nu[u->n], 0, sizeof(nu[0]));
		if (parse_line(p, &nu[u->n], &why) != 0) {
			user_fini(&nu[u->n]);
			users_fail(err, path, line, why);
			goto fail;
		}
		for (size_t i = 0; i < u->n; i++) {
			if (strcmp(u->users[i].name, nu[u->n].name) == 0) {
				user_fini(&nu[u->n]);
				users_fail(err, path, line, "user listed twice");
				goto fail;
			}
		}
		u->n++;
	}
	util_buf_fini(&b);
	return u;
fail:
	if (b.data)
		OPENSSL_cleanse(b.data, b.len);
	util_buf_fini(&b);
	conf_users_free(u);
	return NULL;
}

static const struct user *
find_user(const struct conf_users *u, const char *name)
{
	for (size_t i = 0; u && i < u->n; i++)
		if (strcmp(u->users[i].name, name) == 0)
			return &u->users[i];
	return NULL;
}

int
conf_users_verify(struct conf_users *u, const char *name, const char *password)
{
	const struct user *usr = find_user(u, name);
	unsigned char key[KEY_LEN], tag[UTIL_SHA256_LEN];
	unsigned taglen = sizeof(tag);
	struct util_buf b;
	int ok = 0, busy;

	if (usr == NULL || password == NULL || has_control(password))
		return 0;
	util_buf_init(&b, 0);
	if (util_buf_add(&b, name, strlen(name) + 1) != 0 ||
	    util_buf_add(&b, password, strlen(password)) != 0 ||
	    HMAC(EVP_sha256(), u->mac_key, sizeof(u->mac_key), (const unsigned char *)b.data,
		b.len, tag, &taglen) == NULL) {
		if (b.data != NULL)
			OPENSSL_cleanse(b.data, b.len);
		util_buf_fini(&b);
		return 0;
	}
	OPENSSL_cleanse(b.data, b.len);
	util_buf_fini(&b);

	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < CACHE_SLOTS && !ok; i++)
		ok = CRYPTO_memcmp(u->cache[i], tag, sizeof(tag)) == 0;
	if (!ok) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		u->tokens += ((double)(now.tv_sec - u->refill.tv_sec) +
		    (double)(now.tv_nsec - u->refill.tv_nsec) / 1e9) * SCRYPT_PER_S;
		if (u->tokens > SCRYPT_BURST)
			u->tokens = SCRYPT_BURST;
		u->refill = now;
	}
	busy = !ok && (u->running >= SCRYPT_RUNNING || u->tokens < 1.0);
	if (!ok && !busy) {
		u->running++;
		u->tokens -= 1.0;
	}
	pthread_mutex_unlock(&u->lock);
	if (ok)
		return 1;
	if (busy)
		return -1;

	ok = derive(password, usr->salt, usr->log_n, usr->r, usr->p, key) == 0 &&
	    CRYPTO_memcmp(key, usr->key, KEY_LEN) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	pthread_mutex_lock(&u->lock);
	u->running--;
	if (ok) {
		memcpy(u->cache[u->cache_next], tag, sizeof(tag));
		u->cache_next = (u->cache_next + 1) % CACHE_SLOTS;
	}
	pthread_mutex_unlock(&u->lock);
	return ok;
}

int
conf_users_allows(const struct conf_users *u, const char *name, const char *collection)
{
	const struct user *usr = find_user(u, name);

	if (usr == NULL)
		return 0;
	if (usr->collections == NULL)
		return 1;
	for (size_t i = 0; i < usr->ncollections; i++)
		if (strcmp(usr->collections[i], collection) == 0)
			return 1;
	return 0;
}

size_t
conf_users_count(const struct conf_users *u)
{
	return u ? u->n : 0;
}

int
conf_users_set(const char *path, const char *name, const char *hash, const char *collections,
    struct conf_err *err)
{
	struct util_buf old, out;
	char tmp[4096];
	const char *p;
	int fd = -1, rc, ret = -1, replaced = 0;
	struct user probe;

	memset(&probe, 0, sizeof(probe));
	util_buf_init(&old, USERS_MAX_FILE);
	util_buf_init(&out, USERS_MAX_FILE * 2);
	if (!valid_name(name, strlen(name))) {
		util_seterr(err->msg, sizeof(err->msg),
		    "bad user name \"%s\" (letters, digits, '.', '_', '@', '-'; at most 64)", name);
		goto out;
	}
	if (parse_hash(hash, &probe) != 0) {
		util_seterr(err->msg, sizeof(err->msg), "bad password hash");
		goto out;
	}
	if (collections && *collections) {
		char *copy = strdup(collections), *c, *save = NULL;
		int bad = copy == NULL;

		for (c = copy ? strtok_r(copy, ",", &save) : NULL; c && !bad;
		     c = strtok_r(NULL, ",", &save))
			bad = strcmp(c, "*") != 0 && !valid_collection(c, strlen(c));
		free(copy);
		if (bad) {
			util_seterr(err->msg, sizeof(err->msg), "bad collection list \"%s\"",
			    collections);
			goto out;
		}
	}
	rc = util_read_file(path, &old);
	if (rc != 0 && !(rc == -1 && errno == ENOENT)) {
		util_seterr(err->msg, sizeof(err->msg), "%s: %s", path,
		    rc == -2 ? "larger than 4 MiB" : strerror(errno));
		goto out;
	}
	/* Keep every other line as it is; replace NAME's line where it stood. */
	for (p = old.data; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t nn = strlen(name);

		if (len > nn && strncmp(p, name, nn) == 0 && p[nn] == ':') {
			if (!replaced)
				util_buf_printf(&out, "%s:%s:%s\n", name, hash,
				    collections && *collections ? collections : "*");
			replaced = 1;
		} else if (util_buf_add(&out, p, len) != 0 || util_buf_add(&out, "\n", 1) != 0) {
			util_seterr(err->msg, sizeof(err->msg), "%s: out of memory", path);
			goto out;
		}
		p = nl ? nl + 1 : p + len;
	}
	if (!replaced &&
	    util_buf_printf(&out, "%s:%s:%s\n", name, hash,
		collections && *collections ? collections : "*") != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: out of memory", path);
		goto out;
	}
	/* A new file beside the old one, then rename: readers see the old or the new file,
	 * never half of one, and the secret is never readable by others. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		util_seterr(err->msg, sizeof(err->msg), "%.900s: %s", tmp, strerror(errno));
		goto out;
	}
	if (write(fd, out.data, out.len) != (ssize_t)out.len || fsync(fd) != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%.900s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		util_seterr(err->msg, sizeof(err->msg), "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = replaced ? 1 : 0;
out:
	if (fd >= 0)
		close(fd);
	if (old.data)
		OPENSSL_cleanse(old.data, old.len);
	util_buf_fini(&old);
	util_buf_fini(&out);
	return ret;
}
