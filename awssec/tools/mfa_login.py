# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``aws-mfa-login`` (and scripts/aws_mfa_login.py): the seed's AWS MFA Authentication Manager.

Option parsing, prompts, colours and log files only: finding profiles, session state, the MFA
serial, logging in, writing the files, key age and rotation are the collection's module_utils,
the same code as the aws_mfa_session and access_key_rotate modules.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import List, Optional

# Importing the package makes the collection importable.
import awssec  # noqa: F401 pylint: disable=unused-import
from ansible_collections.awssec.mfa.plugins.module_utils.awsfiles import FileError, default_paths
from ansible_collections.awssec.mfa.plugins.module_utils.rotate import RotateError, RotateOptions, render_rotation, rotate_profile
from ansible_collections.awssec.mfa.plugins.module_utils.clients import Sessions
from ansible_collections.awssec.mfa.plugins.module_utils.login import login, read_files, utcnow
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import DEFAULT_DURATION, LoginOptions, WorkstationError, discover, plan
from ansible_collections.awssec.mfa.plugins.module_utils.workstation_render import format_duration, profile_listing, render_login

# The name of the console script (pyproject.toml); scripts/aws_mfa_login.py passes the seed's, its own file name.
PROG = "aws-mfa-login"
EPILOG = """Examples:
  %(prog)s --list                    List all profiles and their MFA status
  %(prog)s --profile prod            Authenticate single profile
  %(prog)s --profile dev,prod        Authenticate multiple profiles
  %(prog)s --all                     Authenticate all long-term profiles
  %(prog)s --all --force             Force re-authentication even if valid
  %(prog)s --profile prod --duration 3600  1-hour session
  %(prog)s --profile prod --debug    Authenticate with debug output
"""
COLOURS = {"\u2713": "32", "\u2717": "31", "\u26a0": "33", "\u2139": "36", "\u2192": "36"}
log = logging.getLogger("aws_mfa_login")


class Console:
    """Prints the module_utils' lines, coloured by their leading mark when stdout is a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def line(self, text: str, important: bool = False) -> None:
        log.info(text)
        if self.quiet and not important:
            return
        code = COLOURS.get(text[:1])
        print(f"\033[{code}m{text}\033[0m" if code and self.colour else text)


def setup_logging(debug: bool, to_file: bool = True) -> Optional[Path]:
    """Logs to output/aws_mfa_YYYYMMDD.log in the current folder (made if missing) unless ``to_file`` is false."""
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    path = None
    if to_file:
        folder = Path("output")
        folder.mkdir(exist_ok=True)
        path = folder / f"aws_mfa_{datetime.now():%Y%m%d}.log"
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.setLevel(logging.DEBUG if debug else logging.INFO)
        log.addHandler(handler)
    if debug:  # the debug records only: Console prints the others already
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.DEBUG)
        console.addFilter(lambda record: record.levelno < logging.INFO)
        log.addHandler(console)
    return path


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog=prog, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                                    description="AWS MFA Authentication Manager - Authenticate AWS profiles with MFA tokens")
    which = parse.add_mutually_exclusive_group()
    which.add_argument("-p", "--profile", help="Profile name(s) to authenticate (comma-separated)")
    which.add_argument("-a", "--all", action="store_true", help="Authenticate all long-term credential profiles")
    which.add_argument("-l", "--list", action="store_true", help="List all profiles and their MFA status")
    parse.add_argument("-f", "--force", action="store_true", help="Force re-authentication even if session is still valid")
    parse.add_argument("-d", "--duration", type=int, default=DEFAULT_DURATION, help="Session duration in seconds (default: 43200)")
    parse.add_argument("-q", "--quiet", action="store_true", help="Minimal output")
    parse.add_argument("--debug", action="store_true", help="Enable debug mode with verbose logging")
    parse.add_argument("--endpoint-url", help="AWS endpoint URL for STS and IAM (default: AWS_ENDPOINT_URL, else AWS's)")
    return parse


def ask(prompt: str, secret: bool = False) -> str:
    """A line from the user; a secret (an MFA code) is not echoed on a terminal."""
    try:
        return getpass.getpass(prompt) if secret and sys.stdin.isatty() else input(prompt)
    except EOFError:
        return ""


def offer_rotation(out: Console, entry: dict, expiration_days: int, endpoint_url: Optional[str]) -> None:
    """The seed's rotation offer, for a key that is due; then its extra-key prompt."""
    if entry.get("key_rotation") in ("recommended", "required"):
        out.line("=" * 60, True)
        out.line("  KEY ROTATION AVAILABLE", True)
        out.line("=" * 60, True)
        out.line(f"  Profile: {entry['name']}\n  Current key: {entry['access_key_id']}\n"
                 f"  Key age: {entry['key_age_days']} days (limit: {expiration_days} days)", True)
        if ask("  Do you want to rotate this key? (yes/no): ").strip().lower() in ("y", "yes"):
            run_rotation(out, entry["name"], RotateOptions(force=True), endpoint_url)
            return
    for extra in entry.get("extra_keys", []):
        if extra["status"] != "Active":
            continue
        out.line(f"\u26a0 Do you want to manage key {extra['access_key_id']}?", True)
        choice = ask("  Type 'deactivate' to deactivate the key\n  Type 'delete' to permanently delete the key\n"
                     "  Press Enter to skip\n  Your choice: ").strip().lower()
        if choice not in ("deactivate", "delete"):
            continue
        warning = "PERMANENTLY delete" if choice == "delete" else "deactivate"
        if ask(f"\u26a0 WARNING: This will {warning} key {extra['access_key_id']}!\n  Type '{choice}' again to confirm: ").strip().lower() == choice:
            run_rotation(out, entry["name"], RotateOptions(rotate=False, extra_keys=choice), endpoint_url)


