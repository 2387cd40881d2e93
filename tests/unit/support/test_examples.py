# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A property test's examples: all of them unless the end's share says fewer, and never fewer than 10."""

import importlib

import pytest

from tests.support import examples as module


@pytest.mark.parametrize("share, expected", [(None, [150, 1500, 50]), ("", [150, 1500, 50]), ("1", [150, 1500, 50]),
                                             ("0.1", [15, 150, 10])])
def test_all_examples_unless_a_share_says_fewer_and_at_least_10(monkeypatch, share, expected):
    if share is None:
        monkeypatch.delenv("PROPERTY_EXAMPLES_SHARE", raising=False)
    else:
        monkeypatch.setenv("PROPERTY_EXAMPLES_SHARE", share)
    try:
        assert [importlib.reload(module).examples(n) for n in (150, 1500, 50)] == expected
    finally:
        monkeypatch.undo()
        importlib.reload(module)
