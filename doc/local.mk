# Manual pages: installed by make install, linted and checked against the built binary's
# --help and check-config by tests/test_man.sh.
dist_man_MANS = doc/c2watch.8 doc/c2watch.conf.5
