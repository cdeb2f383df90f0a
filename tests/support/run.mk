# The job pool of tests/run.sh: one target per test program and build tree,
# TREE/test-logs/PROG.log, made by tests/support/run_one.sh. Run as
#   make -f tests/support/run.mk -k -jN [FIRST='LOG...'] LOG...
# so at most N programs run at once, started in the order given. The
# programs in FIRST (the longest ones) keep the normal CPU priority and the
# others run niced: the longest bounds the pool's wall time, so it must not
# wait for the CPU behind short ones.
MAKEFLAGS += --no-builtin-rules --no-print-directory
.SUFFIXES:

%.log: FORCE
	@$(if $(filter $@,$(FIRST)),,nice -n 5) sh tests/support/run_one.sh $@

FORCE:
.PHONY: FORCE
