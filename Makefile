# One venv, made on first use; every target below works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
ARGS ?=

.PHONY: demo test check screenshots bench lab prometheus blackbox openssh kubectl tmux clean

# A first run says what it does: pip's own progress, not -q silence.
$(BIN)/.installed: pyproject.toml
	@echo "monotui: installing into $(VENV) (a first run downloads the stack: usually 30-90 s)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on --upgrade pip
	$(PY) -m pip install --progress-bar on -e .
	@echo "monotui: installed"
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	@echo "monotui: installing the test and development tools"
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/monotui demo $(ARGS)

# The real-Prometheus tests need the Debian package; install it when we can (root + apt).
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get update -qq && apt-get install -y -qq prometheus >/dev/null); \
	    else echo "prometheus is not installed: run 'sudo apt-get install prometheus' (the integration tests need it)" >&2; fi; }

# The synthetics tests probe through Debian's real blackbox_exporter.
blackbox:
	@command -v prometheus-blackbox-exporter >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get update -qq && apt-get install -y -qq prometheus-blackbox-exporter >/dev/null); \
	    else echo "blackbox_exporter is not installed: run 'sudo apt-get install prometheus-blackbox-exporter' (the synthetics tests need it)" >&2; fi; }

# The ssh demo host's tests and benchmark drive the real OpenSSH client (ssh, sftp, ssh-keygen).
openssh:
	@command -v ssh >/dev/null && command -v sftp >/dev/null && command -v ssh-keygen >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get update -qq && apt-get install -y -qq openssh-client >/dev/null); \
	    else echo "the OpenSSH client is not installed: run 'sudo apt-get install openssh-client' (the ssh demo host tests need it)" >&2; fi; }

# The deploy/ manifests are applied with the real kubectl against the fake API server.
kubectl:
	@command -v kubectl >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get update -qq && (apt-get install -y -qq kubectl >/dev/null 2>&1 || apt-get install -y -qq kubernetes-client >/dev/null)); \
	    else echo "kubectl is not installed: install it (Debian: kubernetes-client) for the deploy/ tests" >&2; fi; }

# The screen-diff tests replay what the terminal receives in a real tmux and read its screen.
tmux:
	@command -v tmux >/dev/null || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      (apt-get update -qq && apt-get install -y -qq tmux >/dev/null); \
	    else echo "tmux is not installed: run 'sudo apt-get install tmux' (the screen-diff tests need it)" >&2; fi; }

test: $(BIN)/.installed-dev prometheus blackbox openssh kubectl tmux
	$(PY) -m pytest -q $(ARGS)

check: $(BIN)/.installed-dev
	$(BIN)/ruff check monotui widgets tests bench
	$(BIN)/ruff format --check monotui widgets tests bench
	$(BIN)/mypy
	$(PY) -m pytest -q tests/test_import_rules.py

screenshots: $(BIN)/.installed-dev
	$(PY) -m bench.screenshots screenshots

bench: $(BIN)/.installed-dev prometheus openssh
	$(PY) -m bench $(ARGS)

lab: $(BIN)/.installed-dev prometheus
	$(PY) -m tests.lab $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
