# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every run names the end of the compatibility matrix it tests (see the Makefile)."""

import os

from tests.support.versions import describe, installed


def pytest_report_header(config):  # pylint: disable=unused-argument
    injected = os.environ.get("ANSIBLE_INJECT_FACT_VARS", "unset (the core's default)")
    return [f"awssec.mfa on {describe(installed())}", f"ANSIBLE_INJECT_FACT_VARS: {injected}"]
