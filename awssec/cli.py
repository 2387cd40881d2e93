# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``awssec iam-mfa report|enforce``: the seed's command line, over awssec.tools.iam_mfa (option parsing and output only)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from awssec.tools import iam_mfa
from ansible_collections.awssec.mfa.plugins.module_utils.enforce import TARGETS, EnforceOptions
from ansible_collections.awssec.mfa.plugins.module_utils.report import FORMATS, render_enforcement

MAX_AFFECTED = EnforceOptions.max_affected
# enforce prints its preview or results as a table; --save-report writes that table, or the result as JSON.
ENFORCE_FORMATS = ("table", "json")
APPLY_HINT = "Run with --apply to make these changes."

REFUSAL = "Refusing to change anything: add --dry-run to preview the enforcement, or --apply to carry it out."


def add_common_options(parser: argparse.ArgumentParser, formats=FORMATS) -> None:
    """The options that select users and reach AWS (report and enforce); ``formats``: what --output takes."""
    parser.add_argument("--exclude-users", metavar="USERS", help="comma-separated users (shell globs such as svc-*) to exclude")
    parser.add_argument("--include-users", metavar="USERS", help="comma-separated users to include (overrides exclude)")
    parser.add_argument("--grace-period-days", metavar="DAYS", type=int, default=7, help="grace period for new users (default: 7)")
    parser.add_argument("--output", choices=formats, default="table", help="output format (default: table; enforcement takes table or json)"
                        if formats != ENFORCE_FORMATS else "the format --save-report saves: the printed table, or the result as JSON (default: table)")
    parser.add_argument("--save-report", metavar="PATH", help="save the report to a file")
    parser.add_argument("--profile", help="AWS profile (default: the usual AWS configuration)")
    parser.add_argument("--region", help="AWS region")
    parser.add_argument("--endpoint-url", help="send AWS requests to this endpoint (default: AWS_ENDPOINT_URL, else AWS)")


def add_enforce_options(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """What only enforcement takes; --dry-run and --apply exclude each other."""
    mode = parser.add_mutually_exclusive_group(required=required)
    mode.add_argument("--apply", action="store_true", help="apply the changes")
    mode.add_argument("--dry-run", action="store_true", help="show what would be done without making changes")
    parser.add_argument("--disable-console-access", action="store_true", help="also delete the console password of non-compliant users")
    parser.add_argument("--max-affected", metavar="N", type=int, default=MAX_AFFECTED,
                        help=f"refuse, before any change, to act on more than N users (default: {MAX_AFFECTED})")
    parser.add_argument("--targets", metavar="TARGETS", default=",".join(EnforceOptions.targets),
                        help=f"comma-separated, among {', '.join(TARGETS)}: keys_not_mfa_protected also makes the access keys of "
                             "users with MFA need MFA, keys left active (default: non-compliant)")


def check_enforce_output(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str = "enforce") -> None:
    """Refuse (argparse's error, exit 2) an --output that enforcement does not write, rather than ignore it."""
    if args.output not in ENFORCE_FORMATS:
        parser.error(f"argument --output: {command} takes {' or '.join(ENFORCE_FORMATS)}, not {args.output!r} "
                     f"({', '.join(f for f in FORMATS if f not in ENFORCE_FORMATS)}: report only)")


def run(command: str, args: argparse.Namespace) -> int:
    """Run ``report`` or ``enforce`` with parsed options; returns the exit status."""
    connection = {"profile": args.profile, "region": args.region, "endpoint_url": args.endpoint_url}
    selection = {"exclude_users": args.exclude_users, "include_users": args.include_users, "grace_period_days": args.grace_period_days}
    try:
        if command == "report":
            report = iam_mfa.generate_mfa_report(output_format=args.output, save_report=args.save_report, **selection, **connection)
            sys.stdout.write(json.dumps(report, indent=2) + "\n" if args.output == "json" else report)
            return 0
        if not (args.apply or args.dry_run):
            print(REFUSAL, file=sys.stderr)
            return 2
        result = iam_mfa.enforce_mfa_compliance(dry_run=not args.apply, disable_console_access=args.disable_console_access,
                                                max_affected=args.max_affected, targets=[t.strip() for t in args.targets.split(",") if t.strip()],
                                                **selection, **connection)
    except (iam_mfa.TooManyUsers, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (iam_mfa.AWSFailure, OSError) as e:  # what failed and why, without a traceback
        print(f"error: {e}", file=sys.stderr)
        return 1
    text = render_enforcement(result, not args.apply, APPLY_HINT)
    sys.stdout.write(text)
    for warning in result.get("warnings") or []:  # as Ansible shows a module's warnings
        print(f"warning: {warning}", file=sys.stderr)
    if args.save_report:
        try:
            iam_mfa.save_text(args.save_report, json.dumps(result, indent=2) + "\n" if args.output == "json" else text)
        except OSError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    failed = [a for a in result["actions"] if a["result"] == "failed"]
    return 1 if failed else 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="awssec", description="AWS security tools, over the awssec.mfa Ansible collection")
    tools = parser.add_subparsers(dest="tool", required=True)
    iam = tools.add_parser("iam-mfa", help="report on and enforce MFA for IAM users")
    commands = iam.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="generate the MFA compliance report")
    enforce = commands.add_parser("enforce", help="enforce MFA on non-compliant users (--dry-run or --apply)")
    add_common_options(report)
    add_common_options(enforce, ENFORCE_FORMATS)
    add_enforce_options(enforce)
    args = parser.parse_args(argv)
    return run(args.command, args)


if __name__ == "__main__":
    sys.exit(main())
