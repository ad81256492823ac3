# spbe-interop: `make demo` and `make test` work on a fresh Debian machine (root).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
export RAY_USAGE_STATS_ENABLED := 0
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0

# Real servers and tools the tests and the demo use, from Debian. policy-rc.d
# keeps apt from starting any of them as a system service (bound to 0.0.0.0).
# prometheus-blackbox-exporter is a peer bench/peers.py compares against (its smoke test).
DEBIAN_PACKAGES := openssh-server openssh-client dropbear-bin tinysshd systemd openssl iproute2 sqlite3 util-linux chromium poppler-utils fonts-dejavu-core prometheus prometheus-pushgateway nginx-light golang-go golang-google-grpc-dev dpkg-dev prometheus-blackbox-exporter

.PHONY: help system venv demo lint test docs clean

help:
	@echo "make demo   - start local servers and check them end to end"
	@echo "make lint   - ruff (lint and format check) and mypy; make test runs it first"
	@echo "make test   - run the test suite against real local servers"
	@echo "make docs   - regenerate docs/checks.md and docs/checks.id.md from the check registry"

system: .make/system
.make/system: Makefile
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  policy=/usr/sbin/policy-rc.d; made_policy=""; \
	  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy && chmod +x $$policy && made_policy=1; fi; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; status=$$?; \
	  [ -n "$$made_policy" ] && rm -f $$policy; \
	  exit $$status; \
	fi
	@mkdir -p -m 0755 /run/sshd
	@mkdir -p .make && touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

demo: system venv
	$(PY) -m orchestrator.demo

# grpc-go's official interop server and client, the tests' second gRPC
# implementation: built once into build/grpc-go (see orchestrator/testbed/grpc_go.py).
.PHONY: grpc-go
grpc-go: system venv
	$(PY) -m orchestrator.testbed.grpc_go build

# The linter, the formatter's check and the type checker, at pyproject's pinned versions
# (.pre-commit-config.yaml runs the same commands). Needs no Debian package, only the venv.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict probes
	$(VENV)/bin/mypy

# Multi-node Ray test clusters fork Ray's processes from the pytest process. After a
# session of in-process gRPC and embedded Ray, such a fork was once seen to abort
# Ray's children (Ray's gRPC: "Other threads are currently calling into gRPC"), so
# those tests run in a fresh pytest process of their own.
test: lint system venv grpc-go
	@mkdir -p /run/sshd
	$(PY) -m pytest $(PYTEST_ARGS) -m "not ray_cluster" || [ $$? -eq 5 ]  # 5: PYTEST_ARGS selected none of them
	$(PY) -m pytest $(PYTEST_ARGS) -m ray_cluster || [ $$? -eq 5 ]

docs: venv
	$(VENV)/bin/interop checks docs --lang en --out docs/checks.md
	$(VENV)/bin/interop checks docs --lang id --out docs/checks.id.md

clean:
	rm -rf .make .interop build *.egg-info
