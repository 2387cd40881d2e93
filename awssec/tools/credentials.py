# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""awssec-credentials NAME: the MFA session of profile NAME, kept in the OS keyring (session_store credential_process), in
the form the aws CLI and botocore take from a ``credential_process`` (Version 1, with its Expiration).

It never prompts: when there is no session, or it has expired, it says how to get a new one on standard error and exits
with status 1 (the aws CLI then fails with that message).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import List, Optional

# Importing the package makes the collection importable.
import awssec  # noqa: F401 pylint: disable=unused-import
from ansible_collections.awssec.mfa.plugins.module_utils import keystore
from ansible_collections.awssec.mfa.plugins.module_utils.workstation import parse_expiration

NEW_SESSION = "get a new one: ansible-playbook awssec.mfa.mfa_login -e profiles={name} (or aws-mfa-login {name})"


def process_output(name: str, session: Optional[dict], now: datetime) -> dict:
    """What credential_process prints for ``session``; ValueError saying why there is none to give."""
    if not session:
        raise ValueError(f"awssec-credentials: no MFA session of profile {name!r} in the keyring; {NEW_SESSION.format(name=name)}")
    expires = parse_expiration(session.get("expiration"))
    if expires is None or expires <= now:
        when = f"at {expires.isoformat()}" if expires else "(no expiry recorded)"
        raise ValueError(f"awssec-credentials: the MFA session of profile {name!r} expired {when}; {NEW_SESSION.format(name=name)}")
    return {"Version": 1, "AccessKeyId": session["aws_access_key_id"], "SecretAccessKey": session["aws_secret_access_key"],
            "SessionToken": session["aws_session_token"], "Expiration": expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: awssec-credentials PROFILE  (the credential_process of a profile whose MFA session the keyring keeps)", file=sys.stderr)
        return 2
    name = args[0]
    try:
        output = process_output(name, keystore.load_session(keystore.backend(), name), datetime.now(timezone.utc))
    except ValueError as e:  # KeystoreError too: no usable keyring, named
        print(str(e), file=sys.stderr)
        return 1
    print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
