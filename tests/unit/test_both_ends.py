# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The oldest end of the matrix runs the integration tests marked both_ends (the Makefile's integration-oldest): together
they name every module, plugin, role, playbook and rulebook of the collection, and the injected-facts path, so that
each runs there once; a name that no longer exists is refused too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def what_must_run_on_both_ends():
    names = {"facts:injected"}  # the oldest end's default (facts injected as variables), which the newest end turns off
    for kind, folder in (("module", "plugins/modules"), ("lookup", "plugins/lookup"), ("inventory", "plugins/inventory"),
                         ("filter", "plugins/filter")):
        names |= {f"{kind}:{path.stem}" for path in (ROOT / folder).glob("*.py") if path.stem != "__init__"}
    names |= {f"role:{path.name}" for path in (ROOT / "roles").iterdir() if path.is_dir()}
    names |= {f"playbook:{path.name}" for path in (ROOT / "playbooks").glob("*.yml")}
    names |= {f"rulebook:{path.name}" for path in (ROOT / "extensions/eda/rulebooks").glob("*.yml")}
    return names


def _is_both_ends(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "both_ends" and ast.unparse(node) == "pytest.mark.both_ends"


def named_by_marks():
    """{name: [test files]} from every pytest.mark.both_ends(...) of the integration tests (decorators and pytest.param marks)."""
    named = {}
    for path in sorted((ROOT / "tests/integration").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and _is_both_ends(node.func)]
        marks = [node for node in ast.walk(tree) if _is_both_ends(node)]
        assert len(marks) == len(calls), f"{path.name}: a both_ends mark names what it runs there"
        for call in calls:
            assert call.args and all(isinstance(a, ast.Constant) for a in call.args), f"{path.name}:{call.lineno}: names, as strings"
            for argument in call.args:
                named.setdefault(argument.value, []).append(path.name)
    return named


def test_every_module_plugin_role_playbook_and_rulebook_runs_on_the_oldest_end_and_only_names_that_exist():
    required, named = what_must_run_on_both_ends(), named_by_marks()
    assert sorted(required - set(named)) == [], "not run on the oldest end: mark a test that runs it with pytest.mark.both_ends(name)"
    assert sorted(set(named) - required) == [], "named by a both_ends mark, but not in the collection"
