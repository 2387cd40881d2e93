# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""No partition is assumed in the code: no ``arn:aws:`` built by hand, no ``us-east-1`` fallback.

GovCloud (aws-us-gov) and China (aws-cn) accounts have their own ARNs and endpoints: the
partition comes from the caller's ARN, and a missing region is botocore's business (it picks
the global endpoint). Documentation (module docs, docstrings, comments) may show examples.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOC_BLOCKS = {"DOCUMENTATION", "EXAMPLES", "RETURN"}
ASSUMED = ("us-east-1", "arn:aws:")


def code_strings(path: Path):
    """String constants of a Python file that are code: not module docs, not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in DOC_BLOCKS for t in node.targets):
            skipped.update(id(n) for n in ast.walk(node.value))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and ast.get_docstring(node) is not None:
            skipped.add(id(node.body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            yield node.lineno, node.value


def sources():
    return sorted(p for folder in ("plugins", "awssec") for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_python_code_assumes_no_partition(path):
    found = [f"{path.name}:{line}: {text!r}" for line, text in code_strings(path) if any(a in text for a in ASSUMED)]
    assert not found


def test_roles_and_playbooks_assume_no_region():
    found = [f"{p.relative_to(ROOT)}:{n}" for folder in ("roles", "playbooks") for p in sorted((ROOT / folder).rglob("*.yml"))
             if "meta" not in p.parts for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if "us-east-1" in line and not line.lstrip().startswith("#")]
    assert not found


def test_the_scan_sees_code_strings_and_not_docs(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('DOCUMENTATION = "arn:aws:iam::1:user/a"\n'
                      'def f(region=None):\n    """Defaults to us-east-1."""\n    return region or "us-east-1"\n')
    assert [text for dummy, text in code_strings(sample)] == ["us-east-1"]
