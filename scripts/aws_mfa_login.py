# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The seed's aws_mfa_login.py: the same as the ``aws-mfa-login`` command, under the seed's name."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from awssec.tools.mfa_login import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="aws_mfa_login.py"))
