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

export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(CURDIR):$(COLLECTIONS)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test lint sanity ee browser unit integration bench clean

setup: $(VENV)/.installed $(LINK)

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $@

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../.. $(LINK)

demo: setup
	$(BIN)/python -m tests.support.demo

test: setup lint sanity ee unit integration

lint: setup
	$(BIN)/ansible-lint --offline

# ansible-test needs the collection under .../ansible_collections/awssec/mfa, outside any git
# checkout (it lists files with git), with its dependencies beside it: stage the tracked files
# in a temporary folder, with amazon.aws from the venv. It keeps its virtual environments under
# HOME, here a project-local one, where its pip bootstrap script (which it would download from a
# host out of reach) is ours.
SANITY_HOME := $(CURDIR)/tests/output/sanity-home
ANSIBLE_TEST_PIP := 24.2

sanity: setup
	@mkdir -p $(SANITY_HOME)/.ansible/test/cache && \
	cp tests/sanity/bootstrap_pip.py $(SANITY_HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(ANSIBLE_TEST_PIP)).py && \
	root=$$(mktemp -d) && dest=$$root/ansible_collections/awssec/mfa && mkdir -p $$dest && \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $$dest && \
	ln -s $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections/amazon $$root/ansible_collections/amazon && \
	cd $$dest && HOME=$(SANITY_HOME) $(BIN)/ansible-test sanity --venv --python 3.11 --color no; \
	rc=$$?; rm -rf $$root; exit $$rc

# The execution environment's build context (a container engine then builds it; none is needed here).
EE := $(CURDIR)/tests/output/ee
ee: setup
	rm -rf $(EE) && mkdir -p $(EE)
	$(BIN)/ansible-galaxy collection build --force --output-path $(EE) .
	$(BIN)/ansible-builder create --file execution-environment.yml --context $(EE)/context --output-filename Containerfile

# The HTML report test opens the page in headless Chromium: Debian's, installed when missing.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

unit: setup
	$(BIN)/python -m pytest tests/unit

integration: setup browser
	$(BIN)/python -m pytest tests/integration

bench: setup
	$(BIN)/python bench/report_scale.py
	$(BIN)/python bench/enforce_scale.py
	$(BIN)/python bench/org_scale.py

clean:
	rm -rf $(VENV) $(COLLECTIONS) tests/output
