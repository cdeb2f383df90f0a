# autoscale - StackStorm pack of C actions. See README.md.
#
#   make            build the library and every action into actions/bin/
#   make demo       the whole lifecycle, locally, on the embedded defaults (installs packages as root)
#   make check      lint + all tests, all tests again under ASan+UBSan, and the fuzzers
#   make test       the tests once, on the normal build
#   make bench      benchmarks; prints a table and writes bench/RESULTS.md
#   make deps       install the build and test packages of deps/ (as root; prints the command otherwise)
#   make clean
#
# BUILD selects the output tree; SANITIZE=1 builds with ASan+UBSan;
# DEVELOPER=1 adds -Werror (on by itself for check, test, tests, lint);
# V=1 prints whole commands; CC=clang builds with clang; COMPAT=old takes the
# json-c 0.13 / OpenSSL 1.1 code paths; STATIC_DEPS=no links json-c and SQLite
# dynamically (as on RHEL). docs/install.md, "Portability", says more.

# No built-in implicit rules: with them make asked, for every header in the
# generated .d files, whether some RCS/SCCS/yacc rule could remake it, which
# took 45 s of CPU per invocation even with nothing to build.
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

CC      ?= cc
BUILD   ?= build/release
PYTHON  ?= /usr/bin/python3

# The pkg-config modules come from the package lists (deps/packages.sh):
# the build list's for every object, the test list's for tests only.
PKGS    := $(shell sh deps/packages.sh --pkgconfig build)
TPKGS   := $(shell sh deps/packages.sh --pkgconfig test)
ifeq ($(PKGS),)
$(error deps/packages.sh --pkgconfig build named no pkg-config module: is deps/ complete?)
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# What every binary links. libcurl is not in it: lib/core/http.c dlopen()s it on
# first use (its headers still come from PKG_CFLAGS), because loading its ~30
# dependencies cost ~20 ms and ~6 MiB on every action start (bench/README.md).
# json-c and SQLite are linked statically where their .a files exist
# (Debian's and Ubuntu's -dev packages ship them): ~1 ms CPU and ~15 page
# faults less per start. RHEL's -devel packages ship shared libraries only,
# so there they are linked dynamically. STATIC_DEPS=no forces the dynamic
# link anywhere (how the RHEL build is tested here), STATIC_DEPS=yes the
# static one (fails to link without the .a files).
DLOPEN_PKGS := libcurl
STATIC_DEPS ?= auto
ifeq ($(STATIC_DEPS),auto)
STATIC_PKGS := $(foreach p,json-c sqlite3,$(if $(wildcard $(shell pkg-config --variable=libdir $p 2>/dev/null)/lib$p.a),$p))
else ifeq ($(STATIC_DEPS),yes)
STATIC_PKGS := json-c sqlite3
else ifeq ($(STATIC_DEPS),no)
STATIC_PKGS :=
else
$(error STATIC_DEPS=$(STATIC_DEPS): use auto (the default), yes or no)
endif
DYNAMIC_PKGS := $(filter-out $(DLOPEN_PKGS) $(STATIC_PKGS),$(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(DYNAMIC_PKGS) 2>/dev/null) -lm -lpthread -ldl
ifneq ($(STATIC_PKGS),)
PKG_LIBS   := -Wl,-Bstatic $(shell pkg-config --libs $(STATIC_PKGS) 2>/dev/null) -Wl,-Bdynamic $(PKG_LIBS)
endif
# A static SQLite of separate objects (Debian's) lets lib/store/ds_sqlite.c
# leave out the extensions the store never uses; an amalgamated one would
# clash with its stubs.
ifneq ($(filter fts5.o,$(if $(filter sqlite3,$(STATIC_PKGS)),$(shell ar t $(shell pkg-config --variable=libdir sqlite3 2>/dev/null)/libsqlite3.a 2>/dev/null))),)
PKG_CFLAGS += -DAS_SQLITE_STATIC
endif
# STATIC_BIN=yes links actions/bin/autoscale, the binary of every action but
# Chef's, with -static: no dynamic loader runs at each start, which is ~30%
# of what an action on the embedded store costs and ~1 MiB of its peak RSS
# (bench/RESULTS.md). A static glibc binary cannot dlopen() libcurl, so it
# links lib/link/http_libcurl_worker.c and sends its https requests through
# actions/bin/autoscale_curl, a dynamic helper (lib/core/http_worker.c).
# auto (the default): yes where libc.a and the .a files of json-c, SQLite
# and libyaml exist (Debian's libc6-dev and -dev packages ship them), and
# never under SANITIZE (ASan links dynamically), so `make check`'s second
# pass keeps testing the dynamic binary and libcurl in process.
STATIC_BIN ?= auto
STATIC_BIN_LIBS := -ljson-c -lsqlite3 -lyaml -lm
STATIC_BIN_WRAP := -Wl,--wrap=dlopen,--wrap=dlsym,--wrap=dlclose,--wrap=dlerror
static_lib = $(filter /%,$(shell $(CC) -print-file-name=$1 2>/dev/null))
ifeq ($(STATIC_BIN),auto)
ifeq ($(SANITIZE),1)
STATIC_BIN := no
else ifneq ($(and $(call static_lib,libc.a),$(call static_lib,libjson-c.a),$(call static_lib,libsqlite3.a),$(call static_lib,libyaml.a),$(filter sqlite3,$(STATIC_PKGS))),)
STATIC_BIN := yes
else
STATIC_BIN := no
endif
else ifeq ($(filter yes no,$(STATIC_BIN)),)
$(error STATIC_BIN=$(STATIC_BIN): use auto (the default), yes or no)
endif
TPKG_CFLAGS := $(shell pkg-config --cflags $(TPKGS) 2>/dev/null)
TPKG_LIBS   := $(shell pkg-config --libs $(TPKGS) 2>/dev/null)

# -Werror only for developers and CI, as git's DEVELOPER=1: a user's `make`
# (what autoscale.setup runs, with whatever compiler the host has) shows
# warnings and still builds. The goals only developers run turn it on, and
# the sub-makes of `make check` inherit it.
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
ifneq ($(filter check test tests unit-test asan-test lint fuzz,$(MAKECMDGOALS)),)
DEVELOPER ?= 1
endif
export DEVELOPER
ifeq ($(DEVELOPER),1)
WARN    += -Werror
endif

# COMPAT=old takes the code paths for the oldest libraries the pack supports
# (json-c 0.13 and OpenSSL 1.1: Ubuntu 20.04, EL8) on newer ones, so they are
# built and tested here; on an old host the libraries' version macros select
# them by themselves.
ifeq ($(COMPAT),old)
COMPAT_CFLAGS := -DAS_COMPAT_JSONC_013
else ifneq ($(COMPAT),)
$(error COMPAT=$(COMPAT): the only value is old)
endif

# The version, from pack.yaml's top-level `version:` (quoted or not, spaces
# or not around the colon, a comment after it); anything but X.Y.Z[-pre][+build]
# is no version, and no version is no build.
PACK_YAML ?= pack.yaml
VERSION := $(shell sed -n 's/^version[[:space:]]*:[[:space:]]*\([^[:space:]]*\).*/\1/p' $(PACK_YAML) 2>/dev/null | \
             head -n 1 | tr -d "\"'" | grep -E '^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$$')
ifeq ($(VERSION),)
ifneq ($(filter-out clean deps ensure-deps print-packages,$(or $(MAKECMDGOALS),all)),)
$(error $(PACK_YAML) has no version: want a top-level line `version: "X.Y.Z"`)
endif
endif

CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DAS_VERSION='"$(VERSION)"' $(COMPAT_CFLAGS) $(WARN) $(CFLAGS) $(LIB_INCLUDES) $(PKG_CFLAGS)
# Only objects under tests/ (programs, fakes, support) see the test
# libraries' headers and the test directories.
TEST_CFLAGS = $(TPKG_CFLAGS) -Itests/support -Itests/fakes
LDFLAGS ?=
ALL_LDFLAGS = -Wl,-O1 -Wl,--as-needed $(LDFLAGS)

ifeq ($(SANITIZE),1)
CFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS = -fsanitize=address,undefined
endif

# Quiet output, one line per step (`CC lib/foo.o`); V=1 shows the commands.
# Use as a recipe's prefix: $(call quiet,LINK)$(CC) ...
ifeq ($(V),1)
quiet =
else
quiet = @printf '  %-5s %s\n' '$1' '$(patsubst $(BUILD)/%,%,$@)';
endif

# What this tree's objects were built with. A different compiler, flags,
# COMPAT or STATIC_DEPS rebuilds the tree rather than mixing objects. Not in
# it: -Werror (it changes no output, and `make` then `make tests` must not
# rebuild everything) and the version (only the objects that use it depend
# on pack.yaml, below).
FLAGS_STAMP := $(BUILD)/.build-flags
BUILD_FLAGS = $(subst ',,$(CC) $(filter-out -Werror -DAS_VERSION=%,$(ALL_CFLAGS)) $(TEST_CFLAGS) $(ALL_LDFLAGS) $(PKG_LIBS) STATIC_BIN=$(STATIC_BIN))

# Release binaries live where st2's entry_point (bin/<name>) finds them;
# other builds keep theirs inside their own tree.
ifeq ($(BUILD),build/release)
BINDIR := actions/bin
else
BINDIR := $(BUILD)/bin
endif

# lib/ by area (core, store, model, alert, compute, dns, lb, notify, chef;
# HACKING.md) and the action front end, actions/runner/ (argv, --help, the
# operator CLI): one archive, every folder on the include path.
LIB_DIRS   := $(sort $(dir $(wildcard lib/*/*.h))) actions/runner/
LIB_INCLUDES := $(patsubst %/,-I%,$(LIB_DIRS))
# lib/link/ holds link-time substitutes, which are not archive members
# (lib/link/README.md).
LIB_SRC    := $(filter-out lib/link/%,$(wildcard lib/*/*.c actions/runner/*.c))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A      := $(BUILD)/libautoscale.a
ACTION_SRC := $(wildcard actions/src/*.c)
# The actions are two multi-call binaries (actions/runner/cli.h): actions/bin/autoscale,
# and autoscale_chef for the two that need libssh and OpenSSL, which every
# action would otherwise load at each start (actions/src/autoscale_chef.c).
# actions/bin/<action>, which st2's entry_point bin/<action> runs, is a link
# made here (actions/bin/ is not in git, so st2 pack install and git see no
# link). actions/src/autoscale*.c are the main()s, not actions.
ACTIONS    := $(filter-out autoscale autoscale_chef autoscale_curl,$(notdir $(ACTION_SRC:.c=)))
CHEF_ACTIONS := chef_bootstrap chef_cleanup
CHEF_OBJ   := $(patsubst %,$(BUILD)/actions/src/%.o,autoscale_chef $(CHEF_ACTIONS))
CURL_OBJ   := $(BUILD)/actions/src/autoscale_curl.o
ACTION_OBJ := $(filter-out $(CHEF_OBJ) $(CURL_OBJ),$(ACTION_SRC:%.c=$(BUILD)/%.o))
MULTI_BIN  := $(BINDIR)/autoscale
CHEF_BIN   := $(BINDIR)/autoscale_chef
# The helper that carries a static autoscale's libcurl requests (STATIC_BIN).
CURL_BIN   := $(BINDIR)/autoscale_curl
# What the static autoscale links before the archive (lib/link/README.md).
LINK_SUBST_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard lib/link/*.c))
ACTION_BIN := $(ACTIONS:%=$(BINDIR)/%)
# Programs the pack ships beside its actions (the local provider's demo app).
DEMO_SRC   := $(wildcard demo/*.c)
DEMO_BIN   := $(patsubst demo/%.c,$(BINDIR)/%,$(DEMO_SRC))

SUPPORT_SRC := $(wildcard tests/support/*.c) $(filter-out %_main.c,$(wildcard tests/fakes/*.c))
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/%.o)
SUPPORT_A   := $(BUILD)/libtestsupport.a
# tests/unit/ mirrors lib/'s folders; every program lands in $(BUILD)/tests/.
UNIT_SRC    := $(wildcard tests/unit/*/test_*.c)
TEST_SRC    := $(UNIT_SRC) $(wildcard tests/e2e/test_*.c)
TEST_BIN    := $(addprefix $(BUILD)/tests/,$(notdir $(TEST_SRC:.c=)))
PY_TESTS    := $(wildcard tests/*/test_*.py)
FAKE_SRC    := $(wildcard tests/fakes/*_main.c)
FAKE_BIN    := $(addprefix $(BUILD)/tests/,$(notdir $(FAKE_SRC:_main.c=)))

.PHONY: all check test tests bench-progs lint bench deps ensure-deps demo clean asan-test fuzz print-packages
.PHONY: print-version print-includes unit-test FORCE
all: $(ACTION_BIN) $(CURL_BIN) $(DEMO_BIN)

# What ships (lib/, actions/, demo/): the runtime flags only. make takes
# the rule with the shortest stem, so tests/ objects get the next one.
$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(call quiet,CC)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(call quiet,CC)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

# Rewritten only when the flags differ, so its date says when they changed.
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(BUILD_FLAGS)' | cmp -s - $@ || printf '%s\n' '$(BUILD_FLAGS)' > $@

FORCE:

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(call quiet,AR)ar rcs $@ $^

# STRIP_BIN=1 (the install path, actions/setup.sh) links without symbols;
# developer builds keep -g's symbols for gdb and sanitizer reports.
ifeq ($(STATIC_BIN),yes)
$(MULTI_BIN): $(ACTION_OBJ) $(LINK_SUBST_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) -static $(ALL_LDFLAGS) $(STATIC_BIN_WRAP) $(if $(filter 1,$(STRIP_BIN)),-s) $(ACTION_OBJ) $(LINK_SUBST_OBJ) $(LIB_A) $(STATIC_BIN_LIBS) -o $@
else
$(MULTI_BIN): $(ACTION_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(ALL_LDFLAGS) $(if $(filter 1,$(STRIP_BIN)),-s) $(ACTION_OBJ) $(LIB_A) $(PKG_LIBS) -lm -o $@
endif

$(CURL_BIN): $(CURL_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(ALL_LDFLAGS) $(if $(filter 1,$(STRIP_BIN)),-s) $(CURL_OBJ) $(LIB_A) $(PKG_LIBS) -lm -o $@

$(CHEF_BIN): $(CHEF_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(ALL_LDFLAGS) $(if $(filter 1,$(STRIP_BIN)),-s) $(CHEF_OBJ) $(LIB_A) $(PKG_LIBS) -lm -o $@

# Relative, so the pack directory may be moved or copied whole.
$(filter-out $(CHEF_ACTIONS:%=$(BINDIR)/%),$(ACTION_BIN)): $(MULTI_BIN)
	$(call quiet,LN)ln -sf autoscale $@

$(CHEF_ACTIONS:%=$(BINDIR)/%): $(CHEF_BIN)
	$(call quiet,LN)ln -sf autoscale_chef $@

$(BINDIR)/%: $(BUILD)/demo/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(ALL_LDFLAGS) $< $(LIB_A) $(PKG_LIBS) -lm -o $@

$(SUPPORT_A): $(SUPPORT_OBJ)
	@rm -f $@
	$(call quiet,AR)ar rcs $@ $^

# One link rule per unit program: its source sits in tests/unit/<area>/.
define unit_program
$(BUILD)/tests/$(notdir $(basename $1)): $(BUILD)/$(1:.c=.o) $(SUPPORT_A) $(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(call quiet,LINK)$$(CC) $$(ALL_LDFLAGS) $$< $$(SUPPORT_A) $$(LIB_A) $$(TPKG_LIBS) $$(PKG_LIBS) -lpthread -lm -o $$@
endef
$(foreach src,$(UNIT_SRC),$(eval $(call unit_program,$(src))))

$(BUILD)/tests/%: $(BUILD)/tests/e2e/%.o $(SUPPORT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(ALL_LDFLAGS) $< $(SUPPORT_A) $(LIB_A) $(TPKG_LIBS) $(PKG_LIBS) -lpthread -lm -o $@

$(BUILD)/tests/%: $(BUILD)/tests/fakes/%_main.o $(SUPPORT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(ALL_LDFLAGS) $< $(SUPPORT_A) $(LIB_A) $(TPKG_LIBS) $(PKG_LIBS) -lpthread -lm -o $@

tests: $(ACTION_BIN) $(CURL_BIN) $(DEMO_BIN) $(TEST_BIN) $(FAKE_BIN)

# The bench's C programs (bench/*.c) in $(BUILD)/bench/: the bench scripts
# run these and compile nothing themselves, and `make check` builds them,
# so a change that breaks one fails the check (make bench once broke on
# add_node's new parameter and nothing saw it). hello is the startup
# floor, static so no loader runs; harness and wal_cycles stand alone;
# openstack_requests drives lib/compute against the OpenStack fake.
BENCH_DIR := $(BUILD)/bench
BENCH_BIN := $(patsubst bench/%.c,$(BENCH_DIR)/%,$(wildcard bench/*.c))
BENCH_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 $(WARN)
bench-progs: $(BENCH_BIN)
$(BENCH_DIR)/hello: bench/hello.c
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(BENCH_CFLAGS) -static $< -o $@
$(BENCH_DIR)/harness: bench/harness.c
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(BENCH_CFLAGS) $< -o $@
$(BENCH_DIR)/wal_cycles: bench/wal_cycles.c
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(BENCH_CFLAGS) $< -o $@ $(PKG_LIBS)
$(BENCH_DIR)/openstack_requests: bench/openstack_requests.c $(SUPPORT_A) $(LIB_A) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(call quiet,LINK)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $(ALL_LDFLAGS) $< $(SUPPORT_A) $(LIB_A) $(TPKG_LIBS) $(PKG_LIBS) -lpthread -lm -o $@

# Test programs run TEST_JOBS at a time (tests/run.sh), each with its own
# log in $(BUILD)/test-logs/: most of their time is spent waiting (servers
# starting, child processes, timeouts), so more run at once than there are
# cores. TEST_JOBS=1 runs them one after another.
TEST_JOBS  ?= 4
TEST_PROGS  = $(TEST_BIN:$(BUILD)/tests/%=%) $(PY_TESTS)
# $(call run_tests,PROGS): one pass of PROGS on this build, then its report:
# every log, the ten slowest, "tests: N passed, M failed", the failures.
run_tests = sh tests/run.sh $(TEST_JOBS) $(BUILD)=$(abspath $(BINDIR)) -- $1

# One pass of every test program against this build's binaries.
test: tests
	@$(call run_tests,$(TEST_PROGS))

lint: all
	$(PYTHON) tools/packlint.py .
	$(PYTHON) tools/include_graph.py

asan-test:
	$(MAKE) BUILD=build/asan SANITIZE=1 test

# The ASan build is made beside the release build and the lint. Then both
# passes (`make test` and `make asan-test`) run in one pool of TEST_JOBS,
# the ASan programs among the release ones, longest first, with the fuzzers
# beside them (one core, niced as the short tests are: the CPU goes to the
# longest test first). The reports are
# build/check-release.log and build/check-asan.log, the fuzzers' output
# build/check-fuzz.log. What failed, in all three, is listed last and kept
# in build/check-failures.txt (which .ci/run prints again).
CHECK_TREES := build/release=$(abspath actions/bin) build/asan=$(abspath build/asan/bin)
check: ensure-deps
	@mkdir -p build && rm -f build/check-failures.txt build/check-fuzz.rc
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 tests & pid=$$!; \
	  $(MAKE) --no-print-directory tests bench-progs && $(MAKE) --no-print-directory lint; rc=$$?; \
	  wait $$pid && test $$rc -eq 0 || \
	  { echo "FAILED: lint, or building the tests (the errors are above)" | \
	    tee build/check-failures.txt; exit 1; }
	@{ nice -n 5 $(MAKE) --no-print-directory fuzz > build/check-fuzz.log 2>&1; \
	   echo $$? > build/check-fuzz.rc; } & \
	  sh tests/run.sh $(TEST_JOBS) $(CHECK_TREES) -- $(TEST_PROGS); rc=$$?; \
	  wait; rc2=$$(cat build/check-fuzz.rc 2>/dev/null || echo 1); \
	  cp build/release/test-logs/report.txt build/check-release.log; \
	  cp build/asan/test-logs/report.txt build/check-asan.log; \
	  cat build/check-fuzz.log; \
	  cat build/release/test-logs/failures.txt build/asan/test-logs/failures.txt \
	    > build/check-failures.txt; \
	  if [ $$rc2 -ne 0 ]; then echo "FAILED fuzz: last lines of build/check-fuzz.log:"; \
	    tail -n 40 build/check-fuzz.log | sed 's/^/    | /'; fi >> build/check-failures.txt; \
	  sh tests/summary.sh build/check-release.log build/check-asan.log; \
	  cat build/check-failures.txt; \
	  test $$rc -eq 0 -a $$rc2 -eq 0

# Every parser of outside input under libFuzzer (clang, ASan+UBSan): webhook
# bodies, argv, stored records, HAProxy's and every HTTP API's replies,
# known_hosts; each seeded from tests/fuzz/seeds/, for a bounded number of
# inputs (FUZZ_RUNS overrides every target's default; tests/fuzz/run.sh).
fuzz:
	@sh tests/fuzz/run.sh

bench: all
	sh bench/run.sh

# The build and test packages (scripts/install-deps.sh; as root, or it prints
# the command); LISTS= picks others: runtime, build, test.
LISTS ?= build test
deps:
	sh scripts/install-deps.sh $(LISTS)

# Installs missing packages when run as root; otherwise names them and fails.
ensure-deps:
	@sh scripts/ensure-deps.sh

demo: ensure-deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh

# The packages of LISTS, named for this host's package manager.
print-packages:
	@sh deps/packages.sh $(LISTS)

print-version:
	@echo $(VERSION)

# The -I flags of lib/'s folders, for scripts that compile against it (fuzz).
print-includes:
	@echo $(LIB_INCLUDES)

# The unit test programs only (quick; .ci/run runs them on the clang and
# COMPAT=old builds).
UNIT_BIN := $(filter $(addprefix $(BUILD)/tests/,$(notdir $(basename $(UNIT_SRC)))),$(TEST_BIN))
unit-test: tests
	@$(call run_tests,$(UNIT_BIN:$(BUILD)/tests/%=%))

clean:
	rm -rf build actions/bin bench/out

# Keep objects that implicit rule chains would delete as intermediates.
.SECONDARY:

-include $(LIB_OBJ:.o=.d) $(SUPPORT_OBJ:.o=.d) $(ACTION_SRC:%.c=$(BUILD)/%.d) \
         $(TEST_SRC:%.c=$(BUILD)/%.d) $(FAKE_SRC:%.c=$(BUILD)/%.d) \
         $(DEMO_SRC:%.c=$(BUILD)/%.d)

# The objects that use the version (the User-Agent, --version) are rebuilt
# when pack.yaml changes; the others are not.
VERSION_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(shell grep -l AS_VERSION lib/*/*.c actions/runner/*.c actions/src/*.c 2>/dev/null))
ifneq ($(VERSION_OBJ),)
$(VERSION_OBJ): $(PACK_YAML)
endif
