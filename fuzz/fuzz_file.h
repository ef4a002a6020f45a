/*
 * One temporary file for a harness whose code under test reads a path, not bytes: made at
 * start-up (under TMPDIR when it is short enough), rewritten with each input, removed at
 * exit.
 */
#ifndef C2W_FUZZ_FILE_H
#define C2W_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Makes the file, named after the harness; its path. Exits 1 when it cannot. */
const char *fuzz_file_init(const char *harness);
/* The file holds exactly data[0..size) afterwards; aborts when it cannot. */
void fuzz_file_put(const uint8_t *data, size_t size);

#endif
