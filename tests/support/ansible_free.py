# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether a test file runs any Ansible code: what it imports, and what that imports in turn, read from the source.

A unit test file none of whose imports (this collection's plugins and module_utils, the tests' support, the awssec
package, followed to the end) reaches ``ansible`` or another collection (amazon.aws) tests pure Python: the same on
any end of the compatibility matrix, so the Makefile runs it on one end only (the ``ansible_independent`` mark)."""

import ast
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

ROOT = Path(__file__).resolve().parents[2]
OURS = "ansible_collections.awssec.mfa."
LOCAL = ("tests.", "awssec.")


def _imported(tree: ast.AST) -> Iterator[str]:
    """Every module a file imports, anywhere in it (functions too); ``from a import b`` gives a.b and a."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _file_of(module: str) -> Optional[Path]:
    """This checkout's file of ``module``, or None when it is not a module of this checkout (a name inside one)."""
    relative = module[len(OURS):] if module.startswith(OURS) else module
    base = ROOT.joinpath(*relative.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def runs_ansible(path: Path) -> bool:
    """Whether the file at ``path`` imports, directly or through this checkout's modules, ``ansible`` or another collection."""
    seen, todo = set(), [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for module in _imported_by(current):
            if module == "ansible" or module.startswith("ansible.") or (module.startswith("ansible_collections") and not module.startswith(OURS)):
                return True
            found = _file_of(module) if module.startswith(OURS) or module.startswith(LOCAL) else None
            if found:
                todo.append(found)
    return False


@lru_cache(maxsize=None)
def _imported_by(path: Path) -> tuple:
    return tuple(_imported(ast.parse(path.read_text(), str(path))))
