# Daisy: `make demo` starts the local JupyterHub with the Voila apps; `make test` runs every test.
#
# Both install what is missing first, and only that: each install step leaves a
# stamp file named after the hash of the files it depends on (pyproject.toml +
# constraints.txt for Python, package.json + package-lock.json for node), so a
# second run skips straight to the work. Needs Debian/Ubuntu with Python >= 3.11
# and node >= 20; system packages are apt-get installed when run as root.
#
#   make demo [PORT=8000]   set up, write the sample data, start the hub (Ctrl-C stops it)
#   make test [TEST_WORKERS=2]  set up (with chromium), run pytest: unit, nbval, hub + browser e2e
#   make setup              only the Python/node/kernel set-up
#   make lint               ruff check and ruff format --check (part of make test)
#   make sample             only the sample data (daisy data sample)
#   make bench [BENCH_ARGS=--full]  every benchmarks/*.py with its peers: benchmarks/results/, docs/performance.md
#   make clean              remove the venv, node_modules and stamps (keeps data/ and .daisy/)
#   make site CONFIG=/etc/daisy/site.yaml   (root) install or upgrade the site on one machine (docs/deploy-site.md)

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
EXTRAS := hub,service,test,peers
PYTEST_ARGS ?=
# pytest-xdist workers for make test (the end-to-end tests run on one of them, one after another)
TEST_WORKERS ?= 2

PY_HASH := $(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)
NPM_HASH := $(shell cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)
PY_STAMP := $(VENV)/.daisy-install-$(PY_HASH)
NPM_STAMP := node_modules/.daisy-install-$(NPM_HASH)
KERNEL_STAMP := $(VENV)/share/jupyter/kernels/daisy-python3/kernel.json
WORKBENCH_KERNEL_STAMP := $(VENV)/share/jupyter/kernels/daisy-workbench/kernel.json
# the example native plug-ins (plugins/), rebuilt when their sources or the lock change
NATIVE_PKGS := g++ gfortran cmake
PLUGINS := plugins/ringsort plugins/deadtime
PLUGINS_HASH := $(shell { find plugins -type f -not -path '*/build/*' | sort | xargs cat; cat constraints.txt; } 2>/dev/null | sha256sum | cut -c1-16)
PLUGINS_STAMP := $(VENV)/.daisy-plugins-$(PLUGINS_HASH)
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

# Debian packages: building sherpa (peers extra) from source, and the test browser
BUILD_PKGS := bison flex byacc libfftw3-dev pkg-config
BUILD_CMDS := bison flex byacc pkg-config
# $(call apt_install,PKGS): install quietly; on failure refresh the package lists once and retry
apt_install = DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) >/dev/null || \
  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) >/dev/null; }

CONFIG ?= /etc/daisy/site.yaml

.PHONY: site help demo test lint setup setup-test sample system-deps native-deps chromium container-test-setup node-check clean postgresql

help:
	@sed -n '1,16p' Makefile | sed 's/^# \{0,1\}//'

demo: setup sample
	@PORT=$(PORT) $(PY) hub_config/demo.py

test: setup-test lint
	@mkdir -p test-artifacts
	$(PY) -m pytest tests notebooks apps --nbval-lax --timeout=900 --durations=25 -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS); \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: failing" >&2; fi; exit $$rc

setup: $(PY_STAMP) $(PLUGINS_STAMP) $(NPM_STAMP) $(KERNEL_STAMP) $(WORKBENCH_KERNEL_STAMP)

# ruff (rules in pyproject.toml [tool.ruff]): any finding or unformatted file fails `make test`
lint: $(PY_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

setup-test: setup chromium container-test-setup postgresql

# the catalog tests start a throw-away PostgreSQL cluster (tests/store/pg_cluster.py); without it they skip
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  if [ "$(IS_ROOT)" = yes ]; then echo "make: apt-get install postgresql"; $(call apt_install,postgresql); \
	  else echo "make: PostgreSQL is missing; the catalog tests on PostgreSQL will skip: sudo apt-get install postgresql" >&2; fi; }

# the site on one machine: a system account per user, the facility's login, HTTPS (docs/deploy-site.md)
site: setup
	@$(PY) -m daisy_widgets.cli site install --config $(CONFIG)

sample: $(PY_STAMP)
	@$(VENV)/bin/daisy data sample

# every benchmark in benchmarks/ (quick sizes; BENCH_ARGS=--full: their defaults), not part of `make test`
.PHONY: bench
BENCH_ARGS ?=
bench: setup
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/run_all.py $(BENCH_ARGS)

