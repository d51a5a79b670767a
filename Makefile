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

.PHONY: all build library install run test lint test-rust test-c test-python test-types test-doctest header bench clean

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

test: lint test-rust test-c test-python test-pypy test-types test-doctest test-hooks
	@echo "make test: all suites passed"

# Formatters and linters. The unsafe and documentation lints are set in Cargo.toml's
# [lints] (unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks, missing_docs).
lint: $(VENV)/.ready
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet
	$(PY) -m ruff check py tests bench tools examples
	$(PY) -m ruff format --check py tests bench tools examples

test-rust:
	$(CARGO) test --quiet

test-c: build
	$(MAKE) -C tests/c run valgrind
	$(MAKE) -C tests/install run

test-python: build $(CBINDGEN)
	CBINDGEN=$(abspath $(CBINDGEN)) OXBRIDGE_REQUIRE_CBINDGEN=1 $(PY) -m pytest tests/python -q

# The Python tests that need no numpy, under PyPy 3 (Debian's pypy3, unpacked into
# .tools/pypy once by tools/pypy.sh): the package through ctypes, test_cffi.py through cffi.
# (The cbindgen-vs-header comparison, the same on any interpreter, is test-python's.)
.PHONY: test-pypy
test-pypy: build
	PIP=$(abspath $(VENV))/bin/pip tools/pypy.sh
	.tools/bin/pypy3 -m pytest tests/python -q -p no:cacheprovider

# The panic boundary: the release build plus test-only exports that panic on purpose
# (cargo feature test-hooks), built into its own target dir so target/release is untouched.
.PHONY: test-hooks
test-hooks: $(VENV)/.ready
	$(CARGO) build --quiet --profile hooks --features test-hooks --target-dir target/hooks
	OXBRIDGE_HOOKS_LIBRARY=$(abspath target/hooks/hooks/liboxbridge.so) $(PY) -m pytest tests/python/test_panic_boundary.py tests/python/test_fault_injection.py -q

test-types: build
	$(PY) -m mypy --strict py/oxbridge

test-doctest: build
	$(PY) -m pytest --doctest-modules py/oxbridge -q

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
	$(PY) bench/bench_arrow.py
	$(PY) bench/bench_compressed.py
	$(PY) bench/bench_dask.py
	$(PY) bench/chart.py

clean:
	$(CARGO) clean
	rm -rf build $(VENV) .tools fuzz/target

# Fuzzing: cargo-fuzz targets in fuzz/ whose bodies are src/fuzzing/, one file per target
# (the CSV reader, the npy header and file, the expression compiler and evaluator).
# `make fuzz`: libFuzzer with AddressSanitizer on the nightly toolchain, each target for
# FUZZ_SECONDS (cargo-fuzz goes into .tools on first use: ~1 min of CPU, 3 min on a busy
# 2-core machine; the ASan build of the targets ~1.5 min of CPU, more after any change in
# src: too slow and too toolchain-dependent for `make test`). New inputs go to
# fuzz/corpus/<target>, crashes to fuzz/artifacts/<target> (both ignored by git): a crash
# copied into fuzz/seeds/<target>/ becomes a regression test of `cargo test`.
# `make test-fuzz`: the same bodies on stable, as plain tests over the seeds and
# FUZZ_CASES random mutations per property; `make test` runs them already (test-rust,
# 300 mutations each, under a second).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= csv npy expr
FUZZ_TOOLCHAIN ?= nightly
FUZZ_CASES ?= 20000
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := .tools/bin/cargo-fuzz

$(CARGO_FUZZ):
	$(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root .tools --quiet

.PHONY: fuzz test-fuzz
fuzz: $(CARGO_FUZZ)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t || exit 1; \
		seeds=$(abspath fuzz/seeds)/$$t; [ $$t = csv ] && seeds="$$seeds $(abspath tests/data/csv)"; \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
		PATH=$(abspath .tools/bin):$$PATH cargo +$(FUZZ_TOOLCHAIN) fuzz run --fuzz-dir fuzz $$t \
			$(abspath fuzz/corpus)/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) \
			-dict=$(abspath fuzz/dicts)/$$t.dict -timeout=10 -rss_limit_mb=4096 \
			-print_final_stats=1 || exit 1; \
	done

test-fuzz:
	OXBRIDGE_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --quiet --lib fuzzing::
