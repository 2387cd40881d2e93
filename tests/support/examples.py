# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How many examples a property test tries: ``examples(n)``, n on the newest end of the matrix.

The logic a property test explores is the same on both ends, and the newest end tries every example. The oldest end
(the Makefile's unit-oldest sets PROPERTY_EXAMPLES_SHARE=0.1) checks that the code, through its Ansible and amazon.aws,
runs there: a tenth of the examples, at least 10."""

import os

SHARE = float(os.environ.get("PROPERTY_EXAMPLES_SHARE") or 1)


def examples(n: int) -> int:
    return n if SHARE >= 1 else max(10, int(n * SHARE))
