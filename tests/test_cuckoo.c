/* conf_cuckoo_read: destinations from sandbox reports, early Cuckoo and CAPE layouts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/conf.h"
#include "tests/tap.h"

static json_t *
find(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *t;

	json_array_foreach(arr, i, t) {
		const char *v = json_string_value(json_object_get(t, key));

		if (v && strcmp(v, value) == 0)
			return t;
	}
	return NULL;
}

static void
test_cape(const char *dir)
{
	char path[1024], note[512];
	struct conf_err err = {{0}};
	json_t *out = NULL, *t;

	snprintf(path, sizeof(path), "%s/data/cuckoo/cape-style.report.json", dir);
	ok(conf_cuckoo_read(path, NULL, &out, note, sizeof(note), &err) == 0,
	    "a CAPE-style report reads (%s)", err.msg);
	if (out == NULL)
		return;
	t = find(out, "url", "http://c2-panel.example:8080/gate.php?id=1");
	ok(t != NULL, "the HTTP request becomes a URL target");
	is_str(json_string_value(json_object_get(t, "user_agent")),
	    "Mozilla/4.0 (compatible; MSIE 6.0)", "with the request's user agent");
	is_str(json_string_value(json_object_get(t, "threat_id")),
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	    "threat ID defaults to the sample's SHA-256");
	is_str(json_string_value(json_object_get(t, "malware_sha256")),
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	    "the sample's SHA-256, lowercased");
	is_str(json_string_value(json_object_get(t, "report_date")), "2026-10-30",
	    "the report's date");
	has_str(json_string_value(json_object_get(t, "file_type")), "PE32", "the sample's type");
	t = find(out, "url", "http://update.bad.example/cfg.bin");
	ok(t != NULL, "a request without a uri is rebuilt from host and path");
	is_str(json_string_value(json_object_get(t, "user_agent")), "WinHTTP Loader/1.0",
	    "with its user agent");
	ok(find(out, "domain", "c2-panel.example") != NULL, "domains become targets");
	ok(find(out, "domain", "update.bad.example") != NULL, "DNS requests become targets");
	ok(find(out, "ip", "93.184.216.34") != NULL, "a public host becomes a target");
	ok(find(out, "ip", "8.8.4.4") == NULL, "a host that is only a named server's address does not");
	ok(find(out, "ip", "198.51.100.23") == NULL, "nor one that answered a DNS request");
	ok(find(out, "ip", "192.168.56.1") == NULL, "the sandbox's network is skipped");
	has_str(note, "skipped", "and the note says entries were skipped");
	is_int(json_array_size(out), 5, "five targets, the repeated host once");
	json_decref(out);

	out = NULL;
	ok(conf_cuckoo_read(path, "OPS-7", &out, note, sizeof(note), &err) == 0 &&
		strcmp(json_string_value(json_object_get(json_array_get(out, 0), "threat_id")),
		    "OPS-7") == 0,
	    "--threat-id names the threat");
	json_decref(out);
}

static void
test_bad(const char *dir)
{
	char path[1024], tmp[] = "/tmp/c2w-cuckoo-XXXXXX";
	struct conf_err err = {{0}};
	json_t *out = NULL;
	FILE *fp;

	ok(conf_cuckoo_read("/nonexistent/report.json", "T", &out, NULL, 0, &err) == -1,
	    "a missing file fails");
	has_str(err.msg, "/nonexistent/report.json", "naming it");
	if (mkdtemp(tmp) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/r.json", tmp);
	fp = fopen(path, "w");
	fputs("{\"info\": {\"id\": 1},\n \"network\": [1, 2,]}", fp);
	fclose(fp);
	ok(conf_cuckoo_read(path, "T", &out, NULL, 0, &err) == -1, "broken JSON fails");
	has_str(err.msg, "r.json:2: not JSON", "with the line");
	fp = fopen(path, "w");
	fputs("{\"indicators\": []}", fp);
	fclose(fp);
	ok(conf_cuckoo_read(path, "T", &out, NULL, 0, &err) == -1, "other JSON is refused");
	has_str(err.msg, "not a sandbox report", "saying why");
	fp = fopen(path, "w");
	fputs("{\"info\": {\"id\": 1}, \"network\": {\"hosts\": [\"1.1.1.1\"]}}", fp);
	fclose(fp);
	ok(conf_cuckoo_read(path, NULL, &out, NULL, 0, &err) == -1,
	    "no sample hash and no --threat-id fails");
	has_str(err.msg, "--threat-id", "and asks for one");
	remove(path);
	rmdir(tmp);
	(void)dir;
}

static void
test_shared(void)
{
	const char *shared = getenv("SHARED_DIR");
	char path[1024], note[512];
	struct conf_err err = {{0}};
	json_t *out = NULL;

	snprintf(path, sizeof(path), "%s/testdata/cuckoo/yarax-2.report.json", shared ? shared : "");
	if (shared == NULL || access(path, R_OK) != 0) {
		tap_skip("sandbox samples", "absent (SHARED_DIR=%s)", shared ? shared : "unset");
		return;
	}
	ok(conf_cuckoo_read(path, "YARAX-2", &out, note, sizeof(note), &err) == 0,
	    "yarax-2 reads (%s)", err.msg);
	json_t *t = find(out, "url", "http://checkip.dyndns.org/");
	ok(t != NULL, "its HTTP GET is a target");
	is_str(json_string_value(json_object_get(t, "user_agent")),
	    "Mozilla/3.0 (compatible; Indy Library)", "with the Indy user agent");
	ok(find(out, "domain", "checkip.dyndns.org") != NULL, "its DNS name is a target");
	ok(find(out, "ip", "216.146.43.71") == NULL, "the name's answer is not a second target");
	ok(find(out, "ip", "10.0.2.15") == NULL && find(out, "ip", "0.0.0.0") == NULL,
	    "the guest's and unspecified addresses are skipped");
	json_decref(out);

	out = NULL;
	snprintf(path, sizeof(path), "%s/testdata/cuckoo/yarax-3-no-network.report.json", shared);
	ok(conf_cuckoo_read(path, "YARAX-3", &out, note, sizeof(note), &err) == 0 &&
		json_array_size(out) == 0,
	    "a report without network yields no target and no failure");
	has_str(note, "no network section", "and the note says why");
	json_decref(out);

	out = NULL;
	snprintf(path, sizeof(path), "%s/testdata/cuckoo/yarax-1-trimmed.report.json", shared);
	ok(conf_cuckoo_read(path, "YARAX-1", &out, note, sizeof(note), &err) == 0,
	    "yarax-1 reads");
	ok(find(out, "ip", "255.255.255.255") == NULL && find(out, "ip", "10.0.2.2") == NULL,
	    "broadcast and the sandbox resolver are skipped");
	json_decref(out);
}

int
main(void)
{
	const char *dir = getenv("TESTS_SRCDIR");

	if (dir == NULL)
		tap_skip_all("TESTS_SRCDIR is not set");
	test_cape(dir);
	test_bad(dir);
	test_shared();
	return tap_done();
}
