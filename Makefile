# awssec.mfa: everything a fresh machine with Python 3.11, pip and make needs.
#   make demo   report on a demo account served by a local moto server
#   make test   lint, sanity, unit and integration tests (what CI runs)
#   make bench  benchmarks (not part of the tests)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# The collection is visible to Ansible from this checkout through a project-local
# collections path: .collections/ansible_collections/awssec/mfa links back here.
COLLECTIONS := $(CURDIR)/.collections
LINK := $(COLLECTIONS)/ansible_collections/awssec/mfa
SANITY_ROOT := $(CURDIR)/tests/output/sanity-root

export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(CURDIR):$(COLLECTIONS)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test lint sanity unit integration bench clean

setup: $(VENV)/.installed $(LINK)

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt
	touch $@

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../.. $(LINK)

demo: setup
	$(BIN)/python -m tests.support.demo

test: setup lint sanity unit integration

lint: setup
	$(BIN)/ansible-lint --offline

# ansible-test needs the collection under .../ansible_collections/awssec/mfa and its
# dependencies beside it: stage the tracked files there, with amazon.aws from the venv.
sanity: setup
	rm -rf $(SANITY_ROOT)
	mkdir -p $(SANITY_ROOT)/ansible_collections/awssec/mfa
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(SANITY_ROOT)/ansible_collections/awssec/mfa
	ln -s $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections/amazon $(SANITY_ROOT)/ansible_collections/amazon
	cd $(SANITY_ROOT)/ansible_collections/awssec/mfa && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

unit: setup
	$(BIN)/python -m pytest tests/unit

integration: setup
	$(BIN)/python -m pytest tests/integration

bench: setup
	$(BIN)/python bench/report_scale.py

clean:
	rm -rf $(VENV) $(COLLECTIONS) tests/output
