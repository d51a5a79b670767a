# The two commands: `make run` (build and demo) and `make test` (every test).
# Everything they need is installed here: Python packages into .venv, cbindgen into .tools.

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CBINDGEN_VERSION := 0.29.4
CBINDGEN := .tools/bin/cbindgen
LIBRARY := target/release/liboxbridge.so
ABI_VERSION := $(shell sed -n 's/^\#define OXB_ABI_VERSION //p' include/oxbridge.h)
SONAME := liboxbridge.so.$(ABI_VERSION)
# `make install PREFIX=...` (and DESTDIR for staging) puts the C library where a C user expects it.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

.PHONY: all build library install run test lint test-rust test-c test-python header bench clean

all: build

build: $(VENV)/.ready library

# The soname link lets programs linked against target/release run from there.
library:
	$(CARGO) build --release
	ln -sf liboxbridge.so target/release/$(SONAME)

install: library
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 include/oxbridge.h $(DESTDIR)$(INCLUDEDIR)/oxbridge.h
	install -m 755 $(LIBRARY) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liboxbridge.so
	install -m 644 target/release/liboxbridge.a $(DESTDIR)$(LIBDIR)/liboxbridge.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)|' \
		oxbridge.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/oxbridge.pc

$(VENV)/.ready: requirements-dev.txt py/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e py
	touch $@

# Pinned so the checked-in header is reproducible; the header test compares with it.
$(CBINDGEN):
	$(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked --root .tools --quiet

run: build
	$(PY) examples/demo.py
	$(PY) examples/large_file.py

test: lint test-rust test-c test-python
	@echo "make test: all suites passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings

test-rust:
	$(CARGO) test --quiet

test-c: build
	$(MAKE) -C tests/c run valgrind
	$(MAKE) -C tests/install run

test-python: build $(CBINDGEN)
	CBINDGEN=$(abspath $(CBINDGEN)) OXBRIDGE_REQUIRE_CBINDGEN=1 $(PY) -m pytest tests/python -q

# Regenerates include/oxbridge.h from src/ffi, then the Python declarations from it.
header: $(CBINDGEN) $(VENV)/.ready
	$(CBINDGEN) --config cbindgen.toml --crate oxbridge --quiet --output include/oxbridge.h
	$(PY) tools/gen_bindings.py
	$(CARGO) build --release

# One run of every benchmark, then bench/results.png drawn from that run's ratios.
bench: build
	rm -f build/bench/results.jsonl
	$(PY) bench/bench_process_array.py
	$(PY) bench/bench_array.py
	$(PY) bench/bench_expr.py
	$(PY) bench/bench_dataset.py
	$(PY) bench/chart.py

clean:
	$(CARGO) clean
	rm -rf build $(VENV) .tools
