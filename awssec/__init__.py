# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Command lines and a Python API over the awssec.mfa collection; every decision is the collection's module_utils.

The collection must be importable as ``ansible_collections.awssec.mfa``: installed, or this checkout
(whose ``.collections`` folder links to it, and is added to the path here when needed).
"""

import importlib.util
import sys
from pathlib import Path


def _find_collection() -> None:
    try:
        found = importlib.util.find_spec("ansible_collections.awssec.mfa") is not None
    except ModuleNotFoundError:
        found = False
    checkout = Path(__file__).resolve().parents[1] / ".collections"
    if not found and checkout.is_dir():
        sys.path.append(str(checkout))


_find_collection()
