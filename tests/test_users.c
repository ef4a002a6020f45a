/* The TAXII users file: hashing, verification, collection access, safe rewriting. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "tests/tap.h"

static char dir[] = "/tmp/c2w-users-XXXXXX";

/* A wrong password checked on a thread of its own (holding the scrypt slot). */
struct slow {
	struct conf_users *u;
	int started, rc;
};

static void *
slow_main(void *arg)
{
	struct slow *s = arg;

	__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	s->rc = conf_users_verify(s->u, "bob", "slow wrong");
	return NULL;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

int
main(void)
{
	char path[256], h1[200], h2[200], text[1024];
	struct conf_err err = {{0}};
	struct conf_users *u;
	struct stat st;

	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(path, sizeof(path), "%s/users", dir);

	ok(conf_user_hash("s3cret", h1, sizeof(h1)) == 0, "hash a password");
	ok(strncmp(h1, "scrypt$15$8$1$", 14) == 0, "as scrypt with its parameters");
	ok(conf_user_hash("s3cret", h2, sizeof(h2)) == 0 && strcmp(h1, h2) != 0,
	    "salted: the same password hashes differently");

	ok(conf_users_set(path, "alice", h1, NULL, &err) == 0, "add alice to a new file");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the file is created 0600");
	ok(conf_users_set(path, "bob", h2, "observations", &err) == 0, "add bob");
	ok(conf_users_set(path, "alice", h2, "targets", &err) == 1, "replace alice");
	ok(conf_users_set(path, "bad:name", h1, NULL, &err) == -1, "a name with ':' is refused");
	ok(conf_users_set(path, "carol", "plaintext", NULL, &err) == -1, "a non-hash is refused");
	ok(conf_users_set(path, "carol", h1, "a b", &err) == -1, "a bad collection list is refused");

	u = conf_users_load(path, &err);
	ok(u != NULL, "load the users file (%s)", err.msg);
	is_int(conf_users_count(u), 2, "two users");
	ok(conf_users_verify(u, "bob", "s3cret") == 1, "bob's password verifies");
	ok(conf_users_verify(u, "bob", "s3cret") == 1, "again, from the cache");
	ok(conf_users_verify(u, "bob", "wrong") == 0, "a wrong password does not");
	ok(conf_users_verify(u, "mallory", "s3cret") == 0, "an unknown user does not");
	ok(conf_users_verify(u, "alice", "s3cret") == 1, "alice's replaced hash verifies");
	ok(conf_users_allows(u, "bob", "observations") == 1, "bob may poll observations");
	ok(conf_users_allows(u, "bob", "targets") == 0, "but not targets");
	ok(conf_users_allows(u, "alice", "targets") == 1 &&
		conf_users_allows(u, "alice", "observations") == 0,
	    "alice's collections were replaced too");
	ok(conf_users_allows(u, "mallory", "observations") == 0, "unknown users may use nothing");
	ok(conf_users_verify(u, "bob", "s3cret\t") == 0 &&
	    conf_users_verify(u, "bob", "s3\x7f" "cret") == 0,
	    "a password with a control byte never verifies");
	is_int(conf_user_hash("tab\there", h2, sizeof(h2)), -2,
	    "nor is one hashed for the users file");
	{
		/* scrypt checks are bounded: one at a time, and 4 at once then 2 a second
		 * on average. While one runs on another thread, a second finds the checker
		 * busy, and the right password, verified before, still passes from the
		 * cache. */
		struct slow s = { u, 0, 0 };
		pthread_t th;
		int busy = 0, checked = 0, cached = 0;
		struct timespec t0, t1;
		double dt;

		if (pthread_create(&th, NULL, slow_main, &s) == 0) {
			while (!__atomic_load_n(&s.started, __ATOMIC_ACQUIRE))
				usleep(1000);
			usleep(20000); /* well inside its scrypt (tens of ms at least) */
			busy = conf_users_verify(u, "bob", "other") == -1;
			cached = conf_users_verify(u, "bob", "s3cret") == 1;
			pthread_join(th, NULL);
		}
		ok(busy && s.rc == 0, "a second scrypt check while one runs is refused busy");
		ok(cached, "while the cached right password still verifies");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 12; i++)
			checked += conf_users_verify(u, "bob", "wrong") == 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		ok(checked <= 4 + (int)(2 * dt) + 1, "12 wrong passwords in a row: %d checked in "
		    "%.2f s, no more than the bucket allows", checked, dt);
	}
	conf_users_free(u);

	snprintf(text, sizeof(text), "# operators\nroot:%s:*\n\nops:%s:\n", h1, h2);
	write_file(path, text);
	u = conf_users_load(path, &err);
	ok(u != NULL && conf_users_allows(u, "ops", "anything") && conf_users_allows(u, "root", "x"),
	    "'*' and an empty list mean every collection; comments and blank lines are skipped");
	conf_users_free(u);

	snprintf(text, sizeof(text), "ok:%s:*\nbroken line\n", h1);
	write_file(path, text);
	ok(conf_users_load(path, &err) == NULL, "a bad line fails the load");
	has_str(err.msg, "users:2: expected name:hash:collections", "naming file and line");
	snprintf(text, sizeof(text), "a:%s:*\na:%s:*\n", h1, h2);
	write_file(path, text);
	ok(conf_users_load(path, &err) == NULL, "a user listed twice fails");
	has_str(err.msg, "users:2: user listed twice", "on the second line");
	write_file(path, "a:scrypt$15$8$1$zz$zz:*\n");
	ok(conf_users_load(path, &err) == NULL, "a bad hash fails");
	has_str(err.msg, "bad password hash", "saying so");
	unlink(path);
	rmdir(dir);
	return tap_done();
}
