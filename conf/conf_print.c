/* The effective config as INI text: what check-config shows, and what conf_load reads back
 * into the same config (durations and sizes in their largest exact unit). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "conf/conf.h"

static void
put_str(FILE *fp, const char *key, const char *val)
{
	if (val != NULL && *val != '\0')
		fprintf(fp, "%s = %s\n", key, val);
	else
		fprintf(fp, "%s =\n", key);
}

static void
put_bool(FILE *fp, const char *key, int val)
{
	fprintf(fp, "%s = %s\n", key, val ? "true" : "false");
}

static void
put_dur(FILE *fp, const char *key, int64_t us)
{
	static const struct {
		int64_t us;
		const char *unit;
	} units[] = {
		{ (int64_t)86400 * 1000000, "d" },
		{ (int64_t)3600 * 1000000, "h" },
		{ (int64_t)60 * 1000000, "m" },
		{ 1000000, "s" },
		{ 1000, "ms" },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (us % units[i].us == 0) {
			fprintf(fp, "%s = %" PRId64 "%s\n", key, us / units[i].us, units[i].unit);
			return;
		}
	/* below a millisecond cannot be written back; round up so it stays non-zero */
	fprintf(fp, "%s = %" PRId64 "ms\n", key, us / 1000 + 1);
}

static void
put_size(FILE *fp, const char *key, uint64_t n)
{
	if (n != 0 && n % (1024u * 1024 * 1024) == 0)
		fprintf(fp, "%s = %" PRIu64 "GiB\n", key, n / (1024u * 1024 * 1024));
	else if (n != 0 && n % (1024u * 1024) == 0)
		fprintf(fp, "%s = %" PRIu64 "MiB\n", key, n / (1024u * 1024));
	else if (n != 0 && n % 1024u == 0)
		fprintf(fp, "%s = %" PRIu64 "KiB\n", key, n / 1024u);
	else
		fprintf(fp, "%s = %" PRIu64 "\n", key, n);
}

void
conf_print(const struct conf *c, FILE *fp)
{
	size_t i;

	fprintf(fp, "[node]\n");
	put_str(fp, "id", c->node.id);
	put_str(fp, "organization", c->node.organization);
	put_str(fp, "data_dir", c->node.data_dir);
	put_str(fp, "log_level", conf_log_level_name(c->node.log_level));
	put_str(fp, "key_file", c->node.key_file);

	fprintf(fp, "\n[server]\nlisten = ");
	for (i = 0; i < c->server.nlisten; i++)
		fprintf(fp, "%s%s", i ? ", " : "", c->server.listen[i]);
	fprintf(fp, "\n");
	put_str(fp, "tls_cert", c->server.tls_cert);
	put_str(fp, "tls_key", c->server.tls_key);
	put_str(fp, "client_ca", c->server.client_ca);
	put_str(fp, "users_file", c->server.users_file);
	put_bool(fp, "dashboard", c->server.dashboard);
	put_bool(fp, "allow_private_push", c->server.allow_private_push);
	put_bool(fp, "metrics", c->server.metrics);

	fprintf(fp, "\n[observer]\n");
	put_bool(fp, "enabled", c->observer.enabled);
	put_dur(fp, "interval", c->observer.interval_us);
	fprintf(fp, "anchor = %02d:%02d %s\n", c->observer.anchor_minute / 60,
	    c->observer.anchor_minute % 60, c->observer.anchor_tz ? c->observer.anchor_tz : "UTC");
	fprintf(fp, "concurrency = %u\n", c->observer.concurrency);
	put_dur(fp, "host_spacing", c->observer.host_spacing_us);
	put_str(fp, "user_agent", c->observer.user_agent);
	put_str(fp, "accept_encoding", c->observer.accept_encoding);
	put_dur(fp, "connect_timeout", c->observer.connect_timeout_us);
	put_dur(fp, "timeout", c->observer.timeout_us);
	put_size(fp, "max_body", c->observer.max_body);
	fprintf(fp, "max_redirects = %u\n", c->observer.max_redirects);
	fprintf(fp, "ping_count = %u\n", c->observer.ping_count);
	put_str(fp, "robots", c->observer.robots_respect ? "respect" : "ignore");
	put_str(fp, "exclude_file", c->observer.exclude_file);
	put_bool(fp, "allow_private", c->observer.allow_private);
	put_str(fp, "vantage", c->observer.vantage);
	put_str(fp, "source_address", c->observer.source_address);
	put_str(fp, "proxy", c->observer.proxy);
	put_str(fp, "targets_file", c->observer.targets_file);

	for (i = 0; i < c->npeers; i++) {
		const struct conf_peer *p = &c->peers[i];

		fprintf(fp, "\n[peer %s]\n", p->name);
		put_str(fp, "url", p->url);
		put_str(fp, "collection", p->collection);
		put_dur(fp, "interval", p->interval_us);
		put_str(fp, "username", p->username);
		put_str(fp, "password_file", p->password_file);
		put_str(fp, "client_cert", p->client_cert);
		put_str(fp, "client_key", p->client_key);
		put_str(fp, "client_key_password_file", p->client_key_password_file);
		put_str(fp, "ca_file", p->ca_file);
		put_bool(fp, "push", p->push);
		put_str(fp, "threat_id", p->threat_id);
	}

	fprintf(fp, "\n[hook]\n");
	put_str(fp, "on_change", c->hook.on_change);

	fprintf(fp, "\n[analysis]\n");
	put_str(fp, "sinkholes_file", c->analysis.sinkholes_file);
	put_dur(fp, "remove_after", c->analysis.remove_after_us);
	fprintf(fp, "\n[trust]\n");
	put_str(fp, "keys_file", c->trust.keys_file);
	put_str(fp, "unknown", c->trust.unknown_refuse ? "refuse" : "accept");
}
