# atlax — reverse TLS tunnel.  One GNU Makefile for the whole tree.
#
#   make            build bin/atlax-relay, bin/atlax-agent, bin/atlax-pki
#   make deps       install missing Debian packages (apt-get, as root or via sudo)
#   make check      deps + build + every test (unit suites, fuzz smoke, end-to-end)
#   make asan       the same, built with -fsanitize=address,undefined
#   make fuzz       build the libFuzzer targets with clang (FUZZ_SECONDS=N runs them)
#   make demo       deps + build + a live tunnel on loopback (DEMO_SECONDS=N to stop by itself)
#   make bench      the benchmark (QUICK=1 for a short pass)
#   make install PREFIX=/usr/local DESTDIR=
#   make clean
#
# Sources are found by wildcard.  common/ is four libraries, one per folder,
# each linking only what is below it:
#   util   (log, backoff)                       libc
#   proto  (frame, flow, mux)                   util, libevent's evbuffer
#   cfg    (YAML schemas of both daemons)       util, libyaml
#   io     (TLS, tlsio, pump, tunnel, sockread) proto, util, libevent, OpenSSL
#   auth   (JWT verifier and minting)           cfg, util, OpenSSL, jansson
# tests/regress/layering.sh checks that proto needs no event loop and no
# OpenSSL.  In relay/, agent/ and pki/ the file main.c holds main() and the
# other files form a static library that the unit tests can link too.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
BINDIR   ?= bin
VERSION  := 0.1.0

CC       ?= cc
PKGS     := openssl libevent libevent_pthreads yaml-0.1 jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

OPT      ?= -O2
SAN      ?=
CFLAGS   ?=
# -Werror only where we test (make check, make asan): a packager's newer
# compiler may warn about something new, which must not break their build.
WERROR   ?=
WARN     := -Wall -Wextra $(WERROR) -Wshadow -Wpointer-arith -Wformat=2 -Wmissing-prototypes
# Hardening, as Debian's dpkg-buildflags would add it.  The sanitizer build
# drops _FORTIFY_SOURCE (it defeats ASan's interceptors).
HARDEN_CFLAGS := -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2
HARDEN_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
ifneq ($(SAN),)
HARDEN_CFLAGS := -fstack-protector-strong -fPIE
endif
COMMON_DIRS := common/util common/proto common/cfg common/io common/auth
INCS     := $(addprefix -I,$(COMMON_DIRS))
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DATLAX_VERSION=\"$(VERSION)\" $(OPT) -g $(WARN) \
	$(HARDEN_CFLAGS) $(INCS) $(PKG_CFLAGS) $(SAN) $(CFLAGS)
ALL_LDFLAGS := $(SAN) $(HARDEN_LDFLAGS) $(LDFLAGS)
LIBS     := $(PKG_LIBS) -lpthread

