# -*- coding: utf-8 -*-
# Copyright: Contributors to the awssec.mfa collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A real Secret Service of a test's own: gnome-keyring-daemon, unlocked, on a private D-Bus session bus (Debian's
gnome-keyring and dbus, which ``make keyring`` installs). What the keyring library finds on a Linux desktop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator

PASSWORD = b"login-keyring-password"


@contextlib.contextmanager
def secret_service(folder: Path) -> Iterator[Dict[str, str]]:
    """Start a D-Bus session bus and gnome-keyring-daemon (its keyrings in ``folder``); yield the variables that lead a
    process to them (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, XDG_DATA_HOME); stop both after."""
    runtime, data = folder / "run", folder / "data"
    runtime.mkdir(mode=0o700, parents=True)
    data.mkdir(mode=0o700, parents=True)
    variables = {"XDG_RUNTIME_DIR": str(runtime), "XDG_DATA_HOME": str(data), "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime}/bus"}
    env = dict(os.environ, **variables)
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", f"--address={variables['DBUS_SESSION_BUS_ADDRESS']}"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    daemon = None
    try:
        deadline = time.monotonic() + 10
        while not (runtime / "bus").exists():
            if time.monotonic() > deadline or bus.poll() is not None:
                raise RuntimeError("dbus-daemon did not start a session bus")
            time.sleep(0.02)
        daemon = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        daemon.stdin.write(PASSWORD)
        daemon.stdin.close()
        _wait_for_the_service(env)
        yield variables
    finally:
        for process in (daemon, bus):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(10)


def _wait_for_the_service(env: Dict[str, str]) -> None:
    """Until the Secret Service answers on the bus (the daemon takes its name a moment after it starts)."""
    probe = ("import secretstorage, sys; c = secretstorage.dbus_init(); "
             "sys.exit(0 if secretstorage.check_service_availability(c) else 1)")
    deadline = time.monotonic() + 15
    while subprocess.run([sys.executable, "-c", probe], env=env, check=False, capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("gnome-keyring-daemon's Secret Service did not answer on the session bus")
        time.sleep(0.1)


def lock(variables: Dict[str, str]) -> None:
    """Lock the default keyring, as a screen lock or a user would: the keyring library then neither reads nor writes it."""
    code = "import secretstorage; secretstorage.get_default_collection(secretstorage.dbus_init()).lock()"
    subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **variables), check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def unlocked_again(variables: Dict[str, str]) -> Iterator[None]:
    """A gnome-keyring-daemon that replaces the running one and unlocks the keyrings it kept on disk (as logging in
    again does); stopped after."""
    env = dict(os.environ, **variables)
    daemon = subprocess.Popen(["gnome-keyring-daemon", "--replace", "--foreground", "--unlock", "--components=secrets"], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        daemon.stdin.write(PASSWORD)
        daemon.stdin.close()
        time.sleep(0.5)  # the replaced daemon leaves the bus name; then this one answers
        _wait_for_the_service(env)
        yield
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(10)
