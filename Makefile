# awssec.mfa: everything a fresh machine with Python 3.13 and 3.11, pip and make needs (the tests' Chromium and Java 17,
# for the MFA guard's ansible-rulebook, are installed with apt-get when missing: make browser java).
#   make demo   report on a demo account served by a local moto server (make demo-server keeps it running)
#   make test   lint, sanity, and the unit and integration tests on both ends of the matrix (what CI runs)
#   make bench  benchmarks (not part of the tests)

# The compatibility matrix, the one place its ends are named. The newest: the current `ansible`
# release (requirements.txt) on NEWEST_PYTHON, in .venv, the default environment. The oldest: the
# ansible-core that meta/runtime.yml claims, with its amazon.aws (requirements-oldest.txt, which
# replaces the ansible line of requirements.txt), on OLDEST_PYTHON, in .venv-oldest.
# tests/support/versions.py checks that the claims match what these environments hold.
NEWEST_PYTHON_VERSION := 3.13
OLDEST_PYTHON_VERSION := 3.11

# A Python of a version that really runs, by its real path: each candidate from PATH (a pyenv shim
# of a version that is not the active one fails), the system's, then pyenv's versions folder, is
# asked where it is. This checkout's own venvs are never candidates (they are made from it).
PYENV_ROOT ?= $(HOME)/.pyenv
real_python = $(shell '$(2)' -c 'import sys; sys.version_info[:2] == tuple(map(int, "$(1)".split("."))) and print(sys.executable)' 2>/dev/null)
find_python = $(firstword $(filter-out $(CURDIR)/%,$(foreach p,$(shell command -v python$(1)) \
                $(wildcard /usr/bin/python$(1) /usr/local/bin/python$(1) $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)),$(call real_python,$(1),$(p)))))
ifndef NEWEST_PYTHON
NEWEST_PYTHON := $(call find_python,$(NEWEST_PYTHON_VERSION))
endif
ifndef OLDEST_PYTHON
OLDEST_PYTHON := $(call find_python,$(OLDEST_PYTHON_VERSION))
endif

VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
OLDEST_VENV := $(CURDIR)/.venv-oldest
OLDEST_BIN := $(OLDEST_VENV)/bin
PIP_INSTALL := pip install --quiet --disable-pip-version-check
# The collection is visible to Ansible from this checkout through a project-local
# collections path: .collections/ansible_collections/awssec/mfa links back here.
COLLECTIONS := $(CURDIR)/.collections
LINK := $(COLLECTIONS)/ansible_collections/awssec/mfa

export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(CURDIR):$(COLLECTIONS)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup setup-oldest matrix demo demo-server test lint doc-lint sanity ee browser java keyring unit integration unit-oldest integration-oldest bench clean

setup: $(VENV)/.installed $(LINK)
	@$(call link_into_venv,$(VENV))

setup-oldest: $(OLDEST_VENV)/.installed $(LINK)
	@$(call link_into_venv,$(OLDEST_VENV))

