# `make demo` and `make test` create .venv/ when missing and install the core and every
# plugin (editable) from this tree, then run.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
PLUGINS := $(patsubst %/pyproject.toml,%,$(sort $(wildcard plugins/*/pyproject.toml))) \
           $(patsubst %/pyproject.toml,%,$(wildcard examples/third_party_plugin/pyproject.toml))
STAMP   := $(VENV)/.lic-installed

.PHONY: demo test install clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-build-isolation $(addprefix -e ,$(PLUGINS))
	@touch $@

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider --import-mode=importlib tests $(PLUGINS)

demo: $(STAMP)
	$(PY) examples/demo.py

clean-venv:
	rm -rf $(VENV)
