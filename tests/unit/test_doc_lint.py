# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ecosystem's own doc checks, as amazon.aws's CI runs them (make doc-lint runs the same commands).

antsibull-docs renders every module's, plugin's and role's documentation as the Ansible docsite would, and checks its
markup: each M(), P(), O() and RV() must name something that exists, in this collection or in one it depends on (a
reference to a role is P(NAME#role), not M()). antsibull-changelog checks the changelog fragments.

The lint tools are installed in the newest end's venv only (requirements-lint.txt): run from another interpreter, the
tests use that venv's tools by path, with its bin folder first on PATH, so that the ansible-doc they call is that venv's.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEWEST_BIN = ROOT / ".venv" / "bin"


def _tool(name):
    """The lint tool: this interpreter's, else the newest venv's (the oldest end's venv lacks them; these tests run no
    Ansible code, so make unit-oldest does not run them)."""
    for folder in (Path(sys.executable).parent, NEWEST_BIN):
        if (folder / name).is_file():
            return folder / name
    pytest.fail(f"{name} is not installed next to {sys.executable} nor in {NEWEST_BIN}: make setup installs requirements-lint.txt")


def _run(tool, *args, cwd=ROOT, extra_env=None):
    env = dict(os.environ, PATH=os.pathsep.join((str(tool.parent), os.environ.get("PATH", ""))), **(extra_env or {}))
    return subprocess.run([str(tool), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _assert_no_findings(result):
    """Each finding on a line of its own in the failure's message (or, with none, what the tool said on stderr)."""
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout or result.stderr


def test_antsibull_docs_finds_nothing_in_the_plugin_and_role_docs():
    tool = _tool("antsibull-docs")
    # antsibull-docs copies the collections this one depends on (found with ansible-galaxy, in the venv's site-packages)
    # beside a copy of it; a venv inside a git checkout would be copied as part of that checkout, git's tracked files
    # only: none. Git must not look above the venv's folder (nor above the collection's).
    ceilings = os.pathsep.join(sorted({str(ROOT), str(tool.parent.parent.parent)}))
    result = _run(tool, "lint-collection-docs", "--plugin-docs", "--validate-collection-refs=dependent",
                  "--disallow-unknown-collection-refs", str(ROOT), extra_env={"GIT_CEILING_DIRECTORIES": ceilings})
    _assert_no_findings(result)


def test_antsibull_changelog_finds_nothing_in_the_fragments():
    result = _run(_tool("antsibull-changelog"), "lint")
    _assert_no_findings(result)


def test_antsibull_changelog_lint_reads_the_fragments_folder(tmp_path):
    """The check above is not vacuous: the same command in a copy with one fragment of an unknown section fails."""
    shutil.copy(ROOT / "galaxy.yml", tmp_path / "galaxy.yml")
    shutil.copytree(ROOT / "changelogs", tmp_path / "changelogs")
    (tmp_path / "changelogs" / "fragments" / "typo.yml").write_text("minor_change:\n  - a section that does not exist.\n")
    result = _run(_tool("antsibull-changelog"), "lint", cwd=tmp_path)
    assert result.returncode != 0
    assert "typo.yml:0:0: invalid section: minor_change" in result.stdout
