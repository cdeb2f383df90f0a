# autoscale - StackStorm pack of C actions. See README.md.
#
#   make            build the library and every action into actions/bin/
#   make demo       the whole lifecycle, locally, on the embedded defaults (installs packages as root)
#   make check      lint + all tests, all tests again under ASan+UBSan, and the fuzzers
#   make test       the tests once, on the normal build
#   make bench      benchmarks; prints a table and writes bench/RESULTS.md
#   make deps       install deps/debian-packages.txt (as root; prints the command otherwise)
#   make clean
#
# BUILD selects the output tree; SANITIZE=1 builds with ASan+UBSan.

# No built-in implicit rules: with them make asked, for every header in the
# generated .d files, whether some RCS/SCCS/yacc rule could remake it, which
# took 45 s of CPU per invocation even with nothing to build.
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

CC      ?= cc
BUILD   ?= build/release
PKGS    := libcurl json-c sqlite3 yaml-0.1 libssh libcrypto
TPKGS   := cmocka libmicrohttpd
PYTHON  ?= /usr/bin/python3

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# What every binary links. libcurl is not in it: lib/http.c dlopen()s it on
# first use (its headers still come from PKG_CFLAGS), because loading its ~30
# dependencies cost ~20 ms and ~6 MiB on every action start (bench/README.md).
# json-c and SQLite are linked statically (the .a files ship in libjson-c-dev
# and libsqlite3-dev): ~1 ms CPU and ~15 page faults less per start.
PKG_LIBS   := -Wl,-Bstatic $(shell pkg-config --libs json-c sqlite3 2>/dev/null) -Wl,-Bdynamic \
              $(shell pkg-config --libs yaml-0.1 libssh libcrypto 2>/dev/null) -lm -lpthread -ldl
TPKG_CFLAGS := $(shell pkg-config --cflags $(TPKGS) 2>/dev/null)
TPKG_LIBS   := $(shell pkg-config --libs $(TPKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
CFLAGS  ?= -O2 -g
VERSION := $(shell sed -n 's/^version: *"\(.*\)"/\1/p' pack.yaml)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DAS_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) -Ilib $(PKG_CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS = -Wl,-O1 -Wl,--as-needed $(LDFLAGS)

ifeq ($(SANITIZE),1)
CFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS = -fsanitize=address,undefined
endif

# Release binaries live where st2's entry_point (bin/<name>) finds them;
# other builds keep theirs inside their own tree.
ifeq ($(BUILD),build/release)
BINDIR := actions/bin
else
BINDIR := $(BUILD)/bin
endif

LIB_SRC    := $(wildcard lib/*.c)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A      := $(BUILD)/libautoscale.a
ACTION_SRC := $(wildcard actions/src/*.c)
ACTIONS    := $(notdir $(ACTION_SRC:.c=))
ACTION_BIN := $(ACTIONS:%=$(BINDIR)/%)
# Programs the pack ships beside its actions (the local provider's demo app).
DEMO_SRC   := $(wildcard demo/*.c)
DEMO_BIN   := $(patsubst demo/%.c,$(BINDIR)/%,$(DEMO_SRC))

SUPPORT_SRC := $(wildcard tests/support/*.c) $(filter-out %_main.c,$(wildcard tests/fakes/*.c))
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/%.o)
SUPPORT_A   := $(BUILD)/libtestsupport.a
TEST_SRC    := $(wildcard tests/unit/test_*.c tests/e2e/test_*.c)
TEST_BIN    := $(addprefix $(BUILD)/tests/,$(notdir $(TEST_SRC:.c=)))
PY_TESTS    := $(wildcard tests/*/test_*.py)
FAKE_SRC    := $(wildcard tests/fakes/*_main.c)
FAKE_BIN    := $(addprefix $(BUILD)/tests/,$(notdir $(FAKE_SRC:_main.c=)))

.PHONY: all check test tests lint bench deps ensure-deps demo clean asan-test fuzz print-packages
all: $(ACTION_BIN) $(DEMO_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TPKG_CFLAGS) -Itests/support -Itests/fakes -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(BUILD)/actions/src/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(LIB_A) $(PKG_LIBS) -lm -o $@

$(BINDIR)/%: $(BUILD)/demo/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(LIB_A) $(PKG_LIBS) -lm -o $@

$(SUPPORT_A): $(SUPPORT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(SUPPORT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(SUPPORT_A) $(LIB_A) $(TPKG_LIBS) $(PKG_LIBS) -lpthread -lm -o $@

$(BUILD)/tests/%: $(BUILD)/tests/e2e/%.o $(SUPPORT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(SUPPORT_A) $(LIB_A) $(TPKG_LIBS) $(PKG_LIBS) -lpthread -lm -o $@

$(BUILD)/tests/%: $(BUILD)/tests/fakes/%_main.o $(SUPPORT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $< $(SUPPORT_A) $(LIB_A) $(TPKG_LIBS) $(PKG_LIBS) -lpthread -lm -o $@

tests: $(ACTION_BIN) $(DEMO_BIN) $(TEST_BIN) $(FAKE_BIN)

# One pass of every test program against this build's binaries.
test: tests
	@AUTOSCALE_BIN_DIR=$(CURDIR)/$(BINDIR) AUTOSCALE_TEST_DIR=$(CURDIR)/$(BUILD)/tests \
	  sh tests/run.sh $(BUILD)/tests $(TEST_BIN:$(BUILD)/tests/%=%) $(PY_TESTS)

lint: all
	$(PYTHON) tools/packlint.py .

asan-test:
	$(MAKE) BUILD=build/asan SANITIZE=1 test

check: ensure-deps
	@$(MAKE) --no-print-directory lint
	@mkdir -p build
	@$(MAKE) --no-print-directory test > build/check-release.log 2>&1; rc=$$?; \
	  cat build/check-release.log; \
	  $(MAKE) --no-print-directory asan-test > build/check-asan.log 2>&1; rc2=$$?; \
	  cat build/check-asan.log; \
	  $(MAKE) --no-print-directory fuzz; rc3=$$?; \
	  sh tests/summary.sh build/check-release.log build/check-asan.log; \
	  test $$rc -eq 0 -a $$rc2 -eq 0 -a $$rc3 -eq 0

# Every parser of outside input under libFuzzer (clang, ASan+UBSan): webhook
# bodies, argv, stored records, HAProxy's and every HTTP API's replies,
# known_hosts; each seeded from tests/fuzz/seeds/, for a bounded number of
# inputs (FUZZ_RUNS overrides every target's default; tests/fuzz/run.sh).
fuzz:
	@sh tests/fuzz/run.sh

bench: all
	sh bench/run.sh

deps:
	sh scripts/install-deps.sh

# Installs missing packages when run as root; otherwise names them and fails.
ensure-deps:
	@sh scripts/ensure-deps.sh

demo: ensure-deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh

print-packages:
	@grep -v '^[[:space:]]*#' deps/debian-packages.txt | tr -s ' \n' ' '; echo

clean:
	rm -rf build actions/bin bench/out

# Keep objects that implicit rule chains would delete as intermediates.
.SECONDARY:

-include $(LIB_OBJ:.o=.d) $(SUPPORT_OBJ:.o=.d) $(ACTION_SRC:%.c=$(BUILD)/%.d) \
         $(TEST_SRC:%.c=$(BUILD)/%.d) $(FAKE_SRC:%.c=$(BUILD)/%.d) \
         $(DEMO_SRC:%.c=$(BUILD)/%.d)

# The User-Agent carries the pack version.
$(BUILD)/lib/http.o: pack.yaml
