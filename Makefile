# Two commands on a fresh machine:  make demo  and  make test.
# Everything else here is what those two need; each step runs only when missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
EXT := prospector/_core.stamp
KENNEY_DIR ?= $(abspath ../shared/kenney)

.PHONY: demo test setup build docs bench parity clean site site-serve site-deps test-deps deploy-deps \
	native-deps sanitize valgrind fuzz

setup: $(DEPS) $(EXT)

# pip at -qq prints errors only: its warnings here are about the machine's pip configuration
# (an extra index folder that does not exist prints one line per package), not about this project.
PIP_INSTALL := $(PY) -m pip install -qq --progress-bar off

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip

# The package and every extra (train, play, site, dev), at the versions requirements.txt pins.
# pufferlib-core brings torch: about 7 GB and 2-4 minutes on a first run.
$(DEPS): requirements.txt pyproject.toml | $(PY)
	@echo "setup: installing Python packages into $(VENV) (torch, PufferLib, W&B, Sanic, mkdocs, Playwright;"
	@echo "       about 7 GB, 2-4 minutes the first time; nothing is downloaded again later)"
	$(PIP_INSTALL) -c requirements.txt setuptools
	@# setuptools warns about every editable install of a package-dir mapping (docs/architecture.md#packaging)
	PYTHONWARNINGS=ignore::UserWarning $(PIP_INSTALL) --no-build-isolation -c requirements.txt -e ".[dev]"
	@# A build in the checkout (tests/test_packaging.py) leaves asteroid_prospector.egg-info here,
	@# which shadows the install's entry points for commands run from this folder: refresh it too.
	if [ -d asteroid_prospector.egg-info ]; then $(PY) setup.py --quiet egg_info; fi
	touch $@

# The C core, rebuilt whenever its sources change.
$(EXT): ext/prospector.h ext/binding.c setup.py $(DEPS)
	$(PY) setup.py --quiet build_ext --inplace
	touch $@

build: $(EXT)

# Every test. pytest's exit code 5 ("no tests collected") is a failure here.
test: setup test-deps
	@echo "test: about 1,200 tests, real training runs, headless Chromium and C sanitizer builds among them;"
	@echo "      tens of minutes on a 2-core machine"
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The main job with the built-in settings: the baseline bots, the env benchmark, then a
# short training run (3 windows, W&B offline) whose checkpoints, rows and replays
# are listed at the end.
demo: setup
	@echo "demo: bots, env benchmark, 3 training windows, site build: about 5 minutes, then the site is served"
	$(VENV)/bin/prospector bots --episodes 100
	$(VENV)/bin/prospector bench --seconds 3
	$(VENV)/bin/prospector train --windows 3 --config examples/demo.toml
	@$(MAKE) --no-print-directory site
	$(VENV)/bin/prospector site serve --with-play

# ---- static site: uPlot from npm, Debian's chromium for the browser tests.
CHROMIUM ?= /usr/bin/chromium
NODE_DEPS := node_modules/.deps-installed
SITE_ASSETS := $(if $(wildcard $(KENNEY_DIR)),--assets $(KENNEY_DIR),)

# Third-party JS at the versions pinned in package-lock.json (uPlot; not the Vercel CLI).
# uPlot's files are also copied into sitegen/vendor/ (ignored by git), which a wheel built
# from this checkout ships, so an installed `prospector site build` has its charts.
$(NODE_DEPS): package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund
	mkdir -p sitegen/vendor
	cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css sitegen/vendor/
	cp node_modules/uplot/LICENSE sitegen/vendor/uPlot.LICENSE.txt
	touch $@

# Playwright (requirements.txt) drives Debian's chromium; no browser is downloaded.
$(CHROMIUM):
	@echo "test-deps: installing Debian's chromium with apt-get (for the browser tests; about a minute)"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium

site-deps: $(NODE_DEPS)
test-deps: $(NODE_DEPS) $(CHROMIUM) native-deps
# The Vercel CLI too (devDependencies), for `prospector deploy`.
deploy-deps:
	npm ci --no-audit --no-fund && touch $(NODE_DEPS)

# runs/ -> public/ (incremental; pages, JSON API, Kenney art by manifest, docs).
site: setup $(NODE_DEPS)
	$(VENV)/bin/prospector site build $(SITE_ASSETS)

site-serve: site
	$(VENV)/bin/prospector site serve

# ---- C core hardening: AddressSanitizer + UBSan, valgrind, libFuzzer.
# Long forms; tests/test_native.py runs bounded ones in make test. Figures and what
# each checks: docs/reliability.md, "C core". Debian's valgrind and clang (libFuzzer).
NATIVE := build/native
VALGRIND ?= /usr/bin/valgrind
CLANG ?= /usr/bin/clang
FUZZ_SECONDS ?= 600
VALGRIND_FLAGS := --tool=memcheck --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
	--errors-for-leak-kinds=all --track-origins=yes -q

# libclang-rt-dev (libFuzzer's runtime) is only a Recommends of clang: named so it comes anyway.
$(VALGRIND) $(CLANG):
	@echo "native-deps: installing valgrind, clang and libclang-rt-dev with apt-get (the C core's memory checks)"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq valgrind clang libclang-rt-dev

native-deps: $(VALGRIND) $(CLANG)

# 1200 seeds x 6 policies x 1400 steps = 10.08 million checked steps.
sanitize:
	tests/native/build.sh asan $(NATIVE)
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	$(NATIVE)/stress-asan --seeds 1200 --steps-per-run 1400

valgrind: $(VALGRIND)
	tests/native/build.sh valgrind $(NATIVE)
	valgrind $(VALGRIND_FLAGS) $(NATIVE)/stress-valgrind --seeds 1000 --steps-per-run 100

# Coverage-guided; the corpus in build/native/corpus grows across runs.
fuzz: $(CLANG)
	tests/native/build.sh fuzz $(NATIVE)
	mkdir -p $(NATIVE)/corpus
	ASAN_OPTIONS=detect_leaks=1 $(NATIVE)/fuzz-step -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	-rss_limit_mb=2048 -artifact_prefix=$(NATIVE)/ $(NATIVE)/corpus

docs: setup
	$(VENV)/bin/mkdocs build --strict

bench: setup
	$(VENV)/bin/prospector bench

parity: setup
	$(VENV)/bin/prospector parity --seeds 1000 --steps 2000

clean:
	rm -rf build prospector/*.so $(EXT) .pytest_cache

# ---- soak ( not in make test): SOAK_SECONDS of training with the site
# rebuilt every window and the play service under light load; RSS of every process in
# soak/{time}/rss.csv, checks and RSS growth in soak/{time}/report.json.
SOAK_SECONDS ?= 3600
.PHONY: soak
soak: setup $(NODE_DEPS)
	$(PY) -m tests.harness.soak --seconds $(SOAK_SECONDS)

# ---- stress (not in make test): the process, signal, browser and load tests, ROUNDS
# rounds in a row, two sets side by side so both cores are busy (docs/reliability.md)
ROUNDS ?= 20
.PHONY: stress
stress: setup test-deps
	$(PY) -m tests.harness.stress --rounds $(ROUNDS) --out stress
