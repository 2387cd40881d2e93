# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The roles' and playbooks' files: each role default is read by its role (tasks, templates, handlers, or another
default: a default nothing reads tells the user that setting it does something); no task name ends in a value that
may be empty."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"


def _code(path: Path) -> str:
    """The file without its comments (a comment that names a variable does not read it)."""
    text = path.read_text()
    if path.suffix in (".yml", ".yaml"):
        return re.sub(r"(^|\s)#.*$", "", text, flags=re.M)
    return re.sub(r"\{#.*?#\}", "", text, flags=re.S)


@pytest.mark.parametrize("role", sorted(path.name for path in ROLES.iterdir() if (path / "defaults" / "main.yml").is_file()))
def test_every_default_of_the_role_is_read_by_it(role):
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    sources = [path for folder in ("tasks", "templates", "handlers", "vars") for path in (ROLES / role / folder).rglob("*") if path.is_file()]
    text = "\n".join(_code(path) for path in sources)
    text += "\n".join(yaml.safe_dump(value) for value in defaults.values())  # a default may read another
    unread = [name for name in defaults if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert unread == [], f"defaults of {role} that the role never reads"


def test_no_task_name_is_left_with_an_empty_value():
    """A name such as "Save the report to {{ path }}" reads "Save the report to" when the variable is empty."""
    for tasks in [*ROLES.glob("*/tasks/*.yml"), *(ROOT / "playbooks").rglob("*.yml")]:
        for name in re.findall(r"- name: (.*)", tasks.read_text()):
            assert not re.search(r"(to|from|in|for) \{\{", name), f"{tasks}: {name}"