# --- Python ---------------------------------------------------------------------------
$(PY_STAMP):
	@$(MAKE) --no-print-directory system-deps
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "make: Daisy needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)." >&2; \
	  echo "      Install python3.11+ (apt-get install python3 python3-venv) or run: make PYTHON=python3.12 ..." >&2; \
	  exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV) || { \
	  echo "make: could not create $(VENV); on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 1; }
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pip install --disable-pip-version-check -q \
	  -c constraints.txt -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.daisy-install-*
	@touch $@

system-deps:
	@missing=""; for c in $(BUILD_CMDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	  [ -n "$$missing" ] || pkg-config --exists fftw3 || missing="$$missing libfftw3-dev"; \
	  $(PYTHON) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	  if [ -n "$$missing" ]; then \
	    if [ "$(IS_ROOT)" = yes ]; then \
	      echo "make: apt-get install $(BUILD_PKGS) python3-venv (missing:$$missing)"; \
	      $(call apt_install,$(BUILD_PKGS) python3-venv); \
	    else \
	      echo "make: missing system packages:$$missing (needed to build sherpa and the venv)." >&2; \
	      echo "      Run as root, or: sudo apt-get install $(BUILD_PKGS) python3-venv" >&2; exit 1; \
	    fi; \
	  fi

# --- native plug-ins: the example plug-ins of plugins/ (C++, Fortran) built into the venv ---------
# Built with the venv's build tools (the test extra: scikit-build-core, nanobind, meson-python),
# offline (--no-build-isolation); stamped by the hash of plugins/ and the lock, so a second run skips.

$(PLUGINS_STAMP): $(PY_STAMP)
	@$(MAKE) --no-print-directory native-deps
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pip install --disable-pip-version-check -q \
	  --no-build-isolation --no-deps -c constraints.txt $(addprefix ./,$(PLUGINS))
	@rm -f $(VENV)/.daisy-plugins-*
	@touch $@

native-deps:
	@missing=""; for c in $(NATIVE_PKGS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$(IS_ROOT)" = yes ]; then \
	      echo "make: apt-get install $(NATIVE_PKGS) (missing:$$missing)"; \
	      $(call apt_install,$(NATIVE_PKGS)); \
	    else \
	      echo "make: missing compilers:$$missing (needed to build the native plug-ins in plugins/)." >&2; \
	      echo "      Run as root, or: sudo apt-get install $(NATIVE_PKGS)" >&2; exit 1; \
	    fi; \
	  fi

# --- node: configurable-http-proxy into node_modules/ ----------------------------------
node-check:
	@command -v node >/dev/null || { echo "make: node (>= 20) is missing: the hub's proxy (configurable-http-proxy) needs it." >&2; \
	  echo "      Install Node.js 20 or newer (https://nodejs.org, or NodeSource's Debian packages), then re-run." >&2; exit 1; }
	@node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' || { \
	  echo "make: node $$(node --version) is too old: the hub's proxy needs node >= 20." >&2; exit 1; }
	@command -v npm >/dev/null || { echo "make: npm is missing (it comes with Node.js >= 20)." >&2; exit 1; }

$(NPM_STAMP): package.json package-lock.json | node-check
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# --- the Jupyter kernel "Daisy (Python 3)" ------------------------------------------------
$(KERNEL_STAMP): kernels/daisy-python3/kernel.json $(PY_STAMP)
	$(VENV)/bin/jupyter kernelspec install kernels/daisy-python3 --sys-prefix --name daisy-python3 >/dev/null
	@touch $@

# --- the Jupyter kernel "Daisy Workbench (Python 3)": docks the workbench's panels when it starts ---
$(WORKBENCH_KERNEL_STAMP): kernels/daisy-workbench/kernel.json $(PY_STAMP)
	$(VENV)/bin/jupyter kernelspec install kernels/daisy-workbench --sys-prefix --name daisy-workbench >/dev/null
	@touch $@

# --- the test browser --------------------------------------------------------------------
chromium:
	@[ -x /usr/bin/chromium ] || { \
	  if [ "$(IS_ROOT)" = yes ]; then echo "make: apt-get install chromium"; \
	    $(call apt_install,chromium); \
	  else echo "make: /usr/bin/chromium is missing; the browser tests need it: sudo apt-get install chromium" >&2; exit 1; fi; }

# --- the container test (tests/k8s/test_container_runtime.py) ---------------------------------
# No image registry is reachable: podman builds a minimal image from a debootstrap'd Debian
# rootfs and a wheelhouse (images/testing/prepare-test-rootfs.sh). As root: installed once;
# otherwise (or when it cannot be prepared) the test skips and says why.
CONTAINER_ROOTFS := test-artifacts/k8s/rootfs-bookworm.tar
container-test-setup: $(PY_STAMP)
	@if [ -s $(CONTAINER_ROOTFS) ] && ls test-artifacts/k8s/wheelhouse/numpy-*.whl >/dev/null 2>&1 && command -v podman >/dev/null; then exit 0; fi; \
	  if [ "$(IS_ROOT)" != yes ]; then \
	    echo "make: not root: podman and the test rootfs are not installed (the container test will skip)" >&2; exit 0; fi; \
	  command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null || { \
	    echo "make: apt-get install podman runc debootstrap (container test)"; \
	    $(call apt_install,podman runc debootstrap); }; \
	  mkdir -p test-artifacts; echo "make: preparing the container test's rootfs and wheelhouse (images/testing/prepare-test-rootfs.sh)"; \
	  bash images/testing/prepare-test-rootfs.sh > test-artifacts/prepare-test-rootfs.log 2>&1 || \
	    echo "make: could not prepare the container test (see test-artifacts/prepare-test-rootfs.log); it will skip" >&2

clean:
	rm -rf $(VENV) node_modules
