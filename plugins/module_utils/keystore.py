# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Long-term access keys in the OS keyring instead of ``~/.aws/credentials`` (``long_term_store: keyring``).

Through the Python ``keyring`` library: the Secret Service on Linux (gnome-keyring, KWallet, over the D-Bus session
bus), the Keychain on macOS, the Credential Locker on Windows. A profile's key pair is one item of service ``SERVICE``
whose user name is the profile's long-term section (``prod-long-term``); the section keeps only what is not secret
(``mfa_serial``, ``region``) and ``MARKER = keyring``, which says where its keys are.

``backend()`` is asked first, before anything is written: with no usable backend every option that needs one fails,
naming what was found instead.
"""

from __future__ import annotations

import json
from typing import Optional, Tuple

SERVICE = "awssec.mfa AWS long-term access key"
SESSION_SERVICE = "awssec.mfa AWS MFA session"  # session_store credential_process: a profile's session, by profile name
CREDENTIAL_PROCESS = "awssec-credentials"  # the command credential_process runs (awssec/tools/credentials.py)
MARKER = "awssec_long_term_store"  # in the long-term section: "keyring" when its keys are in the keyring
KEY_OPTIONS = ("aws_access_key_id", "aws_secret_access_key")
WHERE = ("a Secret Service (gnome-keyring or KWallet) answering on the D-Bus session bus (DBUS_SESSION_BUS_ADDRESS) on Linux, "
         "the Keychain on macOS, the Credential Locker on Windows")


class KeystoreError(ValueError):
    """No usable keyring, or a keyring that refused; the message says which and why. Raised before any write to the files."""


def backend():
    """The keyring to keep keys in: the library's choice, when it is a real store. KeystoreError otherwise, naming it."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError as e:
        raise KeystoreError("the OS keyring is reached through the Python library keyring, which is not installed "
                            f"({e}); install it (pip install keyring) next to Ansible") from e
    found = keyring.get_keyring()
    name = f"{type(found).__module__}.{type(found).__name__}"
    try:
        usable = not isinstance(found, fail.Keyring) and found.priority > 0
    except Exception:  # pylint: disable=broad-exception-caught  # a backend's priority may raise when it cannot work here
        usable = False
    if not usable:
        raise KeystoreError(f"no usable keyring backend (the keyring library chose {name}); it needs {WHERE}. "
                            "Set one up, or keep keys and sessions in the files (long_term_store file, session_store file)")
    return found


def _keep(store, service: str, name: str, text: str, what: str) -> None:
    """Keep ``text`` as ``name``'s item of ``service`` in ``store``, and read it back: KeystoreError, naming ``what``, when
    the keyring refuses it or gives back something else."""
    try:
        store.set_password(service, name, text)
        held = store.get_password(service, name)
    except Exception as e:  # pylint: disable=broad-exception-caught  # each backend raises its own errors
        raise KeystoreError(f"the keyring ({type(store).__name__}) refused to keep {what}: {type(e).__name__}") from e
    if held != text:
        raise KeystoreError(f"the keyring ({type(store).__name__}) did not give back {what} it was given")


def save(store, section: str, key_id: str, secret: str) -> bool:
    """Keep the key pair of ``section`` in ``store``, read back; whether that changed what it held."""
    if load(store, section) == (key_id, secret):
        return False
    _keep(store, SERVICE, section, json.dumps({"aws_access_key_id": key_id, "aws_secret_access_key": secret}), f"the key of [{section}]")
    return True


def load(store, section: str) -> Optional[Tuple[str, str]]:
    """The key pair ``store`` keeps for ``section`` (key id, secret), or None."""
    try:
        held = store.get_password(SERVICE, section)
    except Exception as e:  # pylint: disable=broad-exception-caught
        raise KeystoreError(f"the keyring ({type(store).__name__}) could not be read for [{section}]: {type(e).__name__}") from e
    if not held:
        return None
    try:
        values = json.loads(held)
        return values["aws_access_key_id"], values["aws_secret_access_key"]
    except (ValueError, KeyError, TypeError) as e:
        raise KeystoreError(f"the keyring's item {SERVICE!r} for [{section}] is not a key pair of this collection") from e


def forget(store, section: str) -> None:
    """Remove what ``store`` keeps for ``section`` (nothing to do when it keeps nothing)."""
    if load(store, section) is None:
        return
    try:
        store.delete_password(SERVICE, section)
    except Exception as e:  # pylint: disable=broad-exception-caught
        raise KeystoreError(f"the keyring ({type(store).__name__}) could not remove the key of [{section}]: {type(e).__name__}") from e


def save_session(store, name: str, values: dict) -> None:
    """Keep the session ``values`` of profile ``name`` (aws_access_key_id, aws_secret_access_key, aws_session_token,
    expiration, and a role's assumed_role_arn) in ``store``, read back before the files say so."""
    kept = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "expiration", "assumed_role_arn")
    text = json.dumps({k: values[k] for k in kept if k in values})
    _keep(store, SESSION_SERVICE, name, text, f"the session of {name!r}")


def load_session(store, name: str) -> Optional[dict]:
    """The session ``store`` keeps for profile ``name`` (the values save_session kept), or None."""
    try:
        held = store.get_password(SESSION_SERVICE, name)
        return json.loads(held) if held else None
    except ValueError:
        return None
    except Exception as e:  # pylint: disable=broad-exception-caught
        raise KeystoreError(f"the keyring ({type(store).__name__}) could not be read for the session of {name!r}: {type(e).__name__}") from e


def credential_process_line(name: str) -> str:
    """The config file's credential_process of a profile whose session the keyring keeps."""
    return f"{CREDENTIAL_PROCESS} {name}" if " " not in name else f"{CREDENTIAL_PROCESS} '{name}'"
