# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The versions an environment holds, and whether the collection's claims match the matrix that tests them.

    python tests/support/versions.py                          this Python's versions, one line
    python tests/support/versions.py --json                   the same, as JSON
    python tests/support/versions.py --check NEWEST OLDEST    each end's versions (given by its Python), checked
                                                              against meta/runtime.yml, galaxy.yml, the roles and
                                                              execution-environment.yml
    python tests/support/versions.py --ansible-test-pip       the pip version this ansible-test bootstraps
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ("amazon.aws", "community.aws", "community.general")


def collection_version(name: str) -> str | None:
    """The version of a collection the ansible package installed next to this Python's ansible-core."""
    import ansible  # pylint: disable=import-outside-toplevel

    namespace, collection = name.split(".")
    manifest = Path(ansible.__file__).parents[1] / "ansible_collections" / namespace / collection / "MANIFEST.json"
    if not manifest.exists():
        return None
    return json.loads(manifest.read_text())["collection_info"]["version"]


def installed() -> dict:
    """The versions this Python runs the tests with."""
    found = {
        "python": platform.python_version(),
        "ansible": importlib.metadata.version("ansible"),
        "ansible-core": importlib.metadata.version("ansible-core"),
    }
    found.update({name: collection_version(name) for name in COLLECTIONS})
    return found


def describe(found: dict) -> str:
    collections = ", ".join(f"{name} {found[name]}" for name in COLLECTIONS)
    return f"ansible {found['ansible']} (ansible-core {found['ansible-core']}, {collections}) on Python {found['python']}"


def _major_minor(version: str) -> tuple:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _floor(spec: str) -> str:
    """The lower bound of a ``>=X.Y.Z`` requirement."""
    match = re.fullmatch(r"\s*>=\s*([\d.]+)\s*", spec)
    if not match:
        raise ValueError(f"expected a requirement of the form '>=X.Y.Z', not {spec!r}")
    return match.group(1)


def claim_problems(newest: dict, oldest: dict) -> list:
    """What the collection claims and the matrix does not test: an empty list when they match."""
    import yaml  # pylint: disable=import-outside-toplevel

    problems = []
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    core_floor = _floor(runtime["requires_ansible"])
    if _major_minor(oldest["ansible-core"]) != _major_minor(core_floor):
        problems.append(f"meta/runtime.yml requires_ansible {runtime['requires_ansible']!r}, but the oldest end runs "
                        f"ansible-core {oldest['ansible-core']}")
    for role in sorted((ROOT / "roles").glob("*/meta/main.yml")):
        minimum = str(yaml.safe_load(role.read_text())["galaxy_info"]["min_ansible_version"])
        if _major_minor(minimum) != _major_minor(core_floor):
            problems.append(f"{role.relative_to(ROOT)} min_ansible_version {minimum!r} differs from requires_ansible {core_floor}")

    dependencies = yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"]
    for name in COLLECTIONS:
        floor = _floor(dependencies[name])
        if oldest[name] is None or _major_minor(oldest[name]) != _major_minor(floor):
            problems.append(f"galaxy.yml asks for {name} {dependencies[name]}, but the oldest end runs {name} {oldest[name]}")
        for end, found in (("newest", newest), ("oldest", oldest)):
            if found[name] is None or _major_minor(found[name]) < _major_minor(floor):
                problems.append(f"the {end} end runs {name} {found[name]}, below galaxy.yml's {dependencies[name]}")

    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    core_pin = ee["dependencies"]["ansible_core"]["package_pip"]
    wanted = re.findall(r"(>=|<)\s*([\d.]+)", core_pin)
    version = _major_minor(newest["ansible-core"])
    if not wanted or not all(version >= _major_minor(v) if op == ">=" else version < _major_minor(v) for op, v in wanted):
        problems.append(f"execution-environment.yml installs {core_pin!r}, not the newest end's ansible-core {newest['ansible-core']}")
    return problems


def ansible_test_pip() -> str:
    """The pip version that this ansible-test bootstraps into its virtual environments."""
    import ansible_test  # pylint: disable=import-outside-toplevel

    source = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
    return re.search(r"pip='([\d.]+)'", source).group(1)


def _of(python: str) -> dict:
    output = subprocess.run([python, __file__, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def main(argv: list) -> int:
    if argv[:1] == ["--json"]:
        print(json.dumps(installed()))
    elif argv[:1] == ["--ansible-test-pip"]:
        print(ansible_test_pip())
    elif argv[:1] == ["--check"] and len(argv) == 3:
        newest, oldest = _of(argv[1]), _of(argv[2])
        print(f"Compatibility matrix:\n  newest: {describe(newest)}\n  oldest: {describe(oldest)}")
        problems = claim_problems(newest, oldest)
        for problem in problems:
            print(f"  claim not tested: {problem}", file=sys.stderr)
        return 1 if problems else 0
    elif not argv:
        print(describe(installed()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
