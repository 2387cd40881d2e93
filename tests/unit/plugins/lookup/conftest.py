# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible.plugins.loader import lookup_loader


@pytest.fixture
def lookup():
    """A lookup plugin of the collection, loaded as Ansible loads it (its options read from its documentation)."""
    return lambda name: lookup_loader.get(f"awssec.mfa.{name}")