def run_rotation(out: Console, name: str, options: RotateOptions, endpoint_url: Optional[str]) -> None:
    try:
        result = rotate_profile(name, options, False, utcnow(), endpoint_url=endpoint_url)
    except (RotateError, WorkstationError, FileError) as e:
        out.line(f"\u2717 {e}", True)
        return
    for text in render_rotation(result, name):
        out.line(text, True)


def list_profiles(out: Console, prog: str = PROG) -> int:
    credentials, config = default_paths()
    files = read_files(credentials, config, ".env" if os.path.isfile(".env") else None)
    now = utcnow()
    print("Available Profiles:")
    print("-" * 50)
    entries = profile_listing(discover(files, now), now)
    for entry in entries:
        out.line(f"  \u2022 {entry['label']}", True)
    if not entries:
        for text in no_profiles_hint(credentials, config, prog):
            out.line(text, True)
    return 0


def no_profiles_hint(credentials: str, config: str, prog: str = PROG) -> List[str]:
    """Where --list looked, and how to add a long-term profile, when it found none."""
    def place(path: str, variable: str) -> str:
        source = f"from {variable}" if os.environ.get(variable) else f"set {variable} to read another"
        return f"{path} ({'' if os.path.isfile(path) else 'missing; '}{source})"
    return [
        "\u2139 No long-term profiles (sections named NAME-long-term with both keys) found. Looked in:",
        f"    credentials: {place(credentials, 'AWS_SHARED_CREDENTIALS_FILE')}",
        f"    config:      {place(config, 'AWS_CONFIG_FILE')}",
        "  To add a profile NAME, put its long-term key and MFA device in the credentials file:",
        "    [NAME-long-term]",
        "    aws_access_key_id = AKIA...",
        "    aws_secret_access_key = ...",
        "    mfa_serial = arn:PARTITION:iam::ACCOUNT_ID:mfa/DEVICE_NAME    (PARTITION: aws, aws-us-gov or aws-cn)",
        "  (mfa_serial may be in the config file instead, under [profile NAME-long-term]);",
        f"  then {prog} -p NAME writes its MFA session to [NAME] (aws --profile NAME).",
    ]


def main(argv: Optional[List[str]] = None, prog: str = PROG) -> int:
    parse = parser(prog)
    args = parse.parse_args(argv)
    if not (args.list or args.profile or args.all):
        parse.print_help()
        return 2
    setup_logging(args.debug, to_file=not args.list)  # --list only reads: no log folder, no log file
    out = Console(args.quiet)
    log.debug("arguments: %s", vars(args))
    try:
        if args.list:
            return list_profiles(out, prog)
        return authenticate(out, args)
    except (WorkstationError, FileError) as e:
        out.line(f"\u2717 {e}", True)
        return 2
    except KeyboardInterrupt:
        return 130


def authenticate(out: Console, args) -> int:
    credentials, config = default_paths()
    env_file = ".env" if os.path.isfile(".env") else None
    wanted = ["all"] if args.all else [p.strip() for p in args.profile.split(",") if p.strip()]
    refresh, valid = plan(read_files(credentials, config, env_file), LoginOptions(profiles=wanted, duration_seconds=args.duration,
                                                                                  force=args.force), utcnow(), check_mode=True)
    names = [p.name for p in sorted(refresh + valid, key=lambda p: p.name)] if args.all else list(dict.fromkeys(wanted))
    out.line(f"\u2139 Found {len(names)} profile(s) to authenticate")
    failures = 0
    for name in names:
        out.line("\n" + "=" * 60 + f"\nProfile: {name}\n" + "=" * 60)
        codes = {}
        if any(p.name == name for p in refresh):
            codes[name] = ask(f"Enter MFA token for {name}: ", secret=True).strip()
        options = LoginOptions(profiles=[name], token_codes=codes, duration_seconds=args.duration, force=args.force)
        try:
            result = login(read_files(credentials, config, env_file), options, Sessions(args.endpoint_url), utcnow)
        except WorkstationError as e:
            out.line(f"\u2717 {e}", True)
            failures += 1
            continue
        entry = result["profiles"][0]
        for text in render_login(result, quiet=True):
            out.line(text, important=text.startswith(("\u2717", "\u26a0")))
        if entry["status"] == "failed":
            failures += 1
        elif entry["status"] == "authenticated":
            offer_rotation(out, entry, result["key_expiration_days"], args.endpoint_url)
    log.info("requested %s for %s", format_duration(args.duration), ", ".join(names))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
