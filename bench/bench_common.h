/* Shared by the benchmarks that need a populated node: realistic records with correct
 * ids, a store filled with them, and a TAXII server over it in a child process. */
#ifndef C2W_BENCH_COMMON_H
#define C2W_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Fills the store in dir with n records observed by `node` (batches of 10,000).
 * Returns 0 or -1 (message printed). */
int bench_fill(const char *dir, const char *node, long n);

/* Starts a child process serving the store in `dir` over TAXII on 127.0.0.1 (kernel-chosen
 * port, written to *port). Returns the child's pid, or -1. */
pid_t bench_server(const char *dir, const char *node, unsigned *port);

/* Peak resident set (VmHWM) of a process, KiB, or -1. */
long bench_peak_rss_kib(pid_t pid);

/* Stops a server child started by bench_server. */
void bench_server_stop(pid_t pid);

double bench_now(void);

#endif
