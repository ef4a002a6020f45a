#!/bin/sh
. "$TESTS_SRCDIR/tap.sh"
done_testing
