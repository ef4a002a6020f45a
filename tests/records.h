/*
 * Observation records for the tests of the modules that read and write them (record,
 * stix): the fixture records under tests/data/stix/records, and the other forms of a
 * canonical record text that a reader keeping the text must decline.
 */
#ifndef C2W_TESTS_RECORDS_H
#define C2W_TESTS_RECORDS_H

#include <stddef.h>

#include <jansson.h>

/* The fixtures' names: tests/data/stix/records/<name>.json. */
#define RECORD_CASES 6
extern const char *const record_cases[RECORD_CASES];

/* A fixture record (a new reference), or NULL after a TAP diagnostic saying why. */
json_t *load_record(const char *name);

/* s with every `from` replaced by `to`; malloc'd (NULL when memory ran out). */
char *replace_all(const char *s, const char *from, const char *to);

/*
 * Edits of the "full" fixture's canonical text ({from, to, what}), each giving the same
 * record in a form the canonical dump never writes (or not quite the same record).
 */
#define RECORD_MUTATIONS 17
extern const char *const record_mutations[RECORD_MUTATIONS][3];

#endif