UTIL_SRC   := $(wildcard common/util/*.c)
PROTO_SRC  := $(wildcard common/proto/*.c)
CFG_SRC    := $(wildcard common/cfg/*.c)
IO_SRC     := $(wildcard common/io/*.c)
AUTH_SRC   := $(wildcard common/auth/*.c)
RELAY_SRC  := $(filter-out relay/main.c,$(wildcard relay/*.c))
AGENT_SRC  := $(filter-out agent/main.c,$(wildcard agent/*.c))
PKI_SRC    := $(filter-out pki/main.c,$(wildcard pki/*.c))
UNIT_SRC   := $(wildcard tests/unit/check_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBUTIL  := $(BUILD)/libatlax_util.a
LIBPROTO := $(BUILD)/libatlax_proto.a
LIBCFG   := $(BUILD)/libatlax_cfg.a
LIBIO    := $(BUILD)/libatlax_io.a
LIBAUTH  := $(BUILD)/libatlax_auth.a
# Link order: a library before the ones it needs.
LIBATLAX := $(LIBIO) $(LIBAUTH) $(LIBPROTO) $(LIBCFG) $(LIBUTIL)
LIBRELAY := $(BUILD)/librelay.a
LIBAGENT := $(BUILD)/libagent.a
LIBPKI   := $(BUILD)/libpki.a
PROGS    := $(BINDIR)/atlax-relay $(BINDIR)/atlax-agent $(BINDIR)/atlax-pki
UNITS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps check check-unit check-regress check-fuzz asan fuzz demo bench \
	soak-wan install clean
.DEFAULT_GOAL := all

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIBUTIL): $(call obj,$(UTIL_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBPROTO): $(call obj,$(PROTO_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBCFG): $(call obj,$(CFG_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBIO): $(call obj,$(IO_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBAUTH): $(call obj,$(AUTH_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBRELAY): $(call obj,$(RELAY_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBAGENT): $(call obj,$(AGENT_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
$(LIBPKI): $(call obj,$(PKI_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BINDIR)/atlax-relay: $(call obj,relay/main.c) $(LIBRELAY) $(LIBATLAX)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BINDIR)/atlax-agent: $(call obj,agent/main.c) $(LIBAGENT) $(LIBATLAX)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
$(BINDIR)/atlax-pki: $(call obj,pki/main.c) $(LIBPKI) $(LIBATLAX)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/check_%: $(BUILD)/tests/unit/check_%.o $(LIBRELAY) $(LIBAGENT) $(LIBPKI) $(LIBATLAX)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)
$(BUILD)/tests/unit/%.o: ALL_CFLAGS += $(CHECK_CFLAGS) -Itests/unit -Irelay -Iagent -Ipki -Wno-missing-prototypes

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Lists what is missing and installs it (apt-get); nothing when all is there.
deps:
	@sh tests/deps.sh

# Every test, in one summary.  The runner prints "N passed, M failed" last.
check: deps
	@$(MAKE) --no-print-directory WERROR=-Werror all units
	@if command -v clang >/dev/null 2>&1; then $(MAKE) --no-print-directory fuzz-build; \
	else echo "check: clang not found, the fuzz smoke runs are left out"; fi
	@ATLAX_BIN=$(abspath $(BINDIR)) ATLAX_UNITS=$(abspath $(BUILD)/tests) \
		ATLAX_FUZZ="$(FUZZ_CHECK)" sh tests/run.sh $(TESTS)

units: $(UNITS)
.PHONY: units

check-unit: all units
	@ATLAX_BIN=$(abspath $(BINDIR)) ATLAX_UNITS=$(abspath $(BUILD)/tests) sh tests/run.sh unit
check-regress: all
	@ATLAX_BIN=$(abspath $(BINDIR)) ATLAX_UNITS=$(abspath $(BUILD)/tests) sh tests/run.sh regress

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan BINDIR=build/asan/bin OPT=-O1 \
		WERROR=-Werror SAN="$(ASAN_FLAGS)" all units
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ATLAX_ASAN=1 ATLAX_BIN=$(abspath build/asan/bin) \
		ATLAX_UNITS=$(abspath build/asan/tests) sh tests/run.sh $(TESTS)

# libFuzzer targets: tests/fuzz/fuzz_<name>.c, each compiled with clang
# together with the sources of the one library it exercises (and util).
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_DIR  := $(BUILD)/fuzz
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -DATLAX_VERSION=\"$(VERSION)\" -g -O1 $(INCS) $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 30
FUZZ_LIB_fuzz_frame := $(PROTO_SRC) $(UTIL_SRC)
FUZZ_LIB_fuzz_mux   := $(PROTO_SRC) $(UTIL_SRC)
FUZZ_LIB_fuzz_cfg   := $(CFG_SRC) $(UTIL_SRC)
FUZZ_LIB_fuzz_jwt   := $(AUTH_SRC) $(CFG_SRC) $(UTIL_SRC)
.SECONDEXPANSION:
$(FUZZ_DIR)/%: tests/fuzz/%.c $$(FUZZ_LIB_%) $(wildcard common/*/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_$*) $(LIBS)
fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(FUZZ_DIR)/corpus-$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=512 -malloc_limit_mb=256 \
		$(FUZZ_DIR)/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done
fuzz-build: $(FUZZ_BINS)
.PHONY: fuzz-build
FUZZ_CHECK = $(abspath $(FUZZ_BINS))

demo: deps all
	@sh tests/demo.sh

# QUICK=1: a short pass.  WAN=1: plain TCP, ssh -R and atlax across the link
# emulator tests/bench/linkem.c at RTT 20, 50 and 100 ms (bench.sh builds it
# into its work folder; docs/PERFORMANCE.md, section WAN).
bench: deps all
	@sh tests/bench/bench.sh

# Ten minutes of one bulk stream across the link emulator at RTT 50 ms, an
# interactive stream probed beside it every minute (tests/bench/soak_wan.sh):
# do windows or latency creep once the minimum RTT is renewed under load?
soak-wan: deps all
	@DEPS_EXTRA=iperf3 sh tests/deps.sh
	@bash tests/bench/soak_wan.sh

# install: binaries, man pages, systemd units, example configs and docs.
# Every step fails loudly: a missing page or unit is a broken package.  The
# units come from systemd/*.in with this PREFIX's paths, generated afresh in
# $(BUILD)/systemd on each install (a unit pointing at another PREFIX's
# binaries would start nothing).  uninstall removes exactly those files.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR   ?= $(PREFIX)/share/doc/atlax
MANDIR   ?= $(PREFIX)/share/man
UNIT_IN  := $(wildcard systemd/*.service.in)
UNIT_OUT := $(patsubst systemd/%.in,$(BUILD)/systemd/%,$(UNIT_IN))
MAN_PAGES := $(wildcard docs/man/*.[158])
DOC_FILES := config/relay.yaml config/agent.yaml docs/CONFIG.md \
	docs/OPERATIONS.md systemd/relay-low-ports.conf

$(BUILD)/systemd/%: systemd/%.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@DOCDIR@|$(DOCDIR)|g' $< >$@
FORCE:
.PHONY: FORCE uninstall

install: all $(UNIT_OUT)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSTEMDDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(UNIT_OUT) $(DESTDIR)$(SYSTEMDDIR)/
	@echo "install: now run 'systemctl daemon-reload' (see $(DOCDIR)/OPERATIONS.md)"

# Only what install put there; shared folders (bin, man1...) stay.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(PROGS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MAN_PAGES))))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MAN_PAGES))))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(filter %.8,$(MAN_PAGES))))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDDIR)/,$(notdir $(UNIT_OUT)))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

clean:
	rm -rf build bin
