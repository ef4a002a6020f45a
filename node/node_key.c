/*
 * The node's signing key on disk: [node] key_file (PEM, mode 0600, made on first use),
 * the public keys it had before in KEY_FILE.pub.old (one "ed25519:BASE64" a line, so that
 * records signed before a rotation still verify), the key shared by the daemon's threads,
 * and the node's own keys added to the trust set.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "conf/conf.h"
#include "node/node_key.h"
#include "record/record.h"
#include "store/store.h"
#include "util/util.h"

#define KEY_FILE_MAX 16384

/* Writes text to path through a new 0600 file beside it, replacing path when `replace`,
 * else failing with EEXIST when path exists (two processes making the key at once: the
 * second takes the first's). 0, or -1 with errno. */
static int
write_private(const char *path, const char *text, size_t len, int replace)
{
	char tmp[4096];
	int fd, rc, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid()) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	rc = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
	saved = errno;
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0)
		rc = replace ? rename(tmp, path) : link(tmp, path);
	saved = rc != 0 ? errno : saved;
	unlink(tmp);
	errno = saved;
	return rc;
}

/* The directory part of path made (mode 0700) when absent: the default key file lives
 * in a data directory that may not exist yet. */
static int
make_parent(const char *path)
{
	char dir[4096];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -1;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static struct rec_key *
key_read(const char *path, char *err, size_t errlen)
{
	struct util_buf b;
	struct rec_key *k = NULL;
	struct stat st;
	char why[256];

	util_buf_init(&b, KEY_FILE_MAX);
	if (stat(path, &st) != 0) {
		util_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		util_seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		util_seterr(err, errlen, "%s: holds a secret but is readable or writable by group "
		    "or others (mode %04o; chmod 600 it)", path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (util_read_file(path, &b) != 0) {
		util_seterr(err, errlen, "%s: %s", path, errno ? strerror(errno) : "too large");
		goto out;
	}
	k = rec_key_from_pem(b.data ? b.data : "", b.len, why, sizeof(why));
	if (k == NULL)
		util_seterr(err, errlen, "%s: %s", path, why);
out:
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.len);
	util_buf_fini(&b);
	return k;
}

/* A new key written to path (replace: over the old one). */
static struct rec_key *
key_make(const char *path, int replace, char *err, size_t errlen)
{
	struct rec_key *k = rec_key_new(err, errlen);
	char *pem;
	size_t len = 0;

	if (k == NULL)
		return NULL;
	pem = rec_key_pem(k, &len);
	if (pem == NULL) {
		util_seterr(err, errlen, "out of memory");
		rec_key_free(k);
		return NULL;
	}
	if (make_parent(path) != 0 || write_private(path, pem, len, replace) != 0) {
		util_seterr(err, errlen, "%s: cannot write the key: %s", path, strerror(errno));
		rec_key_free(k);
		k = NULL;
	}
	OPENSSL_cleanse(pem, len);
	free(pem);
	return k;
}

struct rec_key *
node_key_load(const struct conf *c, int *created, char *err, size_t errlen)
{
	struct rec_key *k;

	if (created != NULL)
		*created = 0;
	if (c->node.key_file == NULL) {
		util_seterr(err, errlen, "no [node] key_file");
		return NULL;
	}
	if (access(c->node.key_file, F_OK) == 0 || errno != ENOENT)
		return key_read(c->node.key_file, err, errlen);
	k = key_make(c->node.key_file, 0, err, errlen);
	if (k == NULL && errno == EEXIST)
		return key_read(c->node.key_file, err, errlen); /* another process made it */
	if (k != NULL && created != NULL)
		*created = 1;
	return k;
}

/* KEY_FILE.pub.old into buf. */
static int
old_path(const struct conf *c, char *buf, size_t len)
{
	if (c->node.key_file == NULL)
		return -1;
	return (size_t)snprintf(buf, len, "%s.pub.old", c->node.key_file) < len ? 0 : -1;
}

int
node_key_rotate(const struct conf *c, char *old_pub, size_t old_len, char *new_pub,
    size_t new_len, char *err, size_t errlen)
{
	struct rec_key *k, *nk = NULL;
	char path[4096];
	FILE *fp = NULL;
	int ret = -1;

	if (c->node.key_file == NULL) {
		util_seterr(err, errlen, "no [node] key_file");
		return -1;
	}
	if ((k = key_read(c->node.key_file, err, errlen)) == NULL)
		return -1;
	if (old_path(c, path, sizeof(path)) != 0) {
		util_seterr(err, errlen, "%s: path too long", c->node.key_file);
		goto out;
	}
	/* The old public key is kept first: a new key with the old one lost would leave
	 * every record signed before unverifiable. */
	fp = fopen(path, "a");
	if (fp == NULL || fprintf(fp, "%s\n", rec_key_public(k)) < 0 || fflush(fp) != 0 ||
	    fsync(fileno(fp)) != 0) {
		util_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	nk = key_make(c->node.key_file, 1, err, errlen);
	if (nk == NULL)
		goto out;
	snprintf(old_pub, old_len, "%s", rec_key_public(k));
	snprintf(new_pub, new_len, "%s", rec_key_public(nk));
	ret = 0;
out:
	if (fp != NULL)
		fclose(fp);
	rec_key_free(k);
	rec_key_free(nk);
	return ret;
}

int
node_key_old(const struct conf *c, struct rec_trust *t, size_t *n, char *err, size_t errlen)
{
	char path[4096], line[256], why[256];
	FILE *fp;
	int lineno = 0, ret = 0;

	*n = 0;
	if (old_path(c, path, sizeof(path)) != 0) {
		util_seterr(err, errlen, "%s: path too long", c->node.key_file ?
		    c->node.key_file : "key_file");
		return -1;
	}
	fp = fopen(path, "r");
	if (fp == NULL)
		return errno == ENOENT ? 0 : (util_seterr(err, errlen, "%s: %s", path,
		    strerror(errno)), -1);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		lineno++;
		if (line[0] == '\0')
			continue;
		if (rec_trust_add(t, c->node.id, line, why, sizeof(why)) != 0) {
			util_seterr(err, errlen, "%s:%d: %s", path, lineno, why);
			ret = -1;
			break;
		}
		(*n)++;
	}
	fclose(fp);
	return ret;
}

/* The key the daemon's threads share, loaded once. */
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec_key *shared_key;

const struct rec_key *
node_key(const struct conf *c, char *err, size_t errlen)
{
	const struct rec_key *k;

	pthread_mutex_lock(&key_lock);
	if (shared_key == NULL)
		shared_key = node_key_load(c, NULL, err, errlen);
	k = shared_key;
	pthread_mutex_unlock(&key_lock);
	return k;
}

int
node_trust_self(struct conf *c, char *err, size_t errlen)
{
	const struct rec_key *k = node_key(c, err, errlen);
	size_t n;
	char why[256];

	if (k == NULL)
		return -1;
	if (c->trust.set == NULL) {
		util_seterr(err, errlen, "no trust set (the config was not loaded from a file)");
		return -1;
	}
	if (rec_trust_add(c->trust.set, c->node.id, rec_key_public(k), why, sizeof(why)) != 0) {
		util_seterr(err, errlen, "%s: %s", c->node.key_file, why);
		return -1;
	}
	return node_key_old(c, c->trust.set, &n, err, errlen);
}

/* ------------------------------------------------------------------ upgrade */

#define UPGRADE_CURSOR "signed own records"
#define UPGRADE_BATCH 1000

struct upgrade {
	const struct conf *c;
	const struct rec_key *k;
	struct store_obs *redo; /* id and new json (malloc'd) of records to rewrite */
	int64_t *labels;
	size_t n;
	int failed;
	char err[512];
};

/* A record of this node without a signature gets one; the rest are passed over. */
static int
upgrade_cb(int64_t label, const unsigned char id[STORE_ID_LEN], const char *json,
    size_t len, void *arg)
{
	struct upgrade *u = arg;
	json_t *rec;
	const char *node;
	char *text;

	if (u->failed)
		return 1;
	rec = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	node = json_string_value(json_object_get(rec, "node"));
	if (rec == NULL || node == NULL || strcmp(node, u->c->node.id) != 0 ||
	    json_object_get(rec, "sig") != NULL) {
		json_decref(rec);
		return 0;
	}
	if (rec_sign(rec, u->k, u->err, sizeof(u->err)) != 0 ||
	    (text = rec_json_dump(rec)) == NULL) {
		if (u->err[0] == '\0')
			util_seterr(u->err, sizeof(u->err), "out of memory");
		u->failed = 1;
		json_decref(rec);
		return 1;
	}
	json_decref(rec);
	memcpy(u->redo[u->n].id, id, STORE_ID_LEN);
	u->redo[u->n].json = text;
	u->redo[u->n].len = strlen(text);
	u->labels[u->n++] = label;
	return 0;
}

struct upgrade_commit {
	struct upgrade *u;
	int64_t last;
};

static int
upgrade_txn(struct store_txn *t, void *arg)
{
	struct upgrade_commit *uc = arg;

	for (size_t i = 0; i < uc->u->n; i++)
		if (store_rewrite_record(t, uc->u->labels[i], uc->u->redo[i].id,
		    uc->u->redo[i].json, uc->u->redo[i].len) != STORE_OK)
			return -1;
	return store_put_cursor(t, UPGRADE_CURSOR, uc->last) == STORE_OK ? 0 : -1;
}

int
node_sign_upgrade(const struct conf *c, struct store *s, const struct rec_key *k,
    size_t *signed_n, char *err, size_t errlen)
{
	struct upgrade u;
	struct store_err serr = {{0}};
	int64_t after = -1, last;
	int rc, ret = -1;

	memset(&u, 0, sizeof(u));
	*signed_n = 0;
	u.c = c;
	u.k = k;
	u.redo = calloc(UPGRADE_BATCH, sizeof(*u.redo));
	u.labels = calloc(UPGRADE_BATCH, sizeof(*u.labels));
	if (u.redo == NULL || u.labels == NULL) {
		util_seterr(err, errlen, "out of memory");
		goto out;
	}
	rc = store_get_cursor(s, UPGRADE_CURSOR, &after, &serr);
	if (rc == STORE_ERR) {
		util_seterr(err, errlen, "%s", serr.msg);
		goto out;
	}
	if (rc == STORE_NOTFOUND)
		after = -1;
	/* The feed from where the last upgrade stopped, a batch a transaction; the cursor
	 * moves with each batch, so the scan is done once and resumes where it was cut. */
	for (;;) {
		struct upgrade_commit uc = {&u, 0};

		u.n = 0;
		if (store_scan_feed(s, after, INT64_MAX, UPGRADE_BATCH, upgrade_cb, &u, &last,
			&serr) != STORE_OK) {
			util_seterr(err, errlen, "%s", serr.msg);
			goto out;
		}
		if (u.failed) {
			util_seterr(err, errlen, "signing a record: %s", u.err);
			goto out;
		}
		if (last == after)
			break;
		uc.last = last;
		if (store_write(s, upgrade_txn, &uc, &serr) != STORE_OK) {
			util_seterr(err, errlen, "%s", serr.msg);
			goto out;
		}
		*signed_n += u.n;
		for (size_t i = 0; i < u.n; i++)
			free((char *)u.redo[i].json);
		u.n = 0;
		after = last;
	}
	ret = 0;
out:
	for (size_t i = 0; i < u.n; i++)
		free((char *)u.redo[i].json);
	free(u.redo);
	free(u.labels);
	return ret;
}

int
node_key_start(struct conf *c, struct store *s, size_t *signed_n, char *err, size_t errlen)
{
	const struct rec_key *k;

	*signed_n = 0;
	if (node_trust_self(c, err, errlen) != 0)
		return -1;
	k = node_key(c, err, errlen);
	return k != NULL ? node_sign_upgrade(c, s, k, signed_n, err, errlen) : -1;
}
