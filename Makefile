# weightlint — build, test and install.
#
#   make                 dev build (-O1 -g -Werror) of build/weightlint
#   make MODE=asan test  unit, golden and conformance tests under ASan + UBSan (what CI runs)
#   make MODE=release    optimised build
#   make bench           benchmark (see bench/README.md)
#   make test-ort        dequantization checked against onnxruntime (needs npm once)
#   make install PREFIX=/usr/local
#   V=1 shows the full compiler command lines
#
# Library code is src/*.c (built into build/libweightlint.a); the CLI is src/cli/*.c only.
# The protobuf-c code for ONNX is generated at build time from Debian's onnx.proto.

MODE     ?= dev
PREFIX   ?= /usr/local
CC       ?= cc
VERSION  := $(shell cat VERSION)
ONNX_PROTO_DIR ?= /usr/include

BUILD    := build/$(MODE)
V ?= 0
Q := $(if $(filter 1,$(V)),,@)
GEN      := build/gen

STD  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wold-style-definition -Wpointer-arith -Wcast-qual -Wformat=2 -Wundef \
       -Wvla -Wwrite-strings -Wno-sign-conversion -Wnull-dereference -Wimplicit-fallthrough
MODE_dev     = -O1 -g -Werror
MODE_asan    = -O1 -g -Werror -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all
MODE_release = -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
PKGS = libprotobuf-c yaml-0.1 lapacke openblas jansson nettle

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) gsl 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_ALL  = $(STD) $(WARN) $(MODE_$(MODE)) -Iinclude -Isrc -I$(GEN) $(PKG_CFLAGS) \
              -DWL_VERSION='"$(VERSION)"' $(CFLAGS)
GEN_CFLAGS  = $(STD) $(MODE_$(MODE)) -I$(GEN) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(filter -fsanitize=%,$(MODE_$(MODE))) $(LDFLAGS)
# GSL (distribution tests): -lgsl only, not pkg-config's -lgslcblas; OpenBLAS provides CBLAS.
LIBS        = $(PKG_LIBS) -lgsl -lpthread -lm

LIB_SRC  := $(sort $(wildcard src/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/lib/%.o) $(BUILD)/gen/onnx.pb-c.o \
            $(BUILD)/gen/rules_presets.o
CLI_OBJ  := $(CLI_SRC:src/cli/%.c=$(BUILD)/cli/%.o)
LIB      := $(BUILD)/libweightlint.a
BIN      := $(BUILD)/weightlint

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
GEN_TOOLS := $(BUILD)/tests/mkonnx $(BUILD)/tests/distfit_tail

# The README's first command: weightlint on the bundled trained and random-init models.
demo: $(BIN) build/weightlint
	$(BIN) analyze examples/fashion_mlp_trained.onnx examples/fashion_mlp_random.onnx

.PHONY: fuzz demo all test unit golden conformance bench install clean check-symbols format-check \
        test-real-models testdata-smoke test-ort
all: $(BIN) build/weightlint

# build/weightlint always points at the last binary built, whatever the mode.
build/weightlint: $(BIN)
	ln -sf $(MODE)/weightlint $@

# One protoc-c run makes both files (grouped target: -j2 must not run it twice at once).
$(GEN)/onnx/onnx.pb-c.c $(GEN)/onnx/onnx.pb-c.h &: $(ONNX_PROTO_DIR)/onnx/onnx.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(ONNX_PROTO_DIR) $(ONNX_PROTO_DIR)/onnx/onnx.proto

$(BUILD)/gen/onnx.pb-c.o: $(GEN)/onnx/onnx.pb-c.c
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(GEN_CFLAGS) -c $< -o $@

# The built-in rule presets (check --config / extends: default, strict, llm) are embedded
# in the library, so an installed weightlint needs no files: rules/*.yaml -> C byte arrays.
$(GEN)/rules_presets.c: $(sort $(wildcard rules/*.yaml)) tools/gen_rules_presets.sh
	@mkdir -p $(GEN)
	$(Q)sh tools/gen_rules_presets.sh $@ $(sort $(wildcard rules/*.yaml))

$(BUILD)/gen/rules_presets.o: $(GEN)/rules_presets.c
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(GEN_CFLAGS) -c $< -o $@

$(BUILD)/lib/%.o: src/%.c $(GEN)/onnx/onnx.pb-c.h $(wildcard src/*.h) include/weightlint.h
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/cli/%.o: src/cli/%.c $(wildcard src/cli/*.h) $(wildcard src/*.h) include/weightlint.h
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(CFLAGS_ALL) -Isrc/cli -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	@echo '  LD      $@'
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(LIB) $(LIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/wl_test.h $(LIB)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/unit $(LDFLAGS_ALL) -o $@ $< $(LIB) $(LIBS) -lcmocka

$(BUILD)/tests/mkonnx: tests/gen/mkonnx.c $(BUILD)/gen/onnx.pb-c.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/gen/onnx.pb-c.o $(LIBS)

$(BUILD)/tests/distfit_tail: tests/gen/distfit_tail.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(LIBS)

# The test command of the README. Runs every suite and ends with one "N passed, N failed" line.
test: $(BIN) build/weightlint $(UNIT_BIN) $(GEN_TOOLS)
	BUILD=$(BUILD) tests/run_tests.sh

# Optional, needs the network to npm: the 25 real pretrained exports (issue #3).
test-real-models: $(BIN)
	BUILD=$(BUILD) tests/real_models.sh

# Optional, needs npm (or a cached install): weightlint's dequantization against onnxruntime
# itself, one generated model per weight encoding (issue #10; tests/ort/README.md). Exit 77 of
# the script (onnxruntime not fetchable) is reported as SKIPPED, not as passed.
test-ort: $(BIN)
	@BUILD=$(BUILD) tests/ort/run.sh; rc=$$?; \
	if [ $$rc = 77 ]; then echo "test-ort: SKIPPED (onnxruntime-node could not be fetched; see above)"; \
	elif [ $$rc != 0 ]; then echo "test-ort: FAILED"; exit $$rc; fi

# libFuzzer on every reader an attacker reaches (clang; tests/fuzz/README.md): FUZZ_SECONDS
# (default 60) per target, FUZZ_TARGETS to pick some (default all of tests/fuzz/fuzz_*.c).
fuzz: $(BIN)
	FUZZ_PKG_CFLAGS="$(PKG_CFLAGS)" FUZZ_LIBS="$(LIBS)" tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

bench: $(BIN)
	BUILD=$(BUILD) bench/run.sh

check-symbols: $(LIB)
	@bad=$$(nm -g --defined-only $(LIB) | awk 'NF==3 {print $$3}' | grep -v -E '^(wl_|onnx__|protobuf_c_)' || true); \
	if [ -n "$$bad" ]; then echo "non-prefixed exported symbols:"; echo "$$bad"; exit 1; fi; \
	echo "check-symbols: ok"

format-check:
	clang-format --dry-run -Werror src/*.c src/*.h src/cli/*.c include/*.h

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/weightlint/rules \
	           $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/weightlint
	install -m 0644 rules/*.yaml $(DESTDIR)$(PREFIX)/share/weightlint/rules/
	if [ -f docs/weightlint.1 ]; then install -m 0644 docs/weightlint.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf build tests/out
