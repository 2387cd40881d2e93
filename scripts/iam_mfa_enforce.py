# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The seed's standalone script: ``--report`` or ``--enforce`` (with --dry-run or --apply); the same as ``awssec iam-mfa``."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from awssec.cli import add_common_options, add_enforce_options, check_enforce_output, run  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="iam_mfa_enforce.py", description="Report on and enforce MFA for IAM users")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--report", action="store_true", help="generate the MFA compliance report")
    mode.add_argument("--enforce", action="store_true", help="enforce MFA compliance (with --dry-run or --apply)")
    add_common_options(parser)
    add_enforce_options(parser)
    args = parser.parse_args(argv)
    if args.enforce:
        check_enforce_output(parser, args, "--enforce")
    return run("report" if args.report else "enforce", args)


if __name__ == "__main__":
    sys.exit(main())