# The venv's Ansible finds collections in its own site-packages (where the ansible package puts amazon.aws):
# a link there to this checkout makes awssec.mfa visible from any folder, with no ansible.cfg.
define link_into_venv
	site=$$($(1)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
	mkdir -p $$site/ansible_collections/awssec && ln -sfn $(CURDIR) $$site/ansible_collections/awssec/mfa
endef

# $(1): the venv, $(2): its Python, $(3): the Python version wanted, $(4): the requirement files.
define make_venv
	@test -n "$(2)" || { echo "Python $(3) was not found on PATH or in $(PYENV_ROOT)/versions: install it (pyenv install $(3))" \
	  "or name it, e.g. make $@ $(if $(filter $(3),$(NEWEST_PYTHON_VERSION)),NEWEST,OLDEST)_PYTHON=/path/to/python$(3)" >&2; exit 1; }
	rm -rf $(1) && $(2) -m venv $(1)
	$(1)/bin/$(PIP_INSTALL) $(4)
	$(1)/bin/$(PIP_INSTALL) --no-build-isolation --no-deps -e .
	@touch $(1)/.installed
endef

$(VENV)/.installed: requirements.txt requirements-test.txt requirements-lint.txt pyproject.toml
	$(call make_venv,$(VENV),$(NEWEST_PYTHON),$(NEWEST_PYTHON_VERSION),-r requirements.txt -r requirements-test.txt -r requirements-lint.txt)

# The oldest end shares every pin but ansible's.
$(OLDEST_VENV)/.installed: requirements.txt requirements-oldest.txt requirements-test.txt pyproject.toml
	$(call make_venv,$(OLDEST_VENV),$(OLDEST_PYTHON),$(OLDEST_PYTHON_VERSION),-r requirements-oldest.txt -r requirements-test.txt $$(grep -E '^[A-Za-z0-9_.-]+(\[[a-z,]+\])?==' requirements.txt | grep -v '^ansible=='))

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../.. $(LINK)

demo: setup
	$(BIN)/python -m tests.support.demo

# The demo account on a moto server that keeps running (Ctrl-C stops it); prints the exports that point
# the aws CLI, boto3, ansible-playbook, awssec and aws-mfa-login at it. PORT=N: on port N (default: a free one).
demo-server: setup
	$(BIN)/python -m tests.support.demo --serve $(if $(PORT),--port $(PORT))

# Lint, sanity and the build are the same on any Ansible: they run on the newest. The unit and
# integration tests run on both ends; the newest runs without facts injected as variables (where
# ansible-core is going), the oldest with its default (injected). Side by side (lanes split by |; each
# step's time is printed: tests/support/steps.py): the newest integration tests, most of the run, on
# one lane, and every other step one after the other on the other lane, in its gaps (a playbook's
# waits, a tool's installs) - on 2 cores. Chromium, Java and the Secret Service are installed before, once. The doc
# lint's commands run in make unit (tests/unit/test_doc_lint.py).
test:
	@MAKE='$(MAKE)' $(or $(NEWEST_PYTHON),python3) tests/support/steps.py "setup browser java keyring | setup-oldest" matrix \
	  "lint sanity ee unit-oldest unit integration-oldest | integration"

# Both ends' versions, and whether the collection claims exactly what they test.
matrix: setup setup-oldest
	$(BIN)/python tests/support/versions.py --check $(BIN)/python $(OLDEST_BIN)/python

lint: setup
	$(BIN)/ansible-lint --offline

# The ecosystem's own doc checks, as amazon.aws's CI runs them (tests/unit/test_doc_lint.py runs the same): antsibull-docs
# renders every module's, plugin's and role's docs as the docsite would and checks that each M(), P(), O() and RV() names
# what exists here or in a collection this one depends on; antsibull-changelog checks the fragments. antsibull-docs copies
# those collections from the venv beside a copy of this one, with git's tracked files only if git says they are in a
# checkout: this one's venv is not part of it.
doc-lint: setup
	GIT_CEILING_DIRECTORIES=$(CURDIR) $(BIN)/antsibull-docs lint-collection-docs --plugin-docs \
	  --validate-collection-refs=dependent --disallow-unknown-collection-refs $(CURDIR)
	$(BIN)/antsibull-changelog lint

# ansible-test needs the collection under .../ansible_collections/awssec/mfa, outside any git
# checkout (it lists files with git), with its dependencies beside it: stage the tracked files
# in a temporary folder, with amazon.aws from the venv. It keeps its virtual environments under
# HOME, here a project-local one, where its pip bootstrap script (which it would download from a
# host out of reach) is ours, under the name of the pip version that this ansible-test asks for.
SANITY_HOME := $(CURDIR)/tests/output/sanity-home

sanity: setup
	@pip_version=$$($(BIN)/python tests/support/versions.py --ansible-test-pip) && \
	mkdir -p $(SANITY_HOME)/.ansible/test/cache && \
	cp tests/sanity/bootstrap_pip.py $(SANITY_HOME)/.ansible/test/cache/get_pip_$$(echo $$pip_version | tr . _).py && \
	root=$$(mktemp -d) && dest=$$root/ansible_collections/awssec/mfa && mkdir -p $$dest && \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $$dest && \
	ln -s $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections/amazon $$root/ansible_collections/amazon && \
	cd $$dest && HOME=$(SANITY_HOME) $(BIN)/ansible-test sanity --venv --python $(NEWEST_PYTHON_VERSION) --color no; \
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

# The keyring tests (long_term_store keyring) run a real Secret Service, gnome-keyring-daemon on a D-Bus session bus of
# their own (tests/support/secret_service.py): Debian's gnome-keyring and dbus, installed when missing.
keyring:
	@command -v gnome-keyring-daemon >/dev/null && command -v dbus-daemon >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnome-keyring dbus-daemon; }

# The MFA guard's tests run the real ansible-rulebook, whose rules engine needs Java 17 or later (JAVA_HOME's, or java on
# PATH): Debian's JRE 17, installed when neither has one.
java:
	@v=$$("$${JAVA_HOME:+$$JAVA_HOME/bin/}java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'); \
	[ "$${v:-0}" -ge 17 ] 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }

unit: setup
	$(BIN)/python -m pytest tests/unit

# The integration tests, one worker per core (each worker has its own moto server): most of their time is
# ansible-playbook and moto on one core each. TEST_WORKERS=0 runs them in this process, one after the other.
# A worker that is done takes tests from the other's share (worksteal): the long ones do not end the run alone.
# This lane is the floor of `make test`: its 20 slowest tests are printed, where to buy time back first.
TEST_WORKERS ?= auto
XDIST = -n $(TEST_WORKERS) --dist worksteal
integration: setup browser java keyring
	ANSIBLE_INJECT_FACT_VARS=False $(BIN)/python -m pytest $(XDIST) --durations=20 tests/integration

# The oldest end's own venv first on PATH, so that the tests' ansible, aws and awssec are its own. Unit tests that run
# no Ansible code (marked by their imports: tests/support/ansible_free.py) are the same on any end: not run twice; a
# property test tries a tenth of its examples there (tests/support/examples.py): the newest end tries them all.
unit-oldest: setup-oldest
	PATH=$(OLDEST_BIN):$$PATH PROPERTY_EXAMPLES_SHARE=0.1 $(OLDEST_BIN)/python -m pytest tests/unit -m "not ansible_independent"

# On the oldest end, what may differ there: each module, plugin, role and playbook once, by the test marked both_ends
# that names it (tests/unit/test_both_ends.py checks that each is named), with facts injected as variables.
integration-oldest: setup-oldest java
	PATH=$(OLDEST_BIN):$$PATH ANSIBLE_INJECT_FACT_VARS=True $(OLDEST_BIN)/python -m pytest $(XDIST) tests/integration -m both_ends

bench: setup
	$(BIN)/python bench/report_scale.py
	$(BIN)/python bench/enforce_scale.py
	$(BIN)/python bench/org_scale.py
	$(BIN)/python bench/awsfiles_scale.py

clean:
	rm -rf $(VENV) $(OLDEST_VENV) $(COLLECTIONS) tests/output
