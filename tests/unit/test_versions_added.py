# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Nothing was released: every plugin, option and return value was added in galaxy.yml's version, the one to come
(plugins said 0.2.0 while galaxy.yml said 0.1.0, and an option never released was deprecated)."""

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_version_added_is_the_collection_version_while_nothing_is_released():
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    assert yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"] == {}
    found = {}
    for path in sorted([*(ROOT / "plugins").rglob("*.py"), *(ROOT / "plugins").rglob("*.yml"), *(ROOT / "roles").rglob("*.yml")]):
        for claimed in re.findall(r"version_added:\s*['\"]?([0-9][^\s'\"]*)", path.read_text()):
            found.setdefault(claimed, []).append(str(path.relative_to(ROOT)))
    assert set(found) == {version}, {v: paths for v, paths in found.items() if v != version}
    assert not re.search(r"\.deprecate\(", (ROOT / "plugins" / "modules" / "access_key_rotate.py").read_text())
